/* docker-lint: lint Dockerfiles with hadolint's rule IDs and meanings, plus
 * ShellCheck-style checks of RUN commands; report as tty, JSON, SARIF,
 * checkstyle or GitLab code quality, and fail (exit 3) when findings reach
 * the failure threshold. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "dockerfile.h"
#include "findings.h"
#include "fsutil.h"
#include "lint.h"
#include "lintconfig.h"
#include "log.h"
#include "strbuf.h"
#include "task.h"
#include "xalloc.h"

static const struct param_spec params[] = {
	{ "dockerfile", PARAM_LIST, NULL, false, false,
	  "Dockerfile to lint (repeatable; a directory lints every file in it; - reads stdin); default: Dockerfile" },
	{ "config", PARAM_STRING, NULL, false, false,
	  "config file in hadolint's format; default: .hadolint.yaml in the working directory if present" },
	{ "ignore", PARAM_LIST, NULL, false, false, "rule ID to ignore (repeatable, or comma-separated), e.g. DL3008" },
	{ "trusted-registry", PARAM_LIST, NULL, false, false, "registry FROM images may come from (repeatable; enables DL3026)" },
	{ "failure-threshold", PARAM_STRING, "info", false, false,
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
	"docker-lint",
	"Lint Dockerfiles (hadolint rule IDs DL3000-DL3062, DL4000-DL4006, and shell checks of RUN).",
	params,
	results,
};

#define DOCKERFILE_MAX (4 * 1024 * 1024)

struct inputs {
	char **paths;
	size_t n;
};

static void add_input(struct inputs *in, const char *p)
{
	in->paths = xrealloc(in->paths, (in->n + 1) * sizeof *in->paths);
	in->paths[in->n++] = xstrdup(p);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static err_t *expand_input(struct inputs *in, const char *p)
{
	struct stat st;
	if (strcmp(p, "-") && stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
		DIR *d = opendir(p);
		if (!d)
			return err_errno(EXIT_USAGE, "cannot read directory %s", p);
		size_t first = in->n;
		for (struct dirent *de; (de = readdir(d));) {
			if (de->d_name[0] == '.')
				continue;
			char *full = xasprintf("%s/%s", p, de->d_name);
			if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
				add_input(in, full);
			free(full);
		}
		closedir(d);
		qsort(in->paths + first, in->n - first, sizeof *in->paths, cmp_str);
		if (in->n == first)
			return err_new(EXIT_USAGE, "directory %s holds no files to lint", p);
		return NULL;
	}
	add_input(in, p);
	return NULL;
}

static err_t *lint_one(const char *path, const struct lint_config *cfg, struct findings *out)
{
	struct strbuf text = STRBUF_INIT;
	err_t *e = !strcmp(path, "-") ? fs_read_fd(STDIN_FILENO, DOCKERFILE_MAX, "<stdin>", &text)
				      : fs_read_file(path, DOCKERFILE_MAX, &text);
	struct df_file *f = NULL;
	if (!e)
		e = df_parse_opts(sb_str(&text), text.len, path, DF_PARSE_LENIENT, &f);
	sb_release(&text);
	if (e)
		return e;
	lint_dockerfile(f, path, cfg, out);
	df_file_free(f);
	return NULL;
}

static err_t *configure(const struct params *p, struct lint_config *cfg, enum severity *threshold)
{
	const char *path = params_str(p, "config");
	if (!path || !*path) {
		if (access(".hadolint.yaml", R_OK) == 0)
			path = ".hadolint.yaml";
		else if (access(".hadolint.yml", R_OK) == 0)
			path = ".hadolint.yml";
	}
	bool threshold_set = false;
	enum severity from_file = SEV_INFO;
	if (path && *path)
		TRY(lintconfig_load(path, cfg, &from_file, &threshold_set));
	const char *const *items;
	size_t n = params_list(p, "ignore", &items);
	for (size_t i = 0; i < n; i++) {
		/* "DL3008,DL3009": the Tekton catalog's hadolint ignore-rules */
		for (const char *id = items[i], *end; *id; id = *end ? end + 1 : end) {
			end = id + strcspn(id, ",");
			_cleanup_free_ char *one = xstrndup(id, (size_t)(end - id));
			if (*one)
				lintconfig_ignore(cfg, one, "param ignore");
		}
	}
	n = params_list(p, "trusted-registry", &items);
	for (size_t i = 0; i < n; i++)
		lintconfig_add_trusted(cfg, items[i]);
	TRY(threshold_param(params_str(p, "failure-threshold"), threshold));
	if (threshold_set && !params_given(p, "failure-threshold"))
		*threshold = from_file;
	return NULL;
}

static err_t *write_report(const struct params *p, const struct findings *f, enum report_format fmt)
{
	size_t nrules = 0;
	const struct rule_info *rules = lint_rules(&nrules);
	struct report_tool tool = { "docker-lint", PIPELINE_VERSION, "https://github.com/hadolint/hadolint#rules",
				    rules, nrules };
	return findings_report(f, fmt, &tool, params_str(p, "output-file"));
}

static err_t *run(const struct params *p, struct results *r)
{
	enum report_format fmt;
	TRY(report_format_param(params_str(p, "format"), &fmt));
	struct lint_config cfg;
	lint_config_init(&cfg);
	enum severity threshold = SEV_INFO;
	struct inputs in = { 0 };
	struct findings found = { 0 };
	err_t *e = configure(p, &cfg, &threshold);
	const char *const *files;
	size_t nfiles = params_list(p, "dockerfile", &files);
	if (!e && nfiles == 0)
		e = expand_input(&in, "Dockerfile");
	for (size_t i = 0; !e && i < nfiles; i++)
		e = expand_input(&in, files[i]);
	for (size_t i = 0; !e && i < in.n; i++)
		e = lint_one(in.paths[i], &cfg, &found);
	if (!e) {
		findings_sort(&found);
		e = write_report(p, &found, fmt);
	}
	if (!e) {
		log_info("%zu file%s linted", in.n, in.n == 1 ? "" : "s");
		e = findings_verdict(&found, threshold, r);
	}
	findings_release(&found);
	for (size_t i = 0; i < in.n; i++)
		free(in.paths[i]);
	free(in.paths);
	lint_config_release(&cfg);
	return e;
}

int main(int argc, char **argv)
{
	return task_main(&spec, argc, argv, run);
}
