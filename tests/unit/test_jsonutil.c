/* Canonical JSON (what TUF signatures are computed over) and located errors. */
#include <stdlib.h>

#include "jsonutil.h"
#include "testing.h"

static char *canon(const char *text)
{
	json_t *v = NULL;
	err_t *e = json_parse(text, strlen(text), "t", &v);
	if (e) {
		err_free(e);
		return NULL;
	}
	struct strbuf sb = STRBUF_INIT;
	e = json_canonical(v, &sb);
	json_decref(v);
	if (e) {
		err_free(e);
		sb_release(&sb);
		return NULL;
	}
	return sb_detach(&sb);
}

static void test_sorted_keys_no_whitespace(void)
{
	char *c = canon("{ \"b\" : [1, 2, {\"z\":null, \"a\":true}], \"a\": \"x\", \"B\": false }");
	CHECK_STR(c, "{\"B\":false,\"a\":\"x\",\"b\":[1,2,{\"a\":true,\"z\":null}]}");
	free(c);
}

static void test_string_escapes_as_go(void)
{
	char *c = canon("[\"<a>&\\\"\\\\\\n\\t\\u0001 é \\u2028\"]");
	CHECK_STR(c, "[\"\\u003ca\\u003e\\u0026\\\"\\\\\\n\\t\\u0001 é \\u2028\"]");
	free(c);
}

static void test_reals_refused(void)
{
	CHECK(canon("{\"x\": 1.5}") == NULL);
	char *c = canon("{\"x\": -12345678901234}");
	CHECK_STR(c, "{\"x\":-12345678901234}");
	free(c);
}

static void test_parse_error_has_line_and_column(void)
{
	json_t *v = NULL;
	const char *text = "{\n  \"a\": 1,\n  \"a\": 2\n}";
	err_t *e = json_parse(text, strlen(text), "manifest.json", &v);
	CHECK(e && e->code == EXIT_USAGE);
	CHECK(e && strstr(e->msg, "manifest.json: invalid JSON at line 3") != NULL);
	err_free(e);
	e = json_parse("[1,", 3, "x", &v);
	CHECK(e && strstr(e->msg, "line 1, column 3"));
	err_free(e);
}

static void test_typed_getters_name_the_path(void)
{
	json_t *v = NULL;
	const char *text = "{\"config\": {\"digest\": 5}, \"layers\": []}";
	CHECK(!json_parse(text, strlen(text), "m", &v));
	json_t *config = NULL, *layers = NULL;
	CHECK(!json_get_object(v, "config", "manifest", &config));
	CHECK(!json_get_array(v, "layers", "manifest", &layers));
	const char *s = NULL;
	err_t *e = json_get_string(config, "digest", "manifest.config", &s);
	CHECK(e && !strcmp(e->msg, "manifest.config.digest: expected a string"));
	err_free(e);
	json_int_t n = 0;
	CHECK(!json_get_int(config, "digest", "c", &n) && n == 5);
	e = json_get_int(config, "size", "manifest.config", &n);
	CHECK(e && !strcmp(e->msg, "manifest.config.size: missing"));
	err_free(e);
	json_decref(v);
}

TEST_MAIN("jsonutil", TEST(test_sorted_keys_no_whitespace), TEST(test_string_escapes_as_go), TEST(test_reals_refused),
	  TEST(test_parse_error_has_line_and_column), TEST(test_typed_getters_name_the_path))
