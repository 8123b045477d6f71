/* Matching an inventory against the advisory index, with each
 * ecosystem's own version ordering (common/version.h) and OSV's range
 * semantics (https://ossf.github.io/osv-schema/#evaluation): events sorted
 * by version, "introduced" opens, "fixed" closes at that version,
 * "last_affected" closes after it, "limit" bounds the range from above;
 * explicit "versions" match as listed. Debian and Alpine advisories match
 * the component's source package and version (as Debian's tracker does),
 * and only the component's OS release ("Debian:12", "Alpine:v3.11"). */
#ifndef VA_SCAN_MATCH_H
#define VA_SCAN_MATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "inventory.h"
#include "vulndb.h"

struct va_finding {
	char *id;
	json_t *aliases; /* array of strings */
	char *summary;
	char *severity;  /* CRITICAL, HIGH, MEDIUM, LOW, NONE, UNKNOWN */
	double score;    /* CVSS base score, or -1 */
	char *vector;    /* or NULL */
	char *ecosystem; /* the advisory's ("Debian:12", "npm") */
	char *package;   /* as matched (a Debian binary's source package) */
	char *version;
	char *purl;      /* the component's */
	char *path;      /* the file the component was found in, or NULL */
	char *fixed;     /* first fixed version above the installed one, or NULL */
	char *error;     /* set: the advisory names the package but whether it
			  * applies could not be decided (an invalid version) */
	char *suppressed; /* set by the policy: why it does not count */
};

struct va_findings {
	struct va_finding *f;
	size_t n, cap;
};

void va_findings_release(struct va_findings *fs);

/* Appends the findings of every component, sorted by package, version, id. */
err_t *match_inventory(const struct vulndb *db, const struct inventory *inv, struct va_findings *out);

/* One trimmed record against one package version (eco is the OSV
 * ecosystem with the release, "Debian:12", or without it when unknown):
 * *affected, and *fixed (caller frees, may stay NULL); an error when the
 * record cannot be evaluated for this version. For tests and fuzzing. */
err_t *match_record(const json_t *rec, const char *eco, const char *name, const char *version, bool *affected,
		    char **fixed);

#endif
