/* va-scan's reports: a table (stdout), JSON (findings[] with id, aliases,
 * package, version, ecosystem, severity, fixed, ...), SARIF 2.1.0, and a
 * CycloneDX 1.5 BOM with its vulnerabilities section. */
#ifndef VA_SCAN_REPORT_H
#define VA_SCAN_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "error.h"
#include "inventory.h"
#include "match.h"

enum va_report_format { VA_REPORT_JSON, VA_REPORT_SARIF, VA_REPORT_CYCLONEDX };

err_t *va_report_format_param(const char *s, enum va_report_format *out);

struct va_report {
	const struct inventory *inv;
	const struct va_findings *fs;
	const char *database; /* what was scanned against */
	size_t records;       /* advisories in it */
	const char *status;   /* "pass" or "fail" */
	const char *fail_on;
};

void va_report_table(const struct va_report *r, FILE *out);
json_t *va_report_json(const struct va_report *r);
json_t *va_report_sarif(const struct va_report *r);
json_t *va_report_cyclonedx(const struct va_report *r);

#endif
