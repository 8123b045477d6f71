/* apk's version ordering (Gentoo-style):
 *   digits {.digits} [letter] {_suffix[digits]} [~hash] [-rDIGITS]
 * compared token by token. Where the two versions run out of common
 * tokens, the longer one is newer unless what it has next is a
 * pre-release suffix (_alpha, _beta, _pre, _rc). Anything outside that
 * grammar (two letters, a letter followed by digits, an unknown suffix) is
 * invalid, as apk-tools' apk_version_validate says. */
#include <ctype.h>
#include <string.h>

#include "version.h"

/* in the order that decides between two versions whose tokens differ in kind */
enum apk_tok {
	TOK_DIGIT,
	TOK_LETTER,
	TOK_SUFFIX,
	TOK_SUFFIX_NO,
	TOK_HASH,
	TOK_REVISION,
	TOK_END,
	TOK_INVALID,
};

struct apk_iter {
	const char *p;     /* the rest of the string */
	enum apk_tok type; /* the current token */
	const char *val;   /* its text */
	size_t len;
	bool initial;      /* the first digit run (compared as a number) */
};

static const char *const suffixes[] = { "alpha", "beta", "pre", "rc", "cvs", "svn", "git", "hg", "p" };
#define N_PRE_SUFFIXES 4

/* alpha..rc are -4..-1 (pre-releases), cvs..p are 0..4; -100 unknown */
static int suffix_value(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++)
		if (strlen(suffixes[i]) == len && !memcmp(suffixes[i], s, len))
			return (int)i - N_PRE_SUFFIXES;
	return -100;
}

static size_t span(const char *p, int (*cls)(int))
{
	size_t n = 0;
	while (p[n] && cls((unsigned char)p[n]))
		n++;
	return n;
}

static int is_lower(int c) { return c >= 'a' && c <= 'z'; }
static int is_hex(int c) { return isdigit(c) || (c >= 'a' && c <= 'f'); }
static int is_digit(int c) { return isdigit(c); }

/* the token after it->type, from it->p */
static void apk_next(struct apk_iter *it)
{
	enum apk_tok prev = it->type;
	const char *p = it->p;
	size_t n;
	it->initial = false;
	it->val = p;
	it->len = 0;
	if (!*p) {
		it->type = TOK_END;
		return;
	}
	it->type = TOK_INVALID;
	if (*p == '.' && prev == TOK_DIGIT && (n = span(p + 1, is_digit))) {
		it->type = TOK_DIGIT, it->val = p + 1, it->len = n;
	} else if (is_lower((unsigned char)*p) && prev == TOK_DIGIT) {
		it->type = TOK_LETTER, it->len = 1;
		if (is_lower((unsigned char)p[1]) || isdigit((unsigned char)p[1]))
			it->type = TOK_INVALID;
	} else if (*p == '_' && prev <= TOK_SUFFIX_NO && (n = span(p + 1, is_lower))) {
		it->type = TOK_SUFFIX, it->val = p + 1, it->len = n;
		if (suffix_value(it->val, n) == -100)
			it->type = TOK_INVALID;
	} else if (isdigit((unsigned char)*p) && prev == TOK_SUFFIX) {
		it->type = TOK_SUFFIX_NO, it->len = span(p, is_digit);
	} else if (*p == '~' && prev < TOK_HASH && (n = span(p + 1, is_hex))) {
		it->type = TOK_HASH, it->val = p + 1, it->len = n;
	} else if (*p == '-' && p[1] == 'r' && prev < TOK_REVISION && (n = span(p + 2, is_digit))) {
		it->type = TOK_REVISION, it->val = p + 2, it->len = n;
	}
	if (it->type != TOK_INVALID)
		it->p = it->val + it->len;
}

static err_t *apk_start(const char *v, struct apk_iter *it)
{
	size_t n = span(v, is_digit);
	if (!n)
		return err_new(EXIT_USAGE, "invalid Alpine version '%s': does not start with a digit", v);
	*it = (struct apk_iter){ .p = v + n, .type = TOK_DIGIT, .val = v, .len = n, .initial = true };
	return NULL;
}

err_t *version_alpine_compare(const char *a, const char *b, int *cmp)
{
	/* validate both whole first: a difference found early must not hide
	 * an invalid tail */
	const char *vs[2] = { a, b };
	for (int i = 0; i < 2; i++) {
		struct apk_iter it;
		TRY(apk_start(vs[i], &it));
		while (it.type != TOK_END && it.type != TOK_INVALID)
			apk_next(&it);
		if (it.type == TOK_INVALID)
			return err_new(EXIT_USAGE, "invalid Alpine version '%s': unexpected '%s'", vs[i], it.p);
	}
	struct apk_iter ta, tb;
	TRY(apk_start(a, &ta));
	TRY(apk_start(b, &tb));
	int r = 0;
	while (ta.type == tb.type && ta.type < TOK_END) {
		switch (ta.type) {
		case TOK_DIGIT:
			if (!ta.initial && (ta.val[0] == '0' || tb.val[0] == '0')) {
				/* a leading zero: a fraction-like part, compared as text */
				size_t m = ta.len < tb.len ? ta.len : tb.len;
				r = memcmp(ta.val, tb.val, m);
				if (!r)
					r = ta.len < tb.len ? -1 : ta.len > tb.len;
				break;
			}
			/* fall through */
		case TOK_SUFFIX_NO:
		case TOK_REVISION:
			r = version_numcmp(ta.val, ta.len, tb.val, tb.len);
			break;
		case TOK_LETTER:
			r = ta.val[0] - tb.val[0];
			break;
		case TOK_SUFFIX:
			r = suffix_value(ta.val, ta.len) - suffix_value(tb.val, tb.len);
			break;
		default: {
			size_t m = ta.len < tb.len ? ta.len : tb.len;
			r = memcmp(ta.val, tb.val, m);
			if (!r)
				r = ta.len < tb.len ? -1 : ta.len > tb.len;
		}
		}
		if (r) {
			*cmp = r < 0 ? -1 : 1;
			return NULL;
		}
		apk_next(&ta);
		apk_next(&tb);
	}
	*cmp = 0;
	if (ta.type == tb.type)
		return NULL;
	if (ta.type == TOK_SUFFIX && suffix_value(ta.val, ta.len) < 0)
		*cmp = -1;
	else if (tb.type == TOK_SUFFIX && suffix_value(tb.val, tb.len) < 0)
		*cmp = 1;
	else
		*cmp = ta.type > tb.type ? -1 : 1;
	return NULL;
}
