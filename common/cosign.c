#include "cosign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "b64.h"
#include "cleanup.h"
#include "jsonutil.h"
#include "keys.h"
#include "log.h"
#include "manifest.h"
#include "xalloc.h"

#define PAYLOAD_MAX (64 * 1024)

char *cosign_sig_tag(const char *digest)
{
	return xasprintf("sha256-%s.sig", digest_hex(digest));
}

void cosign_payload(const char *repo, const char *digest, struct strbuf *out)
{
	json_t *p = json_pack("{s:{s:{s:s}, s:{s:s}, s:s}, s:n}", "critical", "identity", "docker-reference", repo,
			      "image", "docker-manifest-digest", digest, "type", "cosign container image signature",
			      "optional");
	err_t *e = json_canonical(p, out);
	err_free(e); /* only strings: cannot fail */
	json_decref(p);
}

/* The current .sig manifest, parsed; *exists false if there is none. */
static err_t *get_sig_manifest(struct registry *r, const char *tag, json_t **doc, bool *exists)
{
	*doc = NULL;
	*exists = false;
	struct registry_manifest m = { 0 };
	err_t *e = registry_get_manifest(r, tag, &m);
	/* one GET, no HEAD first: a 404 is "no signatures yet" */
	if (e && e->code == EXIT_FAILED && !e->cause && strstr(e->msg, "not found")) {
		err_free(e);
		registry_manifest_release(&m);
		return NULL;
	}
	*exists = !e;
	if (!e)
		e = json_parse(m.body.buf ? m.body.buf : "", m.body.len, tag, doc);
	registry_manifest_release(&m);
	if (!e && !json_is_array(json_object_get(*doc, "layers")))
		e = err_new(EXIT_FAILED, "%s: not an image manifest with layers", tag);
	return e;
}

static err_t *get_blob(struct registry *r, const char *digest, int64_t size, struct strbuf *out);

static err_t *append_sink(const void *data, size_t len, void *ctx)
{
	struct strbuf *sb = ctx;
	if (sb->len + len > PAYLOAD_MAX)
		return err_new(EXIT_POLICY, "signature payload larger than %d bytes", PAYLOAD_MAX);
	sb_add(sb, data, len);
	return NULL;
}

static err_t *get_blob(struct registry *r, const char *digest, int64_t size, struct strbuf *out)
{
	if (size > PAYLOAD_MAX)
		return err_new(EXIT_POLICY, "signature payload %s is %lld bytes (at most %d)", digest, (long long)size,
			       PAYLOAD_MAX);
	return registry_get_blob(r, digest, size, append_sink, out);
}

static bool chain_has(const err_t *e, const char *needle)
{
	for (; e; e = e->cause)
		if (e->msg && strstr(e->msg, needle))
			return true;
	return false;
}

/* Whether the .sig manifest currently holds the signature sig64. */
static bool sig_present(struct registry *r, const char *tag, const char *sig64)
{
	json_t *doc = NULL;
	bool exists = false, found = false;
	err_t *e = get_sig_manifest(r, tag, &doc, &exists);
	size_t i;
	json_t *l;
	json_array_foreach(json_object_get(doc, "layers"), i, l) {
		const char *s = json_string_value(json_object_get(json_object_get(l, "annotations"), COSIGN_SIG_ANNOTATION));
		if (s && !strcmp(s, sig64))
			found = true;
	}
	json_decref(doc);
	err_free(e);
	return found;
}

static long us_since(struct timespec t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t.tv_sec) * 1000000L + (now.tv_nsec - t.tv_nsec) / 1000;
}

static void sleep_until(struct timespec since, long us)
{
	long left = us - us_since(since);
	if (left > 0)
		usleep((useconds_t)left);
}

/* The registry has no compare-and-swap: a writer that read before our PUT
 * may overwrite it, and its PUT may finish after ours. Such a writer's
 * read-to-PUT time is about ours (same registry): watch until three of
 * those (at least COSIGN_WATCH_MIN_US each) have passed since our PUT, and
 * report whether our signature is still there. */
#define COSIGN_WATCH_MIN_US 15000
static bool watch(struct registry *r, const char *tag, const char *sig64, struct timespec put_done, long window_us)
{
	unsigned char jitter = 0;
	RAND_bytes(&jitter, 1);
	long w = window_us < COSIGN_WATCH_MIN_US ? COSIGN_WATCH_MIN_US : window_us > 2000000 ? 2000000 : window_us;
	w += jitter * 10L;
	sleep_until(put_done, w);
	if (!sig_present(r, tag, sig64))
		return false;
	if (us_since(put_done) >= 3 * w)
		return true;
	sleep_until(put_done, 3 * w);
	return sig_present(r, tag, sig64);
}

static err_t *sign_into(struct registry *r, const char *repo, const char *digest, const struct signer_key *key,
			int conflict_retries, char sig_digest[DIGEST_SIZE], struct cosign_pending *pending)
{
	TRY(digest_check(digest, "image digest"));
	struct strbuf payload = STRBUF_INIT, sig = STRBUF_INIT, sig64 = STRBUF_INIT;
	cosign_payload(repo, digest, &payload);
	char pdigest[DIGEST_SIZE];
	err_t *e = signer_key_sign(key, payload.buf, payload.len, SIG_DER, &sig);
	if (!e) {
		b64_encode(sig.buf, sig.len, &sig64);
		e = registry_put_blob_buffer(r, payload.buf, payload.len, pdigest);
	}
	_cleanup_free_ char *tag = cosign_sig_tag(digest);
	for (int attempt = 0; !e; attempt++) {
		json_t *doc = NULL;
		bool exists = false;
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		e = get_sig_manifest(r, tag, &doc, &exists);
		if (e) {
			json_decref(doc);
			break;
		}
		json_t *layers = exists ? json_deep_copy(json_object_get(doc, "layers")) : json_array();
		/* one signature per key: drop a previous one by this same key */
		for (size_t i = json_array_size(layers); i-- > 0;) {
			json_t *l = json_array_get(layers, i);
			const char *s = json_string_value(
				json_object_get(json_object_get(l, "annotations"), COSIGN_SIG_ANNOTATION));
			const char *d = json_string_value(json_object_get(l, "digest"));
			if (!s || !d || strcmp(d, pdigest))
				continue;
			struct strbuf der = STRBUF_INIT;
			err_t *de = b64_decode(s, strlen(s), "signature", &der);
			if (!de)
				de = key_verify(signer_key_public(key), payload.buf, payload.len, der.buf, der.len, SIG_DER);
			if (!de)
				json_array_remove(layers, i);
			err_free(de);
			sb_release(&der);
		}
		json_array_append_new(layers, json_pack("{s:s, s:I, s:s, s:{s:s}}", "mediaType", COSIGN_LAYER_TYPE,
							"size", (json_int_t)payload.len, "digest", pdigest,
							"annotations", COSIGN_SIG_ANNOTATION, sb_str(&sig64)));
		/* config: cosign's, listing every layer's diff_id */
		json_t *diff_ids = json_array();
		size_t i;
		json_t *l;
		json_array_foreach(layers, i, l) json_array_append(diff_ids, json_object_get(l, "digest"));
		json_t *cfg = json_pack("{s:s, s:s, s:[{s:s}], s:s, s:{s:s, s:o}, s:{}}", "architecture", "", "created",
					"0001-01-01T00:00:00Z", "history", "created", "0001-01-01T00:00:00Z", "os", "",
					"rootfs", "type", "layers", "diff_ids", diff_ids, "config");
		struct strbuf cfgb = STRBUF_INIT, body = STRBUF_INIT;
		manifest_dump(cfg, &cfgb);
		char cdigest[DIGEST_SIZE];
		e = registry_put_blob_buffer(r, cfgb.buf, cfgb.len, cdigest);
		if (!e) {
			json_t *m = json_pack("{s:i, s:s, s:{s:s, s:I, s:s}, s:O}", "schemaVersion", 2, "mediaType",
					      MT_OCI_MANIFEST, "config", "mediaType", MT_OCI_CONFIG, "size",
					      (json_int_t)cfgb.len, "digest", cdigest, "layers", layers);
			manifest_dump(m, &body);
			json_decref(m);
			struct timespec t1;
			bool changed = false;
			{
				e = registry_put_manifest(r, tag, MT_OCI_MANIFEST, body.buf, body.len, sig_digest);
				clock_gettime(CLOCK_MONOTONIC, &t1);
				/* concurrent uploads of the same config blob can leave the
				 * registry briefly without it: upload again and retry */
				if (e && attempt < conflict_retries && chain_has(e, "BLOB_UNKNOWN")) {
					log_warn("%s: the registry lost a blob during a concurrent upload; retrying", tag);
					err_free(e);
					e = NULL;
					changed = true;
				}
				if (!e && !changed) {
					long us = (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000;
					if (pending) {
						/* the caller watches later (cosign_confirm) */
						pending->put_done = t1;
						pending->window_us = us;
						free(pending->sig64);
						pending->sig64 = xstrdup(sb_str(&sig64));
					} else if (!watch(r, tag, sb_str(&sig64), t1, us)) {
						if (attempt < conflict_retries) {
							log_warn("%s: a concurrent signer overwrote our signature; merging again", tag);
							changed = true;
						} else {
							e = err_new(EXIT_FAILED, "%s: our signature was overwritten by a concurrent writer",
								    tag);
						}
					}
				}
			}
			if (!e && changed && attempt < conflict_retries) {
				sb_release(&cfgb);
				sb_release(&body);
				json_decref(cfg);
				json_decref(layers);
				json_decref(doc);
				continue;
			}
		}
		sb_release(&cfgb);
		sb_release(&body);
		json_decref(cfg);
		json_decref(layers);
		json_decref(doc);
		break;
	}
	sb_release(&payload);
	sb_release(&sig);
	sb_release(&sig64);
	return e;
}

static err_t *check_payload(const struct strbuf *payload, const char *repo, const char *digest)
{
	json_t *p = NULL;
	TRY(json_parse(payload->buf ? payload->buf : "", payload->len, "signature payload", &p));
	json_t *crit = json_object_get(p, "critical");
	const char *type = json_string_value(json_object_get(crit, "type"));
	const char *ref = json_string_value(json_object_get(json_object_get(crit, "identity"), "docker-reference"));
	const char *d = json_string_value(json_object_get(json_object_get(crit, "image"), "docker-manifest-digest"));
	err_t *e = NULL;
	if (!type || strcmp(type, "cosign container image signature"))
		e = err_new(EXIT_POLICY, "signature payload is not a cosign container image signature");
	else if (!d || !digest_equal(d, digest))
		e = err_new(EXIT_POLICY, "signature is for digest %s, not %s (a signature on another image)",
			    d ? d : "(none)", digest);
	else if (!ref || (strcmp(ref, repo) && (strncmp(ref, repo, strlen(repo)) || (ref[strlen(repo)] != ':' &&
											 ref[strlen(repo)] != '@'))))
		e = err_new(EXIT_POLICY, "signature names identity %s, not %s", ref ? ref : "(none)", repo);
	json_decref(p);
	return e;
}

err_t *cosign_verify(struct registry *r, const char *repo, const char *digest, EVP_PKEY *pub)
{
	TRY(digest_check(digest, "image digest"));
	_cleanup_free_ char *tag = cosign_sig_tag(digest);
	json_t *doc = NULL;
	bool exists = false;
	TRY(get_sig_manifest(r, tag, &doc, &exists));
	if (!exists)
		return err_new(EXIT_POLICY, "no cosign signatures for %s (%s:%s missing)", digest, repo, tag);
	err_t *last = NULL;
	bool ok = false;
	size_t i;
	json_t *l;
	json_array_foreach(json_object_get(doc, "layers"), i, l) {
		const char *mt = json_string_value(json_object_get(l, "mediaType"));
		const char *s = json_string_value(json_object_get(json_object_get(l, "annotations"), COSIGN_SIG_ANNOTATION));
		const char *d = json_string_value(json_object_get(l, "digest"));
		json_t *size = json_object_get(l, "size");
		if (!mt || strcmp(mt, COSIGN_LAYER_TYPE) || !s || !d || !json_is_integer(size))
			continue;
		struct strbuf der = STRBUF_INIT, payload = STRBUF_INIT;
		err_t *e = b64_decode(s, strlen(s), "signature annotation", &der);
		if (!e && der.len && der.buf[0] != 0x30) {
			/* raw r||s is not what cosign writes: refuse it */
			e = err_new(EXIT_POLICY, "signature is not ASN.1 DER ECDSA");
		}
		if (!e)
			e = get_blob(r, d, json_integer_value(size), &payload);
		if (!e)
			e = key_verify(pub, payload.buf ? payload.buf : "", payload.len, der.buf, der.len, SIG_DER);
		if (!e)
			e = check_payload(&payload, repo, digest);
		sb_release(&der);
		sb_release(&payload);
		if (!e) {
			ok = true;
			break;
		}
		err_free(last);
		last = e;
	}
	json_decref(doc);
	if (ok) {
		err_free(last);
		return NULL;
	}
	if (last && last->code == EXIT_POLICY && strstr(last->msg, "does not verify")) {
		err_free(last);
		return err_new(EXIT_POLICY, "no cosign signature by this key on %s (wrong key or forged signature)", digest);
	}
	if (last)
		return err_wrap(last, "cosign signature on %s", digest);
	return err_new(EXIT_POLICY, "no cosign signature layers in %s:%s", repo, tag);
}

err_t *cosign_sign(struct registry *r, const char *repo, const char *digest, const struct signer_key *key,
		   int conflict_retries, char sig_digest[DIGEST_SIZE], struct cosign_pending *pending)
{
	return sign_into(r, repo, digest, key, conflict_retries, sig_digest, pending);
}

err_t *cosign_confirm(struct registry *r, const char *repo, const char *digest, const struct signer_key *key,
		      int conflict_retries, char sig_digest[DIGEST_SIZE], struct cosign_pending *pending)
{
	_cleanup_free_ char *tag = cosign_sig_tag(digest);
	if (pending->sig64 && watch(r, tag, pending->sig64, pending->put_done, pending->window_us))
		return NULL;
	log_warn("%s: a concurrent signer overwrote our signature; merging again", tag);
	return sign_into(r, repo, digest, key, conflict_retries, sig_digest, NULL);
}

void cosign_pending_release(struct cosign_pending *p)
{
	free(p->sig64);
	p->sig64 = NULL;
}
