/* The Dockerfile rules: hadolint's rule IDs and meanings (DL3000-DL3062,
 * DL4000-DL4006) and ShellCheck-style checks of RUN commands (SC*), run
 * over the parse tree of common/dockerfile. */
#ifndef DOCKER_LINT_LINT_H
#define DOCKER_LINT_LINT_H

#include <stdbool.h>
#include <stddef.h>

#include "dockerfile.h"
#include "error.h"
#include "findings.h"

enum label_type { LABEL_TEXT, LABEL_URL, LABEL_SEMVER, LABEL_HASH, LABEL_RFC3339, LABEL_SPDX, LABEL_EMAIL };

struct label_rule {
	char *name;
	enum label_type type;
};

struct lint_config {
	enum severity *severity; /* per rule (lint_rules order): the effective severity */
	char **trusted;          /* trusted registries; none: DL3026 is off */
	size_t ntrusted;
	struct label_rule *labels; /* label schema (DL3049-DL3058) */
	size_t nlabels;
	bool strict_labels;        /* DL3050 */
	bool disable_pragmas;      /* ignore "# hadolint ignore=" comments */
};

/* The rule table: id, default severity, published meaning. */
const struct rule_info *lint_rules(size_t *n);
/* Index of a rule id in the table, or -1. */
int lint_rule_index(const char *id);

/* A config with every rule at its default severity (free with lint_config_release). */
void lint_config_init(struct lint_config *c);
void lint_config_release(struct lint_config *c);
bool label_type_parse(const char *s, enum label_type *out);

/* Run every rule over one parsed file; findings name the file as name. */
void lint_dockerfile(const struct df_file *f, const char *name, const struct lint_config *cfg,
		     struct findings *out);

#endif
