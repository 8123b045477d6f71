#include <stdlib.h>
#include <errno.h>

#include "error.h"
#include "testing.h"

static err_t *inner(void)
{
	return err_new(EXIT_AUTH, "401 from registry.local");
}

static err_t *outer(void)
{
	TRY(inner());
	return NULL;
}

static void test_chain_describes_outer_to_root(void)
{
	err_t *e = err_wrap(err_wrap(inner(), "pull base image"), "build stage 1");
	char *s = err_describe(e);
	CHECK_STR(s, "build stage 1: pull base image: 401 from registry.local");
	CHECK(e->code == EXIT_AUTH); /* wrapping keeps the root's exit code */
	CHECK_STR(err_root(e)->msg, "401 from registry.local");
	free(s);
	err_free(e);
}

static void test_try_propagates(void)
{
	err_t *e = outer();
	CHECK(e && e->code == EXIT_AUTH);
	err_free(e);
}

static void test_errno_message(void)
{
	errno = ENOENT;
	err_t *e = err_errno(EXIT_USAGE, "cannot open %s", "x.json");
	CHECK_STR(e->msg, "cannot open x.json: No such file or directory");
	CHECK(e->code == EXIT_USAGE);
	err_free(e);
	err_free(NULL);
}

TEST_MAIN("error", TEST(test_chain_describes_outer_to_root), TEST(test_try_propagates), TEST(test_errno_message))
