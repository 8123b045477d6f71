#include "policy.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "record.h"
#include "strbuf.h"
#include "tuf.h"
#include "xalloc.h"

enum rule_kind { R_TESTS_PASSED, R_MAX_FINDINGS, R_MAX_VULNS, R_BRANCH, R_REPOSITORY, R_DEPLOYED };

static const struct {
	const char *name;
	int nargs;
	const char *usage;
} rule_names[] = {
	[R_TESTS_PASSED] = { "tests-passed", 1, "tests-passed TYPE" },
	[R_MAX_FINDINGS] = { "max-findings", 3, "max-findings TYPE SEVERITY N" },
	[R_MAX_VULNS] = { "max-vulnerabilities", 2, "max-vulnerabilities SEVERITY N" },
	[R_BRANCH] = { "built-from-branch", 1, "built-from-branch BRANCH" },
	[R_REPOSITORY] = { "built-from-repository", 1, "built-from-repository URL" },
	[R_DEPLOYED] = { "deployed-to", 1, "deployed-to ENVIRONMENT" },
};
#define N_RULES (sizeof(rule_names) / sizeof(rule_names[0]))

static const char *const finding_levels[] = { "error", "warning", "info", "style", NULL };
static const char *const vuln_levels[] = { "critical", "high", "medium", "low", NULL };
static const char *const test_types[] = { "unittest", "fvt", "code", "lint", "cis", NULL };

static int level_index(const char *const *levels, const char *s)
{
	for (int i = 0; levels[i]; i++)
		if (!strcmp(levels[i], s))
			return i;
	return -1;
}

void policy_release(struct policy *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->rules[i].text);
		free(p->rules[i].arg);
		free(p->rules[i].severity);
	}
	free(p->rules);
	memset(p, 0, sizeof(*p));
}

/* Split line into at most 4 words (NUL-terminating them in place). */
static int split(char *line, char *w[4])
{
	int n = 0;
	char *s = line;
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			return n;
		if (n == 4)
			return 5;
		w[n++] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
		if (*s)
			*s++ = '\0';
	}
}

static bool parse_count(const char *s, long *out)
{
	if (!*s || strlen(s) > 9 || strspn(s, "0123456789") != strlen(s))
		return false;
	*out = strtol(s, NULL, 10);
	return true;
}

static err_t *parse_rule(char *line, const char *file, int lineno, struct policy_rule *r)
{
	char *w[4] = { 0 };
	_cleanup_free_ char *text = xstrdup(line);
	int n = split(line, w);
	size_t k = 0;
	while (k < N_RULES && strcmp(rule_names[k].name, w[0]))
		k++;
	if (k == N_RULES)
		return err_new(EXIT_USAGE,
			       "%s:%d: unknown rule '%s' (tests-passed, max-findings, max-vulnerabilities, built-from-branch, "
			       "built-from-repository, deployed-to)",
			       file, lineno, w[0]);
	if (n - 1 != rule_names[k].nargs)
		return err_new(EXIT_USAGE, "%s:%d: expected '%s'", file, lineno, rule_names[k].usage);
	memset(r, 0, sizeof(*r));
	r->kind = (int)k;
	r->line = lineno;
	if ((k == R_TESTS_PASSED || k == R_MAX_FINDINGS) && level_index(test_types, w[1]) < 0)
		return err_new(EXIT_USAGE, "%s:%d: test type '%s' is not unittest, fvt, code, lint or cis", file, lineno,
			       w[1]);
	if (k == R_MAX_FINDINGS && (level_index(finding_levels, w[2]) < 0 || !parse_count(w[3], &r->max)))
		return err_new(EXIT_USAGE, "%s:%d: expected '%s' (SEVERITY error, warning, info or style; N a count)",
			       file, lineno, rule_names[k].usage);
	if (k == R_MAX_VULNS && (level_index(vuln_levels, w[1]) < 0 || !parse_count(w[2], &r->max)))
		return err_new(EXIT_USAGE, "%s:%d: expected '%s' (SEVERITY critical, high, medium or low; N a count)",
			       file, lineno, rule_names[k].usage);
	r->arg = xstrdup(w[1]);
	if (k == R_MAX_FINDINGS)
		r->severity = xstrdup(w[2]);
	r->text = steal_ptr(text);
	return NULL;
}

/* The first byte of text that shows other than it parses: a control
 * character but tab and a CR ending a line (a CR mid-line, an escape
 * sequence or a backspace can show a rule that is not the one read), a
 * UTF-8 C1 control or bidirectional override/isolate (which reorder what
 * a terminal or an editor shows); len when there is none */
static size_t hidden_at(const char *text, size_t len)
{
	const unsigned char *t = (const unsigned char *)text;
	for (size_t i = 0; i < len; i++) {
		if (t[i] == '\t' || t[i] == '\n' || (t[i] == '\r' && (i + 1 == len || t[i + 1] == '\n')))
			continue;
		if (t[i] < 0x20 || t[i] == 0x7f)
			return i;
		if (t[i] == 0xc2 && i + 1 < len && t[i + 1] >= 0x80 && t[i + 1] <= 0x9f)
			return i;
		if (t[i] == 0xe2 && i + 2 < len && ((t[i + 1] == 0x80 && t[i + 2] >= 0xaa && t[i + 2] <= 0xae) ||
		                                    (t[i + 1] == 0x81 && t[i + 2] >= 0xa6 && t[i + 2] <= 0xa9)))
			return i;
	}
	return len;
}

err_t *policy_parse(const char *text, size_t len, const char *file, struct policy *out)
{
	memset(out, 0, sizeof(*out));
	if (memchr(text, '\0', len))
		return err_new(EXIT_USAGE, "%s: not a text file (a NUL byte)", file);
	size_t bad = hidden_at(text, len);
	if (bad < len) {
		int line = 1;
		for (size_t i = 0; i < bad; i++)
			line += text[i] == '\n';
		return err_new(EXIT_USAGE, "%s:%d: byte 0x%02x: a control character or a bidirectional override, which "
		               "would show a policy other than the one read", file, line, (unsigned char)text[bad]);
	}
	size_t cap = 0;
	int lineno = 0;
	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		_cleanup_free_ char *line = xstrndup(text + pos, end - pos);
		pos = end + 1;
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		size_t l = strlen(line);
		while (l && isspace((unsigned char)line[l - 1]))
			line[--l] = '\0';
		char *s = line + strspn(line, " \t");
		if (!*s)
			continue;
		if (out->n == cap) {
			cap = cap ? cap * 2 : 8;
			out->rules = xrealloc(out->rules, cap * sizeof(*out->rules));
		}
		err_t *e = parse_rule(s, file, lineno, &out->rules[out->n]);
		if (e) {
			policy_release(out);
			return e;
		}
		out->n++;
	}
	if (!out->n)
		return err_new(EXIT_USAGE, "%s: no rule (e.g. 'tests-passed unittest')", file);
	return NULL;
}

/* Item i is of kind, with detail (NULL: any); its view in v. Read from
 * the unverified statement: only to choose what to verify. */
static bool is_candidate(const struct evidence *ev, size_t i, const char *kind, const char *detail,
			 struct record_view *v)
{
	const struct evidence_item *it = &ev->items[i];
	if (it->invalid || !it->parsed.statement)
		return false;
	record_view(it->parsed.statement, v);
	return !strcmp(v->kind, kind) && (!detail || !strcmp(v->detail, detail));
}

/* Which of two record times is later, as instants: RFC 3339 allows an
 * offset and a fraction, which a comparison of the texts misorders
 * ("19:00:00+10:00" is before "10:00:00Z"; "10:00:00.5Z" is after
 * "10:00:00Z"). A time that does not parse is older than any that does. */
static int time_cmp(const char *a, const char *b)
{
	time_t ta = 0, tb = 0;
	err_t *ea = tuf_parse_time(a, &ta), *eb = tuf_parse_time(b, &tb);
	bool oka = !ea, okb = !eb;
	err_free(ea);
	err_free(eb);
	if (!oka || !okb)
		return oka == okb ? strcmp(a, b) : oka ? 1 : -1;
	if (ta != tb)
		return ta < tb ? -1 : 1;
	/* the same second: the fractions, digit by digit (a missing one 0) */
	const char *fa = a[19] == '.' ? a + 20 : "", *fb = b[19] == '.' ? b + 20 : "";
	for (;; fa += *fa >= '0' && *fa <= '9', fb += *fb >= '0' && *fb <= '9') {
		char da = *fa >= '0' && *fa <= '9' ? *fa : '0', db = *fb >= '0' && *fb <= '9' ? *fb : '0';
		if (da != db)
			return da < db ? -1 : 1;
		if (!(*fa >= '0' && *fa <= '9') && !(*fb >= '0' && *fb <= '9'))
			return 0;
	}
}

/* The latest verified record of kind whose detail is detail (NULL: any):
 * the newest candidate (by its time, then by its place in ev) is verified;
 * when it does not count the next newest is, and so on. Only the record
 * whose verdict is used (and the newer ones that failed) is verified. */
static const json_t *latest(struct evidence *ev, const char *kind, const char *detail)
{
	for (;;) {
		size_t best = ev->n;
		const char *best_time = NULL;
		for (size_t i = 0; i < ev->n; i++) {
			struct record_view v;
			if (!is_candidate(ev, i, kind, detail, &v))
				continue;
			if (best == ev->n || time_cmp(v.time, best_time) >= 0) {
				best = i;
				best_time = v.time;
			}
		}
		if (best == ev->n)
			return NULL;
		if (evidence_counts(ev, best))
			return ev->items[best].opened.statement;
	}
}

static json_int_t count_at_or_above(const json_t *counts, const char *const *levels, const char *severity)
{
	json_int_t n = 0;
	int limit = level_index(levels, severity);
	for (int i = 0; i <= limit; i++)
		n += json_integer_value(json_object_get(counts, levels[i]));
	return n;
}

static bool judge(const struct policy_rule *r, struct evidence *ev, struct strbuf *why)
{
	const json_t *st, *p;
	switch (r->kind) {
	case R_TESTS_PASSED:
	case R_MAX_FINDINGS: {
		st = latest(ev, "test", r->arg);
		if (!st) {
			sb_addf(why, "no verified %s test record", r->arg);
			return false;
		}
		p = json_object_get(st, "predicate");
		const char *result = json_string_value(json_object_get(p, "result"));
		const json_t *ann =
			json_object_get(json_array_get(json_object_get(p, "configuration"), 0), "annotations");
		if (r->kind == R_TESTS_PASSED) {
			sb_addf(why, "the latest %s record's result is %s", r->arg, result ? result : "missing");
			if (json_integer_value(json_object_get(ann, "failures")) + json_integer_value(json_object_get(ann, "errors")))
				sb_addf(why, " (%lld failures, %lld errors)",
					(long long)json_integer_value(json_object_get(ann, "failures")),
					(long long)json_integer_value(json_object_get(ann, "errors")));
			return result && !strcmp(result, "PASSED");
		}
		json_int_t n = count_at_or_above(ann, finding_levels, r->severity);
		sb_addf(why, "the latest %s record has %lld findings at %s or above (at most %ld)", r->arg, (long long)n,
			r->severity, r->max);
		return n <= r->max;
	}
	case R_MAX_VULNS: {
		st = latest(ev, "vulnerabilities", NULL);
		if (!st) {
			sb_adds(why, "no verified vulnerability record");
			return false;
		}
		p = json_object_get(st, "predicate");
		const json_t *sum = json_object_get(json_object_get(json_object_get(p, "scanner"), "result"), "summary");
		json_int_t n = count_at_or_above(sum, vuln_levels, r->arg);
		sb_addf(why, "the latest vulnerability record has %lld at %s or above (at most %ld)", (long long)n, r->arg,
			r->max);
		return n <= r->max;
	}
	case R_BRANCH: {
		st = latest(ev, "build", NULL);
		if (!st) {
			sb_adds(why, "no verified build record");
			return false;
		}
		struct record_view v;
		record_view(st, &v);
		sb_addf(why, "the latest build record is from branch '%s'", v.detail);
		return !strcmp(v.detail, r->arg);
	}
	case R_REPOSITORY: {
		/* a branch is only main of the repository it is in: any
		 * repository a push can come from has one */
		st = latest(ev, "build", NULL);
		if (!st) {
			sb_adds(why, "no verified build record");
			return false;
		}
		const char *repo = json_string_value(json_object_get(
			json_object_get(json_object_get(json_object_get(st, "predicate"), "buildDefinition"),
					"externalParameters"),
			"repository"));
		sb_addf(why, "the latest build record is from repository '%s'", repo ? repo : "");
		return repo && !strcmp(repo, r->arg);
	}
	default: {
		st = latest(ev, "deploy", r->arg);
		if (!st) {
			sb_addf(why, "no verified deploy record for %s", r->arg);
			return false;
		}
		const char *status = json_string_value(json_object_get(json_object_get(st, "predicate"), "status"));
		sb_addf(why, "the latest deploy record for %s has status '%s'", r->arg, status ? status : "");
		return status && (!strcmp(status, "success") || !strcmp(status, "pass"));
	}
	}
}

void policy_evaluate(const struct policy *p, struct evidence *ev, struct policy_verdict **out)
{
	*out = xcalloc(p->n ? p->n : 1, sizeof(**out));
	for (size_t i = 0; i < p->n; i++) {
		struct strbuf why = STRBUF_INIT;
		(*out)[i].ok = judge(&p->rules[i], ev, &why);
		(*out)[i].reason = sb_detach(&why);
	}
}

void policy_verdicts_free(struct policy_verdict *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].reason);
	free(v);
}
