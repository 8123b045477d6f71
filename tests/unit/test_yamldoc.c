/* Unit tests for common/yamldoc: documents, line numbers, getters, aliases
 * and errors. */
#include "yamldoc.h"

#include <stdlib.h>
#include <string.h>

#include "testing.h"

static struct ydoc *parse(const char *text)
{
	struct ydoc *y = NULL;
	err_t *e = ydoc_parse(text, strlen(text), "t.yaml", &y);
	if (e) {
		fprintf(stderr, "  unexpected error: %s\n", e->msg);
		err_free(e);
		testing_failed_ = 1;
	}
	return y;
}

static void test_multi_document(void)
{
	struct ydoc *y = parse("a: 1\n---\n- x\n- y\n---\n# empty\n---\nk: v\n");
	if (!y)
		return;
	CHECK(y->ndocs == 4);
	CHECK(ydoc_is_map(y->docs[0]));
	CHECK(ydoc_is_seq(y->docs[1]) && ydoc_count(y->docs[1]) == 2);
	CHECK(y->docs[2] == NULL || ydoc_is_null(y->docs[2]));
	CHECK_STR(ydoc_str(ydoc_get(y->docs[3], "k")), "v");
	CHECK(ydoc_get(y->docs[3], "k")->line == 8);
	ydoc_free(y);
}

static void test_lines_and_paths(void)
{
	struct ydoc *y = parse("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: app\n      image: \"x:1\"\n"
			       "      securityContext:\n        privileged: true\n        runAsUser: 0\n");
	if (!y)
		return;
	const struct ydoc_node *c = ydoc_item(ydoc_path(y->docs[0], "spec.containers"), 0);
	CHECK(c && c->line == 5);
	CHECK_STR(ydoc_str(ydoc_get(c, "image")), "x:1");
	CHECK(ydoc_get(c, "image")->quoted);
	bool b = false;
	CHECK(ydoc_bool(ydoc_path(c, "securityContext.privileged"), &b) && b);
	long long v = -1;
	CHECK(ydoc_int(ydoc_path(c, "securityContext.runAsUser"), &v) && v == 0);
	CHECK(ydoc_path(c, "securityContext.privileged")->line == 8);
	CHECK(ydoc_get(c, "missing") == NULL);
	CHECK(ydoc_str(ydoc_get(c, "securityContext")) == NULL);
	ydoc_free(y);
}

static void test_scalars(void)
{
	struct ydoc *y = parse("a: ~\nb: null\nc: \"null\"\nd: yes\ne: 'no'\nf: 12x\ng:\n");
	if (!y)
		return;
	const struct ydoc_node *r = y->docs[0];
	CHECK(ydoc_is_null(ydoc_get(r, "a")) && ydoc_is_null(ydoc_get(r, "b")));
	CHECK_STR(ydoc_str(ydoc_get(r, "c")), "null");
	bool b = false;
	CHECK(ydoc_bool(ydoc_get(r, "d"), &b) && b);
	CHECK(!ydoc_bool(ydoc_get(r, "e"), &b));
	long long v;
	CHECK(!ydoc_int(ydoc_get(r, "f"), &v));
	CHECK(ydoc_is_null(ydoc_get(r, "g")));
	ydoc_free(y);
}

static void test_aliases(void)
{
	struct ydoc *y = parse("base: &b {cpu: 1}\nother: *b\n");
	if (!y)
		return;
	CHECK_STR(ydoc_str(ydoc_path(y->docs[0], "other.cpu")), "1");
	ydoc_free(y);
	/* a billion-laughs style document costs nothing: aliases are shared */
	y = parse("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		  "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n");
	CHECK(y != NULL);
	ydoc_free(y);
	struct ydoc *bad = NULL;
	err_t *e = ydoc_parse("a: &x [*x]\n", 11, "t.yaml", &bad);
	CHECK(e && strstr(e->msg, "t.yaml:1:") && strstr(e->msg, "alias"));
	err_free(e);
}

static void test_errors(void)
{
	struct ydoc *y = NULL;
	const char *text = "a: 1\nb: [1, 2\nc: 3\n";
	err_t *e = ydoc_parse(text, strlen(text), "d.yml", &y);
	CHECK(e && e->code == EXIT_USAGE && y == NULL);
	if (e)
		CHECK(strncmp(e->msg, "d.yml:", 6) == 0);
	err_free(e);
	text = "a:\n\tb: 1\n";
	e = ydoc_parse(text, strlen(text), "tab.yml", &y);
	CHECK(e && strstr(e->msg, "tab.yml:2:"));
	err_free(e);
	/* deep nesting is refused, not a stack overflow */
	char deep[2000];
	memset(deep, '[', 1000);
	deep[1000] = '\0';
	e = ydoc_parse(deep, 1000, "deep", &y);
	CHECK(e != NULL);
	err_free(e);
}

static char *json_of(const char *text, const char *name, err_t **e)
{
	struct ydoc *y = parse(text);
	json_t *j = NULL;
	*e = y ? ydoc_to_json(y->docs[0], name, &j) : NULL;
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(j);
	ydoc_free(y);
	return s;
}

static void test_to_json(void)
{
	err_t *e = NULL;
	char *s = json_of("a: 1\nb: \"1\"\nc: yes\nd: 'no'\ne: ~\nf: 1.5\ng: 1e3\nh: 12x\ni: [x, {j: -2}]\n"
			  "k: |\n  text\nl: 0.5.1\n",
			  "t.yaml", &e);
	CHECK(!e);
	CHECK_STR(s, "{\"a\":1,\"b\":\"1\",\"c\":true,\"d\":\"no\",\"e\":null,\"f\":1.5,\"g\":1000.0,"
		     "\"h\":\"12x\",\"i\":[\"x\",{\"j\":-2}],\"k\":\"text\\n\",\"l\":\"0.5.1\"}");
	free(s);
	/* merge keys: the mapping's own keys win */
	s = json_of("base: &b {cpu: 1, mem: 2}\nres:\n  <<: *b\n  cpu: 3\n", "t.yaml", &e);
	CHECK(!e);
	CHECK_STR(s, "{\"base\":{\"cpu\":1,\"mem\":2},\"res\":{\"cpu\":3,\"mem\":2}}");
	free(s);
	/* a duplicate key is refused with its place */
	s = json_of("a: 1\nb:\n  c: 1\n  c: 2\n", "dup.yaml", &e);
	CHECK(!s && e && e->code == EXIT_USAGE);
	if (e)
		CHECK_STR(e->msg, "dup.yaml:4:3: key \"c\" already defined");
	err_free(e);
	/* aliases that would expand past the bound are refused, not copied */
	s = json_of("a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
		    "bomb.yaml", &e);
	CHECK(!s && e && strstr(e->msg, "bomb.yaml:") && strstr(e->msg, "million"));
	free(s);
	err_free(e);
}

/* what ydoc_emit_json writes reads back as the same JSON, strings that
 * look like other types included */
static void test_emit_round_trip(void)
{
	const char *text = "{\"s\":\"plain\",\"t\":\"true\",\"y\":\"yes\",\"n\":\"null\",\"e\":\"\","
			   "\"i\":\"123\",\"o\":\"0755\",\"f\":\"1.5e3\",\"c\":\"a: b\",\"h\":\"# x\","
			   "\"star\":\"*alias\",\"pem\":\"line1\\nline2\\n\",\"sp\":\" lead\\ntrail \","
			   "\"u\":\"\u00e9t\u00e9\",\"num\":42,\"neg\":-7,\"real\":2.5,\"b\":false,\"z\":null,"
			   "\"list\":[\"x\",[],{},{\"k\":[1,\"2\"]}],\"true\":\"key is a bool word\"}";
	json_t *doc = json_loads(text, 0, NULL);
	CHECK(doc != NULL);
	struct strbuf y = STRBUF_INIT;
	ydoc_emit_json(doc, &y);
	ydoc_emit_json(doc, &y); /* two documents */
	struct ydoc *d = NULL;
	err_t *e = ydoc_parse(y.buf, y.len, "emitted", &d);
	CHECK(!e);
	err_free(e);
	CHECK(d && d->ndocs == 2);
	for (size_t i = 0; d && i < d->ndocs; i++) {
		json_t *back = NULL;
		e = ydoc_to_json(d->docs[i], "emitted", &back);
		CHECK(!e);
		err_free(e);
		if (!json_equal(back, doc)) {
			fprintf(stderr, "  emitted:\n%s\n", sb_str(&y));
			CHECK(!"the emitted YAML reads back as the JSON");
		}
		json_decref(back);
	}
	ydoc_free(d);
	sb_release(&y);
	json_decref(doc);
}

TEST_MAIN("yamldoc", TEST(test_multi_document), TEST(test_lines_and_paths), TEST(test_scalars), TEST(test_aliases),
	  TEST(test_errors), TEST(test_to_json), TEST(test_emit_round_trip))
