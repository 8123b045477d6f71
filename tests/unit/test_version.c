/* The ecosystems' version orderings (common/version.h) against the
 * published vectors in ../shared/data/versions (each checked upstream by
 * the ecosystem's own implementation), and against the real tools on pairs
 * generated here: dpkg --compare-versions for Debian, node-semver (pinned,
 * under build/oracle/node-semver) for npm ranges. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "strbuf.h"
#include "version.h"
#include "xalloc.h"
#include "testing.h"

/* ../shared/data beside the repository (the tests run from its root) */
static const char *data_dir(void)
{
	const char *d = getenv("SHARED_DATA_DIR");
	return d ? d : "../shared/data";
}

static FILE *open_data(const char *name)
{
	char *path = xasprintf("%s/versions/%s", data_dir(), name);
	FILE *f = fopen(path, "r");
	if (!f)
		fprintf(stderr, "  test data %s is missing: it lives in ../shared/data beside the repository\n", path);
	free(path);
	return f;
}

/* splits a TSV line of three fields in place */
static int split3(char *line, char **a, char **b, char **c)
{
	line[strcspn(line, "\n")] = '\0';
	char *t1 = strchr(line, '\t');
	if (!t1)
		return -1;
	char *t2 = strchr(t1 + 1, '\t');
	if (!t2)
		return -1;
	*t1 = *t2 = '\0';
	*a = line, *b = t1 + 1, *c = t2 + 1;
	return 0;
}

static int sign(int x) { return (x > 0) - (x < 0); }

static void check_vectors(enum version_scheme s, const char *file)
{
	FILE *f = open_data(file);
	REQUIRE(f);
	char line[4096];
	int n = 0, bad = 0;
	while (fgets(line, sizeof(line), f)) {
		char *a, *op, *b;
		REQUIRE(!split3(line, &a, &op, &b));
		int want = *op == '<' ? -1 : *op == '>' ? 1 : 0, got = 2, back = 2;
		err_t *e = version_compare(s, a, b, &got);
		if (!e)
			e = version_compare(s, b, a, &back);
		n++;
		if (e || sign(got) != want || sign(back) != -want) {
			if (bad++ < 10) {
				char *m = e ? err_describe(e) : NULL;
				fprintf(stderr, "  %s: %s %s %s: got %d (reversed %d) %s\n", file, a, op, b, got, back,
					m ? m : "");
				free(m);
			}
		}
		err_free(e);
	}
	fclose(f);
	if (bad)
		fprintf(stderr, "  %s: %d of %d lines disagree\n", file, bad, n);
	CHECK(n > 0);
	CHECK(bad == 0);
}

static void test_debian_vectors(void) { check_vectors(VERSION_DEBIAN, "debian.tsv"); }
static void test_alpine_vectors(void) { check_vectors(VERSION_ALPINE, "alpine.tsv"); }
static void test_pypi_vectors(void) { check_vectors(VERSION_PEP440, "pypi.tsv"); }
static void test_semver_vectors(void) { check_vectors(VERSION_SEMVER, "npm-semver.tsv"); }

/* node-semver's satisfies() is false for an invalid version: ours is an
 * error instead, which the line must then say "out" for */
static void test_npm_range_vectors(void)
{
	FILE *f = open_data("npm-ranges.tsv");
	REQUIRE(f);
	char line[4096];
	int n = 0, bad = 0, invalid = 0;
	while (fgets(line, sizeof(line), f)) {
		char *range, *v, *want;
		REQUIRE(!split3(line, &range, &v, &want));
		bool in = false;
		err_t *e = semver_range_satisfies(range, v, &in);
		n++;
		if (e) {
			err_t *ve = version_check(VERSION_SEMVER, v);
			invalid++;
			if (!ve || strcmp(want, "out"))
				bad++, fprintf(stderr, "  '%s' '%s': unexpected error %s\n", range, v, e->msg);
			err_free(ve);
			err_free(e);
			continue;
		}
		if (strcmp(want, in ? "in" : "out"))
			bad++, fprintf(stderr, "  '%s' '%s': got %s, want %s\n", range, v, in ? "in" : "out", want);
	}
	fclose(f);
	CHECK(n > 0 && invalid < n / 10);
	CHECK(bad == 0);
}

/* a version no ordering accepts is an error naming it, never an order */
static void test_invalid_versions_are_errors(void)
{
	static const struct { enum version_scheme s; const char *v; } cases[] = {
		{ VERSION_DEBIAN, "" },           { VERSION_DEBIAN, "a1.0" },      { VERSION_DEBIAN, "1:" },
		{ VERSION_DEBIAN, "x:1.0" },      { VERSION_DEBIAN, "1.0-" },      { VERSION_DEBIAN, "1.0 2" },
		{ VERSION_DEBIAN, "1.0_1" },      { VERSION_ALPINE, "1.0bc" },     { VERSION_ALPINE, "6.0.2p1-r0" },
		{ VERSION_ALPINE, "23_foo" },     { VERSION_ALPINE, "v1.0" },      { VERSION_ALPINE, "1.0-r" },
		{ VERSION_ALPINE, "1..2" },       { VERSION_SEMVER, "1.2" },       { VERSION_SEMVER, "01.2.3" },
		{ VERSION_SEMVER, "1.2.3-01" },   { VERSION_SEMVER, "1.2.3+" },    { VERSION_SEMVER, "not a version" },
		{ VERSION_SEMVER, "=1.2.3" },     { VERSION_PEP440, "0.1-bulbasaur" }, { VERSION_PEP440, "1.0-" },
		{ VERSION_PEP440, "2.0.1rc2-git" }, { VERSION_PEP440, "1.0+" },    { VERSION_PEP440, "" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		int cmp = 7;
		err_t *e = version_compare(cases[i].s, "1.0.0", cases[i].v, &cmp);
		if (!e) {
			fprintf(stderr, "  %s '%s' accepted\n", version_scheme_name(cases[i].s), cases[i].v);
			CHECK(e != NULL);
			continue;
		}
		CHECK(e->code == EXIT_USAGE);
		char *want = xasprintf("'%s'", cases[i].v);
		CHECK(strstr(e->msg, want) && strstr(e->msg, "invalid"));
		free(want);
		CHECK(cmp == 7); /* no verdict left behind */
		err_free(e);
	}
	bool in = true;
	err_t *e = semver_range_satisfies(">=1.0.0 <2.0.0 || ^3.x.y", "1.5.0", &in);
	CHECK(e && strstr(e->msg, "'^3.x.y'") && strstr(e->msg, "invalid npm version range"));
	err_free(e);
}

static void test_ecosystem_names(void)
{
	enum version_scheme s;
	CHECK(version_scheme_for_ecosystem("Debian:12", &s) && s == VERSION_DEBIAN);
	CHECK(version_scheme_for_ecosystem("Debian", &s) && s == VERSION_DEBIAN);
	CHECK(version_scheme_for_ecosystem("Alpine:v3.18", &s) && s == VERSION_ALPINE);
	CHECK(version_scheme_for_ecosystem("npm", &s) && s == VERSION_SEMVER);
	CHECK(version_scheme_for_ecosystem("PyPI", &s) && s == VERSION_PEP440);
	CHECK(!version_scheme_for_ecosystem("Debianish", &s));
	CHECK(!version_scheme_for_ecosystem("NPM", &s)); /* OSV spells it npm */
	CHECK(!version_scheme_for_ecosystem("crates.io", &s));
}

/* ---- generated pairs against the real tools ------------------------------ */

static uint64_t rng_state;
static unsigned rnd(unsigned n)
{
	rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
	return (unsigned)(rng_state % n);
}

static void rnd_from(struct strbuf *sb, const char *alphabet, int min, int max)
{
	int n = min + (int)rnd((unsigned)(max - min + 1));
	for (int i = 0; i < n; i++)
		sb_addc(sb, alphabet[rnd((unsigned)strlen(alphabet))]);
}

/* a valid Debian version, built from few characters so pairs often share
 * prefixes (where the ordering rules matter) */
static char *gen_debian(void)
{
	struct strbuf sb = STRBUF_INIT;
	if (!rnd(4))
		sb_addf(&sb, "%u:", rnd(3));
	sb_addc(&sb, (char)('0' + rnd(3)));
	rnd_from(&sb, "0019.+~ab", 0, 6);
	if (rnd(3)) {
		sb_addc(&sb, '-');
		rnd_from(&sb, "01a.+~", 1, 4);
	}
	return sb_detach(&sb);
}

static char *mutate(const char *v)
{
	struct strbuf sb = STRBUF_INIT;
	sb_adds(&sb, v);
	size_t at = 1 + rnd((unsigned)strlen(v));
	char *s = sb_detach(&sb);
	if (at < strlen(s) && s[at] != '-' && s[at] != ':' && s[at - 1] != ':')
		s[at] = "01~+.a"[rnd(6)];
	return s;
}

static void test_debian_agrees_with_dpkg(void)
{
	if (access("/usr/bin/dpkg", X_OK))
		SKIP("dpkg is not installed");
	rng_state = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;
	fprintf(stderr, "  seed %llu\n", (unsigned long long)rng_state);
	enum { PAIRS = 400 };
	char *as[PAIRS], *bs[PAIRS];
	char path[] = "/tmp/test_version_dpkg.XXXXXX";
	int fd = mkstemp(path);
	REQUIRE(fd >= 0);
	FILE *f = fdopen(fd, "w");
	for (int i = 0; i < PAIRS; i++) {
		as[i] = gen_debian();
		bs[i] = rnd(2) ? gen_debian() : mutate(as[i]);
		int cmp;
		err_t *e = version_check(VERSION_DEBIAN, bs[i]);
		if (e) { /* a mutation made it invalid: compare with itself */
			err_free(e);
			free(bs[i]);
			bs[i] = xstrdup(as[i]);
		}
		(void)cmp;
		fprintf(f, "%s %s\n", as[i], bs[i]);
	}
	fclose(f);
	char *cmd = xasprintf("while read a b; do if dpkg --compare-versions \"$a\" lt \"$b\"; then echo '<';"
			      " elif dpkg --compare-versions \"$a\" eq \"$b\"; then echo '='; else echo '>'; fi;"
			      " done < %s 2>&1",
			      path);
	FILE *p = popen(cmd, "r");
	free(cmd);
	REQUIRE(p);
	char line[256];
	int n = 0, bad = 0, lt = 0, eq = 0;
	while (n < PAIRS && fgets(line, sizeof(line), p)) {
		int want = line[0] == '<' ? -1 : line[0] == '>' ? 1 : line[0] == '=' ? 0 : 9, got = 9;
		err_t *e = version_debian_compare(as[n], bs[n], &got);
		if (e || sign(got) != want) {
			if (bad++ < 10)
				fprintf(stderr, "  dpkg says '%s' %s '%s', we say %d%s%s\n", as[n], line, bs[n], got,
					e ? ": " : "", e ? e->msg : "");
		}
		lt += want < 0, eq += want == 0;
		err_free(e);
		n++;
	}
	CHECK(pclose(p) == 0);
	unlink(path);
	for (int i = 0; i < PAIRS; i++)
		free(as[i]), free(bs[i]);
	fprintf(stderr, "  %d pairs: %d <, %d =, %d >\n", n, lt, eq, n - lt - eq);
	CHECK(n == PAIRS);
	CHECK(lt > 0 && eq > 0 && n - lt - eq > 0); /* the generator exercises every outcome */
	CHECK(bad == 0);
}

static void gen_partial(struct strbuf *sb, bool full)
{
	int parts = full ? 3 : 1 + (int)rnd(3);
	for (int i = 0; i < parts; i++) {
		if (i)
			sb_addc(sb, '.');
		unsigned r = rnd(10);
		if (!full && r == 0)
			sb_addc(sb, "xX*"[rnd(3)]);
		else
			sb_addf(sb, "%u", rnd(3));
	}
	if (parts == 3 && !rnd(3))
		sb_adds(sb, rnd(2) ? "-0" : rnd(2) ? "-beta.1" : "-alpha");
}

static char *gen_range(void)
{
	static const char *const ops[] = { "", "=", "<", "<=", ">", ">=", "~", "~>", "^", "v" };
	struct strbuf sb = STRBUF_INIT;
	int sets = 1 + (int)rnd(2);
	for (int s = 0; s < sets; s++) {
		if (s)
			sb_adds(&sb, " || ");
		if (!rnd(6)) {
			gen_partial(&sb, false);
			sb_adds(&sb, " - ");
			gen_partial(&sb, false);
			continue;
		}
		int comps = 1 + (int)rnd(2);
		for (int c = 0; c < comps; c++) {
			if (c)
				sb_addc(&sb, ' ');
			sb_adds(&sb, ops[rnd(sizeof(ops) / sizeof(*ops))]);
			gen_partial(&sb, false);
		}
	}
	return sb_detach(&sb);
}

static void test_npm_ranges_agree_with_node_semver(void)
{
	const char *mod = getenv("NODE_SEMVER_DIR");
	char *dir = xstrdup(mod ? mod : "build/oracle/node-semver");
	char *pkg = xasprintf("%s/node_modules/semver/package.json", dir);
	if (access(pkg, R_OK)) {
		fprintf(stderr, "  node-semver is missing at %s: make %s installs it (npm, pinned)\n", pkg, pkg);
		CHECK(!"node-semver installed");
		free(pkg), free(dir);
		return;
	}
	free(pkg);
	rng_state = (uint64_t)time(NULL) * 2654435761ULL ^ (uint64_t)getpid();
	fprintf(stderr, "  seed %llu\n", (unsigned long long)rng_state);
	enum { PAIRS = 3000 };
	char *ranges[PAIRS], *vers[PAIRS];
	char path[] = "/tmp/test_version_semver.XXXXXX";
	int fd = mkstemp(path);
	REQUIRE(fd >= 0);
	FILE *f = fdopen(fd, "w");
	for (int i = 0; i < PAIRS; i++) {
		struct strbuf sb = STRBUF_INIT;
		ranges[i] = gen_range();
		gen_partial(&sb, true);
		vers[i] = sb_detach(&sb);
		fprintf(f, "%s\t%s\n", ranges[i], vers[i]);
	}
	fclose(f);
	char *cmd = xasprintf("node tests/unit/semver-oracle.js '%s' < %s", dir, path);
	FILE *p = popen(cmd, "r");
	free(cmd);
	REQUIRE(p);
	char line[64];
	int n = 0, bad = 0, in_count = 0, invalid = 0;
	while (n < PAIRS && fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = '\0';
		bool in = false;
		/* node-semver's satisfies() is false for an invalid range; ours
		 * must then be an error (a range we cannot read is never "out") */
		err_t *e = semver_range_satisfies(ranges[n], vers[n], &in);
		bool same = e ? !strcmp(line, "out") && strstr(e->msg, "invalid npm version range")
			      : !strcmp(line, in ? "in" : "out");
		invalid += e != NULL;
		if (!same) {
			if (bad++ < 10)
				fprintf(stderr, "  node-semver: '%s' '%s' %s; we: %s%s\n", ranges[n], vers[n], line,
					e ? "error " : in ? "in" : "out", e ? e->msg : "");
		}
		in_count += !strcmp(line, "in");
		err_free(e);
		n++;
	}
	CHECK(pclose(p) == 0);
	unlink(path);
	for (int i = 0; i < PAIRS; i++)
		free(ranges[i]), free(vers[i]);
	free(dir);
	fprintf(stderr, "  %d pairs, %d in, %d invalid ranges\n", n, in_count, invalid);
	CHECK(n == PAIRS);
	CHECK(invalid < PAIRS / 4);
	CHECK(in_count > PAIRS / 10 && in_count < PAIRS - PAIRS / 10);
	CHECK(bad == 0);
}

TEST_MAIN("version", TEST(test_debian_vectors), TEST(test_alpine_vectors), TEST(test_pypi_vectors),
	  TEST(test_semver_vectors), TEST(test_npm_range_vectors), TEST(test_invalid_versions_are_errors),
	  TEST(test_ecosystem_names), TEST(test_debian_agrees_with_dpkg), TEST(test_npm_ranges_agree_with_node_semver))
