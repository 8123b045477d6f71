/* PEP 440 versions, parsed as the packaging library's VERSION_PATTERN
 * reads them (case-insensitive, alternative spellings of pre/post/dev,
 * optional separators) and ordered by its comparison key: epoch, release
 * without trailing zeros, pre (a dev-only release sorts before every
 * pre-release of it), post, dev, local. Numbers of any length. */
#include <ctype.h>
#include <string.h>

#include "version.h"

#define MAX_PARTS 64

struct num { const char *p; size_t len; };

struct pep440 {
	struct num epoch;
	struct num rel[MAX_PARTS];
	int nrel;
	int pre_kind; /* -1 none, 0 a, 1 b, 2 rc */
	struct num pre;
	bool has_post, has_dev;
	struct num post, dev;
	const char *local; /* NULL: none */
	size_t local_len;
};

static bool lit(const char **s, const char *word)
{
	size_t n = strlen(word);
	if (strncasecmp(*s, word, n))
		return false;
	*s += n;
	return true;
}

static bool is_sep(char c) { return c == '-' || c == '_' || c == '.'; }

static struct num digits(const char **s)
{
	struct num n = { *s, 0 };
	while (isdigit((unsigned char)(*s)[n.len]))
		n.len++;
	*s += n.len;
	return n;
}

/* [-_.]? label [-_.]? [0-9]*; on no label, *s is left alone */
static bool labelled(const char **s, const char *const *labels, int *which, struct num *n)
{
	const char *p = *s;
	if (is_sep(*p))
		p++;
	int i;
	for (i = 0; labels[i]; i++)
		if (lit(&p, labels[i]))
			break;
	if (!labels[i])
		return false;
	if (which)
		*which = i;
	if (is_sep(*p))
		p++; /* greedy, as the regular expression: "1.0a." is 1.0a0 */
	*n = digits(&p);
	*s = p;
	return true;
}

static err_t *pep440_parse(const char *v, struct pep440 *out)
{
	static const char *const pre_labels[] = { "alpha", "a", "beta", "b", "preview", "pre", "c", "rc", NULL };
	static const int pre_kinds[] = { 0, 0, 1, 1, 2, 2, 2, 2 };
	static const char *const post_labels[] = { "post", "rev", "r", NULL };
	static const char *const dev_labels[] = { "dev", NULL };
	memset(out, 0, sizeof(*out));
	out->pre_kind = -1;
	const char *s = v;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == 'v' || *s == 'V')
		s++;
	const char *p = s;
	struct num n = digits(&p);
	if (n.len && *p == '!') {
		out->epoch = n;
		s = p + 1;
	}
	for (;;) {
		n = digits(&s);
		if (!n.len)
			return err_new(EXIT_USAGE, "invalid PEP 440 version '%s'", v);
		if (out->nrel == MAX_PARTS)
			return err_new(EXIT_USAGE, "invalid PEP 440 version '%s': more than %d release parts", v,
				       MAX_PARTS);
		out->rel[out->nrel++] = n;
		if (*s != '.' || !isdigit((unsigned char)s[1]))
			break;
		s++;
	}
	int which;
	if (labelled(&s, pre_labels, &which, &out->pre))
		out->pre_kind = pre_kinds[which];
	if (*s == '-' && isdigit((unsigned char)s[1])) {
		s++;
		out->post = digits(&s);
		out->has_post = true;
	} else if (labelled(&s, post_labels, NULL, &out->post)) {
		out->has_post = true;
	}
	if (labelled(&s, dev_labels, NULL, &out->dev))
		out->has_dev = true;
	if (*s == '+') {
		out->local = ++s;
		for (;;) {
			size_t k = 0;
			while (isalnum((unsigned char)s[k]))
				k++;
			if (!k)
				return err_new(EXIT_USAGE, "invalid PEP 440 version '%s': bad local label", v);
			s += k;
			if (!is_sep(*s) || !isalnum((unsigned char)s[1]))
				break;
			s++;
		}
		out->local_len = (size_t)(s - out->local);
	}
	while (isspace((unsigned char)*s))
		s++;
	if (*s)
		return err_new(EXIT_USAGE, "invalid PEP 440 version '%s'", v);
	return NULL;
}

static int ncmp(struct num a, struct num b) { return version_numcmp(a.p, a.len, b.p, b.len); }

static int release_cmp(const struct pep440 *a, const struct pep440 *b)
{
	int n = a->nrel > b->nrel ? a->nrel : b->nrel;
	static const struct num zero = { "0", 1 };
	for (int i = 0; i < n; i++) {
		int r = ncmp(i < a->nrel ? a->rel[i] : zero, i < b->nrel ? b->rel[i] : zero);
		if (r)
			return r;
	}
	return 0;
}

/* the pre part of the key: -1 dev-only (before every pre-release), 1 none */
static int pre_rank(const struct pep440 *v)
{
	if (v->pre_kind >= 0)
		return 0;
	return (!v->has_post && v->has_dev) ? -1 : 1;
}

static int local_cmp(const struct pep440 *a, const struct pep440 *b)
{
	if (!a->local || !b->local)
		return (a->local != NULL) - (b->local != NULL);
	const char *pa = a->local, *ea = pa + a->local_len, *pb = b->local, *eb = pb + b->local_len;
	while (pa < ea && pb < eb) {
		size_t la = 0, lb = 0;
		while (pa + la < ea && isalnum((unsigned char)pa[la]))
			la++;
		while (pb + lb < eb && isalnum((unsigned char)pb[lb]))
			lb++;
		/* a number sorts after any string; strings ignore case */
		int r = version_ident_cmp(pa, la, pb, lb, false, true);
		if (r)
			return r;
		pa += la + 1;
		pb += lb + 1;
	}
	return (pa < ea) - (pb < eb);
}

static int pep440_cmp(const struct pep440 *a, const struct pep440 *b)
{
	int r = ncmp(a->epoch, b->epoch);
	if (!r)
		r = release_cmp(a, b);
	if (!r)
		r = pre_rank(a) - pre_rank(b);
	if (!r && pre_rank(a) == 0) {
		r = a->pre_kind - b->pre_kind;
		if (!r)
			r = ncmp(a->pre, b->pre);
	}
	if (!r)
		r = a->has_post != b->has_post ? (a->has_post ? 1 : -1) : ncmp(a->post, b->post);
	if (!r)
		r = a->has_dev != b->has_dev ? (a->has_dev ? -1 : 1) : ncmp(a->dev, b->dev);
	if (!r)
		r = local_cmp(a, b);
	return (r > 0) - (r < 0);
}

err_t *version_pep440_compare(const char *a, const char *b, int *cmp)
{
	struct pep440 va, vb;
	TRY(pep440_parse(a, &va));
	TRY(pep440_parse(b, &vb));
	*cmp = pep440_cmp(&va, &vb);
	return NULL;
}
