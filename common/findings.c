/* Findings and their report formats (see findings.h). */
#include "findings.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "results.h"
#include "strbuf.h"
#include "xalloc.h"

static const char *const sev_names[] = { "style", "info", "warning", "error", "ignore" };

const char *severity_name(enum severity s)
{
	return (unsigned)s <= SEV_IGNORE ? sev_names[s] : "?";
}

bool severity_parse(const char *s, enum severity *out)
{
	for (int i = 0; i <= SEV_IGNORE; i++)
		if (s && !strcasecmp(s, sev_names[i])) {
			*out = (enum severity)i;
			return true;
		}
	return false;
}

bool threshold_parse(const char *s, enum severity *out)
{
	if (s && !strcasecmp(s, "none")) {
		*out = SEV_IGNORE;
		return true;
	}
	return severity_parse(s, out);
}

bool report_format_parse(const char *s, enum report_format *out)
{
	static const struct {
		const char *name;
		enum report_format f;
	} names[] = {
		{ "tty", REPORT_TTY },     { "json", REPORT_JSON },
		{ "sarif", REPORT_SARIF }, { "checkstyle", REPORT_CHECKSTYLE },
		{ "codeclimate", REPORT_CODECLIMATE }, { "gitlab_codeclimate", REPORT_CODECLIMATE },
	};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (s && !strcasecmp(s, names[i].name)) {
			*out = names[i].f;
			return true;
		}
	return false;
}

err_t *report_format_param(const char *s, enum report_format *out)
{
	if (!report_format_parse(s, out))
		return err_new(EXIT_USAGE, "format '%s': expected tty, json, sarif, checkstyle or codeclimate", s);
	return NULL;
}

err_t *threshold_param(const char *s, enum severity *out)
{
	if (!threshold_parse(s, out))
		return err_new(EXIT_USAGE, "failure-threshold '%s': expected error, warning, info, style or none", s);
	return NULL;
}

void findings_add(struct findings *f, const char *rule, enum severity sev, const char *file, int line, int column,
		  const char *path, const char *hint, const char *fmt, ...)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 16;
		f->items = xrealloc(f->items, f->cap * sizeof *f->items);
	}
	struct finding *x = &f->items[f->n++];
	va_list ap;
	va_start(ap, fmt);
	struct strbuf sb = STRBUF_INIT;
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	x->rule = xstrdup(rule);
	x->severity = sev;
	x->file = xstrdup(file ? file : "");
	x->line = line;
	x->column = column;
	x->message = sb_detach(&sb);
	x->path = path ? xstrdup(path) : NULL;
	x->hint = hint ? xstrdup(hint) : NULL;
}

void findings_release(struct findings *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->items[i].rule);
		free(f->items[i].file);
		free(f->items[i].message);
		free(f->items[i].path);
		free(f->items[i].hint);
	}
	free(f->items);
	memset(f, 0, sizeof *f);
}

static int cmp_finding(const void *a, const void *b)
{
	const struct finding *x = a, *y = b;
	int c = strcmp(x->file, y->file);
	if (c)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->column != y->column)
		return x->column < y->column ? -1 : 1;
	c = strcmp(x->rule, y->rule);
	if (c)
		return c;
	return strcmp(x->path ? x->path : "", y->path ? y->path : "");
}

void findings_sort(struct findings *f)
{
	if (f->n > 1)
		qsort(f->items, f->n, sizeof *f->items, cmp_finding);
}

size_t findings_at_or_above(const struct findings *f, enum severity threshold)
{
	if (threshold == SEV_IGNORE)
		return 0;
	size_t n = 0;
	for (size_t i = 0; i < f->n; i++)
		n += f->items[i].severity >= threshold && f->items[i].severity != SEV_IGNORE;
	return n;
}

static err_t *put_json(json_t *j, FILE *out)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (!s)
		return err_new(EXIT_FAILED, "cannot encode the report as JSON");
	int rc = fprintf(out, "%s\n", s);
	free(s);
	return rc < 0 ? err_errno(EXIT_FAILED, "cannot write the report") : NULL;
}

static json_t *jstr(const char *s)
{
	json_t *j = json_stringn(s, strlen(s));
	return j ? j : json_string("(invalid UTF-8)");
}

static err_t *write_json(const struct findings *f, FILE *out)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < f->n; i++) {
		const struct finding *x = &f->items[i];
		json_t *o = json_object();
		json_object_set_new(o, "code", jstr(x->rule));
		json_object_set_new(o, "level", json_string(severity_name(x->severity)));
		json_object_set_new(o, "file", jstr(x->file));
		json_object_set_new(o, "line", json_integer(x->line));
		json_object_set_new(o, "column", json_integer(x->column ? x->column : 1));
		json_object_set_new(o, "message", jstr(x->message));
		if (x->path)
			json_object_set_new(o, "path", jstr(x->path));
		if (x->hint)
			json_object_set_new(o, "hint", jstr(x->hint));
		json_array_append_new(arr, o);
	}
	return put_json(arr, out);
}

static const char *sarif_level(enum severity s)
{
	return s == SEV_ERROR ? "error" : s == SEV_WARNING ? "warning" : "note";
}

static err_t *write_sarif(const struct findings *f, const struct report_tool *tool, FILE *out)
{
	json_t *driver = json_object();
	json_object_set_new(driver, "name", jstr(tool->name));
	if (tool->version)
		json_object_set_new(driver, "version", jstr(tool->version));
	if (tool->uri)
		json_object_set_new(driver, "informationUri", jstr(tool->uri));
	json_t *rules = json_array();
	for (size_t i = 0; i < tool->nrules; i++) {
		const struct rule_info *r = &tool->rules[i];
		json_t *o = json_object();
		json_object_set_new(o, "id", jstr(r->id));
		json_object_set_new(o, "shortDescription", json_pack("{s:o}", "text", jstr(r->title)));
		json_object_set_new(o, "defaultConfiguration",
				    json_pack("{s:s}", "level", r->severity == SEV_IGNORE ? "none" : sarif_level(r->severity)));
		if (r->help_uri)
			json_object_set_new(o, "helpUri", jstr(r->help_uri));
		json_array_append_new(rules, o);
	}
	json_object_set_new(driver, "rules", rules);
	json_t *results = json_array();
	for (size_t i = 0; i < f->n; i++) {
		const struct finding *x = &f->items[i];
		json_t *region = json_object();
		json_object_set_new(region, "startLine", json_integer(x->line > 0 ? x->line : 1));
		json_object_set_new(region, "startColumn", json_integer(x->column > 0 ? x->column : 1));
		json_t *loc = json_pack("{s:{s:{s:o},s:o}}", "physicalLocation", "artifactLocation", "uri",
					jstr(x->file), "region", region);
		if (x->path)
			json_object_set_new(loc, "logicalLocations",
					    json_pack("[{s:o}]", "fullyQualifiedName", jstr(x->path)));
		struct strbuf msg = STRBUF_INIT;
		sb_adds(&msg, x->message);
		if (x->hint)
			sb_addf(&msg, " Fix: %s", x->hint);
		json_t *r = json_object();
		json_object_set_new(r, "ruleId", jstr(x->rule));
		json_object_set_new(r, "level", json_string(sarif_level(x->severity)));
		json_object_set_new(r, "message", json_pack("{s:o}", "text", jstr(sb_str(&msg))));
		json_object_set_new(r, "locations", json_pack("[o]", loc));
		sb_release(&msg);
		json_array_append_new(results, r);
	}
	json_t *doc = json_object();
	json_object_set_new(doc, "$schema", json_string("https://json.schemastore.org/sarif-2.1.0.json"));
	json_object_set_new(doc, "version", json_string("2.1.0"));
	json_object_set_new(doc, "runs", json_pack("[{s:{s:o},s:o}]", "tool", "driver", driver, "results", results));
	return put_json(doc, out);
}

static void xml_escape(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': sb_adds(sb, "&lt;"); break;
		case '>': sb_adds(sb, "&gt;"); break;
		case '&': sb_adds(sb, "&amp;"); break;
		case '\'': sb_adds(sb, "&apos;"); break;
		case '"': sb_adds(sb, "&quot;"); break;
		default:
			if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n')
				sb_addf(sb, "&#%d;", *s == '\r' ? 13 : 32);
			else
				sb_addc(sb, *s);
		}
	}
}

static err_t *write_checkstyle(const struct findings *f, FILE *out)
{
	struct strbuf sb = STRBUF_INIT;
	sb_adds(&sb, "<?xml version='1.0' encoding='UTF-8'?>\n<checkstyle version='4.3'>\n");
	const char *open = NULL;
	for (size_t i = 0; i < f->n; i++) {
		const struct finding *x = &f->items[i];
		if (!open || strcmp(open, x->file)) {
			if (open)
				sb_adds(&sb, "  </file>\n");
			sb_adds(&sb, "  <file name='");
			xml_escape(&sb, x->file);
			sb_adds(&sb, "'>\n");
			open = x->file;
		}
		sb_addf(&sb, "    <error line='%d' column='%d' severity='%s' message='", x->line,
			x->column ? x->column : 1, severity_name(x->severity));
		xml_escape(&sb, x->message);
		sb_adds(&sb, "' source='");
		xml_escape(&sb, x->rule);
		sb_adds(&sb, "'/>\n");
	}
	if (open)
		sb_adds(&sb, "  </file>\n");
	sb_adds(&sb, "</checkstyle>\n");
	err_t *e = fwrite(sb.buf, 1, sb.len, out) == sb.len ? NULL : err_errno(EXIT_FAILED, "cannot write the report");
	sb_release(&sb);
	return e;
}

/* A stable identifier for a finding (not a security digest): two FNV-1a
 * 64-bit hashes with different offsets, as 32 hex digits. */
static void fingerprint(const char *data, size_t len, char out[33])
{
	uint64_t a = 0xcbf29ce484222325ULL, b = 0x84222325cbf29ce4ULL;
	for (size_t i = 0; i < len; i++) {
		a = (a ^ (unsigned char)data[i]) * 0x100000001b3ULL;
		b = (b ^ (unsigned char)data[len - 1 - i]) * 0x100000001b3ULL;
	}
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)a, (unsigned long long)b);
}

static const char *codeclimate_severity(enum severity s)
{
	switch (s) {
	case SEV_ERROR: return "blocker";
	case SEV_WARNING: return "major";
	case SEV_INFO: return "info";
	default: return "minor";
	}
}

static err_t *write_codeclimate(const struct findings *f, FILE *out)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < f->n; i++) {
		const struct finding *x = &f->items[i];
		struct strbuf key = STRBUF_INIT;
		sb_addf(&key, "%s\n%s\n%d\n%s\n%s", x->rule, x->file, x->line, x->path ? x->path : "", x->message);
		char digest[33];
		fingerprint(key.buf, key.len, digest);
		sb_release(&key);
		json_t *o = json_object();
		json_object_set_new(o, "type", json_string("issue"));
		json_object_set_new(o, "check_name", jstr(x->rule));
		json_object_set_new(o, "description", jstr(x->message));
		json_object_set_new(o, "categories", json_pack("[s]", x->severity >= SEV_WARNING ? "Bug Risk" : "Style"));
		json_object_set_new(o, "severity", json_string(codeclimate_severity(x->severity)));
		json_object_set_new(o, "fingerprint", jstr(digest));
		json_object_set_new(o, "location", json_pack("{s:o,s:{s:i}}", "path", jstr(x->file), "lines", "begin",
							     x->line > 0 ? x->line : 1));
		json_array_append_new(arr, o);
	}
	return put_json(arr, out);
}

static err_t *write_tty(const struct findings *f, bool color, FILE *out)
{
	static const char *const colors[] = { "\033[36m", "\033[32m", "\033[33m", "\033[31m", "" };
	for (size_t i = 0; i < f->n; i++) {
		const struct finding *x = &f->items[i];
		const char *c = color ? colors[x->severity <= SEV_IGNORE ? x->severity : SEV_IGNORE] : "";
		fprintf(out, "%s:%d %s %s%s%s: %s", x->file, x->line, x->rule, c, severity_name(x->severity),
			color ? "\033[0m" : "", x->message);
		if (x->path)
			fprintf(out, " [%s]", x->path);
		if (x->hint)
			fprintf(out, " (fix: %s)", x->hint);
		fputc('\n', out);
	}
	return ferror(out) ? err_new(EXIT_FAILED, "cannot write the report") : NULL;
}

err_t *findings_write(const struct findings *f, enum report_format fmt, const struct report_tool *tool,
		      bool color, FILE *out)
{
	switch (fmt) {
	case REPORT_JSON: return write_json(f, out);
	case REPORT_SARIF: return write_sarif(f, tool, out);
	case REPORT_CHECKSTYLE: return write_checkstyle(f, out);
	case REPORT_CODECLIMATE: return write_codeclimate(f, out);
	default: return write_tty(f, color, out);
	}
}

enum severity *rule_severities_new(const struct rule_info *rules, size_t n)
{
	enum severity *sev = xcalloc(n ? n : 1, sizeof *sev);
	for (size_t i = 0; i < n; i++)
		sev[i] = rules[i].severity;
	return sev;
}

int rule_info_find(const struct rule_info *rules, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(rules[i].id, id))
			return (int)i;
	return -1;
}

err_t *findings_report(const struct findings *f, enum report_format fmt, const struct report_tool *tool,
		       const char *path)
{
	if (path && *path) {
		FILE *fp = fopen(path, "w");
		if (!fp)
			return err_errno(EXIT_FAILED, "cannot write the report to %s", path);
		err_t *e = findings_write(f, fmt, tool, false, fp);
		if (fclose(fp) != 0 && !e)
			e = err_errno(EXIT_FAILED, "cannot write the report to %s", path);
		return e;
	}
	bool color = fmt == REPORT_TTY && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	TRY(findings_write(f, fmt, tool, color, stdout));
	if (fflush(stdout) != 0)
		return err_errno(EXIT_FAILED, "cannot write to stdout");
	return NULL;
}

err_t *findings_verdict(const struct findings *f, enum severity threshold, struct results *r)
{
	size_t failing = findings_at_or_above(f, threshold);
	char count[32];
	snprintf(count, sizeof count, "%zu", f->n);
	results_sets(r, "findings", count);
	results_sets(r, "status", failing ? "fail" : "pass");
	/* evidence: a finally task reads status=fail after an exit 3 too */
	results_mark_verdict(r);
	if (failing)
		return err_new(EXIT_POLICY, "%zu finding%s at or above the failure threshold '%s'", failing,
			       failing == 1 ? "" : "s", severity_name(threshold));
	log_info("%zu finding%s, none at or above '%s'", f->n, f->n == 1 ? "" : "s",
		 threshold == SEV_IGNORE ? "none" : severity_name(threshold));
	return NULL;
}
