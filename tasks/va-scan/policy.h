/* What counts against the build: the fail-on severity threshold, an
 * ignore file, and OpenVEX documents.
 *
 * Ignore file (YAML):
 *   ignore:
 *     - id: GHSA-29mw-wpgm-hmr9   # the advisory id or one of its aliases
 *       package: lodash           # optional: only for this package
 *       reason: "not reachable"   # required
 *       expires: 2025-06-30       # optional: from this day on it no longer ignores
 * OpenVEX (https://github.com/openvex/spec, v0.0.x and v0.2.0): statements
 * with status "not_affected" and a justification (or impact_statement)
 * suppress the vulnerability (its name, @id or aliases) for the listed
 * products (purls: exact, without qualifiers, or without a version). */
#ifndef VA_SCAN_POLICY_H
#define VA_SCAN_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "error.h"
#include "match.h"

enum va_severity { VA_NONE, VA_UNKNOWN, VA_LOW, VA_MEDIUM, VA_HIGH, VA_CRITICAL };

enum va_severity va_severity_of(const char *name); /* "HIGH" -> VA_HIGH; others VA_UNKNOWN */
/* fail-on: critical|high|medium|low|any (any: every severity, unknown ones
 * too) or none (never fails on severity). */
err_t *va_threshold_param(const char *s, enum va_severity *out);

struct va_policy;
struct va_policy *va_policy_new(time_t now);
void va_policy_free(struct va_policy *p);
err_t *va_policy_load_ignore(struct va_policy *p, const char *text, size_t len, const char *what);
err_t *va_policy_load_vex(struct va_policy *p, const char *text, size_t len, const char *what);
/* Sets each finding's suppressed reason when an entry applies; expired
 * ignore entries that would have applied are logged as such. */
void va_policy_apply(const struct va_policy *p, struct va_findings *fs);

/* How many unsuppressed findings reach threshold; undecided ones (error
 * set) always count. */
size_t va_policy_failing(const struct va_findings *fs, enum va_severity threshold);

#endif
