/* CVSS base scores from vectors, as the FIRST specifications define them:
 * v3.0 and v3.1 (https://www.first.org/cvss/v3.1/specification-document,
 * section 7 and appendix A's Roundup) and v4.0
 * (https://www.first.org/cvss/v4.0/specification-document, section 8). A
 * vector that is not a complete, valid base vector of its version is an
 * error naming it. */
#ifndef VA_SCAN_CVSS_H
#define VA_SCAN_CVSS_H

#include "error.h"

/* "CVSS:3.1/AV:N/AC:L/..." -> base score 0.0-10.0 (one decimal). Temporal
 * and environmental metrics may follow the base ones; they do not change
 * the base score. */
err_t *cvss3_base_score(const char *vector, double *score);

/* "CVSS:4.0/AV:N/AC:L/AT:N/..." -> the CVSS-B base score 0.0-10.0 (one
 * decimal): the specification's MacroVector score, less the mean
 * proportional severity distance (section 8.2). Threat, environmental and
 * supplemental metrics may follow; the base score takes them as not given. */
err_t *cvss4_base_score(const char *vector, double *score);

/* The qualitative rating of a score (CVSS v3/v4 table): "NONE", "LOW",
 * "MEDIUM", "HIGH", "CRITICAL". */
const char *cvss_rating(double score);

#endif
