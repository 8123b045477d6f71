#include "record.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "fsutil.h"
#include "imageref.h"
#include "junit.h"
#include "jsonutil.h"
#include "strbuf.h"
#include "xalloc.h"

#define DOI_BUILD_TYPE "https://secure-pipeline.dev/publish-doi/build/v1"

static void set_opt(json_t *o, const char *key, const char *value)
{
	if (value && *value)
		json_object_set_new(o, key, json_string(value));
}

static json_t *resource(const char *uri, const char *algo, const char *hex)
{
	return json_pack("{s:s, s:{s:s}}", "uri", uri, "digest", algo, hex);
}

static err_t *build_predicate(const struct record_input *in, json_t **out)
{
	json_t *ext = json_object();
	set_opt(ext, "buildNumber", in->build_number);
	set_opt(ext, "repository", in->git_repo);
	set_opt(ext, "branch", in->git_branch);
	set_opt(ext, "jobUrl", in->job_url);
	set_opt(ext, "appName", in->app_name);
	json_t *deps = json_array();
	if (in->git_commit && *in->git_commit) {
		if (!in->git_repo || !*in->git_repo) {
			json_decref(ext);
			json_decref(deps);
			return err_new(EXIT_USAGE, "--git-commit needs --git-repository (the dependency's uri)");
		}
		char *uri = in->git_branch && *in->git_branch ? xasprintf("git+%s@refs/heads/%s", in->git_repo, in->git_branch)
							      : xasprintf("git+%s", in->git_repo);
		json_array_append_new(deps, resource(uri, "gitCommit", in->git_commit));
		free(uri);
	}
	for (size_t i = 0; i < in->n_base_images; i++) {
		const char *at = strrchr(in->base_images[i], '@');
		if (!at || !digest_valid(at + 1)) {
			json_decref(ext);
			json_decref(deps);
			return err_new(EXIT_USAGE, "--base-images: '%s' is not name@sha256:<hex> (digests, not tags)",
				       in->base_images[i]);
		}
		char *uri = xasprintf("oci://%.*s", (int)(at - in->base_images[i]), in->base_images[i]);
		json_array_append_new(deps, resource(uri, "sha256", digest_hex(at + 1)));
		free(uri);
	}
	json_t *meta = json_object();
	set_opt(meta, "invocationId", in->job_url && *in->job_url ? in->job_url : in->build_number);
	set_opt(meta, "finishedOn", in->time);
	*out = json_pack("{s:{s:s, s:o, s:{}, s:o}, s:{s:{s:s}, s:o}}", "buildDefinition", "buildType",
			 in->build_type && *in->build_type ? in->build_type : DOI_BUILD_TYPE, "externalParameters", ext,
			 "internalParameters", "resolvedDependencies", deps, "runDetails", "builder", "id",
			 in->builder_id, "metadata", meta);
	return NULL;
}

/* test-result's configuration: the report file with our annotations. */
static json_t *configuration(const char *file, const char *text, size_t len, const char *type, json_t *counts,
			     const char *time)
{
	char d[DIGEST_SIZE];
	digest_buffer(text, len, d);
	json_object_set_new(counts, "testType", json_string(type));
	set_opt(counts, "finishedOn", time);
	return json_pack("[{s:s, s:{s:s}, s:o}]", "name", file, "digest", "sha256", digest_hex(d), "annotations",
			 counts);
}

static json_t *test_result(const char *result, json_t *passed, json_t *warned, json_t *failed, json_t *config,
			   const char *url)
{
	json_t *p = json_pack("{s:s, s:o, s:o, s:o, s:o}", "result", result, "configuration", config, "passedTests",
			      passed, "warnedTests", warned, "failedTests", failed);
	set_opt(p, "url", url);
	return p;
}

static err_t *junit_predicate(const char *type, const char *text, size_t len, const char *file, const char *url,
			      const char *time, json_t **out)
{
	struct junit_totals t = { 0 };
	err_t *e = junit_parse(text, len, file, &t);
	if (e) {
		junit_totals_release(&t); /* the cases read before the error */
		return e;
	}
	json_t *failed = json_array();
	for (size_t i = 0; i < t.nfailed; i++) {
		const struct junit_case *c = &t.failed[i];
		char *name = xasprintf("%s%s%s", c->classname ? c->classname : "", c->classname ? "." : "",
				       c->name ? c->name : "?");
		json_array_append_new(failed, json_string(name));
		free(name);
	}
	json_t *counts = json_pack("{s:I, s:I, s:I, s:I}", "tests", (json_int_t)t.tests, "failures",
				   (json_int_t)t.failures, "errors", (json_int_t)t.errors, "skipped",
				   (json_int_t)t.skipped);
	const char *result = t.failures + t.errors ? "FAILED" : t.tests ? "PASSED" : "WARNED";
	*out = test_result(result, json_array(), json_array(), failed,
			   configuration(file, text, len, type, counts, time), url);
	junit_totals_release(&t);
	return NULL;
}

/* docker-lint / cis-check --format=json: [{code, level, file, line, message}] */
static err_t *findings_predicate(const char *type, const char *text, size_t len, const char *file, const char *url,
				 const char *time, json_t **out)
{
	json_t *doc = NULL;
	TRY(json_parse(text, len, file, &doc));
	if (!json_is_array(doc)) {
		json_decref(doc);
		return err_new(EXIT_USAGE, "%s: not a findings report (a JSON array of {code, level, ...})", file);
	}
	json_int_t n[4] = { 0 };
	static const char *const levels[] = { "error", "warning", "info", "style" };
	json_t *warned = json_array(), *failed = json_array();
	size_t i;
	json_t *f;
	err_t *e = NULL;
	json_array_foreach(doc, i, f) {
		const char *code = json_string_value(json_object_get(f, "code"));
		const char *level = json_string_value(json_object_get(f, "level"));
		const char *ffile = json_string_value(json_object_get(f, "file"));
		json_int_t line = json_integer_value(json_object_get(f, "line"));
		size_t l = 0;
		while (level && l < 4 && strcmp(level, levels[l]))
			l++;
		if (!code || !level || l == 4) {
			e = err_new(EXIT_USAGE, "%s: finding %zu has no code or a level other than error, warning, info, style",
				    file, i + 1);
			break;
		}
		n[l]++;
		if (l < 2) {
			char *name = xasprintf("%s %s:%lld", code, ffile ? ffile : "", (long long)line);
			json_array_append_new(l ? warned : failed, json_string(name));
			free(name);
		}
	}
	json_decref(doc);
	if (e) {
		json_decref(warned);
		json_decref(failed);
		return e;
	}
	json_t *counts = json_pack("{s:I, s:I, s:I, s:I}", "error", n[0], "warning", n[1], "info", n[2], "style", n[3]);
	*out = test_result(n[0] ? "FAILED" : n[1] ? "WARNED" : "PASSED", json_array(), warned, failed,
			   configuration(file, text, len, type, counts, time), url);
	return NULL;
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* Add one vulnerability (id, severity, package) to list and summary. */
static err_t *add_vuln(json_t *list, json_t *summary, const json_t *id, const json_t *sev, const json_t *pkg,
		       const char *file)
{
	if (!json_is_string(id) || !json_is_string(sev))
		return err_new(EXIT_USAGE, "%s: a vulnerability without a string id and severity", file);
	char *s = xstrdup(json_string_value(sev));
	lower(s);
	json_object_set_new(summary, s, json_integer(json_integer_value(json_object_get(summary, s)) + 1));
	json_t *v = json_pack("{s:O, s:s}", "id", (json_t *)id, "severity", s);
	if (json_is_string(pkg))
		json_object_set(v, "package", (json_t *)pkg);
	json_array_append_new(list, v);
	free(s);
	return NULL;
}

static err_t *vuln_list(const json_t *doc, const char *file, json_t *list, json_t *summary)
{
	size_t i, j;
	json_t *x, *y;
	if (json_is_array(json_object_get(doc, "Results"))) { /* Trivy */
		json_array_foreach(json_object_get(doc, "Results"), i, x) {
			json_array_foreach(json_object_get(x, "Vulnerabilities"), j, y)
				TRY(add_vuln(list, summary, json_object_get(y, "VulnerabilityID"),
					     json_object_get(y, "Severity"), json_object_get(y, "PkgName"), file));
		}
		return NULL;
	}
	if (json_is_array(json_object_get(doc, "matches"))) { /* Grype */
		json_array_foreach(json_object_get(doc, "matches"), i, x) {
			json_t *v = json_object_get(x, "vulnerability");
			TRY(add_vuln(list, summary, json_object_get(v, "id"), json_object_get(v, "severity"),
				     json_object_get(json_object_get(x, "artifact"), "name"), file));
		}
		return NULL;
	}
	if (json_is_array(json_object_get(doc, "findings"))) { /* our va-scan --report-format=json */
		json_array_foreach(json_object_get(doc, "findings"), i, x) {
			/* suppressed: judged not to affect the image (a VEX
			 * statement va-scan applied), so not counted */
			if (json_is_string(json_object_get(x, "suppressed")))
				continue;
			TRY(add_vuln(list, summary, json_object_get(x, "id"), json_object_get(x, "severity"),
				     json_object_get(x, "package"), file));
		}
		return NULL;
	}
	if (json_is_array(json_object_get(doc, "vulnerabilities"))) {
		/* {id, severity, package}, or CycloneDX's vulnerabilities
		 * (va-scan --report-format=cyclonedx): ratings[].severity */
		json_array_foreach(json_object_get(doc, "vulnerabilities"), i, x) {
			const char *state = json_string_value(json_object_get(json_object_get(x, "analysis"), "state"));
			if (state && (!strcmp(state, "not_affected") || !strcmp(state, "false_positive")))
				continue; /* CycloneDX VEX: judged not to affect the image */
			json_t *sev = json_object_get(x, "severity");
			if (!sev)
				sev = json_object_get(json_array_get(json_object_get(x, "ratings"), 0), "severity");
			json_t *pkg = json_object_get(x, "package");
			if (!pkg)
				pkg = json_object_get(json_array_get(json_object_get(x, "affects"), 0), "ref");
			TRY(add_vuln(list, summary, json_object_get(x, "id"), sev, pkg, file));
		}
		return NULL;
	}
	return err_new(EXIT_USAGE,
		       "%s: not a vulnerability report (va-scan findings, Trivy Results, Grype matches or vulnerabilities)",
		       file);
}

static err_t *vuln_predicate(const char *text, size_t len, const char *file, const char *url, const char *time,
			     json_t **out)
{
	json_t *doc = NULL;
	TRY(json_parse(text, len, file, &doc));
	json_t *list = json_array(), *summary = json_object();
	err_t *e = vuln_list(doc, file, list, summary);
	json_decref(doc);
	if (e) {
		json_decref(list);
		json_decref(summary);
		return e;
	}
	char d[DIGEST_SIZE];
	digest_buffer(text, len, d);
	json_t *inv = json_object();
	set_opt(inv, "uri", url);
	json_object_set_new(inv, "parameters", json_null());
	*out = json_pack("{s:o, s:{s:s, s:{s:s, s:{s:s}}, s:{s:o, s:o}}, s:{s:s, s:s}}", "invocation", inv, "scanner",
			 "uri", file, "db", "uri", file, "digest", "sha256", digest_hex(d), "result", "summary", summary,
			 "vulnerabilities", list, "metadata", "scanStartedOn", time, "scanFinishedOn", time);
	return NULL;
}

err_t *record_test_predicate(const char *filetype, const char *text, size_t len, const char *file,
			     const char *job_url, const char *time, const char **predicate_type, json_t **out)
{
	*out = NULL;
	if (!strcmp(filetype, "unittest") || !strcmp(filetype, "fvt") || !strcmp(filetype, "code")) {
		*predicate_type = PT_TEST_RESULT;
		return junit_predicate(filetype, text, len, file, job_url, time, out);
	}
	if (!strcmp(filetype, "lint") || !strcmp(filetype, "cis")) {
		*predicate_type = PT_TEST_RESULT;
		return findings_predicate(filetype, text, len, file, job_url, time, out);
	}
	if (!strcmp(filetype, "vulnerabilityadvisor")) {
		*predicate_type = PT_VULN;
		return vuln_predicate(text, len, file, job_url, time, out);
	}
	if (!strcmp(filetype, "bom")) {
		*predicate_type = PT_CYCLONEDX;
		TRY(json_parse(text, len, file, out));
		const char *f = json_string_value(json_object_get(*out, "bomFormat"));
		if (!f || strcmp(f, "CycloneDX")) {
			json_decref(*out);
			*out = NULL;
			return err_new(EXIT_USAGE, "%s: not a CycloneDX JSON BOM (bomFormat)", file);
		}
		return NULL;
	}
	return err_new(EXIT_USAGE, "--filetype: '%s' is not unittest, fvt, code, lint, cis, vulnerabilityadvisor or bom",
		       filetype);
}

static json_t *deploy_predicate(const struct record_input *in)
{
	json_t *p = json_object();
	set_opt(p, "environment", in->environment);
	set_opt(p, "cluster", in->cluster);
	set_opt(p, "namespace", in->namespace);
	set_opt(p, "status", in->status);
	set_opt(p, "appName", in->app_name);
	set_opt(p, "jobUrl", in->job_url);
	set_opt(p, "deployedOn", in->time);
	return p;
}

err_t *record_statement(const struct record_input *in, json_t **out)
{
	json_t *pred = NULL;
	const char *pt = NULL;
	const char *tpt = NULL;
	if (!strcmp(in->kind, "build")) {
		if (!in->builder_id || !*in->builder_id)
			return err_new(EXIT_USAGE, "a build record needs --builder-id (SLSA runDetails.builder.id)");
		TRY(build_predicate(in, &pred));
		pt = PT_SLSA_V1;
	} else if (!strcmp(in->kind, "test")) {
		if (!in->file || !*in->file || !in->filetype || !*in->filetype)
			return err_new(EXIT_USAGE, "a test record needs --file and --filetype");
		struct strbuf text = STRBUF_INIT;
		err_t *e = fs_read_file(in->file, RECORD_REPORT_MAX, &text);
		if (!e)
			e = record_test_predicate(in->filetype, text.buf ? text.buf : "", text.len, in->file, in->job_url,
						  in->time, &tpt, &pred);
		sb_release(&text);
		TRY(e);
		pt = tpt;
	} else if (!strcmp(in->kind, "deploy") || !strcmp(in->kind, "deployable")) {
		if (!in->environment || !*in->environment)
			return err_new(EXIT_USAGE, "a %s record needs --environment", in->kind);
		if (!strcmp(in->kind, "deploy") && (!in->status || !*in->status))
			return err_new(EXIT_USAGE, "a deploy record needs --status");
		pred = deploy_predicate(in);
		pt = strcmp(in->kind, "deploy") ? PT_DEPLOYABLE : PT_DEPLOY;
	} else {
		return err_new(EXIT_USAGE, "--kind: '%s' is not build, test, deploy or deployable", in->kind);
	}
	*out = json_pack("{s:s, s:[{s:s, s:{s:s}}], s:s, s:o}", "_type", "https://in-toto.io/Statement/v1", "subject",
			 "name", in->name, "digest", "sha256", digest_hex(in->digest), "predicateType", pt, "predicate",
			 pred);
	return *out ? NULL : err_new(EXIT_FAILED, "statement for %s cannot be built", in->digest);
}

static const char *str_at(const json_t *o, const char *a, const char *b)
{
	const json_t *x = json_object_get(o, a);
	if (b)
		x = json_object_get(x, b);
	const char *s = json_string_value(x);
	return s ? s : "";
}

void record_view(const json_t *st, struct record_view *v)
{
	const char *pt = str_at(st, "predicateType", NULL);
	const json_t *p = json_object_get(st, "predicate");
	v->kind = "other";
	v->detail = "";
	v->time = "";
	if (!strcmp(pt, PT_SLSA_V1)) {
		v->kind = "build";
		v->detail = str_at(json_object_get(p, "buildDefinition"), "externalParameters", "branch");
		v->time = str_at(json_object_get(p, "runDetails"), "metadata", "finishedOn");
	} else if (!strcmp(pt, PT_TEST_RESULT)) {
		const json_t *ann = json_object_get(json_array_get(json_object_get(p, "configuration"), 0), "annotations");
		v->kind = "test";
		v->detail = str_at(ann, "testType", NULL);
		v->time = str_at(ann, "finishedOn", NULL);
	} else if (!strcmp(pt, PT_VULN)) {
		v->kind = "vulnerabilities";
		v->time = str_at(p, "metadata", "scanFinishedOn");
	} else if (!strcmp(pt, PT_CYCLONEDX)) {
		v->kind = "bom";
		v->time = str_at(p, "metadata", "timestamp");
	} else if (!strcmp(pt, PT_DEPLOY) || !strcmp(pt, PT_DEPLOYABLE)) {
		v->kind = strcmp(pt, PT_DEPLOY) ? "deployable" : "deploy";
		v->detail = str_at(p, "environment", NULL);
		v->time = str_at(p, "deployedOn", NULL);
	}
}
