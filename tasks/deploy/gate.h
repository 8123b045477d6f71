/* deploy's gate: the image digest must carry every required signer's
 * signature (common/sigpolicy, the verifier verify-signatures uses) before
 * anything is sent to a cluster. */
#ifndef DEPLOY_GATE_H
#define DEPLOY_GATE_H

#include "error.h"
#include "imageref.h"
#include "params.h"

/* Check ref (its registry/repository) at digest with the policy the params
 * give (signers, format, notary-server, trust-data-dir, ...). Every verdict
 * is logged; a policy that is not met is EXIT_POLICY naming each failed
 * signer and its reason. */
err_t *gate_check(const struct params *p, const struct image_ref *ref, const char *digest);

#endif
