/* Kubernetes hardening checks over parsed manifests (common/yamldoc):
 * CIS Kubernetes Benchmark section 5 (pod security, secrets, namespaces)
 * and kube-score style checks (resources, probes, image pinning). Each
 * finding carries an ID, a severity, the object path and a fix hint. An
 * object can waive checks for itself with the annotation
 * `cis-check/ignore: "ID,ID"` (for a justified exception, reviewed with the
 * manifest). */
#ifndef CIS_CHECK_CHECKS_H
#define CIS_CHECK_CHECKS_H

#include <stdbool.h>
#include <stddef.h>

#include "findings.h"
#include "yamldoc.h"

const struct rule_info *cis_rules(size_t *n);
int cis_rule_index(const char *id);

struct cis_config {
	enum severity *severity; /* per rule (cis_rules order); SEV_IGNORE turns one off */
};

void cis_config_init(struct cis_config *c);
void cis_config_release(struct cis_config *c);

/* Check every object of every document; file names the findings. */
void cis_check_stream(const struct ydoc *y, const char *file, const struct cis_config *cfg, struct findings *out);

#endif
