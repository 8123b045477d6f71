/* Unit tests for common/findings: severities, thresholds, order, and every
 * report format. */
#include "findings.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"

static char *render(const struct findings *f, enum report_format fmt)
{
	static const struct rule_info rules[] = { { "R1", SEV_WARNING, "rule one", "https://example.com/R1" } };
	struct report_tool tool = { "t", "1.0", "https://example.com", rules, 1 };
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	err_t *e = findings_write(f, fmt, &tool, false, m);
	CHECK(e == NULL);
	err_free(e);
	fclose(m);
	return buf;
}

static void sample(struct findings *f)
{
	findings_add(f, "R2", SEV_STYLE, "b.txt", 3, 1, NULL, NULL, "second <&>");
	findings_add(f, "R1", SEV_ERROR, "a.txt", 9, 2, "Kind/x:spec", "do \"this\"", "first %d", 1);
	findings_add(f, "R1", SEV_INFO, "a.txt", 2, 1, NULL, NULL, "early");
}

static void test_parse(void)
{
	enum severity s;
	CHECK(severity_parse("Warning", &s) && s == SEV_WARNING);
	CHECK(!severity_parse("severe", &s));
	CHECK(threshold_parse("none", &s) && s == SEV_IGNORE);
	CHECK(threshold_parse("style", &s) && s == SEV_STYLE);
	enum report_format f;
	CHECK(report_format_parse("gitlab_codeclimate", &f) && f == REPORT_CODECLIMATE);
	CHECK(!report_format_parse("html", &f));
	CHECK_STR(severity_name(SEV_INFO), "info");
}

static void test_sort_and_threshold(void)
{
	struct findings f = { 0 };
	sample(&f);
	findings_sort(&f);
	CHECK_STR(f.items[0].message, "early");
	CHECK_STR(f.items[1].message, "first 1");
	CHECK_STR(f.items[2].file, "b.txt");
	CHECK(findings_at_or_above(&f, SEV_ERROR) == 1);
	CHECK(findings_at_or_above(&f, SEV_INFO) == 2);
	CHECK(findings_at_or_above(&f, SEV_STYLE) == 3);
	CHECK(findings_at_or_above(&f, SEV_IGNORE) == 0);
	findings_release(&f);
}

static void test_formats(void)
{
	struct findings f = { 0 };
	sample(&f);
	findings_sort(&f);
	char *tty = render(&f, REPORT_TTY);
	CHECK(strstr(tty, "a.txt:9 R1 error: first 1 [Kind/x:spec] (fix: do \"this\")\n") != NULL);
	free(tty);
	char *xml = render(&f, REPORT_CHECKSTYLE);
	CHECK(strstr(xml, "message='second &lt;&amp;&gt;' source='R2'") != NULL);
	CHECK(strstr(xml, "<file name='a.txt'>") && strstr(xml, "<file name='b.txt'>"));
	free(xml);
	const enum report_format jsonish[] = { REPORT_JSON, REPORT_SARIF, REPORT_CODECLIMATE };
	for (size_t i = 0; i < 3; i++) {
		char *s = render(&f, jsonish[i]);
		json_error_t je;
		json_t *j = json_loads(s, 0, &je);
		CHECK(j != NULL);
		if (jsonish[i] == REPORT_SARIF && j) {
			CHECK_STR(json_string_value(json_object_get(j, "version")), "2.1.0");
			json_t *res = json_object_get(json_array_get(json_object_get(j, "runs"), 0), "results");
			CHECK(json_array_size(res) == 3);
			CHECK_STR(json_string_value(json_object_get(json_array_get(res, 1), "level")), "error");
			CHECK_STR(json_string_value(json_object_get(json_array_get(res, 0), "level")), "note");
		}
		if (jsonish[i] == REPORT_CODECLIMATE && j) {
			json_t *a = json_array_get(j, 0), *b = json_array_get(j, 1);
			const char *fa = json_string_value(json_object_get(a, "fingerprint"));
			const char *fb = json_string_value(json_object_get(b, "fingerprint"));
			CHECK(fa && fb && strlen(fa) == 32 && strcmp(fa, fb));
			CHECK_STR(json_string_value(json_object_get(b, "severity")), "blocker");
		}
		json_decref(j);
		free(s);
	}
	findings_release(&f);
}

TEST_MAIN("findings", TEST(test_parse), TEST(test_sort_and_threshold), TEST(test_formats))
