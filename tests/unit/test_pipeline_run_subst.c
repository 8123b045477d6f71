/* pipeline-run's Tekton variable substitution (tasks/pipeline-run/subst.c)
 * and the Kubernetes name rules (taskdef.c): the forms Tekton documents
 * (docs/variables.md), what it refuses, and what it leaves alone. */
// unit-sources: tasks/pipeline-run/subst.c tasks/pipeline-run/taskdef.c
#include <stdlib.h>
#include <string.h>

#include "../../tasks/pipeline-run/subst.h"
#include "../../tasks/pipeline-run/taskdef.h"
#include "testing.h"

static struct subst *fixture(void)
{
	struct subst *s = subst_new("t.yaml");
	subst_set_str(s, "params.url", "https://example.com/r.git");
	subst_set_str(s, "params.a.b", "dotted");
	char *items[] = { "-v", "--x=1", NULL };
	struct tk_value arr = { .type = TK_ARRAY, .items = items, .n = 2 };
	subst_set(s, "params.flags", &arr);
	char *keys[] = { "mode", "level", NULL }, *vals[] = { "fast", "3", NULL };
	struct tk_value obj = { .type = TK_OBJECT, .items = vals, .keys = keys, .n = 2 };
	subst_set(s, "params.cfg", &obj);
	subst_set_str(s, "workspaces.src.path", "/workspace/src");
	subst_set_str(s, "context.taskRun.name", "run-1");
	return s;
}

static char *sub(const struct subst *s, const char *in, char **why)
{
	char *out = NULL;
	err_t *e = subst_string(s, in, 7, &out);
	*why = e ? err_describe(e) : NULL;
	err_free(e);
	return out;
}

static void test_string_forms(void)
{
	struct subst *s = fixture();
	char *why, *out;
	out = sub(s, "--url=$(params.url) in $(workspaces.src.path) by $(context.taskRun.name)", &why);
	CHECK_STR(out, "--url=https://example.com/r.git in /workspace/src by run-1");
	free(out);
	out = sub(s, "$(params[\"a.b\"])/$(params['a.b'])", &why);
	CHECK_STR(out, "dotted/dotted");
	free(out);
	out = sub(s, "$(params.flags[1]) $(params.cfg.mode) $(params.cfg.level)", &why);
	CHECK_STR(out, "--x=1 fast 3");
	free(out);
	/* shell command substitution and unknown roots stay as they are */
	out = sub(s, "echo $(date) $(steps.x.exitCode.path) $(", &why);
	CHECK_STR(out, "echo $(date) $(steps.x.exitCode.path) $(");
	free(out);
	subst_free(s);
}

static void expect_error(const struct subst *s, const char *in, const char *want)
{
	char *why = NULL, *out = sub(s, in, &why);
	CHECK(out == NULL);
	CHECK(why && strstr(why, want));
	if (why && !strstr(why, want))
		fprintf(stderr, "  %s: got '%s', want '%s'\n", in, why, want);
	free(out);
	free(why);
}

static void test_refusals(void)
{
	struct subst *s = fixture();
	expect_error(s, "$(params.nope)", "t.yaml:7: $(params.nope): no such param is declared");
	expect_error(s, "$(workspaces.src.claim)", "no such workspace is declared");
	expect_error(s, "$(results.r.path)", "no such result is declared");
	expect_error(s, "x$(params.flags[*])", "an array is substituted only as a whole item");
	expect_error(s, "$(params.flags)", "an array is substituted only as a whole item");
	expect_error(s, "$(params.flags[2])", "index out of the array's bounds");
	expect_error(s, "$(params.cfg)", "an object is substituted by key");
	expect_error(s, "$(params.cfg.nokey)", "the object has no such key");
	expect_error(s, "$(params.url[0])", "a string param takes no index");
	expect_error(s, "$(context.pipelineRun.name)", "not a variable Tekton provides here");
	subst_free(s);
}

static void test_list_spread(void)
{
	struct subst *s = fixture();
	char *in[] = { "--a", "$(params.flags[*])", "--u=$(params.url)" };
	int lines[] = { 1, 2, 3 };
	char **out = NULL;
	size_t n = 0;
	err_t *e = subst_list(s, in, lines, 3, &out, &n);
	REQUIRE(!e);
	REQUIRE(n == 4);
	CHECK_STR(out[0], "--a");
	CHECK_STR(out[1], "-v");
	CHECK_STR(out[2], "--x=1");
	CHECK_STR(out[3], "--u=https://example.com/r.git");
	CHECK(out[4] == NULL);
	for (size_t i = 0; i < n; i++)
		free(out[i]);
	free(out);
	/* [*] of a string param is refused, with the item's line */
	char *bad[] = { "$(params.url[*])" };
	e = subst_list(s, bad, lines + 2, 1, &out, &n);
	REQUIRE(e);
	char *why = err_describe(e);
	CHECK(strstr(why, "t.yaml:3: $(params.url[*]): [*] applies to array params only"));
	free(why);
	err_free(e);
	subst_free(s);
}

TEST_MAIN("pipeline_run_subst", TEST(test_string_forms), TEST(test_refusals), TEST(test_list_spread))
