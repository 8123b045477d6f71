/* The param table: flags, env fallbacks, defaults, validation, secrets. */
#include <stdlib.h>

#include "log.h"
#include "params.h"
#include "testing.h"

static const struct param_spec params[] = {
	{ "image", PARAM_STRING, NULL, true, false, "image repository" },
	{ "push", PARAM_BOOL, "true", false, false, "push the image" },
	{ "max-retries", PARAM_INT, "3", false, false, "retries" },
	{ "build-args", PARAM_LIST, NULL, false, false, "build args" },
	{ "token", PARAM_STRING, NULL, false, true, "registry token" },
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
	char *argv[] = { "x", "--image=reg/app", "--build-args=A=1", "--build-args", "B=2", "--no-push", NULL };
	struct params *p = NULL;
	struct common_options o;
	err_t *e = parse(6, argv, &p, &o);
	CHECK(!e);
	CHECK_STR(params_str(p, "image"), "reg/app");
	CHECK(!params_bool(p, "push"));
	CHECK(params_int(p, "max-retries") == 3);
	const char *const *items;
	CHECK(params_list(p, "build-args", &items) == 2);
	CHECK_STR(items[0], "A=1");
	CHECK_STR(items[1], "B=2");
	CHECK(params_given(p, "image") && !params_given(p, "max-retries"));
	CHECK(params_str(p, "token") == NULL);
	params_free(p);
}

static void test_env_fallbacks(void)
{
	setenv("IMAGE", "env/app", 1);
	setenv("MAX_RETRIES", "7", 1);
	setenv("BUILD_ARGS", "X=1\n\nY=2\n", 1);
	char *argv[] = { "x", NULL };
	struct params *p = NULL;
	struct common_options o;
	CHECK(!parse(1, argv, &p, &o));
	CHECK_STR(params_str(p, "image"), "env/app");
	CHECK(params_int(p, "max-retries") == 7);
	const char *const *items;
	CHECK(params_list(p, "build-args", &items) == 2);
	params_free(p);
	unsetenv("IMAGE");
	unsetenv("MAX_RETRIES");
	unsetenv("BUILD_ARGS");
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

static void test_describe_and_usage(void)
{
	char *d = params_describe(&spec, "1.0");
	CHECK(strstr(d, "\"name\": \"token\"") && strstr(d, "\"secret\": true"));
	CHECK(strstr(d, "\"env\": \"MAX_RETRIES\""));
	CHECK(strstr(d, "\"name\": \"image-digest\""));
	free(d);
	char *u = params_usage(&spec);
	CHECK(strstr(u, "--build-args=VALUE") && strstr(u, "repeatable"));
	CHECK(strstr(u, "--push[=BOOL]"));
	free(u);
	char *env = params_env_name("pr-revision");
	CHECK_STR(env, "PR_REVISION");
	free(env);
}

TEST_MAIN("params", TEST(test_flags_and_defaults), TEST(test_env_fallbacks), TEST(test_bad_usage_names_the_param),
	  TEST(test_secret_registered_before_use), TEST(test_common_options), TEST(test_describe_and_usage))
