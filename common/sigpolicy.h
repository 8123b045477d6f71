/* The two-signer policy as deploy, verify-signatures and the admission
 * check apply it: every required signer must have signed this exact image
 * digest, in Docker Content Trust (verified from the notary server or a
 * directory of trust data) and/or in the cosign format (in the registry).
 * One verdict per signer and format, each with its precise reason. */
#ifndef COMMON_SIGPOLICY_H
#define COMMON_SIGPOLICY_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "notary.h"
#include "registry.h"

struct sigpolicy_signer {
	const char *name;
	EVP_PKEY *pub; /* NULL: DCT only, any key delegated to targets/<name> */
};

struct sigpolicy {
	const char *repo;   /* registry/repository (the GUN) */
	const char *digest; /* sha256:... */
	bool dct, cosign;
	struct notary_options notary; /* dct from a server ... */
	struct notary *notary_conn;   /* ... already open (borrowed), else opened */
	const char *trust_data_dir;   /* ... or from a directory of role files */
	const char *trust_state_dir;  /* rollback memory (may be NULL) */
	const char *const *root_key_ids; /* pinned root key IDs (any one) */
	size_t n_root_key_ids;
	struct registry *registry;    /* cosign */
	const struct sigpolicy_signer *signers;
	size_t n_signers;
};

struct sigpolicy_verdict {
	const char *signer; /* borrowed from the policy */
	const char *format; /* "dct" or "cosign" */
	bool ok;
	char *reason;
};

/* Verdicts in *out (caller frees with sigpolicy_verdicts_free); *all_ok
 * when every one passed. Errors only for what is not a verdict: a server
 * unreachable (EXIT_UNREACHABLE), refused credentials (EXIT_AUTH), bad
 * usage. */
err_t *sigpolicy_check(const struct sigpolicy *p, struct sigpolicy_verdict **out, size_t *n, bool *all_ok);
void sigpolicy_verdicts_free(struct sigpolicy_verdict *v, size_t n);
/* The failed verdicts as one line: "signer (format): reason; ..." (caller
 * frees; "" when every one passed). */
char *sigpolicy_failures(const struct sigpolicy_verdict *v, size_t n);

/* Required signers from the params' NAME or NAME=PUBLIC_KEY.pem items:
 * names checked as vault names, keys read (EXIT_USAGE naming the signer).
 * Free with sigpolicy_signers_free, also after an error. */
struct sigpolicy_signers {
	struct sigpolicy_signer *items;
	size_t n;
};
err_t *sigpolicy_signers_parse(const char *const *items, size_t n, struct sigpolicy_signers *out);
void sigpolicy_signers_free(struct sigpolicy_signers *s);

#endif
