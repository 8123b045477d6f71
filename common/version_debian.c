/* dpkg's version ordering (deb-version(7)): [epoch:]upstream[-revision].
 * Non-digit runs compare character by character with '~' before the end
 * of the string and letters before other characters; digit runs compare
 * as numbers. Parsing is as strict as dpkg's parseversion, with its
 * warnings (a non-digit first character, an invalid character) made
 * errors. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "version.h"

struct debver {
	unsigned long epoch;
	const char *up, *rev; /* upstream [up, up_end), revision [rev, rev_end) */
	const char *up_end, *rev_end;
};

static err_t *bad(const char *v, const char *why)
{
	return err_new(EXIT_USAGE, "invalid Debian version '%s': %s", v, why);
}

static err_t *debver_parse(const char *v, struct debver *out)
{
	const char *end = v + strlen(v);
	if (v == end)
		return bad(v, "empty");
	for (const char *p = v; p < end; p++)
		if (isspace((unsigned char)*p))
			return bad(v, "embedded space");
	const char *colon = strchr(v, ':');
	const char *up = v;
	out->epoch = 0;
	if (colon) {
		if (colon == v)
			return bad(v, "empty epoch");
		for (const char *p = v; p < colon; p++)
			if (!isdigit((unsigned char)*p))
				return bad(v, "epoch is not a number");
		errno = 0;
		out->epoch = strtoul(v, NULL, 10);
		if (errno || out->epoch > 2147483647UL)
			return bad(v, "epoch too big");
		up = colon + 1;
		if (up == end)
			return bad(v, "nothing after the colon");
	}
	const char *hyphen = memrchr(up, '-', (size_t)(end - up));
	out->up = up;
	out->up_end = hyphen ? hyphen : end;
	out->rev = hyphen ? hyphen + 1 : end;
	out->rev_end = end;
	if (hyphen && out->rev == end)
		return bad(v, "empty revision");
	if (out->up == out->up_end)
		return bad(v, "empty upstream version");
	if (!isdigit((unsigned char)*out->up))
		return bad(v, "upstream version does not start with a digit");
	for (const char *p = out->up; p < out->up_end; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".-+~:", *p))
			return bad(v, "invalid character in the upstream version");
	for (const char *p = out->rev; p < out->rev_end; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".+~", *p))
			return bad(v, "invalid character in the revision");
	return NULL;
}

/* the weight of a character in a non-digit run; the end of the string is 0 */
static int order(const char *p, const char *end)
{
	if (p >= end || isdigit((unsigned char)*p))
		return 0;
	if (isalpha((unsigned char)*p))
		return (unsigned char)*p;
	if (*p == '~')
		return -1;
	return (unsigned char)*p + 256;
}

static int verrevcmp(const char *a, const char *ae, const char *b, const char *be)
{
	while (a < ae || b < be) {
		while ((a < ae && !isdigit((unsigned char)*a)) || (b < be && !isdigit((unsigned char)*b))) {
			int ac = order(a, ae), bc = order(b, be);
			if (ac != bc)
				return ac < bc ? -1 : 1;
			a++;
			b++;
		}
		const char *as = a, *bs = b;
		while (a < ae && isdigit((unsigned char)*a))
			a++;
		while (b < be && isdigit((unsigned char)*b))
			b++;
		int r = version_numcmp(as, (size_t)(a - as), bs, (size_t)(b - bs));
		if (r)
			return r;
	}
	return 0;
}

err_t *version_debian_compare(const char *a, const char *b, int *cmp)
{
	struct debver va, vb;
	TRY(debver_parse(a, &va));
	TRY(debver_parse(b, &vb));
	if (va.epoch != vb.epoch) {
		*cmp = va.epoch < vb.epoch ? -1 : 1;
		return NULL;
	}
	*cmp = verrevcmp(va.up, va.up_end, vb.up, vb.up_end);
	if (!*cmp)
		*cmp = verrevcmp(va.rev, va.rev_end, vb.rev, vb.rev_end);
	return NULL;
}
