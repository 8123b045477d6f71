/* pipeline-run's run names (tasks/pipeline-run/runname.c): what the API
 * server (apimachinery's IsDNS1123Subdomain, generateName as a prefix,
 * SimpleNameGenerator) and Tekton (validate.ObjectMetadata, kmeta's
 * ChildName) accept and make. A name that passes is never a path. */
// unit-sources: tasks/pipeline-run/runname.c
#include <stdlib.h>
#include <string.h>

#include "../../tasks/pipeline-run/runname.h"
#include "testing.h"

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void test_names_kubernetes_accepts(void)
{
	const char *ok[] = { "a", "ci-main", "ci-release-1.2-9f2c1e7", "0abc", "a.b.c", "x-1.y-2" };
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
		CHECK(runname_problem(ok[i]) == NULL);
	char *max = repeat('a', RUNNAME_MAX);
	CHECK(runname_problem(max) == NULL);
	free(max);
}

static void test_names_kubernetes_refuses(void)
{
	const char *bad[] = {
		"", "ci-refs/heads/feature/x", "../../x", "..", ".", "x/..", "Main", "a_b", "-a", "a-", ".a", "a.",
		"a..b", "a.-b", "a-.b", "a b", "a\nb", "a\033[2J", "caf\xc3\xa9",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		const char *why = runname_problem(bad[i]);
		CHECK(why != NULL);
		if (i == 0)
			CHECK_STR(why, "name or generateName is required");
		else
			CHECK(why && strstr(why, "a lowercase RFC 1123 subdomain must consist of"));
	}
}

static void test_length_limits(void)
{
	char *tekton = repeat('a', RUNNAME_MAX + 1), *api = repeat('a', 254);
	const char *why = runname_problem(tekton);
	CHECK(why && strstr(why, "length must be no more than 63 characters"));
	why = runname_problem(api);
	CHECK_STR(why, "must be no more than 253 characters");
	free(tekton);
	free(api);
}

static void test_generate_name_prefix(void)
{
	CHECK(runname_prefix_problem("ci-pipeline-run-") == NULL);
	CHECK(runname_prefix_problem("ci") == NULL);
	CHECK(runname_prefix_problem("a--") == NULL); /* maskTrailingDash: "a" + "a" */
	CHECK(runname_prefix_problem("mr-../../x-") != NULL);
	CHECK(runname_prefix_problem("ci-feature/x-") != NULL);
	CHECK(runname_prefix_problem("abc.") != NULL); /* no dash to mask: "abc." itself */
	CHECK(runname_prefix_problem("-") != NULL);
	CHECK_STR(runname_prefix_problem(""), "name or generateName is required");
	/* the whole prefix is checked, not only the 58 characters kept */
	char *p = repeat('a', 60);
	p[59] = '_';
	CHECK(runname_prefix_problem(p) != NULL);
	free(p);
}

static void test_generated_name(void)
{
	char *n = runname_generate("ci-run-", "x7k2q");
	CHECK_STR(n, "ci-run-x7k2q");
	free(n);
	char *p = repeat('b', 70);
	n = runname_generate(p, "x7k2q");
	CHECK(strlen(n) == RUNNAME_GENERATED_PREFIX_MAX + 5);
	CHECK(!strncmp(n, p, RUNNAME_GENERATED_PREFIX_MAX) && !strcmp(n + RUNNAME_GENERATED_PREFIX_MAX, "x7k2q"));
	CHECK(runname_problem(n) == NULL);
	free(n);
	free(p);
}

static void test_child_names(void)
{
	char *n = runname_child("ci-run-x7k2q", "-build");
	CHECK_STR(n, "ci-run-x7k2q-build");
	free(n);
	/* too long: a prefix, the MD5 of the parent (knative kmeta.ChildName) */
	char *parent = repeat('a', 63);
	n = runname_child(parent, "-build");
	CHECK(strlen(n) == 63);
	CHECK(!strncmp(n, parent, 31 - 6));
	CHECK(!strcmp(n + 63 - 6, "-build"));
	CHECK(runname_problem(n) == NULL);
	/* md5("a" x 63) */
	CHECK(!strncmp(n + 25, "b06521f39153d618550606be297466d5", 32));
	free(n);
	/* a suffix of 31 or more: both hashed, what fits of the suffix */
	char *suffix = repeat('s', 40);
	suffix[0] = '-';
	n = runname_child(parent, suffix);
	CHECK(strlen(n) == 63);
	CHECK(!strncmp(n, parent, 31));
	CHECK(runname_problem(n) == NULL);
	free(n);
	free(suffix);
	free(parent);
}

static void test_quote_escapes(void)
{
	char *q = runname_quote("a\033[2J\"\\b");
	CHECK_STR(q, "\"a\\x1b[2J\\\"\\\\b\"");
	free(q);
	char *l = repeat('l', 100);
	q = runname_quote(l);
	CHECK(strlen(q) == 80 + 5 && !strcmp(q + 81, "\"..."));
	free(q);
	free(l);
}

static void test_check_is_usage_error(void)
{
	err_t *e = runname_check("PipelineRun", "x/../../escape");
	CHECK(e && e->code == EXIT_USAGE);
	err_free(e);
	CHECK(runname_check("PipelineRun", "ci-main") == NULL);
}

TEST_MAIN("pipeline_run_runname", TEST(test_names_kubernetes_accepts), TEST(test_names_kubernetes_refuses),
          TEST(test_length_limits), TEST(test_generate_name_prefix), TEST(test_generated_name),
          TEST(test_child_names), TEST(test_quote_escapes), TEST(test_check_is_usage_error))
