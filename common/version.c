/* Dispatch over the ecosystems' version orderings (version.h). */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "version.h"

const char *version_scheme_name(enum version_scheme s)
{
	switch (s) {
	case VERSION_DEBIAN: return "Debian";
	case VERSION_ALPINE: return "Alpine";
	case VERSION_SEMVER: return "SemVer";
	case VERSION_PEP440: return "PEP 440";
	}
	return "unknown";
}

/* "Debian", "Debian:12", "Alpine:v3.18": the name up to an optional ':'. */
static bool eco_is(const char *ecosystem, const char *name)
{
	size_t n = strlen(name);
	return !strncmp(ecosystem, name, n) && (ecosystem[n] == '\0' || ecosystem[n] == ':');
}

bool version_scheme_for_ecosystem(const char *ecosystem, enum version_scheme *out)
{
	if (eco_is(ecosystem, "Debian") || eco_is(ecosystem, "Ubuntu"))
		*out = VERSION_DEBIAN;
	else if (eco_is(ecosystem, "Alpine"))
		*out = VERSION_ALPINE;
	else if (!strcmp(ecosystem, "npm"))
		*out = VERSION_SEMVER;
	else if (!strcmp(ecosystem, "PyPI"))
		*out = VERSION_PEP440;
	else
		return false;
	return true;
}

err_t *version_compare(enum version_scheme s, const char *a, const char *b, int *cmp)
{
	switch (s) {
	case VERSION_DEBIAN: return version_debian_compare(a, b, cmp);
	case VERSION_ALPINE: return version_alpine_compare(a, b, cmp);
	case VERSION_SEMVER: return version_semver_compare(a, b, cmp);
	case VERSION_PEP440: return version_pep440_compare(a, b, cmp);
	}
	return err_new(EXIT_USAGE, "unknown version scheme %d", (int)s);
}

err_t *version_check(enum version_scheme s, const char *v)
{
	int cmp;
	return version_compare(s, v, v, &cmp);
}

int version_numcmp(const char *a, size_t alen, const char *b, size_t blen)
{
	while (alen && *a == '0')
		a++, alen--;
	while (blen && *b == '0')
		b++, blen--;
	if (alen != blen)
		return alen < blen ? -1 : 1;
	if (!alen)
		return 0;
	int r = memcmp(a, b, alen);
	return (r > 0) - (r < 0);
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

int version_ident_cmp(const char *a, size_t alen, const char *b, size_t blen, bool numbers_first, bool fold_case)
{
	bool na = all_digits(a, alen), nb = all_digits(b, blen);
	if (na && nb)
		return version_numcmp(a, alen, b, blen);
	if (na != nb)
		return na == numbers_first ? -1 : 1;
	size_t n = alen < blen ? alen : blen;
	int r = fold_case ? strncasecmp(a, b, n) : memcmp(a, b, n);
	if (!r)
		r = alen < blen ? -1 : alen > blen;
	return (r > 0) - (r < 0);
}
