/* JUnit XML reader (see junit.h). */
#include "junit.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "xalloc.h"

#define MAX_DEPTH 64
#define MAX_ATTRS 32
#define MAX_FAILED 10000

struct attr {
	char *name;
	char *value;
};

struct tag {
	char *name;
	struct attr attrs[MAX_ATTRS];
	size_t nattrs;
	bool closing, self_closing;
	int line;
};

struct reader {
	const char *s;
	size_t i, len;
	int line;
	const char *file;
};

static void tag_release(struct tag *t)
{
	free(t->name);
	for (size_t i = 0; i < t->nattrs; i++) {
		free(t->attrs[i].name);
		free(t->attrs[i].value);
	}
	memset(t, 0, sizeof *t);
}

static const char *attr_get(const struct tag *t, const char *name)
{
	for (size_t i = 0; i < t->nattrs; i++)
		if (!strcmp(t->attrs[i].name, name))
			return t->attrs[i].value;
	return NULL;
}

static err_t *rerr(const struct reader *r, const char *msg)
{
	return err_new(EXIT_USAGE, "%s:%d: %s", r->file, r->line, msg);
}

static void advance(struct reader *r, size_t n)
{
	for (size_t k = 0; k < n && r->i < r->len; k++)
		if (r->s[r->i++] == '\n')
			r->line++;
}

static bool starts(const struct reader *r, const char *p)
{
	size_t n = strlen(p);
	return r->len - r->i >= n && !memcmp(r->s + r->i, p, n);
}

static err_t *skip_until(struct reader *r, const char *end, const char *what)
{
	while (r->i < r->len && !starts(r, end))
		advance(r, 1);
	if (r->i >= r->len)
		return rerr(r, what);
	advance(r, strlen(end));
	return NULL;
}

/* Decode entities of s[0..n) into out. */
static void decode(const char *s, size_t n, struct strbuf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '&') {
			sb_addc(out, s[i]);
			continue;
		}
		const char *semi = memchr(s + i, ';', n - i);
		if (!semi || semi - (s + i) > 10) {
			sb_addc(out, '&');
			continue;
		}
		size_t el = (size_t)(semi - (s + i)) - 1;
		const char *e = s + i + 1;
		if (el == 2 && !memcmp(e, "lt", 2))
			sb_addc(out, '<');
		else if (el == 2 && !memcmp(e, "gt", 2))
			sb_addc(out, '>');
		else if (el == 3 && !memcmp(e, "amp", 3))
			sb_addc(out, '&');
		else if (el == 4 && !memcmp(e, "quot", 4))
			sb_addc(out, '"');
		else if (el == 4 && !memcmp(e, "apos", 4))
			sb_addc(out, '\'');
		else if (el >= 2 && e[0] == '#') {
			unsigned long cp = e[1] == 'x' || e[1] == 'X' ? strtoul(e + 2, NULL, 16) : strtoul(e + 1, NULL, 10);
			if (cp == 0 || cp > 0x10FFFF)
				cp = '?';
			if (cp < 0x80) {
				sb_addc(out, (char)cp);
			} else if (cp < 0x800) {
				sb_addc(out, (char)(0xC0 | (cp >> 6)));
				sb_addc(out, (char)(0x80 | (cp & 0x3F)));
			} else if (cp < 0x10000) {
				sb_addc(out, (char)(0xE0 | (cp >> 12)));
				sb_addc(out, (char)(0x80 | ((cp >> 6) & 0x3F)));
				sb_addc(out, (char)(0x80 | (cp & 0x3F)));
			} else {
				sb_addc(out, (char)(0xF0 | (cp >> 18)));
				sb_addc(out, (char)(0x80 | ((cp >> 12) & 0x3F)));
				sb_addc(out, (char)(0x80 | ((cp >> 6) & 0x3F)));
				sb_addc(out, (char)(0x80 | (cp & 0x3F)));
			}
		} else {
			sb_add(out, s + i, el + 2); /* unknown entity: kept as written */
		}
		i = (size_t)(semi - s);
	}
}

static bool name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.' || c == ':';
}

/* At '<' of a start or end tag. */
static err_t *read_tag(struct reader *r, struct tag *t)
{
	t->line = r->line;
	advance(r, 1);
	if (r->i < r->len && r->s[r->i] == '/') {
		t->closing = true;
		advance(r, 1);
	}
	size_t ns = r->i;
	while (r->i < r->len && name_char(r->s[r->i]))
		advance(r, 1);
	if (r->i == ns)
		return rerr(r, "malformed tag");
	t->name = xstrndup(r->s + ns, r->i - ns);
	for (;;) {
		while (r->i < r->len && isspace((unsigned char)r->s[r->i]))
			advance(r, 1);
		if (r->i >= r->len)
			return rerr(r, "unterminated tag");
		char c = r->s[r->i];
		if (c == '>') {
			advance(r, 1);
			return NULL;
		}
		if (c == '/' && r->i + 1 < r->len && r->s[r->i + 1] == '>') {
			t->self_closing = true;
			advance(r, 2);
			return NULL;
		}
		if (t->closing)
			return rerr(r, "malformed end tag");
		size_t as = r->i;
		while (r->i < r->len && name_char(r->s[r->i]))
			advance(r, 1);
		if (r->i == as)
			return rerr(r, "malformed attribute");
		size_t ae = r->i;
		while (r->i < r->len && isspace((unsigned char)r->s[r->i]))
			advance(r, 1);
		if (r->i >= r->len || r->s[r->i] != '=')
			return rerr(r, "attribute without a value");
		advance(r, 1);
		while (r->i < r->len && isspace((unsigned char)r->s[r->i]))
			advance(r, 1);
		if (r->i >= r->len || (r->s[r->i] != '"' && r->s[r->i] != '\''))
			return rerr(r, "attribute value not quoted");
		char q = r->s[r->i];
		advance(r, 1);
		size_t vs = r->i;
		while (r->i < r->len && r->s[r->i] != q)
			advance(r, 1);
		if (r->i >= r->len)
			return rerr(r, "unterminated attribute value");
		size_t ve = r->i;
		advance(r, 1);
		if (t->nattrs < MAX_ATTRS) {
			struct strbuf v = STRBUF_INIT;
			decode(r->s + vs, ve - vs, &v);
			t->attrs[t->nattrs].name = xstrndup(r->s + as, ae - as);
			t->attrs[t->nattrs].value = sb_detach(&v);
			t->nattrs++;
		}
	}
}

static size_t count_attr(const struct tag *t, const char *name)
{
	const char *v = attr_get(t, name);
	if (!v)
		return 0;
	char *end = NULL;
	unsigned long long n = strtoull(v, &end, 10);
	return end == v ? 0 : (size_t)n;
}

struct state {
	char *suite[MAX_DEPTH];
	int depth;           /* open elements */
	int suite_depth;     /* number of open testsuite elements */
	bool in_case;
	char *case_class, *case_name;
	bool case_failed;
	bool counted_suite_totals;
	struct strbuf body; /* text of an open failure/error without message */
	bool want_body;
	size_t cases_seen;
	size_t failures_attr, errors_attr, skipped_attr, tests_attr;
	double time_attr;
};

static void add_failed(struct junit_totals *t, const struct state *st, const char *kind, const char *msg,
		       const char *file)
{
	if (t->nfailed >= MAX_FAILED)
		return;
	t->failed = xrealloc(t->failed, (t->nfailed + 1) * sizeof *t->failed);
	struct junit_case *c = &t->failed[t->nfailed++];
	c->suite = xstrdup(st->suite_depth ? st->suite[st->suite_depth - 1] : "");
	c->classname = xstrdup(st->case_class ? st->case_class : "");
	c->name = xstrdup(st->case_name ? st->case_name : "");
	c->kind = xstrdup(kind);
	c->message = xstrdup(msg ? msg : "");
	c->file = xstrdup(file);
}

static char *first_line(const char *s)
{
	while (*s && isspace((unsigned char)*s))
		s++;
	size_t n = strcspn(s, "\r\n");
	if (n > 500)
		n = 500;
	return xstrndup(s, n);
}

err_t *junit_parse(const char *text, size_t len, const char *file, struct junit_totals *t)
{
	struct reader r = { text, 0, len, 1, file };
	struct state st = { 0 };
	err_t *e = NULL;
	size_t tests = 0, failures = 0, errors = 0, skipped = 0;
	double time = 0;
	bool root_seen = false;
	while (!e && r.i < r.len) {
		if (r.s[r.i] != '<') {
			size_t ts = r.i;
			while (r.i < r.len && r.s[r.i] != '<')
				advance(&r, 1);
			if (st.want_body)
				decode(r.s + ts, r.i - ts, &st.body);
			continue;
		}
		if (starts(&r, "<!--")) {
			e = skip_until(&r, "-->", "unterminated comment");
			continue;
		}
		if (starts(&r, "<![CDATA[")) {
			size_t cs = r.i + 9;
			e = skip_until(&r, "]]>", "unterminated CDATA section");
			if (!e && st.want_body)
				sb_add(&st.body, r.s + cs, r.i - 3 - cs);
			continue;
		}
		if (starts(&r, "<?")) {
			e = skip_until(&r, "?>", "unterminated processing instruction");
			continue;
		}
		if (starts(&r, "<!")) {
			e = rerr(&r, "DTDs and entity declarations are not accepted in JUnit reports");
			break;
		}
		struct tag tag = { 0 };
		e = read_tag(&r, &tag);
		if (e) {
			tag_release(&tag);
			break;
		}
		if (!tag.closing) {
			if (!root_seen && strcmp(tag.name, "testsuites") && strcmp(tag.name, "testsuite")) {
				e = err_new(EXIT_USAGE, "%s:%d: not a JUnit report (root element <%s>)", file, tag.line, tag.name);
				tag_release(&tag);
				break;
			}
			root_seen = true;
			if (!tag.self_closing && ++st.depth > MAX_DEPTH) {
				e = rerr(&r, "elements nested too deeply");
				tag_release(&tag);
				break;
			}
		}
		if (!strcmp(tag.name, "testsuite") && !tag.closing) {
			if (!tag.self_closing && st.suite_depth < MAX_DEPTH)
				st.suite[st.suite_depth++] = xstrdup(attr_get(&tag, "name") ? attr_get(&tag, "name") : "");
			/* the outermost suites' attributes, used when no testcase is listed */
			if (st.suite_depth <= 1) {
				st.tests_attr += count_attr(&tag, "tests");
				st.failures_attr += count_attr(&tag, "failures");
				st.errors_attr += count_attr(&tag, "errors");
				st.skipped_attr += count_attr(&tag, "skipped") + count_attr(&tag, "disabled");
				const char *tm = attr_get(&tag, "time");
				if (tm)
					st.time_attr += strtod(tm, NULL);
			}
		} else if (!strcmp(tag.name, "testsuite") && tag.closing) {
			if (st.suite_depth)
				free(st.suite[--st.suite_depth]);
		} else if (!strcmp(tag.name, "testcase") && !tag.closing) {
			tests++;
			st.cases_seen++;
			const char *tm = attr_get(&tag, "time");
			if (tm)
				time += strtod(tm, NULL);
			free(st.case_class);
			free(st.case_name);
			st.case_class = xstrdup(attr_get(&tag, "classname") ? attr_get(&tag, "classname") : "");
			st.case_name = xstrdup(attr_get(&tag, "name") ? attr_get(&tag, "name") : "");
			st.in_case = !tag.self_closing;
			st.case_failed = false;
		} else if (!strcmp(tag.name, "testcase") && tag.closing) {
			st.in_case = false;
		} else if (st.in_case && (!strcmp(tag.name, "failure") || !strcmp(tag.name, "error")) && !tag.closing) {
			if (!st.case_failed) {
				st.case_failed = true;
				if (!strcmp(tag.name, "failure"))
					failures++;
				else
					errors++;
				const char *msg = attr_get(&tag, "message");
				if (msg || tag.self_closing) {
					char *m = first_line(msg ? msg : "");
					add_failed(t, &st, tag.name, m, file);
					free(m);
				} else {
					st.want_body = true;
					sb_reset(&st.body);
				}
			}
		} else if ((!strcmp(tag.name, "failure") || !strcmp(tag.name, "error")) && tag.closing && st.want_body) {
			st.want_body = false;
			char *m = first_line(sb_str(&st.body));
			add_failed(t, &st, tag.name, m, file);
			free(m);
		} else if (st.in_case && !strcmp(tag.name, "skipped") && !tag.closing) {
			skipped++;
		}
		if (tag.closing && st.depth > 0)
			st.depth--;
		tag_release(&tag);
	}
	if (!e && !root_seen)
		e = err_new(EXIT_USAGE, "%s:%d: not a JUnit report (no <testsuite> or <testsuites>)", file, r.line);
	if (!e && st.depth > 0)
		e = err_new(EXIT_USAGE, "%s:%d: unexpected end of the report (%d element%s still open)", file, r.line, st.depth,
			    st.depth == 1 ? "" : "s");
	if (!e) {
		if (st.cases_seen == 0) {
			/* some runners write only the suite totals */
			tests = st.tests_attr;
			failures = st.failures_attr;
			errors = st.errors_attr;
			skipped = st.skipped_attr;
			time = st.time_attr;
		}
		t->tests += tests;
		t->failures += failures;
		t->errors += errors;
		t->skipped += skipped;
		t->time += time;
	}
	while (st.suite_depth)
		free(st.suite[--st.suite_depth]);
	free(st.case_class);
	free(st.case_name);
	sb_release(&st.body);
	return e;
}

void junit_totals_release(struct junit_totals *t)
{
	for (size_t i = 0; i < t->nfailed; i++) {
		free(t->failed[i].suite);
		free(t->failed[i].classname);
		free(t->failed[i].name);
		free(t->failed[i].kind);
		free(t->failed[i].message);
		free(t->failed[i].file);
	}
	free(t->failed);
	memset(t, 0, sizeof *t);
}
