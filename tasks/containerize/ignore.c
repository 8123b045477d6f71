/* .dockerignore patterns and glob matching (see ignore.h). */
#include "ignore.h"

#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "rootfs.h"
#include "strbuf.h"
#include "xalloc.h"

struct pattern {
	char *text;
	bool negate;
};

struct ignore {
	struct pattern *v;
	size_t n;
	bool any_negate;
};

bool glob_has_magic(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* Match a bracket expression at p against c; *end gets past ']'. As Go's
 * filepath.Match (which Docker documents): '^' negates, '!' is a literal. */
static bool match_class(const char *p, char c, const char **end, bool *ok)
{
	bool neg = false, hit = false;
	p++;
	if (*p == '^') {
		neg = true;
		p++;
	}
	bool first = true;
	while (*p && (first || *p != ']')) {
		first = false;
		char lo = *p;
		if (lo == '\\' && p[1])
			lo = *++p;
		char hi = lo;
		if (p[1] == '-' && p[2] && p[2] != ']') {
			hi = p[2];
			if (hi == '\\' && p[3])
				hi = p[3], p++;
			p += 2;
		}
		if (c >= lo && c <= hi)
			hit = true;
		p++;
	}
	if (*p != ']') {
		*ok = false;
		return false;
	}
	*ok = true;
	*end = p + 1;
	return hit != neg;
}

/* Matching state: a failure memo over (pattern offset, path offset), so
 * patterns full of '*' and '**' cost at most |pattern| x |path| steps
 * instead of exponential backtracking. */
struct matcher {
	const char *p0, *s0;
	size_t plen, slen;
	unsigned char *failed; /* bitmap (plen+1) x (slen+1) */
};

static bool memo_failed(const struct matcher *m, const char *p, const char *s)
{
	size_t i = (size_t)(p - m->p0) * (m->slen + 1) + (size_t)(s - m->s0);
	return m->failed[i / 8] & (1u << (i % 8));
}

static void memo_fail(struct matcher *m, const char *p, const char *s)
{
	size_t i = (size_t)(p - m->p0) * (m->slen + 1) + (size_t)(s - m->s0);
	m->failed[i / 8] |= (unsigned char)(1u << (i % 8));
}

static bool match_here(struct matcher *m, const char *p, const char *s);

static bool match_at(struct matcher *m, const char *p, const char *s)
{
	if (memo_failed(m, p, s))
		return false;
	bool ok = match_here(m, p, s);
	if (!ok)
		memo_fail(m, p, s);
	return ok;
}

static bool match_here(struct matcher *m, const char *p, const char *s)
{
	while (*p) {
		if (p[0] == '*' && p[1] == '*') {
			/* "**": any run of characters, '/' included */
			const char *rest = p + 2;
			while (*rest == '*')
				rest++;
			bool slash = *rest == '/';
			if (slash)
				rest++;
			if (!*rest)
				return true;
			for (const char *t = s;; t++) {
				if ((!slash || t == s || t[-1] == '/') && match_at(m, rest, t))
					return true;
				if (!*t)
					return false;
			}
		}
		switch (*p) {
		case '*':
			for (const char *t = s;; t++) {
				if (match_at(m, p + 1, t))
					return true;
				if (!*t || *t == '/')
					return false;
			}
		case '?':
			if (!*s || *s == '/')
				return false;
			p++, s++;
			break;
		case '[': {
			const char *end;
			bool ok;
			if (!*s || *s == '/')
				return false;
			bool hit = match_class(p, *s, &end, &ok);
			if (!ok) {
				if (*s != '[')
					return false;
				p++, s++;
				break;
			}
			if (!hit)
				return false;
			p = end, s++;
			break;
		}
		case '\\':
			if (p[1])
				p++;
			/* fall through */
		default:
			if (*p != *s)
				return false;
			p++, s++;
		}
	}
	return *s == '\0';
}

bool glob_match(const char *pattern, const char *path)
{
	struct matcher m = { pattern, path, strlen(pattern), strlen(path), NULL };
	size_t bits = (m.plen + 1) * (m.slen + 1);
	if (m.plen > 8192 || m.slen > 8192)
		return false; /* longer than any path or pattern we accept */
	m.failed = xcalloc(bits / 8 + 1, 1);
	bool ok = match_here(&m, pattern, path);
	free(m.failed);
	return ok;
}

static char *clean_pattern(const char *line)
{
	_cleanup_free_ char *c = rootfs_path_join("/", line);
	return xstrdup(c[1] ? c + 1 : ".");
}

struct ignore *ignore_parse(const char *text)
{
	struct ignore *ig = xcalloc(1, sizeof *ig);
	const char *p = text;
	while (p && *p) {
		const char *nl = strchrnul(p, '\n');
		_cleanup_free_ char *line = xstrndup(p, (size_t)(nl - p));
		p = *nl ? nl + 1 : nl;
		char *s = line;
		size_t n = strlen(s);
		while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
			s[--n] = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '#')
			continue;
		bool neg = false;
		if (*s == '!') {
			neg = true;
			s++;
			while (*s == ' ' || *s == '\t')
				s++;
		}
		if (!*s)
			continue;
		ig->v = xrealloc(ig->v, (ig->n + 1) * sizeof *ig->v);
		ig->v[ig->n].text = clean_pattern(s);
		ig->v[ig->n].negate = neg;
		ig->any_negate |= neg;
		ig->n++;
	}
	return ig;
}

err_t *ignore_load(const char *context_dir, struct ignore **out)
{
	_cleanup_free_ char *path = xasprintf("%s/.dockerignore", context_dir);
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	if (access(path, F_OK) != 0) {
		*out = ignore_parse("");
		return NULL;
	}
	TRY(fs_read_file(path, 4 << 20, &sb));
	*out = ignore_parse(sb_str(&sb));
	return NULL;
}

void ignore_free(struct ignore *ig)
{
	if (!ig)
		return;
	for (size_t i = 0; i < ig->n; i++)
		free(ig->v[i].text);
	free(ig->v);
	free(ig);
}

/* The pattern matches path or one of its parent directories. */
static bool pattern_covers(const char *pat, const char *path)
{
	if (strcmp(pat, ".") == 0)
		return true;
	if (glob_match(pat, path))
		return true;
	_cleanup_free_ char *p = xstrdup(path);
	for (char *slash = strrchr(p, '/'); slash; slash = strrchr(p, '/')) {
		*slash = '\0';
		if (glob_match(pat, p))
			return true;
	}
	return false;
}

bool ignore_match(const struct ignore *ig, const char *path)
{
	bool excluded = false;
	for (size_t i = 0; ig && i < ig->n; i++) {
		if (ig->v[i].negate == !excluded)
			continue; /* cannot change the verdict */
		if (pattern_covers(ig->v[i].text, path))
			excluded = !ig->v[i].negate;
	}
	return excluded;
}

bool ignore_may_reinclude(const struct ignore *ig, const char *dir)
{
	if (!ig || !ig->any_negate)
		return false;
	size_t n = strlen(dir);
	for (size_t i = 0; i < ig->n; i++) {
		const char *t = ig->v[i].text;
		if (!ig->v[i].negate)
			continue;
		/* a '!' pattern that starts with dir/, or has magic early enough
		 * to reach into it */
		if (glob_has_magic(t) || (strncmp(t, dir, n) == 0 && t[n] == '/'))
			return true;
	}
	return false;
}
