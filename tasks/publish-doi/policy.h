/* The gate (the seed's DevOps Insights policy), evaluated over verified
 * evidence only. A policy file is one rule a line ('#' starts a comment):
 *
 *   tests-passed TYPE             the latest test record of TYPE (unittest,
 *                                 fvt, code, lint, cis) has result PASSED
 *   max-findings TYPE SEVERITY N  the latest TYPE record (lint, cis) has at
 *                                 most N findings at SEVERITY (error,
 *                                 warning, info, style) or above
 *   max-vulnerabilities SEVERITY N  the latest vulnerability record has at
 *                                 most N at SEVERITY (critical, high,
 *                                 medium, low) or above
 *   built-from-branch BRANCH      the latest build record (SLSA provenance)
 *                                 names BRANCH in its externalParameters
 *   built-from-repository URL     ... and URL as its repository (exactly):
 *                                 every repository that can trigger a
 *                                 build has a branch main
 *   deployed-to ENVIRONMENT       the latest deploy record for ENVIRONMENT
 *                                 has status success (or pass)
 *
 * A rule with no record to read is unmet ("no ... record"). */
#ifndef PUBLISH_DOI_POLICY_H
#define PUBLISH_DOI_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "evidence.h"

struct policy_rule {
	char *text; /* the line as written (trimmed) */
	int line;
	int kind;
	char *arg;      /* type, severity, branch or environment */
	char *severity; /* max-findings */
	long max;
};

struct policy {
	struct policy_rule *rules;
	size_t n;
};

/* Parse a policy (file: its name, for messages): EXIT_USAGE "file:line:
 * ..." for an unknown rule or a malformed one, or when there is no rule. */
err_t *policy_parse(const char *text, size_t len, const char *file, struct policy *out);
void policy_release(struct policy *p);

struct policy_verdict {
	bool ok;
	char *reason;
};

/* One verdict per rule (caller frees with policy_verdicts_free); only
 * verified items of ev count. ev is prepared (evidence_prepare): each rule
 * verifies its newest candidate records until one counts. */
void policy_evaluate(const struct policy *p, struct evidence *ev, struct policy_verdict **out);
void policy_verdicts_free(struct policy_verdict *v, size_t n);

#endif
