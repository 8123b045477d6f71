/* verify-signatures: is this image digest signed by every required
 * signer? Prints one verdict per signer (and format) and exits 3 when the
 * policy is not met, naming exactly what is missing or wrong. The policy
 * itself is common/sigpolicy, shared with deploy and the admission check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fsutil.h"
#include "http.h"
#include "imageref.h"
#include "log.h"
#include "notary.h"
#include "registry.h"
#include "sigpolicy.h"
#include "strbuf.h"
#include "task.h"
#include "trust_verify.h"

static const struct param_spec params[] = {
	{ "image", PARAM_STRING, NULL, true, false, "image: registry/name[:tag]@sha256:... (or give --digest)" },
	{ "digest", PARAM_STRING, NULL, false, false, "manifest digest (sha256:...), if image has none" },
	{ "signers", PARAM_LIST, NULL, true, false, "required signer: NAME or NAME=PUBLIC_KEY.pem (repeat; all must sign)" },
	{ "format", PARAM_STRING, "dct", false, false, "dct, cosign or both (both: each signer in each format)" },
	{ "notary-server", PARAM_STRING, NULL, false, false, "notary server URL (https://host:port)" },
	{ "notary-ca", PARAM_STRING, NULL, false, false, "CA certificate of the notary server" },
	{ "trust-data-dir", PARAM_STRING, NULL, false, false, "verify offline from this directory of role files instead" },
	{ "root-key-ids", PARAM_LIST, NULL, false, false, "pinned root key IDs (dct-init's root-key-id); any one must sign root" },
	{ "trust-state-dir", PARAM_STRING, NULL, false, false, "remembers versions and the root seen (rollback, key change); caches roles and TLS sessions" },
	{ "registry-creds", PARAM_STRING, NULL, false, true, "user:password for the registry (cosign)" },
	{ "authfile", PARAM_STRING, NULL, false, false, "Docker config.json with registry credentials" },
	{ "registry-ca", PARAM_STRING, NULL, false, false, "CA certificate of the registry" },
	{ "insecure-registry", PARAM_BOOL, "false", false, false, "no TLS verification / plain http for the registry" },
	{ "retries", PARAM_INT, "3", false, false, "retries for unreachable servers" },
	{ NULL },
};

static const struct result_spec results[] = {
	{ "verified", "true when every required signer signed the digest, else false (results are written on exit 3 too)" },
	{ "verdicts", "one line per signer and format: PASS|FAIL signer format reason" },
	{ "IMAGE_DIGEST", "the digest checked" },
	{ NULL },
};

static const struct task_spec spec = {
	"verify-signatures",
	"Check that an image digest is signed by every required signer (DCT and/or cosign); exit 3 if not.",
	params,
	results,
	results_spill,
};

static err_t *run(const struct params *p, struct results *r)
{
	const char *format = params_str(p, "format");
	bool dct = !strcmp(format, "dct") || !strcmp(format, "both");
	bool cosign = !strcmp(format, "cosign") || !strcmp(format, "both");
	if (!dct && !cosign)
		return err_new(EXIT_USAGE, "--format: '%s' is not dct, cosign or both", format);
	struct image_ref ref;
	TRY(imageref_parse(params_str(p, "image"), &ref));
	const char *d = params_str(p, "digest");
	err_t *e = NULL;
	if (d && *d && ref.digest && strcmp(d, ref.digest))
		e = err_new(EXIT_USAGE, "--digest %s differs from the image's digest %s", d, ref.digest);
	const char *digest = d && *d ? d : ref.digest;
	if (!e && !digest)
		e = err_new(EXIT_USAGE, "no digest: verify image@sha256:... or give --digest (tags are never trusted)");
	_cleanup_free_ char *repo = imageref_name(&ref);
	struct sigpolicy_signers s = { 0 };
	struct registry *reg = NULL;
	int retries = (int)params_int(p, "retries");
	_cleanup_free_ char *tls_dir = trust_state_tls_dir(params_str(p, "trust-state-dir"));
	const char *trust_data = params_str(p, "trust-data-dir");
	struct notary_options no = { .url = params_str(p, "notary-server"), .ca_file = params_str(p, "notary-ca"),
				     .retries = retries, .tls_session_dir = tls_dir };
	struct notary *n = NULL;
	if (!e && dct && !no.url && !trust_data)
		e = err_new(EXIT_USAGE, "format dct needs --notary-server or --trust-data-dir");
	if (!e && dct && !trust_data)
		e = http_check_url(no.url, "https", "--notary-server");
	/* the server's timestamp is asked for first: while the server answers,
	 * the signers' keys and the trust state are read */
	if (!e && dct && !trust_data) {
		e = notary_open(&no, repo, &n);
		if (!e)
			notary_prefetch(n, "timestamp");
	}
	if (!e) {
		const char *const *items;
		size_t ns = params_list(p, "signers", &items);
		e = sigpolicy_signers_parse(items, ns, &s);
	}
	if (!e && cosign) {
		struct registry_options ro = {
			.creds = params_str(p, "registry-creds"),
			.authfile = params_str(p, "authfile"),
			.insecure = params_bool(p, "insecure-registry"),
			.http = { .retries = retries, .ca_file = params_str(p, "registry-ca"), .tls_session_dir = tls_dir },
		};
		e = registry_open_ref(&ref, &ro, &reg);
	}
	struct sigpolicy_verdict *v = NULL;
	size_t nv = 0;
	bool ok = false;
	if (!e) {
		struct sigpolicy pol = {
			.repo = repo,
			.digest = digest,
			.dct = dct,
			.cosign = cosign,
			.notary = no,
			.notary_conn = n,
			.trust_data_dir = trust_data,
			.trust_state_dir = params_str(p, "trust-state-dir"),
			.registry = reg,
			.signers = s.items,
			.n_signers = s.n,
		};
		pol.n_root_key_ids = params_list(p, "root-key-ids", &pol.root_key_ids);
		e = sigpolicy_check(&pol, &v, &nv, &ok);
	}
	if (!e) {
		struct strbuf lines = STRBUF_INIT;
		for (size_t i = 0; i < nv; i++)
			sb_addf(&lines, "%s%s %s %s: %s", i ? "\n" : "", v[i].ok ? "PASS" : "FAIL", v[i].signer, v[i].format,
				v[i].reason);
		puts(sb_str(&lines));
		results_sets(r, "verdicts", sb_str(&lines));
		results_sets(r, "verified", ok ? "true" : "false");
		results_sets(r, "IMAGE_DIGEST", digest);
		results_mark_verdict(r); /* evidence, exit 3 or not */
		if (!ok) {
			_cleanup_free_ char *failed = sigpolicy_failures(v, nv);
			e = err_new(EXIT_POLICY, "%s is not signed by every required signer: %s", digest, failed);
		}
		sb_release(&lines);
	}
	sigpolicy_verdicts_free(v, nv);
	notary_close(n);
	registry_close(reg);
	sigpolicy_signers_free(&s);
	imageref_free(&ref);
	return e;
}

int main(int argc, char **argv)
{
	return task_main(&spec, argc, argv, run);
}
