/* Redaction: registered secrets never reach a log line, whatever path. */
#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "log.h"
#include "testing.h"

static char *capture(void (*fn)(void))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	log_set_stream(f);
	fn();
	fclose(f);
	log_set_stream(NULL);
	return buf;
}

static void log_with_secret(void)
{
	log_info("token is hunter2-token, again hunter2-token; pass=s3cr3t!");
	log_error("Authorization: Bearer hunter2-token");
}

static void test_secrets_redacted_in_every_line(void)
{
	log_setup("t", LOG_HUMAN, LOG_DEBUG);
	log_secret("hunter2-token");
	log_secret("s3cr3t!");
	char *out = capture(log_with_secret);
	CHECK(!strstr(out, "hunter2"));
	CHECK(!strstr(out, "s3cr3t"));
	CHECK(strstr(out, "t: token is ***, again ***; pass=***\n") != NULL);
	CHECK(strstr(out, "t: error: Authorization: Bearer ***\n") != NULL);
	free(out);
	log_forget_secrets();
}

static void test_longest_secret_wins(void)
{
	log_secret("abc");
	log_secret("abcdef");
	char *r = log_redact("xabcdefy abcz");
	CHECK_STR(r, "x***y ***z");
	free(r);
	log_forget_secrets();
}

static void test_short_values_not_registered(void)
{
	log_secret("ab");
	log_secret("");
	log_secret(NULL);
	char *r = log_redact("abab");
	CHECK_STR(r, "abab");
	free(r);
}

static void log_json_line(void)
{
	log_warn("quote \" and newline \n and secret-value-123");
}

static void test_json_format_escapes_and_redacts(void)
{
	log_setup("task-x", LOG_JSON, LOG_INFO);
	log_secret("secret-value-123");
	char *out = capture(log_json_line);
	CHECK(strstr(out, "\"level\":\"warn\"") != NULL);
	CHECK(strstr(out, "\"msg\":\"quote \\\" and newline \\n and ***\"") != NULL);
	CHECK(strstr(out, "\"task\":\"task-x\"") != NULL);
	CHECK(!strstr(out, "secret-value"));
	free(out);
	log_forget_secrets();
	log_setup("t", LOG_HUMAN, LOG_INFO);
}

static void log_levels(void)
{
	log_debug("hidden");
	log_info("shown");
}

static void log_with_controls(void)
{
	log_warn("branch %s", "x\n" "t: error: forged line \033]0;title\007 \xc2\x9b" "2J end");
	json_t *f = json_pack("{s:s}", "ref", "a\rb");
	log_fields(LOG_INFO, "event", f);
	json_decref(f);
}

/* A value from a payload cannot start a forged line or reach the terminal
 * as an escape sequence: human lines show control characters as \xNN. */
static void test_human_format_escapes_controls(void)
{
	log_setup("t", LOG_HUMAN, LOG_DEBUG);
	char *out = capture(log_with_controls);
	CHECK(strstr(out, "t: warn: branch x\\x0at: error: forged line \\x1b]0;title\\x07 \\xc2\\x9b2J end\n") != NULL);
	CHECK(strstr(out, "t: event ref=a\\x0db\n") != NULL);
	CHECK(!strchr(out, '\033') && !strchr(out, '\r'));
	size_t lines = 0;
	for (const char *c = out; *c; c++)
		lines += *c == '\n';
	CHECK(lines == 2);
	free(out);
}

static void test_level_filter(void)
{
	log_setup("t", LOG_HUMAN, LOG_INFO);
	char *out = capture(log_levels);
	CHECK_STR(out, "t: shown\n");
	free(out);
}

static void test_parse_names(void)
{
	enum log_level l;
	enum log_format f;
	CHECK(log_parse_level("warn", &l) && l == LOG_WARN);
	CHECK(!log_parse_level("loud", &l));
	CHECK(log_parse_format("json", &f) && f == LOG_JSON);
	CHECK(!log_parse_format("xml", &f));
}

TEST_MAIN("log", TEST(test_secrets_redacted_in_every_line), TEST(test_human_format_escapes_controls), TEST(test_longest_secret_wins),
	  TEST(test_short_values_not_registered), TEST(test_json_format_escapes_and_redacts),
	  TEST(test_level_filter), TEST(test_parse_names))
