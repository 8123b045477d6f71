/* Version orderings of the package ecosystems va-scan matches advisories
 * in: Debian (dpkg), Alpine (apk), npm (SemVer 2.0, node-semver ranges)
 * and PyPI (PEP 440). Each parses strictly: a version its ecosystem's own
 * tool rejects is an error (usage, exit 2) naming the version, never an
 * ordering guessed for it, so a scan reports it instead of calling the
 * package "not affected". */
#ifndef COMMON_VERSION_H
#define COMMON_VERSION_H

#include <stdbool.h>

#include "error.h"

enum version_scheme {
	VERSION_DEBIAN, /* dpkg: [epoch:]upstream[-revision], '~' sorts first */
	VERSION_ALPINE, /* apk: 1.2.3a_rc1~hash-r4 */
	VERSION_SEMVER, /* SemVer 2.0 as node-semver reads it (strict, optional 'v') */
	VERSION_PEP440, /* PEP 440, as the packaging library normalises it */
};

const char *version_scheme_name(enum version_scheme s);

/* The scheme of an OSV ecosystem name ("Debian:12", "Alpine:v3.18", "npm",
 * "PyPI"); false for one we have no ordering for. */
bool version_scheme_for_ecosystem(const char *ecosystem, enum version_scheme *out);

/* NULL when v is a valid version of the scheme. */
err_t *version_check(enum version_scheme s, const char *v);

/* *cmp < 0, 0 or > 0 as a sorts before, equal to or after b; an error
 * (naming the version) when either is not a valid version. */
err_t *version_compare(enum version_scheme s, const char *a, const char *b, int *cmp);

/* Per scheme, for callers that know theirs (same contract as above). */
err_t *version_debian_compare(const char *a, const char *b, int *cmp);
err_t *version_alpine_compare(const char *a, const char *b, int *cmp);
err_t *version_semver_compare(const char *a, const char *b, int *cmp);
err_t *version_pep440_compare(const char *a, const char *b, int *cmp);

/* Whether version satisfies the node-semver range (default options: no
 * loose parsing, prereleases only against a comparator of the same
 * major.minor.patch). An invalid range or version is an error. */
err_t *semver_range_satisfies(const char *range, const char *version, bool *in);

/* Digit strings (no sign) compared as numbers of any length: leading zeros
 * ignored, an empty string is 0. For the schemes whose numeric parts may exceed 64 bits. */
int version_numcmp(const char *a, size_t alen, const char *b, size_t blen);

/* One identifier of a dotted list (a SemVer prerelease part, a PEP 440
 * local segment): two digit strings compare as numbers; a digit string
 * against another string sorts first when numbers_first, else last; two
 * other strings byte by byte (ignoring ASCII case when fold_case), a
 * prefix first. -1, 0 or 1. */
int version_ident_cmp(const char *a, size_t alen, const char *b, size_t blen, bool numbers_first, bool fold_case);

#endif
