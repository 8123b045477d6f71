/* A small shell reader for RUN commands (see shell.h). */
#include "shell.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "xalloc.h"

struct reader {
	const char *s;
	size_t i, len;
	struct sh_script *out;
	struct sh_cmd cur;
	struct strbuf word;
	struct sh_word w;
	bool in_word;
	bool skip_next_word; /* redirection target */
	enum sh_sep prev;
	/* here-documents opened on this line: bodies skipped at the newline */
	char *heredoc[8];
	bool heredoc_tabs[8];
	size_t nheredoc;
};

/* The delimiter word after << (quotes removed), at r->i. */
static void read_heredoc_word(struct reader *r, bool tabs)
{
	while (r->i < r->len && (r->s[r->i] == ' ' || r->s[r->i] == '\t'))
		r->i++;
	struct strbuf w = STRBUF_INIT;
	while (r->i < r->len && !strchr(" \t\n;&|<>()", r->s[r->i])) {
		char c = r->s[r->i++];
		if (c != '\'' && c != '"' && c != '\\')
			sb_addc(&w, c);
	}
	if (w.len && r->nheredoc < 8) {
		r->heredoc_tabs[r->nheredoc] = tabs;
		r->heredoc[r->nheredoc++] = sb_detach(&w);
	}
	sb_release(&w);
}

/* At the start of a line after <<WORD: skip each body up to its WORD line. */
static void skip_heredoc_bodies(struct reader *r)
{
	for (size_t h = 0; h < r->nheredoc; h++) {
		const char *word = r->heredoc[h];
		size_t wl = strlen(word);
		while (r->i < r->len) {
			size_t ls = r->i;
			while (r->i < r->len && r->s[r->i] != '\n')
				r->i++;
			size_t le = r->i;
			if (r->i < r->len)
				r->i++;
			if (r->heredoc_tabs[h])
				while (ls < le && r->s[ls] == '\t')
					ls++;
			if (le - ls == wl && !memcmp(r->s + ls, word, wl))
				break;
		}
		free(r->heredoc[h]);
	}
	r->nheredoc = 0;
}

static void end_word(struct reader *r)
{
	if (!r->in_word)
		return;
	r->in_word = false;
	if (r->skip_next_word) {
		r->skip_next_word = false;
		sb_reset(&r->word);
		return;
	}
	r->w.text = sb_detach(&r->word);
	r->cur.words = xrealloc(r->cur.words, (r->cur.nwords + 1) * sizeof *r->cur.words);
	r->cur.words[r->cur.nwords++] = r->w;
	memset(&r->w, 0, sizeof r->w);
}

static bool is_assignment(const char *w)
{
	if (!(isalpha((unsigned char)*w) || *w == '_'))
		return false;
	while (isalnum((unsigned char)*w) || *w == '_')
		w++;
	return *w == '=' || (w[0] == '+' && w[1] == '=');
}

static bool is_keyword(const char *w)
{
	static const char *const kws[] = { "if", "then", "else", "elif", "fi", "do", "done", "while", "until",
					   "!", "{", "}", "time", "esac", NULL };
	for (const char *const *k = kws; *k; k++)
		if (!strcmp(w, *k))
			return true;
	return false;
}

static void end_cmd(struct reader *r, enum sh_sep sep)
{
	end_word(r);
	r->skip_next_word = false;
	if (r->cur.nwords == 0) {
		/* an operator after nothing: keep the strongest */
		if (r->out->n && sep != SH_END && r->out->cmds[r->out->n - 1].sep == SH_SEMI)
			r->out->cmds[r->out->n - 1].sep = sep;
		return;
	}
	size_t k = 0;
	while (k < r->cur.nwords && !r->cur.words[k].quoted &&
	       (is_assignment(r->cur.words[k].text) || is_keyword(r->cur.words[k].text)))
		k++;
	r->cur.name = k;
	r->cur.sep = sep;
	r->cur.prev = r->prev;
	r->prev = sep;
	struct sh_script *o = r->out;
	o->cmds = xrealloc(o->cmds, (o->n + 1) * sizeof *o->cmds);
	o->cmds[o->n++] = r->cur;
	memset(&r->cur, 0, sizeof r->cur);
}

static void add_char(struct reader *r, char c)
{
	sb_addc(&r->word, c);
	r->in_word = true;
}

/* Copy a balanced $( ... ) or ( ... ) starting at the '(' */
static void copy_parens(struct reader *r)
{
	int depth = 0;
	char quote = 0;
	while (r->i < r->len) {
		char c = r->s[r->i++];
		add_char(r, c);
		if (quote) {
			if (c == quote)
				quote = 0;
			else if (c == '\\' && quote == '"' && r->i < r->len)
				add_char(r, r->s[r->i++]);
			continue;
		}
		if (c == '\'' || c == '"')
			quote = c;
		else if (c == '\\' && r->i < r->len)
			add_char(r, r->s[r->i++]);
		else if (c == '(')
			depth++;
		else if (c == ')' && --depth == 0)
			return;
	}
}

static void read_dollar(struct reader *r, bool quoted)
{
	add_char(r, r->s[r->i++]); /* $ */
	if (r->i >= r->len)
		return;
	char c = r->s[r->i];
	if (c == '(') {
		copy_parens(r);
		if (!quoted)
			r->w.unquoted_subst = true;
		return;
	}
	if (c == '{') {
		while (r->i < r->len) {
			char d = r->s[r->i++];
			add_char(r, d);
			if (d == '}')
				break;
		}
		if (!quoted)
			r->w.unquoted_var = true;
		return;
	}
	if (isalpha((unsigned char)c) || c == '_') {
		while (r->i < r->len && (isalnum((unsigned char)r->s[r->i]) || r->s[r->i] == '_'))
			add_char(r, r->s[r->i++]);
		if (!quoted)
			r->w.unquoted_var = true;
		return;
	}
	if (isdigit((unsigned char)c)) {
		add_char(r, r->s[r->i++]);
		if (!quoted)
			r->w.unquoted_var = true;
		return;
	}
	if (strchr("?#$!-@*", c))
		add_char(r, r->s[r->i++]);
}

static void read_backtick(struct reader *r, bool quoted)
{
	add_char(r, r->s[r->i++]);
	while (r->i < r->len) {
		char c = r->s[r->i++];
		add_char(r, c);
		if (c == '\\' && r->i < r->len)
			add_char(r, r->s[r->i++]);
		else if (c == '`')
			break;
	}
	if (!quoted)
		r->w.unquoted_subst = true;
}

void sh_parse(const char *text, struct sh_script *out)
{
	memset(out, 0, sizeof *out);
	struct reader r = { .s = text, .len = strlen(text), .out = out, .prev = SH_END };
	while (r.i < r.len) {
		char c = r.s[r.i];
		char n = r.i + 1 < r.len ? r.s[r.i + 1] : 0;
		if (c == '\\') {
			if (n == '\n') {
				r.i += 2;
				continue;
			}
			r.i++;
			if (r.i < r.len)
				add_char(&r, r.s[r.i++]);
			r.w.quoted = true;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r') {
			end_word(&r);
			r.i++;
			continue;
		}
		if (c == '\n') {
			end_cmd(&r, SH_SEMI);
			r.i++;
			if (r.nheredoc)
				skip_heredoc_bodies(&r);
			continue;
		}
		if (c == '#' && !r.in_word) {
			while (r.i < r.len && r.s[r.i] != '\n')
				r.i++;
			continue;
		}
		if (c == '\'') {
			r.i++;
			r.in_word = true;
			r.w.quoted = true;
			while (r.i < r.len && r.s[r.i] != '\'')
				add_char(&r, r.s[r.i++]);
			r.i++;
			continue;
		}
		if (c == '"') {
			r.i++;
			r.in_word = true;
			r.w.quoted = true;
			while (r.i < r.len && r.s[r.i] != '"') {
				char d = r.s[r.i];
				if (d == '\\' && r.i + 1 < r.len) {
					char e = r.s[r.i + 1];
					if (e == '"' || e == '\\' || e == '$' || e == '`') {
						add_char(&r, e);
						r.i += 2;
						continue;
					}
					if (e == '\n') {
						r.i += 2;
						continue;
					}
				}
				if (d == '$') {
					read_dollar(&r, true);
					continue;
				}
				if (d == '`') {
					read_backtick(&r, true);
					continue;
				}
				add_char(&r, d);
				r.i++;
			}
			r.i++;
			continue;
		}
		if (c == '$') {
			read_dollar(&r, false);
			continue;
		}
		if (c == '`') {
			read_backtick(&r, false);
			continue;
		}
		if (c == '&' && n == '&') {
			end_cmd(&r, SH_AND);
			r.i += 2;
			continue;
		}
		if (c == '|' && n == '|') {
			end_cmd(&r, SH_OR);
			r.i += 2;
			continue;
		}
		if (c == '|') {
			end_cmd(&r, SH_PIPE);
			r.i += n == '&' ? 2 : 1;
			continue;
		}
		if (c == ';') {
			end_cmd(&r, SH_SEMI);
			r.i += n == ';' ? 2 : 1;
			continue;
		}
		if (c == '(' || c == ')') {
			end_cmd(&r, SH_GROUP);
			r.i++;
			continue;
		}
		if (c == '>' || c == '<' || (c == '&' && n == '>')) {
			/* an fd number right before belongs to the operator */
			if (r.in_word && r.word.len && strspn(r.word.buf, "0123456789") == r.word.len &&
			    !r.w.quoted) {
				sb_reset(&r.word);
				r.in_word = false;
				memset(&r.w, 0, sizeof r.w);
			}
			end_word(&r);
			if (c == '&')
				r.i++;
			r.i++;
			bool here = c == '<' && r.i < r.len && r.s[r.i] == '<';
			if (r.i < r.len && (r.s[r.i] == '>' || r.s[r.i] == '<'))
				r.i++; /* >> << <> */
			if (here && r.i < r.len && r.s[r.i] == '<') {
				r.i++; /* <<< here-string: the next word is data */
				r.skip_next_word = true;
				continue;
			}
			bool tabs = false;
			if (r.i < r.len && r.s[r.i] == '-' && c == '<') {
				r.i++;
				tabs = here;
			}
			if (here) {
				read_heredoc_word(&r, tabs);
				continue;
			}
			if (r.i < r.len && r.s[r.i] == '&') {
				/* >&2, 2>&1: the target is a descriptor */
				r.i++;
				while (r.i < r.len && (isdigit((unsigned char)r.s[r.i]) || r.s[r.i] == '-'))
					r.i++;
				continue;
			}
			r.skip_next_word = true;
			continue;
		}
		if (c == '&') {
			end_cmd(&r, SH_BG);
			r.i++;
			continue;
		}
		if ((c == '{' || c == '}') && !r.in_word && (n == 0 || n == ' ' || n == '\t' || n == '\n' || n == ';')) {
			end_cmd(&r, SH_GROUP);
			r.i++;
			continue;
		}
		if (c == '*' || c == '?' || c == '[')
			r.w.glob = true;
		add_char(&r, c);
		r.i++;
	}
	end_cmd(&r, SH_END);
	for (size_t h = 0; h < r.nheredoc; h++)
		free(r.heredoc[h]);
	sb_release(&r.word);
	for (size_t i = 0; i < r.cur.nwords; i++)
		free(r.cur.words[i].text);
	free(r.cur.words);
}

void sh_release(struct sh_script *s)
{
	for (size_t i = 0; i < s->n; i++) {
		for (size_t j = 0; j < s->cmds[i].nwords; j++)
			free(s->cmds[i].words[j].text);
		free(s->cmds[i].words);
	}
	free(s->cmds);
	memset(s, 0, sizeof *s);
}

const char *sh_name(const struct sh_cmd *c)
{
	return c->name < c->nwords ? c->words[c->name].text : "";
}

const char *sh_arg(const struct sh_cmd *c, size_t i)
{
	return c->name + 1 + i < c->nwords ? c->words[c->name + 1 + i].text : NULL;
}

size_t sh_nargs(const struct sh_cmd *c)
{
	return c->name + 1 < c->nwords ? c->nwords - c->name - 1 : 0;
}

bool sh_has_opt(const struct sh_cmd *c, const char *shorts, const char *const *longs)
{
	for (size_t i = 0; i < sh_nargs(c); i++) {
		const char *a = sh_arg(c, i);
		if (!strcmp(a, "--"))
			return false;
		if (a[0] == '-' && a[1] == '-') {
			for (const char *const *l = longs; l && *l; l++) {
				size_t n = strlen(*l);
				if (!strncmp(a, *l, n) && (a[n] == '\0' || a[n] == '='))
					return true;
			}
		} else if (a[0] == '-' && a[1] && shorts) {
			for (const char *p = a + 1; *p && *p != '='; p++)
				if (strchr(shorts, *p))
					return true;
		}
	}
	return false;
}

static bool takes_value(const char *a, const char *const *with_value)
{
	for (const char *const *v = with_value; v && *v; v++)
		if (!strcmp(a, *v))
			return true;
	return false;
}

const char **sh_positionals(const struct sh_cmd *c, const char *const *with_value, size_t *n)
{
	size_t na = sh_nargs(c), k = 0;
	const char **out = xcalloc(na + 1, sizeof *out);
	bool opts_done = false;
	for (size_t i = 0; i < na; i++) {
		const char *a = sh_arg(c, i);
		if (!opts_done && !strcmp(a, "--")) {
			opts_done = true;
			continue;
		}
		if (!opts_done && a[0] == '-' && a[1]) {
			if (takes_value(a, with_value))
				i++;
			continue;
		}
		out[k++] = a;
	}
	if (n)
		*n = k;
	return out;
}

bool sh_uses(const struct sh_script *s, const char *name, const char *sub)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(sh_name(&s->cmds[i]), name))
			continue;
		if (!sub)
			return true;
		size_t np = 0;
		const char **pos = sh_positionals(&s->cmds[i], NULL, &np);
		bool hit = np && !strcmp(pos[0], sub);
		free(pos);
		if (hit)
			return true;
	}
	return false;
}
