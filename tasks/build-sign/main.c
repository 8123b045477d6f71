/* build-sign: sign an image digest as a named signer (the seed's
 * build-sign and validation-sign stages), in Docker Content Trust (a
 * notary server's TUF metadata: targets/<signer> and targets/releases)
 * and/or the cosign-compatible format in the registry. The digest is
 * signed, never a tag, so a re-push between build and sign cannot get the
 * wrong image signed. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "background.h"
#include "cleanup.h"
#include "cosign.h"
#include "dct.h"
#include "digest.h"
#include "http.h"
#include "imageref.h"
#include "log.h"
#include "notary.h"
#include "registry.h"
#include "strbuf.h"
#include "task.h"
#include "trust_verify.h"
#include "vault.h"
#include "xalloc.h"

static const struct param_spec params[] = {
	{ "image", PARAM_STRING, NULL, true, false, "image to sign: registry/name[:tag][@sha256:...]" },
	{ "digest", PARAM_STRING, NULL, false, false, "manifest digest (sha256:...), if image has none" },
	{ "signer", PARAM_STRING, NULL, true, false, "signer name (the vault key; role targets/<signer>)" },
	{ "format", PARAM_STRING, "both", false, false, "dct, cosign or both" },
	{ "tag", PARAM_STRING, NULL, false, false, "DCT target name (default: the image's tag)" },
	{ "manifest-size", PARAM_INT, NULL, false, false, "manifest length in bytes (default: read from the registry)" },
	{ "releases", PARAM_BOOL, "true", false, false, "DCT: also sign into targets/releases when delegated there" },
	{ "notary-server", PARAM_STRING, NULL, false, false, "notary server URL (https://host:port), for dct" },
	{ "snapshot-key", PARAM_STRING, NULL, false, false, "DCT with a local snapshot: the vault's snapshot key" },
	{ "notary-ca", PARAM_STRING, NULL, false, false, "CA certificate of the notary server" },
	{ "trust-state-dir", PARAM_STRING, NULL, false, false,
	  "trust state shared with verify-signatures (versions seen, cached roles, TLS sessions)" },
	{ "registry-creds", PARAM_STRING, NULL, false, true, "user:password for the registry (else Docker config)" },
	{ "authfile", PARAM_STRING, NULL, false, false, "Docker config.json with registry credentials" },
	{ "registry-ca", PARAM_STRING, NULL, false, false, "CA certificate of the registry" },
	{ "insecure-registry", PARAM_BOOL, "false", false, false, "no TLS verification / plain http for the registry" },
	{ "retries", PARAM_INT, "4", false, false, "retries for unreachable servers and concurrent writers" },
	VAULT_PARAMS,
	{ NULL },
};

static const struct result_spec results[] = {
	{ "image-ref", "the signed image, pinned by digest: registry/repository@sha256:..." },
	{ "IMAGE_URL", "registry/repository[:tag] signed, without digest (Tekton Chains joins IMAGE_DIGEST)" },
	{ "IMAGE_DIGEST", "the signed manifest digest" },
	{ "signed-roles", "DCT roles written, comma-separated" },
	{ "signature-ref", "cosign: the signature manifest (repo@digest)" },
	{ "published-formats", "the formats published, comma-separated (dct, cosign)" },
	{ NULL },
};

static const struct task_spec spec = {
	"build-sign",
	"Sign an image digest as a named signer (Docker Content Trust and/or cosign format).",
	params,
	results,
};

struct job {
	struct image_ref ref;
	const char *digest;
	char *repo; /* registry/repository = the GUN */
	bool dct, cosign;
	int retries;
	struct registry *reg;
	struct signer_key *key;
	struct signer_key *snapshot; /* local snapshot key, or NULL */
	/* DCT half */
	struct notary_options notary;
	const char *tag_param; /* --tag */
	char *dct_tag;         /* the target name used */
	bool releases;
	const char *state_dir; /* --trust-state-dir */
	char *tls_dir;         /* TLS sessions kept in it */
	char *roles;
	err_t *dct_err;
	const struct params *p;
	int64_t length; /* --manifest-size, else -1 */
	/* --format=both publishes both or neither. The halves prepare side
	 * by side (reads, signatures); the cosign half writes only once the
	 * DCT half is ready to publish, and the DCT half publishes only once
	 * the cosign signature is in. A DCT publish that then fails has the
	 * cosign signature taken back (a notary publish cannot be undone; a
	 * .sig manifest can). */
	pthread_mutex_t gate_lock;
	pthread_cond_t gate_cond;
	int dct_state;    /* 0 preparing, 1 ready to publish, -1 failed before */
	int cosign_state; /* 0 running, 1 done, -1 failed */
	/* --format=both without --manifest-size: the cosign half reads the
	 * manifest on its registry client, side by side with its first read
	 * of the .sig manifest, and hands the length (or the error, which the
	 * DCT half then owns) over; saves the DCT half a registry connection
	 * and the cosign half a round trip */
	bool length_shared;
	int length_state; /* 0 pending, 1 handed over, -1 the DCT half reads it itself */
	err_t *length_err;
};

static struct registry_options registry_options(const struct job *j)
{
	return (struct registry_options){
		.creds = params_str(j->p, "registry-creds"),
		.authfile = params_str(j->p, "authfile"),
		.insecure = params_bool(j->p, "insecure-registry"),
		/* two connections: the signing's requests are small (manifests,
		 * two tiny blobs); the first four go side by side on two
		 * handshakes instead of four */
		.http = { .retries = j->retries,
			  .ca_file = params_str(j->p, "registry-ca"),
			  .tls_session_dir = j->tls_dir,
			  .max_host_connections = 2 },
	};
}

/* The manifest's length for the DCT target, when the trust data does not
 * already name this digest (a re-sign does not ask): --manifest-size, else
 * read from the registry on the DCT half's own connection, so neither
 * half waits for the other. */
static int wait_state(struct job *j, const int *state);

static err_t *read_length(void *ctx, int64_t *length)
{
	struct job *j = ctx;
	if (j->length_shared && wait_state(j, &j->length_state) > 0 && j->length_err) {
		err_t *e = j->length_err;
		j->length_err = NULL;
		return err_context(e, "read the manifest's size (or give --manifest-size)");
	}
	if (j->length >= 0) {
		*length = j->length;
		return NULL;
	}
	struct registry_options ro = registry_options(j);
	struct registry *reg = NULL;
	err_t *e = registry_open_ref(&j->ref, &ro, &reg);
	if (!e) {
		struct registry_manifest m = { 0 };
		e = registry_get_manifest(reg, j->digest, &m);
		*length = (int64_t)m.body.len;
		registry_manifest_release(&m);
	}
	registry_close(reg);
	return err_context(e, "read the manifest's size (or give --manifest-size)");
}

/* The gates (--format=both): each half says how far it got and waits
 * for the other's. */
static void set_state(struct job *j, int *state, int value)
{
	pthread_mutex_lock(&j->gate_lock);
	if (!*state) /* once: a DCT half that fails after it was ready stays "ready" */
		*state = value;
	pthread_cond_broadcast(&j->gate_cond);
	pthread_mutex_unlock(&j->gate_lock);
}

static int wait_state(struct job *j, const int *state)
{
	pthread_mutex_lock(&j->gate_lock);
	while (!*state)
		pthread_cond_wait(&j->gate_cond, &j->gate_lock);
	int v = *state;
	pthread_mutex_unlock(&j->gate_lock);
	return v;
}

/* The DCT half is ready to publish: wait for the cosign signature. */
static err_t *dct_gate(void *ctx)
{
	struct job *j = ctx;
	set_state(j, &j->dct_state, 1);
	if (wait_state(j, &j->cosign_state) < 0)
		return err_new(EXIT_FAILED, "DCT not published: the cosign signature could not be");
	return NULL;
}

/* The cosign half is ready to write: wait until the DCT half is ready. */
static err_t *cosign_gate(void *ctx)
{
	struct job *j = ctx;
	if (wait_state(j, &j->dct_state) < 0)
		return err_new(EXIT_FAILED, "cosign not written: the DCT signature could not be made");
	return NULL;
}

/* The DCT half: its own notary connection, so it can run beside the
 * registry work. Prints nothing (the caller reports after both). */
static err_t *sign_dct(struct job *j)
{
	const char *tag = j->tag_param;
	_cleanup_free_ char *dtag = xasprintf("sha256-%s", digest_hex(j->digest));
	if (!tag || !*tag)
		tag = j->ref.tag_implied ? dtag : j->ref.tag;
	j->dct_tag = xstrdup(tag);
	struct dct_sign_request req = {
		.key = j->key,
		.snapshot = j->snapshot,
		.signer = signer_key_name(j->key),
		.tag = j->dct_tag,
		.length_fn = read_length,
		.length_ctx = j,
		.with_releases = j->releases,
		.now = time(NULL),
		.conflict_retries = j->retries,
		.state_dir = j->state_dir,
		.before_publish = j->cosign ? dct_gate : NULL,
		.before_publish_ctx = j,
	};
	const char *hex = digest_hex(j->digest);
	for (int i = 0; i < 32; i++) {
		unsigned int b;
		sscanf(hex + 2 * i, "%2x", &b);
		req.sha256[i] = (unsigned char)b;
	}
	struct notary *n = NULL;
	TRY(notary_open(&j->notary, j->repo, &n));
	err_t *e = dct_sign(n, &req, &j->roles);
	notary_close(n);
	return e;
}

static void *dct_thread(void *arg)
{
	struct job *j = arg;
	j->dct_err = sign_dct(j);
	set_state(j, &j->dct_state, j->dct_err ? -1 : 1);
	return NULL;
}

struct cosign_job {
	struct job *j;
	char *sig_digest;
	bool background;
	struct cosign_sign_opts opts;
	err_t *err;
};

/* The image manifest, read beside the cosign half's first read: its
 * length goes to the DCT half. */
static void length_got(void *ctx, struct registry_manifest *m, err_t *e)
{
	struct job *j = ctx;
	j->length_err = e;
	if (!e)
		j->length = (int64_t)m->body.len;
	set_state(j, &j->length_state, 1);
}

static void *cosign_half(void *arg)
{
	struct cosign_job *cj = arg;
	struct job *j = cj->j;
	if (cj->background)
		background_priority(5);
	struct registry_options ro = registry_options(j);
	cj->err = registry_open_ref(&j->ref, &ro, &j->reg);
	if (j->length_shared) {
		cj->opts.also_get = j->digest;
		cj->opts.also_got = length_got;
		cj->opts.also_ctx = j;
	}
	if (!cj->err)
		cj->err = cosign_sign(j->reg, j->repo, j->digest, j->key, &cj->opts, cj->sig_digest);
	if (j->length_shared)
		set_state(j, &j->length_state, -1); /* (no-op once handed over) */
	return NULL;
}

/* --format=both and one half failed: take back what the cosign half
 * wrote, and say exactly what is left. */
static err_t *nothing_published(struct job *j, const struct cosign_job *cj, err_t *e)
{
	if (!cj->opts.wrote || !j->reg)
		return err_wrap(e, "nothing published in either format");
	err_t *ue = cosign_unsign(j->reg, j->repo, j->digest, j->key);
	if (!ue)
		return err_wrap(e, "nothing published in either format (the cosign signature written was taken back)");
	_cleanup_free_ char *why = err_describe(ue);
	_cleanup_free_ char *tag = cosign_sig_tag(j->digest);
	err_free(ue);
	log_error("what the cosign half wrote for %s could not be taken back: %s", j->digest, why);
	return err_wrap(e, "PARTLY published: the cosign signature may remain in %s:%s (and its signer mark); DCT is not "
			   "published", j->repo, tag);
}

/* The DCT half (notary) runs in a thread while this one does the cosign
 * half (registry): the wall time is about the longer of the two, not the
 * sum (both or neither are published: see struct job). They share only
 * the read-only job, the keys and the gates. */
static err_t *sign_all(struct results *r, struct job *j)
{
	char sig_digest[DIGEST_SIZE] = "";
	pthread_t t;
	bool threaded = false;
	j->length_shared = j->dct && j->cosign && j->length < 0; /* read by the DCT thread */
	if (j->dct && !pthread_create(&t, NULL, dct_thread, j))
		threaded = true;
	else
		j->length_shared = false;
	err_t *e = NULL;
	/* without the DCT thread, the cosign half runs first, ungated */
	struct cosign_job cj = { j, sig_digest, threaded, { j->retries, threaded ? cosign_gate : NULL, j, false }, NULL };
	if (j->cosign) {
		/* beside the DCT half (the longer one) in a background thread */
		pthread_t ct;
		if (threaded && !pthread_create(&ct, NULL, cosign_half, &cj))
			pthread_join(ct, NULL);
		else
			cosign_half(&cj);
		e = cj.err;
		set_state(j, &j->cosign_state, e ? -1 : 1);
	}
	if (j->dct && !threaded)
		j->dct_err = sign_dct(j);
	if (threaded)
		pthread_join(t, NULL);
	if (j->dct && j->cosign && (e || j->dct_err)) {
		/* the root cause: a half that failed on its own, not at its gate */
		bool dct_first = j->dct_err && j->dct_state < 0;
		err_t *cause = dct_first || !e ? j->dct_err : e, *other = cause == e ? j->dct_err : e;
		if (other) {
			_cleanup_free_ char *msg = err_describe(other);
			log_warn("%s half: %s", cause == e ? "DCT" : "cosign", msg);
			err_free(other);
		}
		j->dct_err = NULL;
		e = nothing_published(j, &cj, cause);
	} else if (j->dct_err) {
		e = j->dct_err;
		j->dct_err = NULL;
	}
	struct strbuf published = STRBUF_INIT;
	if (!e && j->dct) {
		log_info("DCT: %s signed %s as '%s' in %s", signer_key_name(j->key), j->digest, j->dct_tag, j->roles);
		printf("dct\t%s\t%s\n", j->dct_tag, j->roles);
		results_sets(r, "signed-roles", j->roles);
		sb_adds(&published, "dct");
	}
	if (!e && j->cosign) {
		_cleanup_free_ char *tag = cosign_sig_tag(j->digest);
		_cleanup_free_ char *ref = xasprintf("%s@%s", j->repo, sig_digest);
		log_info("cosign: %s signed %s (%s:%s)", signer_key_name(j->key), j->digest, j->repo, tag);
		printf("cosign\t%s:%s\t%s\n", j->repo, tag, sig_digest);
		results_sets(r, "signature-ref", ref);
		sb_adds(&published, published.len ? ",cosign" : "cosign");
	}
	if (!e)
		results_sets(r, "published-formats", sb_str(&published));
	sb_release(&published);
	return e;
}

/* Everything that needs no I/O: usage errors come first. */
static err_t *prepare_job(const struct params *p, struct results *r, struct job *j)
{
	const char *format = params_str(p, "format");
	j->dct = !strcmp(format, "dct") || !strcmp(format, "both");
	j->cosign = !strcmp(format, "cosign") || !strcmp(format, "both");
	if (!j->dct && !j->cosign)
		return err_new(EXIT_USAGE, "--format: '%s' is not dct, cosign or both", format);
	TRY(imageref_parse(params_str(p, "image"), &j->ref));
	const char *d = params_str(p, "digest");
	if (d && *d && j->ref.digest && strcmp(d, j->ref.digest))
		return err_new(EXIT_USAGE, "--digest %s differs from the image's digest %s", d, j->ref.digest);
	j->digest = d && *d ? d : j->ref.digest;
	if (!j->digest)
		return err_new(EXIT_USAGE, "no digest: sign image@sha256:... or give --digest (tags are never signed)");
	TRY(digest_check(j->digest, "digest"));
	const char *url = params_str(p, "notary-server");
	if (j->dct && (!url || !*url))
		return err_new(EXIT_USAGE, "--notary-server is required for format dct");
	if (j->dct)
		TRY(http_check_url(url, "https", "--notary-server"));
	j->state_dir = params_str(p, "trust-state-dir");
	j->tls_dir = trust_state_tls_dir(j->state_dir);
	j->notary = (struct notary_options){ .url = url, .ca_file = params_str(p, "notary-ca"),
					     .retries = (int)params_int(p, "retries"), .tls_session_dir = j->tls_dir };
	j->tag_param = params_str(p, "tag");
	j->releases = params_bool(p, "releases");
	j->repo = imageref_name(&j->ref);
	j->retries = (int)params_int(p, "retries");
	_cleanup_free_ char *pinned = imageref_pinned(&j->ref, j->digest);
	_cleanup_free_ char *image_url = imageref_tagged(&j->ref, j->tag_param);
	results_sets(r, "image-ref", pinned);
	results_sets(r, "IMAGE_URL", image_url);
	results_sets(r, "IMAGE_DIGEST", j->digest);
	return NULL;
}

static err_t *run(const struct params *p, struct results *r)
{
	struct job j = { .p = p,
			 .length = params_given(p, "manifest-size") ? params_int(p, "manifest-size") : -1,
			 .gate_lock = PTHREAD_MUTEX_INITIALIZER,
			 .gate_cond = PTHREAD_COND_INITIALIZER };
	err_t *e = prepare_job(p, r, &j);
	struct vault_config cfg = { 0 };
	struct vault *v = NULL;
	if (!e)
		e = vault_config_from_params(p, &cfg);
	if (!e)
		e = vault_open(&cfg, &v);
	/* file keys are decrypted while the trust data and the signature
	 * manifest are fetched; a key that cannot be unlocked is the error
	 * reported, whatever else failed meanwhile */
	if (!e)
		e = vault_signer_start(v, params_str(p, "signer"), &j.key);
	const char *snap = params_str(p, "snapshot-key");
	if (!e && j.dct && snap && *snap)
		e = vault_signer_start(v, snap, &j.snapshot);
	if (!e)
		e = sign_all(r, &j);
	struct signer_key *keys[] = { j.key, j.snapshot };
	for (size_t i = 0; i < 2; i++) {
		err_t *ke = keys[i] ? signer_key_ready(keys[i]) : NULL;
		if (ke) {
			err_free(e);
			e = ke;
		}
	}
	err_free(j.length_err); /* read, but the trust data already named the digest */
	signer_key_free(j.key);
	signer_key_free(j.snapshot);
	registry_close(j.reg);
	imageref_free(&j.ref);
	free(j.repo);
	free(j.dct_tag);
	free(j.roles);
	free(j.tls_dir);
	vault_close(v);
	vault_config_release(&cfg);
	return e;
}

int main(int argc, char **argv)
{
	return task_main(&spec, argc, argv, run);
}
