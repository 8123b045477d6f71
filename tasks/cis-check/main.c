/* cis-check: check Kubernetes manifests (multi-document deployment.yml)
 * against CIS Kubernetes Benchmark section 5 and kube-score style rules;
 * report findings with ID, severity, object path and fix hint in the same
 * formats as docker-lint, and fail (exit 3) at the failure threshold. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checks.h"
#include "findings.h"
#include "fsutil.h"
#include "log.h"
#include "strbuf.h"
#include "task.h"
#include "xalloc.h"
#include "yamldoc.h"

static const struct param_spec params[] = {
	{ "deployment-file", PARAM_LIST, NULL, false, false,
	  "Kubernetes manifest to check (repeatable; multi-document YAML; - reads stdin); default: deployment.yml" },
	{ "ignore", PARAM_LIST, NULL, false, false, "check ID to skip (repeatable), e.g. KS-IMAGE-DIGEST" },
	{ "failure-threshold", PARAM_STRING, "warning", false, false,
	  "fail (exit 3) on findings at or above: error, warning, info, style, or none" },
	{ "format", PARAM_STRING, "tty", false, false, "report format: tty, json, sarif, checkstyle, codeclimate" },
	{ "output-file", PARAM_STRING, NULL, false, false, "write the report to this file instead of stdout" },
	{ NULL },
};

static const struct result_spec results[] = {
	{ "findings", "number of findings (all severities)" },
	{ "status", "pass, or fail when findings reached the failure threshold" },
	{ NULL },
};

static const struct task_spec spec = {
	"cis-check",
	"Check Kubernetes manifests against CIS benchmark section 5 and kube-score style hardening rules.",
	params,
	results,
};

#define MANIFEST_MAX (8 * 1024 * 1024)

static err_t *check_file(const char *path, const struct cis_config *cfg, struct findings *out)
{
	struct strbuf text = STRBUF_INIT;
	err_t *e = !strcmp(path, "-") ? fs_read_fd(STDIN_FILENO, MANIFEST_MAX, "<stdin>", &text)
				      : fs_read_file(path, MANIFEST_MAX, &text);
	struct ydoc *y = NULL;
	if (!e)
		e = ydoc_parse(sb_str(&text), text.len, path, &y);
	sb_release(&text);
	if (e)
		return e;
	size_t objects = 0;
	for (size_t i = 0; i < y->ndocs; i++) {
		const struct ydoc_node *d = y->docs[i];
		if (!d || ydoc_is_null(d))
			continue;
		if (!ydoc_is_map(d) || !ydoc_str(ydoc_get(d, "kind"))) {
			log_warn("%s:%d: document %zu is not a Kubernetes object (no kind); skipped", path, d->line, i + 1);
			continue;
		}
		objects++;
	}
	if (!objects)
		log_warn("%s: no Kubernetes objects found", path);
	cis_check_stream(y, path, cfg, out);
	ydoc_free(y);
	return NULL;
}

static err_t *write_report(const struct params *p, const struct findings *f, enum report_format fmt)
{
	size_t nrules = 0;
	const struct rule_info *rules = cis_rules(&nrules);
	struct report_tool tool = { "cis-check", PIPELINE_VERSION, NULL, rules, nrules };
	return findings_report(f, fmt, &tool, params_str(p, "output-file"));
}

static err_t *run(const struct params *p, struct results *r)
{
	enum report_format fmt;
	TRY(report_format_param(params_str(p, "format"), &fmt));
	enum severity threshold;
	TRY(threshold_param(params_str(p, "failure-threshold"), &threshold));
	struct cis_config cfg;
	cis_config_init(&cfg);
	const char *const *items;
	size_t n = params_list(p, "ignore", &items);
	for (size_t i = 0; i < n; i++) {
		int k = cis_rule_index(items[i]);
		if (k < 0)
			log_warn("param ignore: unknown check %s (ignored)", items[i]);
		else
			cfg.severity[k] = SEV_IGNORE;
	}
	struct findings found = { 0 };
	err_t *e = NULL;
	const char *const *files;
	size_t nfiles = params_list(p, "deployment-file", &files);
	if (nfiles == 0)
		e = check_file("deployment.yml", &cfg, &found);
	for (size_t i = 0; !e && i < nfiles; i++)
		e = check_file(files[i], &cfg, &found);
	if (!e) {
		findings_sort(&found);
		e = write_report(p, &found, fmt);
	}
	if (!e)
		e = findings_verdict(&found, threshold, r);
	findings_release(&found);
	cis_config_release(&cfg);
	return e;
}

int main(int argc, char **argv)
{
	return task_main(&spec, argc, argv, run);
}
