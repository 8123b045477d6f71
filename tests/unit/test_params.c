/* The param table: flags, env fallbacks, defaults, validation, secrets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "params.h"
#include "testing.h"

static const struct param_spec params[] = {
	{ "image", PARAM_STRING, NULL, true, false, "image repository" },
	{ "push", PARAM_BOOL, "true", false, false, "push the image" },
	{ "max-retries", PARAM_INT, "3", false, false, "retries" },
	{ "build-args", PARAM_LIST, NULL, false, false, "build args" },
	{ "token", PARAM_STRING, NULL, false, true, "registry token" },
	{ "source-date-epoch", PARAM_STRING, NULL, false, false, "timestamp", "SOURCE_DATE_EPOCH" },
	{ NULL },
};
static const struct result_spec results[] = { { "image-digest", "digest" }, { NULL } };
static const struct task_spec spec = { "demo-task", "A demo.", params, results };

static err_t *parse(int argc, char **argv, struct params **p, struct common_options *o)
{
	return params_parse(&spec, argc, argv, p, o);
}

static void test_flags_and_defaults(void)
{
	char *argv[] = { "x", "--image=reg/app", "--build-args=A=1", "--build-args", "B=2", "--no-push", "--max-retries=", NULL };
	struct params *p = NULL;
	struct common_options o;
	err_t *e = parse(7, argv, &p, &o);
	CHECK(!e);
	CHECK_STR(params_str(p, "image"), "reg/app");
	CHECK(!params_bool(p, "push"));
	CHECK(params_int(p, "max-retries") == 3);
	CHECK(!params_given(p, "max-retries")); /* "--max-retries=" keeps the default */
	const char *const *items;
	CHECK(params_list(p, "build-args", &items) == 2);
	CHECK_STR(items[0], "A=1");
	CHECK_STR(items[1], "B=2");
	CHECK(params_given(p, "image") && !params_given(p, "max-retries"));
	CHECK(params_str(p, "token") == NULL);
	params_free(p);
}

/* A param required in some modes only: the message of a required one. */
static void test_require(void)
{
	char *argv[] = { "x", "--image=reg/app", "--token=", NULL };
	struct params *p = NULL;
	struct common_options o;
	CHECK(!parse(3, argv, &p, &o));
	CHECK(!params_require(p, "image"));
	err_t *e = params_require(p, "token");
	CHECK(e && e->code == EXIT_USAGE);
	CHECK_STR(e ? e->msg : "", "missing required param 'token' (--token=... or env PIPELINE_PARAM_TOKEN)");
	err_free(e);
	e = params_require(p, "build-args");
	CHECK(e && strstr(e->msg, "'build-args'"));
	err_free(e);
	params_free(p);
}

static void test_env_fallbacks(void)
{
	setenv("PIPELINE_PARAM_IMAGE", "env/app", 1);
	setenv("PIPELINE_PARAM_MAX_RETRIES", "7", 1);
	setenv("PIPELINE_PARAM_BUILD_ARGS", "X=1\n\nY=2\n", 1);
	setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
	char *argv[] = { "x", NULL };
	struct params *p = NULL;
	struct common_options o;
	CHECK(!parse(1, argv, &p, &o));
	CHECK_STR(params_str(p, "image"), "env/app");
	CHECK(params_int(p, "max-retries") == 7);
	const char *const *items;
	CHECK(params_list(p, "build-args", &items) == 2);
	CHECK_STR(params_str(p, "source-date-epoch"), "1700000000"); /* its standard variable */
	params_free(p);
	/* ours wins over the standard one */
	setenv("PIPELINE_PARAM_SOURCE_DATE_EPOCH", "5", 1);
	CHECK(!parse(1, argv, &p, &o));
	CHECK_STR(params_str(p, "source-date-epoch"), "5");
	params_free(p);
	unsetenv("PIPELINE_PARAM_IMAGE");
	unsetenv("PIPELINE_PARAM_MAX_RETRIES");
	unsetenv("PIPELINE_PARAM_BUILD_ARGS");
	unsetenv("PIPELINE_PARAM_SOURCE_DATE_EPOCH");
	unsetenv("SOURCE_DATE_EPOCH");
}

static void expect_usage(int argc, char **argv, const char *needle);

/* Variables named after a param, or after a common option, without our
 * prefix are someone else's (CI systems set TOKEN, IMAGE, WORKSPACE...) */
static void test_bare_names_are_ignored(void)
{
	static const char *const vars[][2] = {
		{ "IMAGE", "env/app" }, { "MAX_RETRIES", "7" }, { "PUSH", "false" }, { "BUILD_ARGS", "X=1" },
		{ "TOKEN", "tok-from-ci-env" }, { "RESULTS_DIR", "/tmp/hostile" }, { "LOG_FORMAT", "json" },
		{ "LOG_LEVEL", "debug" }, { "PARAM_IMAGE", "env/app" }, { "PIPELINE_IMAGE", "env/app" },
	};
	for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
		setenv(vars[i][0], vars[i][1], 1);
	char *argv[] = { "x", "--image=flag/app", NULL };
	struct params *p = NULL;
	struct common_options o;
	CHECK(!parse(2, argv, &p, &o));
	CHECK_STR(params_str(p, "image"), "flag/app");
	CHECK(params_int(p, "max-retries") == 3 && !params_given(p, "max-retries"));
	CHECK(params_bool(p, "push"));
	const char *const *items;
	CHECK(params_list(p, "build-args", &items) == 0);
	CHECK(params_str(p, "token") == NULL);
	CHECK(!o.results_dir || strcmp(o.results_dir, "/tmp/hostile"));
	CHECK_STR(o.log_format, "human");
	CHECK_STR(o.log_level, "info");
	params_free(p);
	char *a1[] = { "x", NULL };
	expect_usage(1, a1, "missing required param 'image' (--image=... or env PIPELINE_PARAM_IMAGE)");
	for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
		unsetenv(vars[i][0]);
	/* the prefixed common options are read */
	setenv("PIPELINE_RESULTS_DIR", "/tmp/r", 1);
	setenv("PIPELINE_LOG_FORMAT", "json", 1);
	setenv("PIPELINE_LOG_LEVEL", "debug", 1);
	CHECK(!parse(2, argv, &p, &o));
	CHECK_STR(o.results_dir, "/tmp/r");
	CHECK_STR(o.log_format, "json");
	CHECK_STR(o.log_level, "debug");
	params_free(p);
	unsetenv("PIPELINE_RESULTS_DIR");
	unsetenv("PIPELINE_LOG_FORMAT");
	unsetenv("PIPELINE_LOG_LEVEL");
}

static void expect_usage(int argc, char **argv, const char *needle)
{
	struct params *p = NULL;
	struct common_options o;
	err_t *e = parse(argc, argv, &p, &o);
	CHECK(e && e->code == EXIT_USAGE);
	if (e && !strstr(e->msg, needle)) {
		fprintf(stderr, "  message '%s' lacks '%s'\n", e->msg, needle);
		testing_failed_ = 1;
	}
	CHECK(p == NULL);
	err_free(e);
}

static void test_bad_usage_names_the_param(void)
{
	char *a1[] = { "x", NULL };
	expect_usage(1, a1, "missing required param 'image'");
	char *a2[] = { "x", "--image=a", "--max-retries=-1", NULL };
	expect_usage(3, a2, "--max-retries: '-1' is not a non-negative integer");
	char *a3[] = { "x", "--image=a", "--push=perhaps", NULL };
	expect_usage(3, a3, "--push: 'perhaps' is not a boolean");
	char *a4[] = { "x", "--image=a", "--bogus", NULL };
	expect_usage(3, a4, "unknown flag --bogus");
	char *a5[] = { "x", "--image", NULL };
	expect_usage(2, a5, "--image needs a value");
	char *a6[] = { "x", "--image=a", "--no-image", NULL };
	expect_usage(3, a6, "unknown flag --no-image");
	char *a7[] = { "x", "--image=a", "--token=ab", NULL };
	expect_usage(3, a7, "--token: secret values must be at least 3 characters");
	char *a8[] = { "x", "--help=yes", NULL };
	expect_usage(2, a8, "--help takes no value");
}

static void test_secret_registered_before_use(void)
{
	char *argv[] = { "x", "--image=a", "--token=tok-very-secret", NULL };
	struct params *p = NULL;
	struct common_options o;
	CHECK(!parse(3, argv, &p, &o));
	char *r = log_redact("using tok-very-secret now");
	CHECK_STR(r, "using *** now");
	free(r);
	params_free(p);
	log_forget_secrets();
}

static void test_common_options(void)
{
	char *argv[] = { "x", "--describe", "--results-dir=/tmp/r", "--log-format=json", NULL };
	struct params *p = NULL;
	struct common_options o;
	CHECK(!parse(4, argv, &p, &o)); /* no required check when describing */
	CHECK(o.describe && !o.help);
	CHECK_STR(o.results_dir, "/tmp/r");
	CHECK_STR(o.log_format, "json");
	CHECK_STR(o.log_level, "info");
	params_free(p);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* --secrets-dir: Kubernetes Secrets mounted as optional Tekton workspaces */
static void test_secrets_dir(void)
{
	char tmpl[] = "/tmp/test-params-XXXXXX";
	char *dir = mkdtemp(tmpl);
	CHECK(dir != NULL);
	char d1[256], d2[256], file[300], arg[600];
	snprintf(d1, sizeof d1, "%s/unused", dir);
	snprintf(d2, sizeof d2, "%s/bound", dir);
	mkdir(d1, 0700);
	mkdir(d2, 0700);
	snprintf(file, sizeof file, "%s/token", d2);
	write_file(file, "tok-from-a-file\n");
	/* an unbound workspace's path is empty: ":" entries are skipped */
	snprintf(arg, sizeof arg, "--secrets-dir=:%s:%s", d1, d2);
	char *a1[] = { "x", "--image=a", arg, NULL };
	struct params *p = NULL;
	struct common_options o;
	CHECK(!parse(3, a1, &p, &o));
	CHECK_STR(params_str(p, "token"), "tok-from-a-file");
	CHECK(params_given(p, "token"));
	char *r = log_redact("sent tok-from-a-file");
	CHECK_STR(r, "sent ***");
	free(r);
	params_free(p);
	log_forget_secrets();
	/* a flag wins over the file; a directory without the file gives nothing */
	char *a2[] = { "x", "--image=a", arg, "--token=tok-from-flag", NULL };
	CHECK(!parse(4, a2, &p, &o));
	CHECK_STR(params_str(p, "token"), "tok-from-flag");
	params_free(p);
	log_forget_secrets();
	snprintf(arg, sizeof arg, "--secrets-dir=%s", d1);
	CHECK(!parse(3, a1, &p, &o));
	CHECK(params_str(p, "token") == NULL);
	params_free(p);
	/* a file that breaks the param's rules names the param, never the value */
	write_file(file, "ab");
	snprintf(arg, sizeof arg, "--secrets-dir=%s", d2);
	err_t *e = parse(3, a1, &p, &o);
	CHECK(e && e->code == EXIT_USAGE);
	char *msg = e ? err_describe(e) : NULL;
	CHECK(msg && strstr(msg, "--secrets-dir: token") && strstr(msg, "at least 3 characters"));
	free(msg);
	err_free(e);
	remove(file);
	rmdir(d1);
	rmdir(d2);
	rmdir(dir);
}

/* What a drop-in Task (tekton/compat/) needs to map the catalog's params:
 * opposite-sense bools, array params, params refused unless left empty. */
static void test_drop_in_mappings(void)
{
	char *a1[] = { "x", "--image=a", "--no-push=true", "--unsupported=SPARSE=", "--unsupported-true=SKIP=false",
		       "--items=build-args", "A=1", "", "B=2", NULL };
	struct params *p = NULL;
	struct common_options o;
	CHECK(!parse(9, a1, &p, &o));
	CHECK(!params_bool(p, "push"));
	const char *const *items;
	CHECK(params_list(p, "build-args", &items) == 2);
	CHECK_STR(items[0], "A=1");
	CHECK_STR(items[1], "B=2");
	params_free(p);
	char *a2[] = { "x", "--image=a", "--no-push=false", "--unsupported-items=EXTRA_ARGS", "", NULL };
	CHECK(!parse(5, a2, &p, &o));
	CHECK(params_bool(p, "push"));
	params_free(p);

	char *b1[] = { "x", "--image=a", "--unsupported=sparseCheckoutDirectories=docs/", NULL };
	expect_usage(3, b1, "param sparseCheckoutDirectories is not supported by this task (given 'docs/')");
	char *b2[] = { "x", "--image=a", "--unsupported-true=SKIP_PUSH=true", NULL };
	expect_usage(3, b2, "param SKIP_PUSH is not supported by this task (given 'true')");
	char *b3[] = { "x", "--image=a", "--unsupported-items=EXTRA_ARGS", "", "--cache=true", NULL };
	expect_usage(5, b3, "param EXTRA_ARGS is not supported by this task (given '--cache=true')");
	char *b4[] = { "x", "--image=a", "--no-push=maybe", NULL };
	expect_usage(3, b4, "--no-push: 'maybe' is not a bool");
	char *b5[] = { "x", "--image=a", "--items=image", "b", NULL };
	expect_usage(4, b5, "--items=image: not a list param of this task");
	char *b6[] = { "x", "--image=a", "--unsupported=novalue", NULL };
	expect_usage(3, b6, "--unsupported needs NAME=VALUE");
}

static void test_describe_and_usage(void)
{
	char *d = params_describe(&spec, "1.0");
	CHECK(strstr(d, "\"name\": \"token\"") && strstr(d, "\"secret\": true"));
	CHECK(strstr(d, "\"env\": \"PIPELINE_PARAM_MAX_RETRIES\""));
	CHECK(strstr(d, "\"std_env\": \"SOURCE_DATE_EPOCH\""));
	CHECK(strstr(d, "\"name\": \"image-digest\""));
	free(d);
	char *u = params_usage(&spec);
	CHECK(strstr(u, "--build-args=VALUE") && strstr(u, "repeatable"));
	CHECK(strstr(u, "--push[=BOOL]"));
	CHECK(strstr(u, "env PIPELINE_PARAM_SOURCE_DATE_EPOCH or SOURCE_DATE_EPOCH)"));
	CHECK(strstr(u, "env PIPELINE_RESULTS_DIR"));
	free(u);
	char *env = params_env_name("pr-revision");
	CHECK_STR(env, "PIPELINE_PARAM_PR_REVISION");
	free(env);
}

TEST_MAIN("params", TEST(test_flags_and_defaults), TEST(test_require), TEST(test_env_fallbacks),
	  TEST(test_bare_names_are_ignored), TEST(test_bad_usage_names_the_param),
	  TEST(test_secret_registered_before_use), TEST(test_common_options), TEST(test_secrets_dir),
	  TEST(test_drop_in_mappings), TEST(test_describe_and_usage))
