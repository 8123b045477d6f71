/* Header values servers send, as the HTTP client and the registry client
 * read them: Retry-After, Content-Range (resumed downloads) and the tag
 * list's Link (pagination). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "registry.h"
#include "testing.h"

static void test_retry_after(void)
{
	time_t now = 1445412480; /* Wed, 21 Oct 2015 07:28:00 GMT */
	CHECK(http_retry_after_ms(NULL, now) == -1);
	CHECK(http_retry_after_ms("120", now) == 120000);
	CHECK(http_retry_after_ms("  7", now) == 7000);
	CHECK(http_retry_after_ms("Wed, 21 Oct 2015 07:28:30 GMT", now) == 30000);
	CHECK(http_retry_after_ms("Wed, 21 Oct 2015 07:27:00 GMT", now) == 0); /* past: now */
	CHECK(http_retry_after_ms("soon", now) == -1);
	/* at most a day, whichever form says more */
	CHECK(http_retry_after_ms("99999999999999999999999", now) == 86400000L);
	CHECK(http_retry_after_ms("Fri, 31 Dec 9999 23:59:59 GMT", now) == 86400000L);
}

static void test_content_range(void)
{
	uint64_t s = 7;
	CHECK(http_content_range_start("bytes 500-1233/1234", &s) && s == 500);
	CHECK(http_content_range_start("bytes 0-0/*", &s) && s == 0);
	CHECK(http_content_range_start("bytes 18446744073709551615-18446744073709551615/*", &s) &&
	      s == UINT64_MAX);
	s = 7;
	/* what sscanf("bytes %llu-") took: signs, blanks, no end, junk after */
	CHECK(!http_content_range_start("bytes -5-10/20", &s));
	CHECK(!http_content_range_start("bytes  5-10/20", &s));
	CHECK(!http_content_range_start("bytes +5-10/20", &s));
	CHECK(!http_content_range_start("bytes 5-", &s));
	CHECK(!http_content_range_start("bytes 5-10/20x", &s));
	CHECK(!http_content_range_start("bytes 5-4/20", &s));   /* backwards */
	CHECK(!http_content_range_start("bytes 5-20/20", &s));  /* past the end */
	CHECK(!http_content_range_start("bytes 18446744073709551616-18446744073709551617/*", &s));
	CHECK(!http_content_range_start("items 5-10/20", &s));
	CHECK(s == 7); /* untouched when refused */
}

static void test_link_next(void)
{
	char *n = registry_link_next("</v2/app/tags/list?n=2&last=b>; rel=\"next\"");
	CHECK_STR(n, "/v2/app/tags/list?n=2&last=b");
	free(n);
	/* the next link is the one whose rel says so, not the first one */
	n = registry_link_next("</v2/a/tags/list?last=a>; rel=\"prev\", </v2/a/tags/list?last=z>; rel=\"next\"");
	CHECK_STR(n, "/v2/a/tags/list?last=z");
	free(n);
	n = registry_link_next("</x?a=1,2>; title=\"a, b; rel=next\"; rel=\"prev NEXT\"");
	CHECK_STR(n, "/x?a=1,2");
	free(n);
	n = registry_link_next("</x>; Rel=next");
	CHECK_STR(n, "/x");
	free(n);
	CHECK(!registry_link_next("</x>; rel=\"nextpage\""));
	CHECK(!registry_link_next("</x>; title=\"rel=next\""));
	CHECK(!registry_link_next("</x>; title=\"next\"")); /* next, but not as rel */
	CHECK(!registry_link_next("</x>; rel=\"next")); /* unterminated */
	CHECK(!registry_link_next("</x; rel=\"next\""));
	CHECK(!registry_link_next("rel=\"next\""));
	CHECK(!registry_link_next(""));
}

/* Credentials go to the registry's origin only (common/registry.c) */
static void test_same_origin(void)
{
	CHECK(http_same_origin("https://reg.example/v2/", "https://reg.example/v2/x/tags/list?n=2"));
	CHECK(http_same_origin("https://REG.example:443/v2/", "https://reg.example/"));
	CHECK(http_same_origin("http://127.0.0.1:5000/", "HTTP://127.0.0.1:5000/v2/"));
	CHECK(!http_same_origin("https://reg.example/", "https://reg.example.evil/"));
	CHECK(!http_same_origin("https://reg.example/", "https://reg.example:8443/"));
	CHECK(!http_same_origin("http://127.0.0.1:5000/", "http://127.0.0.1:5001/"));
	CHECK(!http_same_origin("https://reg.example/", "http://reg.example/"));
	CHECK(!http_same_origin("https://reg.example/", "https://other.example/"));
	CHECK(!http_same_origin("https://reg.example@other.example/", "https://reg.example/"));
	CHECK(!http_same_origin("/v2/relative", "/v2/relative"));
	CHECK(!http_same_origin("https://reg.example/", "not a url"));
}

/* The one check of a server URL a user gives (http_check_url) */
static bool url_ok(const char *url, const char *schemes)
{
	err_t *e = http_check_url(url, schemes, "--server");
	bool ok = !e;
	if (e) {
		CHECK(e->code == EXIT_USAGE);
		char *msg = err_describe(e);
		CHECK(strstr(msg, "--server") != NULL);
		free(msg);
	}
	err_free(e);
	return ok;
}

static void test_check_url(void)
{
	CHECK(url_ok("https://127.0.0.1:4443", "https"));
	CHECK(url_ok("https://notary.example/", "https"));
	CHECK(url_ok("HTTPS://notary.example:443/prefix", "https"));
	CHECK(url_ok("https://[::1]:4443", "https"));
	CHECK(url_ok("https://user@reg.example:8443/v2/", "https"));
	CHECK(url_ok("http://127.0.0.1:8080/health?x=1", "http,https"));
	CHECK(url_ok("https://app.example#top", "http,https"));
	/* no host: the notary URL "https://" made "https:/v2/<gun>/..." */
	CHECK(!url_ok("https://", "https"));
	CHECK(!url_ok("https:///", "https"));
	CHECK(!url_ok("https:///v2/", "https"));
	CHECK(!url_ok("https://:4443", "https"));
	CHECK(!url_ok("https://user@", "https"));
	CHECK(!url_ok("https://user@:443/", "https"));
	CHECK(!url_ok("https://[]:443", "https"));
	CHECK(!url_ok("https://?x", "https"));
	CHECK(!url_ok("http://#frag", "http,https"));
	/* scheme */
	CHECK(!url_ok("http://notary.example", "https"));
	CHECK(!url_ok("https:/notary.example", "https"));
	CHECK(!url_ok("notary.example:4443", "https"));
	CHECK(!url_ok("ftp://notary.example", "http,https"));
	CHECK(!url_ok("httpsx://notary.example", "https"));
	CHECK(!url_ok("", "https"));
	CHECK(!url_ok(NULL, "https"));
	/* port */
	CHECK(!url_ok("https://notary.example:", "https"));
	CHECK(!url_ok("https://notary.example:0", "https"));
	CHECK(!url_ok("https://notary.example:65536", "https"));
	CHECK(!url_ok("https://notary.example:44x3/", "https"));
	CHECK(!url_ok("https://notary.example:123456", "https"));
	CHECK(url_ok("https://notary.example:65535", "https"));
	/* the message says what is wrong */
	err_t *e = http_check_url("https://", "https", "--notary-server");
	char *msg = err_describe(e);
	CHECK(strstr(msg, "--notary-server: 'https://' has no host") != NULL);
	free(msg);
	err_free(e);
}

TEST_MAIN("headers", TEST(test_retry_after), TEST(test_content_range), TEST(test_link_next),
	  TEST(test_same_origin), TEST(test_check_url))
