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

/* kinds: set where made, found through wrapping, never from the text */
static void test_kinds(void)
{
	err_t *e = err_wrap(err_kind_new(EXIT_FAILED, ERR_KIND_NOT_FOUND, "manifest v1 not found"), "pull");
	CHECK(e->kind == ERR_KIND_NONE); /* a plain wrap does not classify */
	CHECK(err_is(e, ERR_KIND_NOT_FOUND));
	CHECK(!err_is(e, ERR_KIND_AUTH));
	err_free(e);
	/* the words are not the kind */
	e = err_new(EXIT_FAILED, "blob not found, signature does not verify, tampered or inconsistent");
	CHECK(e->kind == ERR_KIND_NONE);
	CHECK(!err_is(e, ERR_KIND_NOT_FOUND) && !err_is(e, ERR_KIND_SIGNATURE) && !err_is(e, ERR_KIND_INCONSISTENT));
	CHECK(err_set_kind(e, ERR_KIND_SIGNATURE) == e && err_is(e, ERR_KIND_SIGNATURE));
	err_free(e);
	CHECK(err_set_kind(NULL, ERR_KIND_AUTH) == NULL);
	CHECK(!err_is(NULL, ERR_KIND_NONE));
	/* reclassified above the cause, which keeps its own code and kind */
	e = err_wrap_as(err_kind_new(EXIT_FAILED, ERR_KIND_REMOTE, "token request: HTTP 400"), EXIT_AUTH, ERR_KIND_AUTH,
			"auth.local rejected the credentials");
	CHECK(e->code == EXIT_AUTH && e->kind == ERR_KIND_AUTH);
	CHECK(e->cause->code == EXIT_FAILED && e->cause->kind == ERR_KIND_REMOTE);
	CHECK(err_is(e, ERR_KIND_AUTH) && err_is(e, ERR_KIND_REMOTE));
	char *s = err_describe(e);
	CHECK_STR(s, "auth.local rejected the credentials: token request: HTTP 400");
	free(s);
	err_free(e);
	/* context keeps code; err_errno and err_new make unclassified errors */
	e = err_context(err_kind_new(EXIT_POLICY, ERR_KIND_EXPIRED, "timestamp.json expired"), "load");
	CHECK(e->code == EXIT_POLICY && err_is(e, ERR_KIND_EXPIRED) && !err_is(e, ERR_KIND_ROLLBACK));
	err_free(e);
	CHECK_STR(err_kind_name(ERR_KIND_ROLLBACK), "rollback");
	CHECK_STR(err_kind_name(ERR_KIND_NONE), "none");
	CHECK_STR(err_kind_name((enum err_kind)999), "unknown");
}

TEST_MAIN("error", TEST(test_chain_describes_outer_to_root), TEST(test_try_propagates), TEST(test_errno_message), TEST(test_kinds))
