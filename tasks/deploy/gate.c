/* deploy's signature gate (see gate.h). */
#include "gate.h"

#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "http.h"
#include "log.h"
#include "notary.h"
#include "registry.h"
#include "sigpolicy.h"
#include "trust_verify.h"

err_t *gate_check(const struct params *p, const struct image_ref *ref, const char *digest)
{
	const char *format = params_str(p, "format");
	bool dct = !strcmp(format, "dct") || !strcmp(format, "both");
	bool cosign = !strcmp(format, "cosign") || !strcmp(format, "both");
	if (!dct && !cosign)
		return err_new(EXIT_USAGE, "--format: '%s' is not dct, cosign or both", format);
	const char *trust_data = params_str(p, "trust-data-dir");
	if (dct && !params_str(p, "notary-server") && !trust_data)
		return err_new(EXIT_USAGE, "format dct needs --notary-server or --trust-data-dir");
	if (dct && !trust_data)
		TRY(http_check_url(params_str(p, "notary-server"), "https", "--notary-server"));
	_cleanup_free_ char *repo = imageref_name(ref);
	_cleanup_free_ char *tls_dir = trust_state_tls_dir(params_str(p, "trust-state-dir"));
	int retries = (int)params_int(p, "retries");
	struct sigpolicy pol = {
		.repo = repo,
		.digest = digest,
		.dct = dct,
		.cosign = cosign,
		.notary = { .url = params_str(p, "notary-server"), .ca_file = params_str(p, "notary-ca"),
			    .retries = retries, .tls_session_dir = tls_dir },
		.trust_data_dir = trust_data,
		.trust_state_dir = params_str(p, "trust-state-dir"),
	};
	pol.n_root_key_ids = params_list(p, "root-key-ids", &pol.root_key_ids);
	const char *const *items;
	size_t n = params_list(p, "signers", &items);
	struct sigpolicy_signers s = { 0 };
	struct registry *reg = NULL;
	err_t *e = sigpolicy_signers_parse(items, n, &s);
	if (!e && cosign) {
		struct registry_options ro = {
			.creds = params_str(p, "registry-creds"),
			.authfile = params_str(p, "authfile"),
			.insecure = params_bool(p, "insecure-registry"),
			.http = { .retries = retries, .ca_file = params_str(p, "registry-ca"), .tls_session_dir = tls_dir },
		};
		e = registry_open_ref(ref, &ro, &reg);
	}
	struct sigpolicy_verdict *v = NULL;
	size_t nv = 0;
	bool ok = false;
	if (!e) {
		pol.signers = s.items;
		pol.n_signers = s.n;
		pol.registry = reg;
		e = sigpolicy_check(&pol, &v, &nv, &ok);
	}
	for (size_t i = 0; !e && i < nv; i++)
		log_info("signature %s %s %s: %s", v[i].ok ? "PASS" : "FAIL", v[i].signer, v[i].format, v[i].reason);
	if (!e && !ok) {
		_cleanup_free_ char *failed = sigpolicy_failures(v, nv);
		e = err_new(EXIT_POLICY, "refusing to deploy %s@%s: not signed by every required signer: %s; nothing was applied",
			    repo, digest, failed);
	}
	if (e)
		e = err_context(e, "signature gate");
	sigpolicy_verdicts_free(v, nv);
	registry_close(reg);
	sigpolicy_signers_free(&s);
	return e;
}
