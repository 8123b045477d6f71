/* Dockerfile parser and shell-word expansion (see dockerfile.h). */
#include "dockerfile.h"

#include <ctype.h>
#include <fnmatch.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "strbuf.h"
#include "xalloc.h"

static const char *const keyword_names[DF_KEYWORD_COUNT] = {
	[DF_UNKNOWN] = "?",          [DF_FROM] = "FROM",       [DF_RUN] = "RUN",
	[DF_CMD] = "CMD",            [DF_ENTRYPOINT] = "ENTRYPOINT", [DF_SHELL] = "SHELL",
	[DF_COPY] = "COPY",          [DF_ADD] = "ADD",         [DF_ENV] = "ENV",
	[DF_ARG] = "ARG",            [DF_LABEL] = "LABEL",     [DF_EXPOSE] = "EXPOSE",
	[DF_USER] = "USER",          [DF_WORKDIR] = "WORKDIR", [DF_VOLUME] = "VOLUME",
	[DF_STOPSIGNAL] = "STOPSIGNAL", [DF_HEALTHCHECK] = "HEALTHCHECK",
	[DF_ONBUILD] = "ONBUILD",    [DF_MAINTAINER] = "MAINTAINER",
};

const char *df_keyword_name(enum df_keyword kw)
{
	return (unsigned)kw < DF_KEYWORD_COUNT ? keyword_names[kw] : "?";
}

enum df_keyword df_keyword_lookup(const char *word)
{
	for (int k = 1; k < DF_KEYWORD_COUNT; k++)
		if (!strcasecmp(word, keyword_names[k]))
			return (enum df_keyword)k;
	return DF_UNKNOWN;
}

/* ---- small helpers -------------------------------------------------- */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static const char *skip_ws(const char *s)
{
	while (*s && is_space(*s))
		s++;
	return s;
}

static char *trim_dup(const char *s, size_t n)
{
	while (n && is_space(*s))
		s++, n--;
	while (n && is_space(s[n - 1]))
		n--;
	return xstrndup(s, n);
}

struct vec {
	void *items;
	size_t n, cap, size;
};

static void *vec_push(struct vec *v)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 8;
		v->items = xrealloc(v->items, v->cap * v->size);
	}
	void *p = (char *)v->items + v->n * v->size;
	memset(p, 0, v->size);
	v->n++;
	return p;
}

void df_words_free(char **words)
{
	if (!words)
		return;
	for (char **w = words; *w; w++)
		free(*w);
	free(words);
}

static void words_push(char ***words, size_t *n, size_t *cap, char *w)
{
	if (*n + 2 > *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*words = xrealloc(*words, *cap * sizeof **words);
	}
	(*words)[(*n)++] = w;
	(*words)[*n] = NULL;
}

/* ---- shell lexer ---------------------------------------------------- */

/* Output of the lexer: one word (no splitting) or a list of words. */
struct wordsink {
	bool split;
	struct strbuf cur;
	bool in_word;
	char **words;
	size_t n, cap;
};

static void sink_raw(struct wordsink *w, const char *s, size_t len)
{
	sb_add(&w->cur, s, len);
	w->in_word = true;
}

static void sink_end_word(struct wordsink *w)
{
	if (w->in_word)
		words_push(&w->words, &w->n, &w->cap, sb_detach(&w->cur));
	w->in_word = false;
}

/* A character that word splitting applies to. */
static void sink_char(struct wordsink *w, char c)
{
	if (w->split && is_space(c)) {
		sink_end_word(w);
		return;
	}
	sb_addc(&w->cur, c);
	w->in_word = true;
}

struct lexer {
	const char *s;
	size_t pos, len;
	char esc;
	df_lookup_fn lookup;
	void *data;
};

static int lx_peek(const struct lexer *lx)
{
	return lx->pos < lx->len ? (unsigned char)lx->s[lx->pos] : -1;
}

static int lx_next(struct lexer *lx)
{
	return lx->pos < lx->len ? (unsigned char)lx->s[lx->pos++] : -1;
}

static err_t *lex_word_until(struct lexer *lx, int stop, struct strbuf *out, bool *stopped);

static err_t *lex_single_quote(struct lexer *lx, struct strbuf *out)
{
	lx_next(lx); /* ' */
	for (;;) {
		int c = lx_next(lx);
		if (c < 0)
			return err_new(EXIT_USAGE, "unexpected end of statement while looking for matching single-quote");
		if (c == '\'')
			return NULL;
		sb_addc(out, (char)c);
	}
}

static err_t *lex_dollar(struct lexer *lx, struct strbuf *out);

static err_t *lex_double_quote(struct lexer *lx, struct strbuf *out)
{
	lx_next(lx); /* " */
	for (;;) {
		int c = lx_peek(lx);
		if (c < 0)
			return err_new(EXIT_USAGE, "unexpected end of statement while looking for matching double-quote");
		if (c == '"') {
			lx_next(lx);
			return NULL;
		}
		if (c == '$') {
			TRY(lex_dollar(lx, out));
			continue;
		}
		lx_next(lx);
		if (c == lx->esc) {
			int d = lx_peek(lx);
			if (d < 0)
				continue; /* an escape at the very end is dropped */
			if (d == '"' || d == '$' || d == lx->esc) {
				sb_addc(out, (char)lx_next(lx));
				continue;
			}
		}
		sb_addc(out, (char)c);
	}
}

static bool name_start(int c)
{
	return c == '_' || (c >= 0 && c < 128 && isalpha(c));
}

static bool name_char(int c)
{
	return c == '_' || (c >= 0 && c < 128 && isalnum(c));
}

/* ${v#pat} / ${v##pat} remove the shortest / longest prefix matching the
 * glob pat; ${v%pat} / ${v%%pat} the same for a suffix. */
static void trim_match(struct strbuf *out, const char *v, const char *pat, bool prefix, bool longest)
{
	size_t n = strlen(v);
	char *buf = xmalloc(n + 1);
	for (size_t k = 0; k <= n; k++) {
		size_t len = longest ? n - k : k; /* candidate length of the removed part */
		if (prefix) {
			memcpy(buf, v, len);
			buf[len] = '\0';
		} else {
			memcpy(buf, v + n - len, len + 1);
		}
		if (fnmatch(pat, buf, 0) == 0) {
			if (prefix)
				sb_adds(out, v + len);
			else
				sb_add(out, v, n - len);
			free(buf);
			return;
		}
	}
	free(buf);
	sb_adds(out, v);
}

/* $name, ${name}, ${name<op>word}; appends the value (or, without a
 * lookup, the reference as written). */
static err_t *lex_dollar(struct lexer *lx, struct strbuf *out)
{
	size_t start = lx->pos;
	lx_next(lx); /* $ */
	int c = lx_peek(lx);
	if (c != '{') {
		size_t ns = lx->pos;
		if (name_start(c)) {
			while (name_char(lx_peek(lx)))
				lx_next(lx);
		} else if (c >= '0' && c <= '9') {
			lx_next(lx);
		} else {
			sb_addc(out, '$');
			return NULL;
		}
		if (!lx->lookup) {
			sb_add(out, lx->s + start, lx->pos - start);
			return NULL;
		}
		char *name = xstrndup(lx->s + ns, lx->pos - ns);
		const char *v = lx->lookup(name, lx->data);
		free(name);
		if (v)
			sb_adds(out, v);
		return NULL;
	}
	lx_next(lx); /* { */
	size_t ns = lx->pos;
	c = lx_peek(lx);
	if (name_start(c)) {
		while (name_char(lx_peek(lx)))
			lx_next(lx);
	} else if (c >= '0' && c <= '9') {
		while (lx_peek(lx) >= '0' && lx_peek(lx) <= '9')
			lx_next(lx);
	}
	if (lx->pos == ns) {
		if (c < 0 || c == '}')
			return err_new(EXIT_USAGE, "bad substitution: empty variable name");
		return err_new(EXIT_USAGE, "bad substitution: invalid variable name at '%c'", c);
	}
	char *name = xstrndup(lx->s + ns, lx->pos - ns);
	const char *v = lx->lookup ? lx->lookup(name, lx->data) : NULL;
	c = lx_next(lx);
	err_t *e = NULL;
	if (c == '}') {
		if (!lx->lookup)
			sb_add(out, lx->s + start, lx->pos - start);
		else if (v)
			sb_adds(out, v);
		free(name);
		return NULL;
	}
	if (c < 0) {
		free(name);
		return err_new(EXIT_USAGE, "syntax error: missing '}'");
	}
	bool colon = false;
	if (c == ':') {
		colon = true;
		c = lx_next(lx);
	}
	bool longest = false;
	if (!colon && (c == '#' || c == '%') && lx_peek(lx) == c) {
		longest = true;
		lx_next(lx);
	}
	if (c != '-' && c != '+' && c != '?' && (colon || (c != '#' && c != '%'))) {
		free(name);
		if (c < 0)
			return err_new(EXIT_USAGE, "syntax error: missing '}'");
		return err_new(EXIT_USAGE, "unsupported modifier (%s%c) in substitution", colon ? ":" : "", c);
	}
	struct strbuf word = STRBUF_INIT;
	bool stopped = false;
	e = lex_word_until(lx, '}', &word, &stopped);
	if (!e && !stopped)
		e = err_new(EXIT_USAGE, "syntax error: missing '}'");
	if (e) {
		sb_release(&word);
		free(name);
		return e;
	}
	if (!lx->lookup) {
		sb_add(out, lx->s + start, lx->pos - start);
	} else {
		bool set = v != NULL, nonempty = v && *v;
		bool usable = colon ? nonempty : set;
		switch (c) {
		case '-':
			sb_adds(out, usable ? v : sb_str(&word));
			break;
		case '+':
			if (usable)
				sb_adds(out, sb_str(&word));
			break;
		case '?':
			if (!usable)
				e = err_new(EXIT_USAGE, "%s: %s", name,
					    word.len ? sb_str(&word) : "is not allowed to be unset");
			else
				sb_adds(out, v);
			break;
		case '#':
		case '%':
			if (v)
				trim_match(out, v, sb_str(&word), c == '#', longest);
			break;
		}
	}
	sb_release(&word);
	free(name);
	return e;
}

/* The word inside ${name:-word}: up to the stop character. */
static err_t *lex_word_until(struct lexer *lx, int stop, struct strbuf *out, bool *stopped)
{
	for (;;) {
		int c = lx_peek(lx);
		if (c < 0)
			return NULL;
		if (c == stop) {
			lx_next(lx);
			*stopped = true;
			return NULL;
		}
		if (c == '\'') {
			TRY(lex_single_quote(lx, out));
		} else if (c == '"') {
			TRY(lex_double_quote(lx, out));
		} else if (c == '$') {
			TRY(lex_dollar(lx, out));
		} else {
			lx_next(lx);
			if (c == lx->esc) {
				c = lx_next(lx);
				if (c < 0)
					return NULL;
			}
			sb_addc(out, (char)c);
		}
	}
}

static err_t *lex_top(struct lexer *lx, struct wordsink *w)
{
	struct strbuf tmp = STRBUF_INIT;
	err_t *e = NULL;
	for (;;) {
		int c = lx_peek(lx);
		if (c < 0)
			break;
		if (c == '\'' || c == '"') {
			sb_reset(&tmp);
			e = c == '\'' ? lex_single_quote(lx, &tmp) : lex_double_quote(lx, &tmp);
			if (e)
				break;
			sink_raw(w, tmp.buf ? tmp.buf : "", tmp.len);
		} else if (c == '$') {
			sb_reset(&tmp);
			if ((e = lex_dollar(lx, &tmp)))
				break;
			/* unquoted expansion results are split into words; a
			 * reference kept as written is one piece */
			if (!lx->lookup)
				sink_raw(w, sb_str(&tmp), tmp.len);
			else
				for (size_t i = 0; i < tmp.len; i++)
					sink_char(w, tmp.buf[i]);
		} else {
			lx_next(lx);
			if (c == lx->esc) {
				c = lx_next(lx);
				if (c < 0)
					break;
				char ch = (char)c;
				sink_raw(w, &ch, 1);
			} else {
				sink_char(w, (char)c);
			}
		}
	}
	sb_release(&tmp);
	return e;
}

static void sink_release(struct wordsink *w)
{
	sb_release(&w->cur);
	df_words_free(w->words);
	w->words = NULL;
}

err_t *df_expand_word(const char *word, char escape, df_lookup_fn lookup, void *data, char **out)
{
	struct lexer lx = { word, 0, strlen(word), escape ? escape : '\\', lookup, data };
	struct wordsink w = { .split = false };
	err_t *e = lex_top(&lx, &w);
	if (e) {
		sink_release(&w);
		*out = NULL;
		return e;
	}
	*out = sb_detach(&w.cur);
	sink_release(&w);
	return NULL;
}

err_t *df_expand_words(const char *text, char escape, df_lookup_fn lookup, void *data, char ***out,
		       size_t *n)
{
	struct lexer lx = { text, 0, strlen(text), escape ? escape : '\\', lookup, data };
	struct wordsink w = { .split = true };
	err_t *e = lex_top(&lx, &w);
	if (e) {
		sink_release(&w);
		*out = NULL;
		if (n)
			*n = 0;
		return e;
	}
	sink_end_word(&w);
	if (!w.words)
		words_push(&w.words, &w.n, &w.cap, NULL), w.n = 0;
	*out = w.words;
	if (n)
		*n = w.n;
	w.words = NULL;
	sink_release(&w);
	return NULL;
}

char **df_split_words(const char *text, char escape, size_t *n)
{
	char **words = NULL;
	size_t nw = 0, cap = 0;
	struct strbuf cur = STRBUF_INIT;
	bool in_word = false;
	char quote = 0;
	for (const char *p = text; *p; p++) {
		char c = *p;
		if (!quote && is_space(c)) {
			if (in_word)
				words_push(&words, &nw, &cap, sb_detach(&cur));
			in_word = false;
			continue;
		}
		in_word = true;
		sb_addc(&cur, c);
		if (c == escape && p[1] && quote != '\'') {
			sb_addc(&cur, *++p);
			continue;
		}
		if (!quote && (c == '\'' || c == '"'))
			quote = c;
		else if (quote && c == quote)
			quote = 0;
	}
	if (in_word)
		words_push(&words, &nw, &cap, sb_detach(&cur));
	sb_release(&cur);
	if (!words)
		words_push(&words, &nw, &cap, NULL), nw = 0;
	if (n)
		*n = nw;
	return words;
}

/* ---- instruction parsing -------------------------------------------- */

struct parser {
	const char *name;
	char escape;
	bool lenient;
	int line; /* where errors point */
	struct vec comments, directives;
};

static err_t *perr(const struct parser *p, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static err_t *perr(const struct parser *p, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct strbuf sb = STRBUF_INIT;
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	err_t *e = err_new(EXIT_USAGE, "%s:%d: %s", p->name, line, sb_str(&sb));
	sb_release(&sb);
	return e;
}

static void instr_clear(struct df_instr *in)
{
	if (!in)
		return;
	free(in->keyword);
	free(in->raw);
	free(in->line);
	free(in->rest);
	for (size_t i = 0; i < in->nflags; i++) {
		free(in->flags[i].name);
		free(in->flags[i].value);
	}
	free(in->flags);
	for (size_t i = 0; i < in->nargs; i++)
		free(in->args[i]);
	free(in->args);
	for (size_t i = 0; i < in->nkvs; i++) {
		free(in->kvs[i].key);
		free(in->kvs[i].value);
		free(in->kvs[i].raw_value);
	}
	free(in->kvs);
	for (size_t i = 0; i < in->nheredocs; i++) {
		free(in->heredocs[i].name);
		free(in->heredocs[i].body);
	}
	free(in->heredocs);
	if (in->sub) {
		instr_clear(in->sub);
		free(in->sub);
	}
	memset(in, 0, sizeof *in);
}

void df_file_free(struct df_file *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->ninstrs; i++)
		instr_clear(&f->instrs[i]);
	free(f->instrs);
	for (size_t i = 0; i < f->ncomments; i++)
		free(f->comments[i].text);
	free(f->comments);
	for (size_t i = 0; i < f->ndirectives; i++) {
		free(f->directives[i].name);
		free(f->directives[i].value);
	}
	free(f->directives);
	free(f);
}

static void add_arg(struct df_instr *in, char *s)
{
	in->args = xrealloc(in->args, (in->nargs + 1) * sizeof *in->args);
	in->args[in->nargs++] = s;
}

/* Flags at the start of rest, as BuildKit's extractBuilderFlags: words
 * beginning with "--", quotes removed; "--" alone ends them. */
static const char *extract_flags(const char *line, char ***out, size_t *nout)
{
	char **words = NULL;
	size_t n = 0, cap = 0;
	const char *p = line;
	for (;;) {
		p = skip_ws(p);
		if (p[0] != '-' || p[1] != '-')
			break;
		struct strbuf w = STRBUF_INIT;
		bool blank_ok = false;
		char quote = 0;
		const char *q = p;
		for (; *q; q++) {
			char c = *q;
			if (quote) {
				if (c == quote) {
					quote = 0;
					continue;
				}
				if (c == '\\' && q[1])
					c = *++q;
				sb_addc(&w, c);
				continue;
			}
			if (is_space(c))
				break;
			if (c == '\'' || c == '"') {
				quote = c;
				blank_ok = true;
				continue;
			}
			if (c == '\\') {
				if (!q[1])
					continue;
				c = *++q;
			}
			sb_addc(&w, c);
		}
		if (!strcmp(sb_str(&w), "--")) {
			sb_release(&w);
			p = q;
			break;
		}
		if (blank_ok || w.len)
			words_push(&words, &n, &cap, sb_detach(&w));
		sb_release(&w);
		p = q;
	}
	*out = words;
	*nout = n;
	return skip_ws(p);
}

struct flag_def {
	const char *name;
	bool boolean;
	bool multi;
};

static const struct flag_def from_flags[] = { { "platform", false, false }, { NULL, false, false } };
static const struct flag_def run_flags[] = {
	{ "mount", false, true }, { "network", false, false }, { "security", false, false },
	{ "device", false, true }, { NULL, false, false },
};
static const struct flag_def copy_flags[] = {
	{ "from", false, false }, { "chown", false, false }, { "chmod", false, false },
	{ "link", true, false },  { "parents", true, false }, { "exclude", false, true },
	{ NULL, false, false },
};
static const struct flag_def add_flags[] = {
	{ "chown", false, false },   { "chmod", false, false },        { "link", true, false },
	{ "checksum", false, false }, { "keep-git-dir", true, false }, { "exclude", false, true },
	{ "unpack", true, false },   { NULL, false, false },
};
static const struct flag_def health_flags[] = {
	{ "interval", false, false },  { "timeout", false, false },
	{ "start-period", false, false }, { "start-interval", false, false },
	{ "retries", false, false },   { NULL, false, false },
};
static const struct flag_def no_flags[] = { { NULL, false, false } };

static const struct flag_def *flags_for(enum df_keyword kw)
{
	switch (kw) {
	case DF_FROM: return from_flags;
	case DF_RUN: return run_flags;
	case DF_COPY: return copy_flags;
	case DF_ADD: return add_flags;
	case DF_HEALTHCHECK: return health_flags;
	default: return no_flags;
	}
}

static err_t *check_flags(const struct parser *p, int line, struct df_instr *in, char **words, size_t n)
{
	const struct flag_def *defs = flags_for(in->kw);
	for (size_t i = 0; i < n; i++) {
		const char *w = words[i];
		if (strncmp(w, "--", 2))
			return perr(p, line, "invalid flag %s on %s", w, in->keyword);
		const char *name = w + 2;
		const char *eq = strchr(name, '=');
		size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
		if (!nlen)
			return perr(p, line, "empty flag name '%s' on %s", w, in->keyword);
		const struct flag_def *d = defs;
		while (d->name && (strlen(d->name) != nlen || strncasecmp(d->name, name, nlen)))
			d++;
		if (!d->name)
			return perr(p, line, "unknown flag --%.*s for %s", (int)nlen, name, df_keyword_name(in->kw));
		if (!eq && !d->boolean)
			return perr(p, line, "missing a value on flag --%s (%s)", d->name, df_keyword_name(in->kw));
		if (eq && d->boolean && strcasecmp(eq + 1, "true") && strcasecmp(eq + 1, "false"))
			return perr(p, line, "expecting boolean value for flag --%s, not '%s'", d->name, eq + 1);
		if (!d->multi)
			for (size_t j = 0; j < in->nflags; j++)
				if (!strcmp(in->flags[j].name, d->name))
					return perr(p, line, "duplicate flag --%s", d->name);
		in->flags = xrealloc(in->flags, (in->nflags + 1) * sizeof *in->flags);
		in->flags[in->nflags].name = xstrdup(d->name);
		in->flags[in->nflags].value = eq ? xstrdup(eq + 1) : NULL;
		in->nflags++;
	}
	return NULL;
}

/* 1: JSON string array (args filled); 0: not JSON; -1: JSON but not all
 * strings. */
static int parse_json_array(const char *rest, struct df_instr *in)
{
	const char *s = skip_ws(rest);
	if (*s != '[')
		return 0;
	json_error_t jerr;
	json_t *j = json_loadb(s, strlen(s), JSON_DECODE_ANY, &jerr);
	if (!j || !json_is_array(j)) {
		json_decref(j);
		return 0;
	}
	size_t i;
	json_t *v;
	json_array_foreach(j, i, v) {
		if (!json_is_string(v)) {
			json_decref(j);
			return -1;
		}
	}
	json_array_foreach(j, i, v) {
		add_arg(in, xstrndup(json_string_value(v), json_string_length(v)));
	}
	json_decref(j);
	return 1;
}

/* Text that was clearly meant as JSON: ["... ]. */
static bool looks_like_json(const char *rest)
{
	const char *s = skip_ws(rest);
	if (*s != '[')
		return false;
	const char *t = skip_ws(s + 1);
	size_t n = strlen(s);
	while (n && is_space(s[n - 1]))
		n--;
	return (*t == '"' || *t == '\'') && n && s[n - 1] == ']';
}

static err_t *parse_maybe_json(const struct parser *p, int line, struct df_instr *in, const char *rest,
			       bool require_json)
{
	int r = parse_json_array(rest, in);
	if (r < 0)
		return perr(p, line, "%s: when using JSON array syntax, arrays must be comprised of strings only",
			    df_keyword_name(in->kw));
	if (r > 0) {
		in->json = true;
		return NULL;
	}
	if (*skip_ws(rest) == '[')
		in->json_malformed = true;
	if (require_json)
		return perr(p, line, "%s requires the arguments to be in JSON form", df_keyword_name(in->kw));
	if (looks_like_json(rest))
		return perr(p, line, "malformed JSON form for %s: %s", df_keyword_name(in->kw), skip_ws(rest));
	add_arg(in, trim_dup(rest, strlen(rest)));
	return NULL;
}

static void add_ws_words(struct df_instr *in, const char *rest)
{
	const char *s = rest;
	for (;;) {
		s = skip_ws(s);
		if (!*s)
			break;
		const char *e = s;
		while (*e && !is_space(*e))
			e++;
		add_arg(in, xstrndup(s, (size_t)(e - s)));
		s = e;
	}
}

static void add_kv(struct df_instr *in, const char *key, size_t klen, const char *raw, char escape)
{
	in->kvs = xrealloc(in->kvs, (in->nkvs + 1) * sizeof *in->kvs);
	struct df_kv *kv = &in->kvs[in->nkvs++];
	kv->key = xstrndup(key, klen);
	kv->raw_value = raw ? xstrdup(raw) : NULL;
	kv->value = NULL;
	if (raw) {
		err_t *e = df_expand_word(raw, escape, NULL, NULL, &kv->value);
		if (e) { /* unbalanced quotes: keep the text as written */
			err_free(e);
			kv->value = xstrdup(raw);
		}
	}
}

static err_t *parse_name_val(const struct parser *p, int line, struct df_instr *in, const char *rest)
{
	size_t nw = 0;
	char **words = df_split_words(rest, p->escape, &nw);
	err_t *e = NULL;
	if (nw == 0) {
		e = perr(p, line, "%s requires at least one argument", df_keyword_name(in->kw));
	} else if (!strchr(words[0], '=')) {
		/* legacy "KEY name value" */
		const char *s = skip_ws(rest);
		const char *sp = s;
		while (*sp && !is_space(*sp))
			sp++;
		const char *v = skip_ws(sp);
		if (!*v) {
			e = perr(p, line, "%s must have two arguments", df_keyword_name(in->kw));
		} else {
			in->legacy_kv = true;
			char *val = trim_dup(v, strlen(v));
			add_arg(in, xstrndup(s, (size_t)(sp - s)));
			add_arg(in, xstrdup(val));
			add_kv(in, s, (size_t)(sp - s), val, p->escape);
			free(val);
		}
	} else {
		for (size_t i = 0; i < nw && !e; i++) {
			const char *eq = strchr(words[i], '=');
			if (!eq) {
				e = perr(p, line, "syntax error - can't find = in \"%s\"; must be of the form: name=value",
					 words[i]);
				break;
			}
			if (eq == words[i]) {
				e = perr(p, line, "%s names cannot be blank", df_keyword_name(in->kw));
				break;
			}
			add_arg(in, xstrdup(words[i]));
			/* LABEL keys may be quoted: "com.example.key"=value */
			char *key = NULL;
			char *keyraw = xstrndup(words[i], (size_t)(eq - words[i]));
			err_t *ke = df_expand_word(keyraw, p->escape, NULL, NULL, &key);
			if (ke) {
				err_free(ke);
				key = xstrdup(keyraw);
			}
			add_kv(in, key, strlen(key), eq + 1, p->escape);
			free(key);
			free(keyraw);
		}
	}
	df_words_free(words);
	return e;
}

static err_t *parse_arg(const struct parser *p, int line, struct df_instr *in, const char *rest)
{
	size_t nw = 0;
	char **words = df_split_words(rest, p->escape, &nw);
	err_t *e = NULL;
	if (nw == 0)
		e = perr(p, line, "ARG requires at least one argument");
	for (size_t i = 0; i < nw && !e; i++) {
		add_arg(in, xstrdup(words[i]));
		const char *eq = strchr(words[i], '=');
		if (eq == words[i])
			e = perr(p, line, "ARG names cannot be blank");
		else
			add_kv(in, words[i], eq ? (size_t)(eq - words[i]) : strlen(words[i]), eq ? eq + 1 : NULL,
			       p->escape);
	}
	df_words_free(words);
	return e;
}

static err_t *parse_healthcheck(const struct parser *p, int line, struct df_instr *in, const char *rest)
{
	const char *s = skip_ws(rest);
	const char *e = s;
	while (*e && !is_space(*e))
		e++;
	size_t n = (size_t)(e - s);
	if (n == 4 && !strncasecmp(s, "NONE", 4)) {
		if (*skip_ws(e))
			return perr(p, line, "HEALTHCHECK NONE takes no arguments");
		if (in->nflags)
			return perr(p, line, "HEALTHCHECK NONE takes no flags");
		add_arg(in, xstrdup("NONE"));
		return NULL;
	}
	if (n == 3 && !strncasecmp(s, "CMD", 3)) {
		add_arg(in, xstrdup("CMD"));
		if (!*skip_ws(e))
			return perr(p, line, "HEALTHCHECK CMD requires a command");
		return parse_maybe_json(p, line, in, e, false);
	}
	if (!n)
		return perr(p, line, "HEALTHCHECK requires CMD or NONE");
	return perr(p, line, "unknown type \"%.*s\" in HEALTHCHECK (try CMD or NONE)", (int)n, s);
}

static err_t *parse_instruction(struct parser *p, int line, const char *logical, struct df_instr *in,
				bool in_onbuild);

static err_t *parse_args(struct parser *p, int line, struct df_instr *in, const char *rest)
{
	const char *s = skip_ws(rest);
	bool empty = !*s;
	switch (in->kw) {
	case DF_FROM: {
		add_ws_words(in, rest);
		if (in->nargs != 1 && !(in->nargs == 3 && !strcasecmp(in->args[1], "AS")))
			return perr(p, line, "FROM requires either one argument, or three: FROM <image> AS <name>");
		if (in->nargs == 3 && !*in->args[2])
			return perr(p, line, "FROM ... AS needs a stage name");
		return NULL;
	}
	case DF_RUN:
		if (empty && !in->nheredocs)
			return perr(p, line, "RUN requires at least one argument");
		return parse_maybe_json(p, line, in, rest, false);
	case DF_CMD:
	case DF_ENTRYPOINT:
		if (empty)
			return perr(p, line, "%s requires at least one argument", in->keyword);
		return parse_maybe_json(p, line, in, rest, false);
	case DF_SHELL:
		if (empty)
			return perr(p, line, "SHELL requires at least one argument");
		TRY(parse_maybe_json(p, line, in, rest, true));
		if (!in->nargs)
			return perr(p, line, "SHELL requires at least one argument");
		return NULL;
	case DF_COPY:
	case DF_ADD:
	case DF_VOLUME: {
		int r = parse_json_array(rest, in);
		if (r < 0)
			return perr(p, line, "%s: when using JSON array syntax, arrays must be comprised of strings only",
				    df_keyword_name(in->kw));
		if (r > 0) {
			in->json = true;
		} else {
			if (*s == '[')
				in->json_malformed = true;
			if (looks_like_json(rest))
				return perr(p, line, "malformed JSON form for %s: %s", df_keyword_name(in->kw), s);
			size_t nw = 0;
			char **words = df_split_words(rest, p->escape, &nw);
			for (size_t i = 0; i < nw; i++)
				add_arg(in, words[i]);
			free(words);
		}
		if (in->kw == DF_VOLUME) {
			if (!in->nargs)
				return perr(p, line, "VOLUME requires at least one argument");
			for (size_t i = 0; i < in->nargs; i++)
				if (!*in->args[i])
					return perr(p, line, "VOLUME specified can not be an empty string");
		} else if (in->nargs < 2) {
			return perr(p, line, "%s requires at least two arguments, but only %zu provided",
				    df_keyword_name(in->kw), in->nargs);
		}
		return NULL;
	}
	case DF_ENV:
	case DF_LABEL:
		return parse_name_val(p, line, in, rest);
	case DF_ARG:
		return parse_arg(p, line, in, rest);
	case DF_EXPOSE:
		add_ws_words(in, rest);
		if (!in->nargs)
			return perr(p, line, "EXPOSE requires at least one argument");
		return NULL;
	case DF_USER:
	case DF_WORKDIR:
	case DF_STOPSIGNAL:
	case DF_MAINTAINER:
		if (empty)
			return perr(p, line, "%s requires exactly one argument", df_keyword_name(in->kw));
		if (in->kw == DF_STOPSIGNAL || in->kw == DF_USER) {
			const char *t = s;
			while (*t && !is_space(*t))
				t++;
			if (*skip_ws(t))
				return perr(p, line, "%s requires exactly one argument", df_keyword_name(in->kw));
		}
		add_arg(in, trim_dup(s, strlen(s)));
		return NULL;
	case DF_HEALTHCHECK:
		return parse_healthcheck(p, line, in, rest);
	case DF_ONBUILD: {
		if (empty)
			return perr(p, line, "ONBUILD requires at least one argument");
		add_arg(in, trim_dup(s, strlen(s)));
		in->sub = xcalloc(1, sizeof *in->sub);
		TRY(parse_instruction(p, line, s, in->sub, true));
		return parse_args(p, line, in->sub, in->sub->rest);
	}
	default:
		return perr(p, line, "unknown instruction: %s", in->keyword);
	}
}

/* Keyword, flags and arguments of one logical line. */
static err_t *parse_instruction(struct parser *p, int line, const char *logical, struct df_instr *in,
				bool in_onbuild)
{
	const char *s = skip_ws(logical);
	const char *e = s;
	while (*e && !is_space(*e))
		e++;
	in->keyword = xstrndup(s, (size_t)(e - s));
	in->kw = df_keyword_lookup(in->keyword);
	in->line = trim_dup(logical, strlen(logical));
	in->start_line = in->end_line = line;
	if (in->kw == DF_UNKNOWN)
		return perr(p, line, "unknown instruction: %s", in->keyword);
	if (in_onbuild && !p->lenient && (in->kw == DF_ONBUILD || in->kw == DF_FROM || in->kw == DF_MAINTAINER))
		return perr(p, line, "%s isn't allowed as an ONBUILD trigger", df_keyword_name(in->kw));
	const char *rest = e;
	if (in->kw != DF_ONBUILD) {
		char **fw = NULL;
		size_t nfw = 0;
		rest = extract_flags(e, &fw, &nfw);
		err_t *fe = check_flags(p, line, in, fw, nfw);
		df_words_free(fw);
		if (fe)
			return fe;
	}
	in->rest = trim_dup(rest, strlen(rest));
	return NULL;
}

/* ---- heredocs ------------------------------------------------------- */

struct heredoc_spec {
	char *name;
	bool chomp, expand;
	int fd;
};

/* Heredoc openers among the words of a RUN/COPY/ADD line: [n]<<[-]WORD. */
static size_t find_heredocs(const char *line, struct heredoc_spec **out)
{
	size_t nw = 0, n = 0;
	char **words = df_split_words(line, '\\', &nw);
	struct heredoc_spec *specs = NULL;
	for (size_t i = 0; i < nw; i++) {
		const char *w = words[i];
		const char *q = w;
		while (*q >= '0' && *q <= '9')
			q++;
		if (q[0] != '<' || q[1] != '<')
			continue;
		int fd = q > w ? atoi(w) : -1;
		q += 2;
		bool chomp = *q == '-';
		if (chomp)
			q++;
		if (!*q || strchr(q, '<'))
			continue;
		char *name = NULL;
		err_t *e = df_expand_word(q, '\\', NULL, NULL, &name);
		if (e) {
			err_free(e);
			continue;
		}
		if (!*name || strpbrk(name, " \t")) {
			free(name);
			continue;
		}
		specs = xrealloc(specs, (n + 1) * sizeof *specs);
		specs[n].name = name;
		specs[n].chomp = chomp;
		specs[n].expand = !strpbrk(q, "'\"\\");
		specs[n].fd = fd;
		n++;
	}
	df_words_free(words);
	*out = specs;
	return n;
}

/* ---- the file ------------------------------------------------------- */

struct srcline {
	const char *s;
	size_t len;  /* without the line ending */
	size_t full; /* offset of the next line */
};

static bool line_is_comment(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len && is_space(s[i]))
		i++;
	return i < len && s[i] == '#';
}

static bool line_is_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_space(s[i]))
			return false;
	return true;
}

static void add_comment(struct parser *p, int line, const char *s, size_t len, bool directive)
{
	size_t i = 0;
	while (i < len && is_space(s[i]))
		i++;
	i++; /* '#' */
	struct df_comment *c = vec_push(&p->comments);
	c->line = line;
	c->text = trim_dup(s + i, len - i);
	c->directive = directive;
}

/* "# key=value" at the top of the file. Returns 1 if it is one. */
static int directive_match(const char *s, size_t len, char **key, char **value)
{
	size_t i = 0;
	while (i < len && is_space(s[i]))
		i++;
	if (i >= len || s[i] != '#')
		return 0;
	i++;
	while (i < len && is_space(s[i]))
		i++;
	size_t ks = i;
	if (i >= len || !isalpha((unsigned char)s[i]))
		return 0;
	while (i < len && isalnum((unsigned char)s[i]))
		i++;
	size_t ke = i;
	while (i < len && is_space(s[i]))
		i++;
	if (i >= len || s[i] != '=')
		return 0;
	i++;
	char *v = trim_dup(s + i, len - i);
	if (!*v) {
		free(v);
		return 0;
	}
	*key = xstrndup(s + ks, ke - ks);
	for (char *k = *key; *k; k++)
		*k = (char)tolower((unsigned char)*k);
	*value = v;
	return 1;
}

/* Remove a trailing escape char (and blanks after it): a continuation. */
static bool trim_continuation(const char *s, size_t *len, char esc)
{
	size_t n = *len;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n && s[n - 1] == esc) {
		*len = n - 1;
		return true;
	}
	return false;
}

static err_t *read_heredoc(struct parser *p, const struct srcline *lines, size_t nlines, size_t *i,
			   const struct heredoc_spec *spec, int instr_line, struct df_heredoc *hd)
{
	struct strbuf body = STRBUF_INIT;
	hd->start_line = (int)*i + 1;
	while (*i < nlines) {
		const char *s = lines[*i].s;
		size_t len = lines[*i].len;
		(*i)++;
		size_t off = 0;
		if (spec->chomp)
			while (off < len && s[off] == '\t')
				off++;
		if (len - off == strlen(spec->name) && !memcmp(s + off, spec->name, len - off)) {
			hd->end_line = (int)*i;
			hd->name = xstrdup(spec->name);
			hd->chomp = spec->chomp;
			hd->expand = spec->expand;
			hd->fd = spec->fd;
			hd->body = sb_detach(&body);
			return NULL;
		}
		sb_add(&body, s + off, len - off);
		sb_addc(&body, '\n');
	}
	sb_release(&body);
	return perr(p, instr_line, "unterminated heredoc %s (no line \"%s\" before the end of the file)", spec->name,
		    spec->name);
}

static err_t *parse_lines(struct parser *p, const char *text, const struct srcline *lines, size_t nlines,
			  struct vec *instrs)
{
	bool directives_done = false;
	bool seen_escape = false;
	size_t i = 0;
	while (i < nlines) {
		const char *s = lines[i].s;
		size_t len = lines[i].len;
		int start = (int)i + 1;
		size_t start_off = (size_t)(s - text);
		bool comment = line_is_comment(s, len);
		if (!directives_done) {
			char *k = NULL, *v = NULL;
			if (directive_match(s, len, &k, &v)) {
				if (!strcmp(k, "escape")) {
					if (seen_escape) {
						free(k);
						free(v);
						return perr(p, start, "only one escape parser directive can be used");
					}
					if (strcmp(v, "\\") && strcmp(v, "`")) {
						err_t *e = perr(p, start, "invalid escape token '%s' does not match ` or \\", v);
						free(k);
						free(v);
						return e;
					}
					p->escape = v[0];
					seen_escape = true;
				}
				struct df_directive *d = vec_push(&p->directives);
				d->line = start;
				d->name = k;
				d->value = v;
				add_comment(p, start, s, len, true);
				i++;
				continue;
			}
			directives_done = true;
		}
		i++;
		if (comment) {
			add_comment(p, start, s, len, false);
			continue;
		}
		size_t off = 0;
		while (off < len && is_space(s[off]))
			off++;
		struct strbuf logical = STRBUF_INIT;
		size_t l = len - off;
		bool cont = trim_continuation(s + off, &l, p->escape);
		sb_add(&logical, s + off, l);
		if (!cont && line_is_blank(s, len)) {
			sb_release(&logical);
			continue;
		}
		bool empty_cont = false;
		while (cont && i < nlines) {
			const char *c = lines[i].s;
			size_t clen = lines[i].len;
			i++;
			if (line_is_comment(c, clen)) {
				add_comment(p, (int)i, c, clen, false);
				continue;
			}
			if (line_is_blank(c, clen)) {
				empty_cont = true;
				continue;
			}
			cont = trim_continuation(c, &clen, p->escape);
			sb_add(&logical, c, clen);
		}
		if (line_is_blank(sb_str(&logical), logical.len)) {
			sb_release(&logical);
			continue;
		}
		struct df_instr *in = vec_push(instrs);
		p->line = start;
		err_t *e = parse_instruction(p, start, sb_str(&logical), in, false);
		in->empty_continuation = empty_cont;
		if (!e && (in->kw == DF_RUN || in->kw == DF_COPY || in->kw == DF_ADD)) {
			struct heredoc_spec *specs = NULL;
			size_t nspec = find_heredocs(in->rest, &specs);
			if (nspec)
				in->heredocs = xcalloc(nspec, sizeof *in->heredocs);
			for (size_t h = 0; h < nspec; h++) {
				if (!e) {
					e = read_heredoc(p, lines, nlines, &i, &specs[h], start, &in->heredocs[h]);
					if (!e)
						in->nheredocs++;
				}
				free(specs[h].name);
			}
			free(specs);
		}
		if (!e)
			e = parse_args(p, start, in, in->rest);
		in->end_line = (int)i;
		size_t end_off = i > 0 ? (size_t)(lines[i - 1].s - text) + lines[i - 1].len : start_off;
		in->raw = xstrndup(text + start_off, end_off - start_off);
		if (in->sub) {
			in->sub->start_line = in->start_line;
			in->sub->end_line = in->end_line;
			in->sub->raw = xstrdup(in->raw);
		}
		sb_release(&logical);
		if (e)
			return e;
	}
	return NULL;
}

err_t *df_parse(const char *text, size_t len, const char *name, struct df_file **out)
{
	return df_parse_opts(text, len, name, 0, out);
}

err_t *df_parse_opts(const char *text, size_t len, const char *name, unsigned flags, struct df_file **out)
{
	*out = NULL;
	if (!name)
		name = "Dockerfile";
	const char *nul = memchr(text, '\0', len);
	if (nul) {
		int line = 1;
		for (const char *c = text; c < nul; c++)
			line += *c == '\n';
		return err_new(EXIT_USAGE, "%s:%d: the file contains a NUL byte; a Dockerfile is text", name, line);
	}
	/* split into lines; a UTF-8 byte order mark at the start is dropped */
	size_t start = 0;
	if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
		start = 3;
	struct srcline *lines = NULL;
	size_t nlines = 0, cap = 0;
	for (size_t pos = start; pos < len;) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		size_t l = end - pos;
		if (l && text[pos + l - 1] == '\r')
			l--;
		if (nlines == cap) {
			cap = cap ? cap * 2 : 64;
			lines = xrealloc(lines, cap * sizeof *lines);
		}
		lines[nlines].s = text + pos;
		lines[nlines].len = l;
		lines[nlines].full = nl ? end + 1 : len;
		nlines++;
		pos = nl ? end + 1 : len;
	}
	struct parser p = { .name = name, .escape = '\\', .lenient = flags & DF_PARSE_LENIENT };
	p.comments.size = sizeof(struct df_comment);
	p.directives.size = sizeof(struct df_directive);
	struct vec instrs = { .size = sizeof(struct df_instr) };
	struct df_file *f = xcalloc(1, sizeof *f);
	err_t *e = parse_lines(&p, text, lines, nlines, &instrs);
	free(lines);
	f->instrs = instrs.items;
	f->ninstrs = instrs.n;
	f->comments = p.comments.items;
	f->ncomments = p.comments.n;
	f->directives = p.directives.items;
	f->ndirectives = p.directives.n;
	f->escape = p.escape;
	for (size_t i = 0; i < f->ndirectives; i++) {
		if (!strcmp(f->directives[i].name, "syntax") && !f->syntax)
			f->syntax = f->directives[i].value;
		if (!strcmp(f->directives[i].name, "check") && !f->check)
			f->check = f->directives[i].value;
	}
	if (!e && f->ninstrs == 0)
		e = err_new(EXIT_USAGE, "%s:%d: file with no instructions", name, nlines ? (int)nlines : 1);
	for (size_t i = 0; !e && !p.lenient && i < f->ninstrs; i++) {
		if (f->instrs[i].kw == DF_FROM)
			break;
		if (f->instrs[i].kw != DF_ARG)
			e = err_new(EXIT_USAGE, "%s:%d: %s before the first FROM (only ARG may come before FROM)",
				    name, f->instrs[i].start_line, df_keyword_name(f->instrs[i].kw));
		else if (i + 1 == f->ninstrs)
			e = err_new(EXIT_USAGE, "%s:%d: no FROM instruction: a Dockerfile needs at least one stage",
				    name, f->instrs[i].start_line);
	}
	if (e) {
		df_file_free(f);
		return e;
	}
	*out = f;
	return NULL;
}

/* ---- accessors ------------------------------------------------------ */

const char *df_flag_get(const struct df_instr *in, const char *name, bool *present)
{
	const char *v = NULL;
	bool found = false;
	for (size_t i = 0; i < in->nflags; i++)
		if (!strcmp(in->flags[i].name, name)) {
			v = in->flags[i].value;
			found = true;
		}
	if (present)
		*present = found;
	return v;
}

const struct df_kv *df_kv_get(const struct df_instr *in, const char *key)
{
	const struct df_kv *kv = NULL;
	for (size_t i = 0; i < in->nkvs; i++)
		if (!strcmp(in->kvs[i].key, key))
			kv = &in->kvs[i];
	return kv;
}

size_t df_stages(const struct df_file *f, struct df_stage **out)
{
	struct df_stage *st = NULL;
	size_t n = 0;
	for (size_t i = 0; i < f->ninstrs; i++) {
		const struct df_instr *in = &f->instrs[i];
		if (in->kw != DF_FROM) {
			if (n)
				st[n - 1].last = i;
			continue;
		}
		st = xrealloc(st, (n + 1) * sizeof *st);
		st[n].first = st[n].last = i;
		st[n].base = in->nargs ? in->args[0] : "";
		st[n].name = in->nargs == 3 ? in->args[2] : NULL;
		st[n].platform = df_flag_get(in, "platform", NULL);
		n++;
	}
	*out = st;
	return n;
}
