/* task_main: secrets given as params never leak through logs or errors,
 * exit codes come from the error, results appear on success, or on a
 * policy verdict when they were marked as that verdict. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "task.h"
#include "testing.h"

static const struct param_spec params[] = {
	{ "user", PARAM_STRING, "ci", false, false, "user" },
	{ "password", PARAM_STRING, NULL, false, true, "password" },
	{ "fail", PARAM_BOOL, "false", false, false, "fail on purpose" },
	{ "refuse", PARAM_BOOL, "false", false, false, "a policy verdict says no (exit 3)" },
	{ "verdict", PARAM_BOOL, "false", false, false, "the results are that verdict" },
	{ NULL },
};
static const struct result_spec results[] = { { "out", "o" }, { NULL } };
static const struct task_spec spec = { "leaky", "tries to leak", params, results };

static err_t *leaky_run(const struct params *p, struct results *r)
{
	const char *pw = params_str(p, "password");
	log_info("connecting as %s with %s", params_str(p, "user"), pw);
	log_debug("Authorization: Basic %s", pw);
	results_sets(r, "out", "done");
	if (params_bool(p, "verdict"))
		results_mark_verdict(r);
	if (params_bool(p, "refuse"))
		return err_new(EXIT_POLICY, "the policy says no");
	if (params_bool(p, "fail"))
		return err_wrap(err_new(EXIT_AUTH, "server said: bad password '%s'", pw), "login to %s", "registry");
	return NULL;
}

static char *run_task(char **argv, int argc, int *code)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	log_set_stream(f);
	*code = task_main(&spec, argc, argv, leaky_run);
	fclose(f);
	log_set_stream(NULL);
	return buf;
}

static void test_secret_never_logged_and_exit_code_kept(void)
{
	char dir[] = "/tmp/task-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char rd[64];
	snprintf(rd, sizeof rd, "--results-dir=%s/r", dir);
	char *argv[] = { "leaky", "--password=Pa55-w0rd-xyz", "--fail", "--log-level=debug", rd, NULL };
	int code = -1;
	char *out = run_task(argv, 5, &code);
	CHECK(code == EXIT_AUTH);
	CHECK(!strstr(out, "Pa55"));
	CHECK(strstr(out, "leaky: connecting as ci with ***\n") != NULL);
	CHECK(strstr(out, "leaky: error: login to registry: server said: bad password '***'\n") != NULL);
	char path[128];
	snprintf(path, sizeof path, "%s/r/out", dir);
	CHECK(access(path, F_OK) != 0); /* failed: no results */
	free(out);
}

static void test_success_commits_results(void)
{
	char dir[] = "/tmp/task-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char rd[64];
	snprintf(rd, sizeof rd, "--results-dir=%s", dir);
	char *argv[] = { "leaky", "--password=another-secret", rd, NULL };
	int code = -1;
	char *out = run_task(argv, 3, &code);
	CHECK(code == EXIT_OK);
	CHECK(!strstr(out, "another-secret"));
	char path[128];
	snprintf(path, sizeof path, "%s/out", dir);
	CHECK(access(path, F_OK) == 0);
	free(out);
}

static void test_usage_error_is_exit_2(void)
{
	char *argv[] = { "leaky", "--nope", NULL };
	int code = -1;
	char *out = run_task(argv, 2, &code);
	CHECK(code == EXIT_USAGE);
	CHECK(strstr(out, "unknown flag --nope") != NULL);
	free(out);
}

/* exit 3: results written only when they are the verdict; any other
 * failure writes none even when marked */
static void test_policy_verdict_commits_marked_results(void)
{
	const char *cases[][3] = { { "--refuse", "--verdict", "y" }, { "--refuse", "--no-verdict", "n" },
				   { "--fail", "--verdict", "n" } };
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char dir[] = "/tmp/task-XXXXXX";
		CHECK(mkdtemp(dir) != NULL);
		char rd[64], path[128];
		snprintf(rd, sizeof rd, "--results-dir=%s/r", dir);
		char *argv[] = { "leaky", (char *)cases[i][0], (char *)cases[i][1], rd, NULL };
		int code = -1;
		char *out = run_task(argv, 4, &code);
		CHECK(code == (!strcmp(cases[i][0], "--refuse") ? EXIT_POLICY : EXIT_AUTH));
		CHECK(strstr(out, !strcmp(cases[i][0], "--refuse") ? "error: the policy says no" : "error: login") != NULL);
		snprintf(path, sizeof path, "%s/r/out", dir);
		bool want = cases[i][2][0] == 'y';
		CHECK((access(path, F_OK) == 0) == want);
		if (want) {
			FILE *f = fopen(path, "r");
			char buf[16] = "";
			CHECK(f && fgets(buf, sizeof buf, f));
			CHECK_STR(buf, "done");
			if (f)
				fclose(f);
			unlink(path);
		}
		snprintf(path, sizeof path, "%s/r", dir);
		rmdir(path);
		rmdir(dir);
		free(out);
	}
}

TEST_MAIN("task", TEST(test_secret_never_logged_and_exit_code_kept), TEST(test_success_commits_results),
	  TEST(test_usage_error_is_exit_2), TEST(test_policy_verdict_commits_marked_results))
