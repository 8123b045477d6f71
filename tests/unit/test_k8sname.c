/* Kubernetes name rules (common/k8sname.c), at their boundaries: the
 * label's 63, the subdomain's 253 with no limit on its labels (apimachinery
 * IsDNS1123Subdomain), '-' and '.' at either end or side by side, upper
 * case and characters outside [a-z0-9.-]. */
#include <stdlib.h>
#include <string.h>

#include "k8sname.h"
#include "testing.h"

/* n characters: 'a' and, every `every` characters, a '.' (0: none) */
static char *name_of(size_t n, size_t every)
{
	char *s = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		s[i] = every && i % every == every - 1 ? '.' : 'a';
	s[n] = '\0';
	return s;
}

static void test_label(void)
{
	const char *ok[] = { "a", "0", "step-git-clone", "a--b", "0abc", "abc0" };
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
		CHECK(k8s_dns1123_label(ok[i]));
	const char *bad[] = { "", "-a", "a-", "-", "A", "aB", "a.b", "a_b", "a b", "a/b", "é" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK(!k8s_dns1123_label(bad[i]));
	char *s = name_of(63, 0);
	CHECK(k8s_dns1123_label(s));
	free(s);
	s = name_of(64, 0);
	CHECK(!k8s_dns1123_label(s));
	free(s);
}

static void test_subdomain_characters(void)
{
	const char *ok[] = { "a", "run-1.example", "a.b.c", "x-1.y-2", "0.0", "a--b.c--d" };
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
		CHECK(k8s_dns1123_subdomain(ok[i]));
		CHECK(k8s_dns1123_subdomain_chars(ok[i]));
	}
	const char *bad[] = { "",     ".",    "..",   ".a",    "a.",  "-a",   "a-",    "a..b", "a.-b", "a-.b",
			      "a.b-", "-a.b", "Run_1", "A.b", "a.B", "a_b", "a/b", "../x", "a b",  "a.b/" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		CHECK(!k8s_dns1123_subdomain(bad[i]));
		CHECK(!k8s_dns1123_subdomain_chars(bad[i]));
	}
}

static void test_subdomain_lengths(void)
{
	/* a label of 64, 100 or 253 inside a subdomain: no per-label limit */
	char *s = name_of(64, 0);
	CHECK(k8s_dns1123_subdomain(s));
	free(s);
	s = name_of(129, 65); /* 64 'a', '.', 64 'a' */
	CHECK(s[64] == '.' && k8s_dns1123_subdomain(s));
	free(s);
	s = name_of(253, 0);
	CHECK(k8s_dns1123_subdomain(s));
	free(s);
	s = name_of(253, 100);
	CHECK(k8s_dns1123_subdomain(s));
	free(s);
	/* 254: too long, whatever its labels; the characters alone still pass */
	s = name_of(254, 0);
	CHECK(!k8s_dns1123_subdomain(s));
	CHECK(k8s_dns1123_subdomain_chars(s));
	free(s);
	s = name_of(254, 10);
	CHECK(!k8s_dns1123_subdomain(s));
	CHECK(k8s_dns1123_subdomain_chars(s));
	free(s);
}

TEST_MAIN("k8sname", TEST(test_label), TEST(test_subdomain_characters), TEST(test_subdomain_lengths))
