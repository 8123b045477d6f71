/* docker-lint's config file, in hadolint's format (.hadolint.yaml):
 * ignored, trustedRegistries, label-schema, strict-labels, override,
 * failure-threshold, disable-ignore-pragma. Unknown rule IDs and keys are
 * warnings, never errors. */
#ifndef DOCKER_LINT_LINTCONFIG_H
#define DOCKER_LINT_LINTCONFIG_H

#include "error.h"
#include "findings.h"
#include "lint.h"

/* Apply the file at path to cfg; *threshold is set when the file names
 * one (threshold_set says so). */
err_t *lintconfig_load(const char *path, struct lint_config *cfg, enum severity *threshold, bool *threshold_set);
/* The same over the file's text (path names it in messages). */
err_t *lintconfig_apply(const char *text, size_t len, const char *path, struct lint_config *cfg,
			enum severity *threshold, bool *threshold_set);
/* Ignore a rule by id; false (and a warning) when the id is unknown. */
bool lintconfig_ignore(struct lint_config *cfg, const char *id, const char *where);
void lintconfig_add_trusted(struct lint_config *cfg, const char *registry);

#endif
