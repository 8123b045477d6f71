#include <stdlib.h>

#include "b64.h"
#include "strbuf.h"
#include "testing.h"

static void test_grows_and_formats(void)
{
	struct strbuf sb = STRBUF_INIT;
	CHECK_STR(sb_str(&sb), "");
	for (int i = 0; i < 1000; i++)
		sb_addf(&sb, "%d,", i);
	CHECK(sb.len == strlen(sb.buf));
	CHECK(!strncmp(sb.buf, "0,1,2,", 6));
	sb_add(&sb, "\0x", 2); /* binary safe */
	CHECK(sb.buf[sb.len - 2] == '\0' && sb.buf[sb.len] == '\0');
	sb_reset(&sb);
	CHECK(sb.len == 0 && !strcmp(sb_str(&sb), ""));
	char *big = malloc(100000);
	memset(big, 'a', 99999);
	big[99999] = '\0';
	sb_addf(&sb, "%s!", big);
	CHECK(sb.len == 100000 && sb.buf[99999] == '!');
	free(big);
	char *s = sb_detach(&sb);
	CHECK(sb.buf == NULL && strlen(s) == 100000);
	free(s);
	s = sb_detach(&sb);
	CHECK_STR(s, "");
	free(s);
}

/* Growing an empty buffer (b64_encode of no bytes did it) leaves "", not
 * whatever the allocator returned (fuzz_tuf_keys found the read past it). */
static void test_grow_empty_is_terminated(void)
{
	struct strbuf sb = STRBUF_INIT;
	sb_grow(&sb, 100);
	CHECK(sb.buf != NULL);
	CHECK_STR(sb_str(&sb), "");
	sb_release(&sb);
	b64_encode("", 0, &sb);
	CHECK(sb.len == 0);
	CHECK_STR(sb_str(&sb), "");
	sb_release(&sb);
}

/* Text that is not ours, shown on a terminal: no control code survives,
 * printable ASCII and UTF-8 (but its C1 controls) stay as they are. */
static void test_printable(void)
{
	struct strbuf sb = STRBUF_INIT;
	const char in[] = "a\033]0;x\007\r\n\177 \303\251 \302\233 \302\240 \\";
	sb_add_printable(&sb, in, sizeof in - 1);
	CHECK_STR(sb_str(&sb), "a\\x1b]0;x\\x07\\x0d\\x0a\\x7f \303\251 \\xc2\\x9b \302\240 \\");
	sb_reset(&sb);
	sb_add_printable(&sb, "\302\233", 1); /* a C2 cut from its byte: kept, alone */
	CHECK_STR(sb_str(&sb), "\302");
	sb_release(&sb);
}

TEST_MAIN("strbuf", TEST(test_grows_and_formats), TEST(test_grow_empty_is_terminated), TEST(test_printable))
