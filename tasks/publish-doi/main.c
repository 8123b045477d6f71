/* publish-doi: the seed's DevOps Insights records (build, test, deploy,
 * deployable) as signed supply-chain evidence that travels with the image:
 * each record an in-toto Statement v1 about the image digest in a DSSE
 * envelope signed by a vault key, kept in a local evidence store and/or
 * the registry (cosign attestations), optionally POSTed to an endpoint.
 * `list` shows a digest's evidence with each signature checked;
 * `evaluate` is the gate: a policy over verified evidence only, exit 3
 * naming each unmet rule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attest.h"
#include "cleanup.h"
#include "dsse.h"
#include "evidence.h"
#include "fsutil.h"
#include "imageref.h"
#include "log.h"
#include "policy.h"
#include "post.h"
#include "record.h"
#include "sigpolicy.h"
#include "store.h"
#include "task.h"
#include "tuf.h"
#include "vault.h"
#include "xalloc.h"

static const struct param_spec params[] = {
	{ "action", PARAM_STRING, "publish", false, false, "publish, list or evaluate (also the first argument)" },
	{ "image", PARAM_STRING, NULL, true, false, "the image: registry/name[:tag][@sha256:...] (Chains' IMAGE_URL)" },
	{ "digest", PARAM_STRING, NULL, false, false, "its digest (Chains' IMAGE_DIGEST), if image has none" },
	{ "kind", PARAM_STRING, NULL, false, false, "publish: build, test, deploy or deployable" },
	{ "build-number", PARAM_STRING, NULL, false, false, "build record: the build number" },
	{ "git-repository", PARAM_STRING, NULL, false, false, "build record: git repository URL (Chains' CHAINS-GIT_URL)" },
	{ "git-branch", PARAM_STRING, NULL, false, false, "build record: git branch" },
	{ "git-commit", PARAM_STRING, NULL, false, false, "build record: git commit (Chains' CHAINS-GIT_COMMIT)" },
	{ "base-images", PARAM_LIST, NULL, false, false, "build record: a base image, name@sha256:... (repeat)" },
	{ "builder-id", PARAM_STRING, NULL, false, false, "build record: SLSA builder id (URI of the build platform)" },
	{ "build-type", PARAM_STRING, NULL, false, false, "build record: SLSA buildType URI (default: ours)" },
	{ "job-url", PARAM_STRING, NULL, false, false, "URL of the pipeline run" },
	{ "app-name", PARAM_STRING, NULL, false, false, "the application's name" },
	{ "file", PARAM_STRING, NULL, false, false, "test record: the report (JUnit XML, findings / vulnerability / CycloneDX JSON)" },
	{ "filetype", PARAM_STRING, NULL, false, false, "test record: unittest, fvt, code, lint, cis, vulnerabilityadvisor or bom" },
	{ "environment", PARAM_STRING, NULL, false, false, "deploy / deployable record: the environment (e.g. prod)" },
	{ "cluster", PARAM_STRING, NULL, false, false, "deploy / deployable record: the cluster" },
	{ "namespace", PARAM_STRING, NULL, false, false, "deploy / deployable record: the namespace" },
	{ "status", PARAM_STRING, NULL, false, false, "deploy record: the deployment's status (success, fail)" },
	{ "time", PARAM_STRING, NULL, false, false, "publish: the record's time (RFC 3339 UTC; default now)" },
	{ "signer", PARAM_STRING, NULL, false, false, "publish: the vault key that signs (signer-key's name)" },
	{ "trusted-keys", PARAM_LIST, NULL, false, false, "list / evaluate: NAME (a vault key) or NAME=PUBLIC_KEY.pem whose signatures count (repeat; default: --signer)" },
	{ "store", PARAM_STRING, "local", false, false, "local, registry or both" },
	{ "store-dir", PARAM_STRING, ".doi-evidence", false, false, "the local evidence store" },
	{ "endpoint", PARAM_STRING, NULL, false, false, "publish: also POST the envelope (JSON) to this URL" },
	{ "endpoint-token", PARAM_STRING, NULL, false, true, "bearer token for --endpoint" },
	{ "policy", PARAM_STRING, NULL, false, false, "evaluate: the policy file" },
	{ "output", PARAM_STRING, "table", false, false, "list: table or json" },
	{ "registry-creds", PARAM_STRING, NULL, false, true, "user:password for the registry" },
	{ "authfile", PARAM_STRING, NULL, false, false, "Docker config.json with registry credentials" },
	{ "registry-ca", PARAM_STRING, NULL, false, false, "CA certificate of the registry" },
	{ "insecure-registry", PARAM_BOOL, "false", false, false, "no TLS verification / plain http for the registry" },
	{ "retries", PARAM_INT, "3", false, false, "retries for unreachable servers" },
	VAULT_PARAMS,
	{ NULL },
};

static const struct result_spec results[] = {
	{ "envelope-digest", "publish: sha256 of the signed envelope" },
	{ "attestation", "publish to the registry: the attestation tag, name:sha256-<hex>.att" },
	{ "records", "list: how many records verified; evaluate: how many it verified (the newest of each rule's kind, until one counts)" },
	{ "passed", "evaluate: true when every rule is met, else false (written on exit 3 too)" },
	{ "verdicts", "evaluate: one line per rule: PASS|FAIL rule: reason" },
	{ NULL },
};

static const struct task_spec spec = {
	"publish-doi",
	"Publish signed in-toto evidence (build, test, deploy) of an image digest, list it, and gate on it.",
	params,
	results,
	results_spill,
};

struct target {
	struct image_ref ref;
	char *name; /* registry/repository */
	const char *digest;
	bool local, registry;
};

static err_t *target_parse(const struct params *p, struct target *t)
{
	memset(t, 0, sizeof(*t));
	TRY(imageref_parse(params_str(p, "image"), &t->ref));
	t->name = imageref_name(&t->ref);
	const char *d = params_str(p, "digest");
	if (d && *d && t->ref.digest && strcmp(d, t->ref.digest))
		return err_new(EXIT_USAGE, "--digest %s differs from the image's digest %s", d, t->ref.digest);
	t->digest = d && *d ? d : t->ref.digest;
	if (!t->digest)
		return err_new(EXIT_USAGE, "no digest: give image@sha256:... or --digest (evidence binds to digests)");
	TRY(digest_check(t->digest, "--digest"));
	const char *s = params_str(p, "store");
	t->local = !strcmp(s, "local") || !strcmp(s, "both");
	t->registry = !strcmp(s, "registry") || !strcmp(s, "both");
	if (!t->local && !t->registry)
		return err_new(EXIT_USAGE, "--store: '%s' is not local, registry or both", s);
	return NULL;
}

static void target_release(struct target *t)
{
	imageref_free(&t->ref);
	free(t->name);
}

static err_t *open_registry(const struct params *p, const struct target *t, struct registry **out)
{
	struct registry_options ro = {
		.creds = params_str(p, "registry-creds"),
		.authfile = params_str(p, "authfile"),
		.insecure = params_bool(p, "insecure-registry"),
		.http = { .retries = (int)params_int(p, "retries"), .ca_file = params_str(p, "registry-ca") },
	};
	return registry_open_ref(&t->ref, &ro, out);
}

static err_t *with_vault(const struct params *p, struct vault **v, struct vault_config *cfg)
{
	TRY(vault_config_from_params(p, cfg));
	return vault_open(cfg, v);
}

static err_t *record_input(const struct params *p, const struct target *t, char time_buf[32],
			   struct record_input *in)
{
	const char *kind = params_str(p, "kind");
	if (!kind || !*kind)
		return err_new(EXIT_USAGE, "publish needs --kind (build, test, deploy or deployable)");
	const char *tm = params_str(p, "time");
	if (tm && *tm) {
		time_t parsed;
		TRY(err_context(tuf_parse_time(tm, &parsed), "--time"));
	} else {
		/* now, to the nanosecond: two records of one kind published in
		 * the same second (a retried deploy, a rerun test) are still
		 * ordered, and evaluate reads the latest (policy.c, time_cmp) */
		struct timespec now;
		char secs[32];
		clock_gettime(CLOCK_REALTIME, &now);
		tuf_format_time(now.tv_sec, secs);
		snprintf(time_buf, 32, "%.19s.%09ldZ", secs, (long)now.tv_nsec);
		tm = time_buf;
	}
	*in = (struct record_input){
		.kind = kind,
		.name = t->name,
		.digest = t->digest,
		.build_number = params_str(p, "build-number"),
		.git_repo = params_str(p, "git-repository"),
		.git_branch = params_str(p, "git-branch"),
		.git_commit = params_str(p, "git-commit"),
		.job_url = params_str(p, "job-url"),
		.app_name = params_str(p, "app-name"),
		.builder_id = params_str(p, "builder-id"),
		.build_type = params_str(p, "build-type"),
		.file = params_str(p, "file"),
		.filetype = params_str(p, "filetype"),
		.environment = params_str(p, "environment"),
		.cluster = params_str(p, "cluster"),
		.namespace = params_str(p, "namespace"),
		.status = params_str(p, "status"),
		.time = tm,
	};
	in->n_base_images = params_list(p, "base-images", &in->base_images);
	return NULL;
}

/* publish: statement, envelope, then each store asked for (local first:
 * with --store=both it is written even when the registry is down). */
static err_t *publish(const struct params *p, struct results *r, const struct target *t)
{
	const char *signer = params_str(p, "signer");
	if (!signer || !*signer)
		return err_new(EXIT_USAGE, "publish needs --signer (the vault key that signs the record)");
	const char *url = params_str(p, "endpoint");
	if (url && *url)
		TRY(post_check_url(url));
	char tbuf[32];
	struct record_input in;
	TRY(record_input(p, t, tbuf, &in));
	json_t *st = NULL;
	TRY(record_statement(&in, &st));
	struct vault_config cfg = { 0 };
	struct vault *v = NULL;
	struct signer_key *key = NULL;
	struct strbuf env = STRBUF_INIT;
	struct registry *reg = NULL;
	err_t *e = with_vault(p, &v, &cfg);
	if (!e)
		e = vault_signer(v, signer, &key);
	if (!e)
		e = dsse_sign(st, key, &env);
	char hex[65];
	if (!e) {
		key_sha256_hex(env.buf, env.len, hex, NULL);
		results_sets(r, "envelope-digest", hex);
	}
	if (!e && t->local) {
		e = store_put(params_str(p, "store-dir"), t->digest, env.buf, env.len, NULL);
		if (!e)
			log_info("%s record of %s written to %s (envelope sha256:%s)", in.kind, t->digest,
				 params_str(p, "store-dir"), hex);
	}
	if (!e && t->registry) {
		char layer[DIGEST_SIZE];
		e = open_registry(p, t, &reg);
		if (!e)
			e = attest_put(reg, t->digest, env.buf, env.len, json_string_value(json_object_get(st, "predicateType")),
				       layer);
		if (!e) {
			_cleanup_free_ char *tag = attest_tag(t->digest);
			_cleanup_free_ char *att = xasprintf("%s:%s", t->name, tag);
			results_sets(r, "attestation", att);
			log_info("%s record of %s attached as %s (layer %s)", in.kind, t->digest, att, layer);
		} else if (t->local) {
			e = err_context(e, "the local store %s has the record", params_str(p, "store-dir"));
		}
	}
	if (!e && url && *url)
		e = post_envelope(url, params_str(p, "endpoint-token"), (int)params_int(p, "retries"), env.buf, env.len);
	if (!e)
		puts(hex);
	registry_close(reg);
	signer_key_free(key);
	vault_close(v);
	vault_config_release(&cfg);
	sb_release(&env);
	json_decref(st);
	return e;
}

/* The keys whose signatures count: --trusted-keys, else --signer's. */
static err_t *trusted_keys(const struct params *p, struct dsse_keys *keys)
{
	const char *const *items;
	size_t n = params_list(p, "trusted-keys", &items);
	const char *signer = params_str(p, "signer");
	if (!n && signer && *signer) {
		items = &signer;
		n = 1;
	}
	if (!n)
		return err_new(EXIT_USAGE, "give --trusted-keys (NAME or NAME=PUBLIC_KEY.pem) or --signer: whose evidence counts");
	struct sigpolicy_signers s = { 0 };
	struct vault_config cfg = { 0 };
	struct vault *v = NULL;
	err_t *e = sigpolicy_signers_parse(items, n, &s);
	keys->keys = xcalloc(n, sizeof(*keys->keys));
	keys->names = xcalloc(n, sizeof(*keys->names));
	for (size_t i = 0; !e && i < s.n; i++) {
		EVP_PKEY *pub = s.items[i].pub;
		if (pub) {
			EVP_PKEY_up_ref(pub);
		} else {
			if (!v)
				e = with_vault(p, &v, &cfg);
			if (!e)
				e = vault_public(v, s.items[i].name, &pub);
		}
		if (!e) {
			keys->keys[keys->n] = pub;
			keys->names[keys->n++] = xstrdup(s.items[i].name);
		}
	}
	vault_close(v);
	vault_config_release(&cfg);
	sigpolicy_signers_free(&s);
	return e;
}

/* Every record of the digest in the stores asked for, with the keys whose
 * signatures count (the caller releases them after ev): all verified for a
 * listing, else only prepared (evaluate verifies what its rules read). */
static err_t *gather(const struct params *p, const struct target *t, bool verify_all, struct dsse_keys *keys,
		     struct evidence *ev)
{
	err_t *e = trusted_keys(p, keys);
	if (!e && t->local)
		e = store_read(params_str(p, "store-dir"), t->digest, ev);
	if (!e && t->registry) {
		struct registry *reg = NULL;
		e = open_registry(p, t, &reg);
		if (!e)
			e = attest_read(reg, t->digest, ev);
		registry_close(reg);
	}
	if (!e && verify_all)
		evidence_verify(ev, keys, t->digest);
	else if (!e)
		evidence_prepare(ev, keys, t->digest);
	return e;
}

static size_t count_valid(const struct evidence *ev)
{
	size_t n = 0;
	for (size_t i = 0; i < ev->n; i++)
		n += ev->items[i].verified;
	return n;
}

static err_t *list(const struct params *p, struct results *r, const struct target *t)
{
	const char *out = params_str(p, "output");
	if (strcmp(out, "table") && strcmp(out, "json"))
		return err_new(EXIT_USAGE, "--output: '%s' is not table or json", out);
	struct evidence ev = { 0 };
	struct dsse_keys keys = { 0 };
	err_t *e = gather(p, t, true, &keys, &ev);
	if (!e)
		evidence_print(&ev, !strcmp(out, "json"), stdout);
	if (!e) {
		char n[32];
		snprintf(n, sizeof n, "%zu", count_valid(&ev));
		results_sets(r, "records", n);
	}
	evidence_release(&ev);
	dsse_keys_release(&keys);
	return e;
}

static err_t *evaluate(const struct params *p, struct results *r, const struct target *t)
{
	const char *file = params_str(p, "policy");
	if (!file || !*file)
		return err_new(EXIT_USAGE, "evaluate needs --policy (a policy file)");
	struct strbuf text = STRBUF_INIT;
	struct policy pol = { 0 };
	err_t *e = fs_read_file(file, 1024 * 1024, &text);
	if (!e)
		e = policy_parse(text.buf ? text.buf : "", text.len, file, &pol);
	sb_release(&text);
	TRY(e);
	struct evidence ev = { 0 };
	struct dsse_keys keys = { 0 };
	struct policy_verdict *v = NULL;
	e = gather(p, t, false, &keys, &ev);
	if (!e) {
		policy_evaluate(&pol, &ev, &v);
		for (size_t i = 0; i < ev.n; i++)
			if (ev.items[i].invalid)
				log_warn("not counted: %s", ev.items[i].invalid);
		struct strbuf lines = STRBUF_INIT, failed = STRBUF_INIT;
		for (size_t i = 0; i < pol.n; i++) {
			sb_addf(&lines, "%s%s %s: %s", i ? "\n" : "", v[i].ok ? "PASS" : "FAIL", pol.rules[i].text,
				v[i].reason);
			if (!v[i].ok)
				sb_addf(&failed, "%s%s (%s)", failed.len ? "; " : "", pol.rules[i].text, v[i].reason);
		}
		puts(sb_str(&lines));
		char n[32];
		snprintf(n, sizeof n, "%zu", count_valid(&ev));
		results_sets(r, "records", n);
		results_sets(r, "verdicts", sb_str(&lines));
		results_sets(r, "passed", failed.len ? "false" : "true");
		results_mark_verdict(r);
		if (failed.len)
			e = err_new(EXIT_POLICY, "%s does not meet %s: %s", t->digest, file, sb_str(&failed));
		sb_release(&lines);
		sb_release(&failed);
	}
	policy_verdicts_free(v, pol.n);
	policy_release(&pol);
	evidence_release(&ev);
	dsse_keys_release(&keys);
	return e;
}

static err_t *run(const struct params *p, struct results *r)
{
	const char *action = params_str(p, "action");
	struct target t;
	err_t *e = target_parse(p, &t);
	if (!e && !strcmp(action, "publish"))
		e = publish(p, r, &t);
	else if (!e && !strcmp(action, "list"))
		e = list(p, r, &t);
	else if (!e && !strcmp(action, "evaluate"))
		e = evaluate(p, r, &t);
	else if (!e)
		e = err_new(EXIT_USAGE, "--action: '%s' is not publish, list or evaluate", action);
	target_release(&t);
	return e;
}

int main(int argc, char **argv)
{
	/* `publish-doi list ...` is `publish-doi --action=list ...` (params
	 * are only ever --name=value: the first other word is the action) */
	_cleanup_free_ char *action = NULL;
	for (int i = 1; i < argc && !action; i++)
		if (argv[i][0] != '-') {
			action = xasprintf("--action=%s", argv[i]);
			argv[i] = action;
		}
	return task_main(&spec, argc, argv, run);
}
