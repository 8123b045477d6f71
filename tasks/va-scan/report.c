/* Reports (report.h). */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "report.h"
#include "task.h"
#include "xalloc.h"

#define OSV_URL "https://osv.dev/vulnerability/"

err_t *va_report_format_param(const char *s, enum va_report_format *out)
{
	if (s && !strcasecmp(s, "json"))
		*out = VA_REPORT_JSON;
	else if (s && !strcasecmp(s, "sarif"))
		*out = VA_REPORT_SARIF;
	else if (s && !strcasecmp(s, "cyclonedx"))
		*out = VA_REPORT_CYCLONEDX;
	else
		return err_new(EXIT_USAGE, "report-format: \"%s\" is not one of json, sarif, cyclonedx", s ? s : "");
	return NULL;
}

static const char *shown_severity(const struct va_finding *f)
{
	return f->error ? "UNDECIDED" : f->severity;
}

void va_report_table(const struct va_report *r, FILE *out)
{
	const struct va_findings *fs = r->fs;
	size_t shown = 0;
	fprintf(out, "%-10s %-28s %-20s %-20s %-20s %s\n", "SEVERITY", "ID", "PACKAGE", "VERSION", "FIXED", "SUMMARY");
	for (size_t i = 0; i < fs->n; i++) {
		const struct va_finding *f = &fs->f[i];
		fprintf(out, "%-10s %-28s %-20s %-20s %-20s %.*s\n", shown_severity(f), f->id, f->package, f->version,
			f->fixed ? f->fixed : "-", 80, f->error ? f->error : f->summary);
		if (f->suppressed)
			fprintf(out, "%-10s   %s\n", "", f->suppressed);
		shown++;
	}
	fprintf(out, "%zu finding%s in %zu component%s (%zu advisories in %s): %s\n", shown, shown == 1 ? "" : "s",
		r->inv->n, r->inv->n == 1 ? "" : "s", r->records, r->database, r->status);
}

static json_t *finding_json(const struct va_finding *f)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(f->id));
	json_object_set(o, "aliases", f->aliases);
	json_object_set_new(o, "package", json_string(f->package));
	json_object_set_new(o, "version", json_string(f->version));
	json_object_set_new(o, "ecosystem", json_string(f->ecosystem));
	json_object_set_new(o, "purl", json_string(f->purl));
	json_object_set_new(o, "severity", json_string(f->severity));
	json_object_set_new(o, "summary", json_string(f->summary));
	json_object_set_new(o, "fixed", f->fixed ? json_string(f->fixed) : json_null());
	if (f->score >= 0)
		json_object_set_new(o, "score", json_real(f->score));
	if (f->vector)
		json_object_set_new(o, "vector", json_string(f->vector));
	if (f->path)
		json_object_set_new(o, "path", json_string(f->path));
	if (f->error)
		json_object_set_new(o, "error", json_string(f->error));
	if (f->suppressed)
		json_object_set_new(o, "suppressed", json_string(f->suppressed));
	return o;
}

json_t *va_report_json(const struct va_report *r)
{
	json_t *findings = json_array();
	json_t *counts = json_pack("{sisisisisisisi}", "critical", 0, "high", 0, "medium", 0, "low", 0, "unknown", 0,
				   "undecided", 0, "suppressed", 0);
	for (size_t i = 0; i < r->fs->n; i++) {
		const struct va_finding *f = &r->fs->f[i];
		json_array_append_new(findings, finding_json(f));
		_cleanup_free_ char *key = xstrdup(f->error ? "undecided" : f->suppressed ? "suppressed" : f->severity);
		for (char *p = key; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		if (!strcmp(key, "none"))
			continue;
		json_object_set_new(counts, key, json_integer(json_integer_value(json_object_get(counts, key)) + 1));
	}
	return json_pack("{s{ssss}s{sssi}ss?sssssoso}", "tool", "name", "va-scan", "version", PIPELINE_VERSION,
			 "database", "path", r->database, "advisories", (int)r->records, "subject", r->inv->subject,
			 "status", r->status, "fail_on", r->fail_on, "counts", counts, "findings", findings);
}

static const char *sarif_level(const struct va_finding *f)
{
	if (f->error || !strcmp(f->severity, "CRITICAL") || !strcmp(f->severity, "HIGH"))
		return "error";
	if (!strcmp(f->severity, "MEDIUM"))
		return "warning";
	return "note";
}

json_t *va_report_sarif(const struct va_report *r)
{
	json_t *rules = json_array(), *results = json_array(), *seen = json_object();
	for (size_t i = 0; i < r->fs->n; i++) {
		const struct va_finding *f = &r->fs->f[i];
		if (!json_object_get(seen, f->id)) {
			json_object_set_new(seen, f->id, json_true());
			_cleanup_free_ char *uri = xasprintf(OSV_URL "%s", f->id);
			json_t *rule = json_pack("{sss{ss}ss}", "id", f->id, "shortDescription", "text",
						 *f->summary ? f->summary : f->id, "helpUri", uri);
			if (f->score >= 0) {
				_cleanup_free_ char *s = xasprintf("%.1f", f->score);
				json_object_set_new(rule, "properties", json_pack("{ss}", "security-severity", s));
			}
			json_array_append_new(rules, rule);
		}
		_cleanup_free_ char *msg = xasprintf("%s %s (%s) is affected by %s%s%s%s", f->package, f->version,
						     f->ecosystem, f->id, f->fixed ? ", fixed in " : "",
						     f->fixed ? f->fixed : "", f->error ? " (undecided)" : "");
		json_t *res = json_pack("{sssss{ss}s[{s{s{ss}}}]}", "ruleId", f->id, "level", sarif_level(f), "message",
					"text", msg, "locations", "physicalLocation", "artifactLocation", "uri",
					f->path ? f->path : "bom");
		if (f->suppressed)
			json_object_set_new(res, "suppressions",
					    json_pack("[{ssss}]", "kind", "external", "justification", f->suppressed));
		json_array_append_new(results, res);
	}
	json_decref(seen);
	return json_pack("{sssss[{s{s{ssssssso}}so}]}", "$schema",
			 "https://json.schemastore.org/sarif-2.1.0.json", "version", "2.1.0", "runs", "tool", "driver",
			 "name", "va-scan", "version", PIPELINE_VERSION, "informationUri",
			 "https://ossf.github.io/osv-schema/", "rules", rules, "results", results);
}

json_t *va_report_cyclonedx(const struct va_report *r)
{
	json_t *bom = inventory_to_cyclonedx(r->inv, NULL);
	json_t *vulns = json_array();
	for (size_t i = 0; i < r->fs->n; i++) {
		const struct va_finding *f = &r->fs->f[i];
		_cleanup_free_ char *url = xasprintf(OSV_URL "%s", f->id);
		_cleanup_free_ char *sev = xstrdup(f->severity);
		for (char *p = sev; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		json_t *rating = json_pack("{ss}", "severity", sev);
		if (f->score >= 0) {
			json_object_set_new(rating, "score", json_real(f->score));
			const char *method = !f->vector			       ? "CVSSv31"
					     : !strncmp(f->vector, "CVSS:4.0", 8) ? "CVSSv4"
					     : !strncmp(f->vector, "CVSS:3.0", 8) ? "CVSSv3"
										   : "CVSSv31";
			json_object_set_new(rating, "method", json_string(method));
		}
		if (f->vector && f->score >= 0)
			json_object_set_new(rating, "vector", json_string(f->vector));
		_cleanup_free_ char *ref = xasprintf("%s/%s", f->id, f->purl);
		json_t *v = json_pack("{sssss{ssss}s[o]sss[{ss}]}", "bom-ref", ref, "id", f->id, "source", "name", "OSV",
				      "url", url, "ratings", rating, "description", f->summary, "affects", "ref",
				      f->purl);
		if (f->fixed)
			json_object_set_new(v, "recommendation", json_sprintf("upgrade to %s", f->fixed));
		if (f->suppressed)
			json_object_set_new(v, "analysis",
					    json_pack("{ssss}", "state", "not_affected", "detail", f->suppressed));
		json_array_append_new(vulns, v);
	}
	json_object_set_new(bom, "vulnerabilities", vulns);
	return bom;
}
