/* SemVer 2.0 as node-semver reads it in its default (strict) mode, and
 * node-semver's range syntax: "||" alternatives of space-separated
 * comparators, with hyphen ranges, X-ranges, "~" and "^" desugared into
 * >=/< pairs the way node-semver does, and its prerelease rule: a
 * prerelease version satisfies a set only when a comparator of that set
 * names a prerelease of the same major.minor.patch. */
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "version.h"

#define SEMVER_MAX_LENGTH 256
#define MAX_SAFE_INTEGER 9007199254740991ULL /* Number.MAX_SAFE_INTEGER */

struct semver {
	uint64_t v[3];
	const char *pre; /* prerelease identifiers, dot-separated; len 0: none */
	size_t prelen;
};

static int is_ident_char(int c) { return isalnum(c) || c == '-'; }

/* a numeric identifier: 0|[1-9][0-9]* within MAX_SAFE_INTEGER; advances *p */
static bool parse_num(const char **p, uint64_t *out)
{
	const char *s = *p;
	if (!isdigit((unsigned char)*s))
		return false;
	if (*s == '0' && isdigit((unsigned char)s[1]))
		return false;
	uint64_t v = 0;
	while (isdigit((unsigned char)*s)) {
		v = v * 10 + (uint64_t)(*s++ - '0');
		if (v > MAX_SAFE_INTEGER)
			return false;
	}
	*p = s;
	*out = v;
	return true;
}

/* dot-separated identifiers from *p; numeric ones without leading zeros
 * when strict_num (prerelease); advances *p past them */
static bool parse_idents(const char **p, bool strict_num)
{
	const char *s = *p;
	for (;;) {
		const char *start = s;
		bool digits = true;
		while (is_ident_char((unsigned char)*s)) {
			digits = digits && isdigit((unsigned char)*s);
			s++;
		}
		if (s == start)
			return false;
		if (strict_num && digits && *start == '0' && s - start > 1)
			return false;
		if (*s != '.')
			break;
		s++;
	}
	*p = s;
	return true;
}

/* [-prerelease][+build] from *p */
static bool parse_tail(const char **p, struct semver *out)
{
	const char *s = *p;
	out->pre = s;
	out->prelen = 0;
	if (*s == '-') {
		out->pre = ++s;
		if (!parse_idents(&s, true))
			return false;
		out->prelen = (size_t)(s - out->pre);
	}
	if (*s == '+') {
		s++;
		if (!parse_idents(&s, false))
			return false;
	}
	*p = s;
	return true;
}

static err_t *semver_parse(const char *v, struct semver *out)
{
	const char *s = v;
	size_t n = strlen(v);
	while (n && isspace((unsigned char)v[n - 1]))
		n--;
	while (isspace((unsigned char)*s))
		s++, n--;
	if (n > SEMVER_MAX_LENGTH)
		return err_new(EXIT_USAGE, "invalid SemVer version '%.40s...': longer than %d", v, SEMVER_MAX_LENGTH);
	const char *end = s + n;
	if (*s == 'v')
		s++;
	for (int i = 0; i < 3; i++) {
		if ((i && *s++ != '.') || !parse_num(&s, &out->v[i]))
			return err_new(EXIT_USAGE, "invalid SemVer version '%s'", v);
	}
	if (!parse_tail(&s, out) || s != end)
		return err_new(EXIT_USAGE, "invalid SemVer version '%s'", v);
	return NULL;
}

static int cmp_u64(uint64_t a, uint64_t b) { return (a > b) - (a < b); }

static int pre_cmp(const struct semver *a, const struct semver *b)
{
	if (!a->prelen || !b->prelen)
		return (a->prelen == 0) - (b->prelen == 0);
	const char *pa = a->pre, *ea = a->pre + a->prelen;
	const char *pb = b->pre, *eb = b->pre + b->prelen;
	while (pa < ea && pb < eb) {
		const char *da = memchr(pa, '.', (size_t)(ea - pa)), *db = memchr(pb, '.', (size_t)(eb - pb));
		if (!da)
			da = ea;
		if (!db)
			db = eb;
		size_t la = (size_t)(da - pa), lb = (size_t)(db - pb);
		int r = version_ident_cmp(pa, la, pb, lb, true, false);
		if (r)
			return r;
		pa = da + 1;
		pb = db + 1;
	}
	return (pa < ea) - (pb < eb);
}

static int semver_cmp(const struct semver *a, const struct semver *b)
{
	for (int i = 0; i < 3; i++)
		if (a->v[i] != b->v[i])
			return cmp_u64(a->v[i], b->v[i]);
	return pre_cmp(a, b);
}

err_t *version_semver_compare(const char *a, const char *b, int *cmp)
{
	struct semver va, vb;
	TRY(semver_parse(a, &va));
	TRY(semver_parse(b, &vb));
	*cmp = semver_cmp(&va, &vb);
	return NULL;
}

/* ---- ranges ------------------------------------------------------------ */

enum cmp_op { OP_ANY, OP_EQ, OP_LT, OP_LE, OP_GT, OP_GE };

struct comparator {
	enum cmp_op op;
	struct semver v;
};

/* one comparator set; node-semver's desugaring yields at most two
 * comparators per word */
#define MAX_COMPARATORS 64
struct cset {
	struct comparator c[MAX_COMPARATORS];
	int n;
};

/* a partial version: each part a number or X (x, X, * or missing) */
struct partial {
	bool x[3];
	struct semver v; /* X parts are 0 */
};

static bool parse_partial(const char *s, const char *end, struct partial *out)
{
	*out = (struct partial){ .x = { true, true, true } };
	out->v.pre = "";
	while (s < end && (*s == 'v' || *s == '='))
		s++;
	for (int i = 0; i < 3; i++) {
		if (i) {
			if (s == end)
				return true;
			if (*s++ != '.')
				return false;
		}
		if (s < end && (*s == 'x' || *s == 'X' || *s == '*')) {
			s++;
			continue;
		}
		if (!parse_num(&s, &out->v.v[i]) || s > end)
			return false;
		out->x[i] = false;
	}
	if (!parse_tail(&s, &out->v))
		return false;
	return s == end;
}

static bool add(struct cset *set, enum cmp_op op, uint64_t M, uint64_t m, uint64_t p, const char *pre, size_t prelen)
{
	if (set->n == MAX_COMPARATORS)
		return false;
	set->c[set->n++] = (struct comparator){ op, { { M, m, p }, pre, prelen } };
	return true;
}
#define ZERO "0", 1 /* the "-0" of node-semver's upper bounds */
#define NOPRE "", 0

static bool desugar_tilde(struct cset *set, const struct partial *pv)
{
	const uint64_t *v = pv->v.v;
	if (pv->x[0])
		return add(set, OP_ANY, 0, 0, 0, NOPRE);
	if (pv->x[1])
		return add(set, OP_GE, v[0], 0, 0, NOPRE) && add(set, OP_LT, v[0] + 1, 0, 0, ZERO);
	if (pv->x[2])
		return add(set, OP_GE, v[0], v[1], 0, NOPRE) && add(set, OP_LT, v[0], v[1] + 1, 0, ZERO);
	return add(set, OP_GE, v[0], v[1], v[2], pv->v.pre, pv->v.prelen) && add(set, OP_LT, v[0], v[1] + 1, 0, ZERO);
}

static bool desugar_caret(struct cset *set, const struct partial *pv)
{
	const uint64_t *v = pv->v.v;
	if (pv->x[0])
		return add(set, OP_ANY, 0, 0, 0, NOPRE);
	if (pv->x[1])
		return add(set, OP_GE, v[0], 0, 0, NOPRE) && add(set, OP_LT, v[0] + 1, 0, 0, ZERO);
	if (pv->x[2]) {
		if (!add(set, OP_GE, v[0], v[1], 0, NOPRE))
			return false;
		return v[0] == 0 ? add(set, OP_LT, 0, v[1] + 1, 0, ZERO) : add(set, OP_LT, v[0] + 1, 0, 0, ZERO);
	}
	if (!add(set, OP_GE, v[0], v[1], v[2], pv->v.pre, pv->v.prelen))
		return false;
	if (v[0] == 0 && v[1] == 0)
		return add(set, OP_LT, 0, 0, v[2] + 1, ZERO);
	if (v[0] == 0)
		return add(set, OP_LT, 0, v[1] + 1, 0, ZERO);
	return add(set, OP_LT, v[0] + 1, 0, 0, ZERO);
}

static bool desugar_xrange(struct cset *set, enum cmp_op op, const struct partial *pv)
{
	uint64_t M = pv->v.v[0], m = pv->v.v[1], p = pv->v.v[2];
	bool xM = pv->x[0], xm = xM || pv->x[1], xp = xm || pv->x[2];
	if (!xp)
		return add(set, op, M, m, p, pv->v.pre, pv->v.prelen);
	if (op == OP_EQ)
		op = OP_ANY;
	if (xM) {
		if (op == OP_LT || op == OP_GT)
			return add(set, OP_LT, 0, 0, 0, ZERO); /* matches nothing */
		return add(set, OP_ANY, 0, 0, 0, NOPRE);
	}
	if (op != OP_ANY) {
		if (xm)
			m = 0;
		p = 0;
		if (op == OP_GT) {
			op = OP_GE;
			if (xm)
				M++, m = 0;
			else
				m++;
		} else if (op == OP_LE) {
			op = OP_LT;
			if (xm)
				M++;
			else
				m++;
		}
		if (op == OP_LT)
			return add(set, op, M, m, p, ZERO);
		return add(set, op, M, m, p, NOPRE);
	}
	if (xm)
		return add(set, OP_GE, M, 0, 0, NOPRE) && add(set, OP_LT, M + 1, 0, 0, ZERO);
	return add(set, OP_GE, M, m, 0, NOPRE) && add(set, OP_LT, M, m + 1, 0, ZERO);
}

static bool desugar_hyphen(struct cset *set, const struct partial *from, const struct partial *to)
{
	const uint64_t *f = from->v.v, *t = to->v.v;
	bool ok = true;
	if (from->x[0])
		;
	else if (from->x[1])
		ok = add(set, OP_GE, f[0], 0, 0, NOPRE);
	else if (from->x[2])
		ok = add(set, OP_GE, f[0], f[1], 0, NOPRE);
	else
		ok = add(set, OP_GE, f[0], f[1], f[2], from->v.pre, from->v.prelen);
	if (!ok || to->x[0])
		return ok;
	if (to->x[1])
		return add(set, OP_LT, t[0] + 1, 0, 0, ZERO);
	if (to->x[2])
		return add(set, OP_LT, t[0], t[1] + 1, 0, ZERO);
	return add(set, OP_LE, t[0], t[1], t[2], to->v.pre, to->v.prelen);
}

static const char *skip_ws(const char *s, const char *end)
{
	while (s < end && isspace((unsigned char)*s))
		s++;
	return s;
}

static const char *word_end(const char *s, const char *end)
{
	while (s < end && !isspace((unsigned char)*s))
		s++;
	return s;
}

/* "A - B" with partial versions A and B */
static bool try_hyphen(const char *s, const char *end, struct cset *set)
{
	const char *a = skip_ws(s, end), *ae = word_end(a, end);
	const char *h = skip_ws(ae, end), *he = word_end(h, end);
	const char *b = skip_ws(he, end), *be = word_end(b, end);
	if (a == ae || he - h != 1 || *h != '-' || b == be || skip_ws(be, end) != end)
		return false;
	struct partial from, to;
	if (!parse_partial(a, ae, &from) || !parse_partial(b, be, &to))
		return false;
	return desugar_hyphen(set, &from, &to);
}

static err_t *parse_set(const char *range, const char *s, const char *end, struct cset *set)
{
	set->n = 0;
	if (try_hyphen(s, end, set))
		return NULL;
	set->n = 0;
	for (s = skip_ws(s, end); s < end; s = skip_ws(s, end)) {
		enum { GTLT, TILDE, CARET } kind = GTLT;
		enum cmp_op op = OP_EQ;
		const char *comp = s;
		if (*s == '~') {
			kind = TILDE, s++;
			if (s < end && *s == '>')
				s++;
		} else if (*s == '^') {
			kind = CARET, s++;
		} else if (*s == '<' || *s == '>') {
			bool lt = *s++ == '<';
			bool eq = s < end && *s == '=';
			s += eq;
			op = lt ? (eq ? OP_LE : OP_LT) : (eq ? OP_GE : OP_GT);
		} else if (*s == '=') {
			s++;
		}
		s = skip_ws(s, end);
		const char *we = word_end(s, end);
		struct partial pv;
		if (s == we || !parse_partial(s, we, &pv))
			return err_new(EXIT_USAGE, "invalid npm version range '%s': bad comparator '%.*s'", range,
				       (int)(we - comp), comp);
		/* node-semver leaves "*.1" or "1.x.2" undesugared: no comparator */
		if (kind == GTLT && ((pv.x[0] && !pv.x[1]) || (pv.x[1] && !pv.x[2])))
			return err_new(EXIT_USAGE, "invalid npm version range '%s': '%.*s' has a number after an x",
				       range, (int)(we - comp), comp);
		bool ok = kind == TILDE ? desugar_tilde(set, &pv)
			  : kind == CARET ? desugar_caret(set, &pv)
					  : desugar_xrange(set, op, &pv);
		if (!ok)
			return err_new(EXIT_USAGE, "invalid npm version range '%s': more than %d comparators", range,
				       MAX_COMPARATORS);
		s = we;
	}
	if (!set->n)
		add(set, OP_ANY, 0, 0, 0, NOPRE);
	return NULL;
}

static bool comparator_test(const struct comparator *c, const struct semver *v)
{
	if (c->op == OP_ANY)
		return true;
	int r = semver_cmp(v, &c->v);
	switch (c->op) {
	case OP_EQ: return r == 0;
	case OP_LT: return r < 0;
	case OP_LE: return r <= 0;
	case OP_GT: return r > 0;
	case OP_GE: return r >= 0;
	default: return true;
	}
}

static bool set_test(const struct cset *set, const struct semver *v)
{
	for (int i = 0; i < set->n; i++)
		if (!comparator_test(&set->c[i], v))
			return false;
	if (!v->prelen)
		return true;
	/* a prerelease only where a comparator names one of the same tuple */
	for (int i = 0; i < set->n; i++) {
		const struct comparator *c = &set->c[i];
		if (c->op != OP_ANY && c->v.prelen && c->v.v[0] == v->v[0] && c->v.v[1] == v->v[1] &&
		    c->v.v[2] == v->v[2])
			return true;
	}
	return false;
}

err_t *semver_range_satisfies(const char *range, const char *version, bool *in)
{
	struct semver v;
	TRY(semver_parse(version, &v));
	if (strlen(range) > 4096)
		return err_new(EXIT_USAGE, "invalid npm version range '%.40s...': too long", range);
	*in = false;
	struct cset set;
	const char *s = range, *end = range + strlen(range);
	for (;;) {
		const char *bar = strstr(s, "||");
		const char *se = bar ? bar : end;
		TRY(parse_set(range, s, se, &set));
		if (!*in && set_test(&set, &v))
			*in = true;
		if (!bar)
			break;
		s = bar + 2;
	}
	return NULL;
}
