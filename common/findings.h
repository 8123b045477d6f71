/* Findings of static checks (docker-lint, cis-check) and their reports:
 * tty lines, JSON, SARIF 2.1.0, checkstyle XML and GitLab code quality
 * (codeclimate) JSON, plus the severity threshold that decides exit 3. */
#ifndef COMMON_FINDINGS_H
#define COMMON_FINDINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "error.h"

/* Ordered: a threshold passes every severity at or above it. */
enum severity { SEV_STYLE = 0, SEV_INFO, SEV_WARNING, SEV_ERROR, SEV_IGNORE /* rule off */ };

struct finding {
	char *rule;    /* "DL3008", "CIS-5.2.1" */
	enum severity severity;
	char *file;
	int line;      /* 1-based; 0 when unknown */
	int column;    /* 1-based; 0 when unknown */
	char *message;
	char *path;    /* object path (cis-check) or NULL */
	char *hint;    /* how to fix, or NULL */
};

struct findings {
	struct finding *items;
	size_t n, cap;
};

struct rule_info {
	const char *id;
	enum severity severity; /* default */
	const char *title;      /* one line, the published meaning */
	const char *help_uri;   /* or NULL */
};

enum report_format { REPORT_TTY, REPORT_JSON, REPORT_SARIF, REPORT_CHECKSTYLE, REPORT_CODECLIMATE };

const char *severity_name(enum severity s); /* "error", "warning", "info", "style", "ignore" */
/* Accepts error|warning|info|style|ignore (any case). */
bool severity_parse(const char *s, enum severity *out);
/* A failure threshold: a severity, or "none" (*out = SEV_IGNORE: never fails). */
bool threshold_parse(const char *s, enum severity *out);
bool report_format_parse(const char *s, enum report_format *out);
/* The same, for the checkers' format and failure-threshold params: an
 * EXIT_USAGE error naming the param and the accepted values. */
err_t *report_format_param(const char *s, enum report_format *out);
err_t *threshold_param(const char *s, enum severity *out);

void findings_add(struct findings *f, const char *rule, enum severity sev, const char *file, int line, int column,
		  const char *path, const char *hint, const char *fmt, ...) __attribute__((format(printf, 9, 10)));
void findings_release(struct findings *f);
/* Stable order: file, line, column, rule. */
void findings_sort(struct findings *f);
/* How many findings are at or above threshold (0 when threshold is SEV_IGNORE). */
size_t findings_at_or_above(const struct findings *f, enum severity threshold);

struct report_tool {
	const char *name;
	const char *version;
	const char *uri;
	const struct rule_info *rules; /* for SARIF's rule list; may be NULL */
	size_t nrules;
};

/* Each rule's default severity, in table order (caller frees): the
 * starting point that configs and ignore lists then change. */
enum severity *rule_severities_new(const struct rule_info *rules, size_t n);
/* Index of id in a rule table (case-insensitive), or -1. */
int rule_info_find(const struct rule_info *rules, size_t n, const char *id);

/* Write the report; color only applies to REPORT_TTY. */
err_t *findings_write(const struct findings *f, enum report_format fmt, const struct report_tool *tool,
		      bool color, FILE *out);

/* Write the report to path, or to stdout when path is NULL or "" (colored
 * when stdout is a terminal and NO_COLOR is unset). */
err_t *findings_report(const struct findings *f, enum report_format fmt, const struct report_tool *tool,
		       const char *path);

struct results;
/* The verdict: sets the results "findings" (count) and "status" (pass or
 * fail), marks them a verdict (written on exit 3 as well), and returns an
 * EXIT_POLICY error when findings reach threshold. */
err_t *findings_verdict(const struct findings *f, enum severity threshold, struct results *r);

#endif
