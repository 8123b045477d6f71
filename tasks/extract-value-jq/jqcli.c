#include "jqcli.h"

#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "xalloc.h"

/* The flags without a value: short letter, long name, what they do. */
enum flag_action { F_RAW, F_JOIN, F_COMPACT, F_SORT, F_COLOR, F_MONO, F_ASCII, F_SLURP, F_NULL, F_EXIT, F_TAB, F_UNBUFFERED };

static const struct {
	char letter;
	const char *name;
	enum flag_action action;
} flags[] = {
	{ 'r', "raw-output", F_RAW },    { 'j', "join-output", F_JOIN },	   { 'c', "compact-output", F_COMPACT },
	{ 'S', "sort-keys", F_SORT },    { 'C', "color-output", F_COLOR },    { 'M', "monochrome-output", F_MONO },
	{ 'a', "ascii-output", F_ASCII }, { 's', "slurp", F_SLURP },	   { 'n', "null-input", F_NULL },
	{ 'e', "exit-status", F_EXIT },  { 0, "tab", F_TAB },		   { 0, "unbuffered", F_UNBUFFERED },
};

#define INDENT_MASK (JV_PRINT_TAB | JV_PRINT_INDENT_FLAGS(7))

/* As jq 1.6's main() sets its dump options for each flag. */
static void apply(struct jqcli *c, enum flag_action a)
{
	struct jq_format *f = &c->format;
	switch (a) {
	case F_RAW: f->raw = true; break;
	case F_JOIN: f->raw = f->join = true; break;
	case F_COMPACT: f->dump_flags &= ~INDENT_MASK; break;
	case F_SORT: f->dump_flags |= JV_PRINT_SORTED; break;
	case F_COLOR: f->dump_flags |= JV_PRINT_COLOR; break;
	case F_MONO: f->dump_flags &= ~JV_PRINT_COLOR; break;
	case F_ASCII: f->dump_flags |= JV_PRINT_ASCII; break;
	case F_SLURP: c->slurp = true; break;
	case F_NULL: c->null_input = true; break;
	case F_EXIT: c->exit_status = true; break;
	case F_TAB: f->dump_flags = (f->dump_flags & ~JV_PRINT_INDENT_FLAGS(7)) | JV_PRINT_TAB | JV_PRINT_PRETTY; break;
	case F_UNBUFFERED: break; /* the output is collected whole */
	}
}

static char **words_of(const char *s, size_t *n)
{
	char **w = NULL;
	*n = 0;
	while (*s) {
		size_t skip = strspn(s, " \t\n");
		s += skip;
		size_t len = strcspn(s, " \t\n");
		if (!len)
			break;
		w = xrealloc(w, (*n + 1) * sizeof *w);
		w[(*n)++] = xstrndup(s, len);
		s += len;
	}
	return w;
}

static void append(char ***v, size_t *n, char *item)
{
	*v = xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = item;
}

static err_t *short_cluster(struct jqcli *c, const char *word)
{
	for (const char *p = word + 1; *p; p++) {
		size_t k = 0;
		while (k < sizeof flags / sizeof *flags && flags[k].letter != *p)
			k++;
		if (k == sizeof flags / sizeof *flags)
			return err_new(EXIT_USAGE, "jq option -%c (in '%s') is not supported by this task", *p, word);
		apply(c, flags[k].action);
	}
	return NULL;
}

static err_t *long_option(struct jqcli *c, char **w, size_t n, size_t *i)
{
	const char *name = w[*i] + 2;
	for (size_t k = 0; k < sizeof flags / sizeof *flags; k++)
		if (!strcmp(flags[k].name, name)) {
			apply(c, flags[k].action);
			return NULL;
		}
	bool arg = !strcmp(name, "arg"), argjson = !strcmp(name, "argjson");
	if (arg || argjson) {
		if (*i + 2 >= n)
			return err_new(EXIT_USAGE, "jq option --%s needs a name and a value", name);
		char *item = xasprintf("%s=%s", w[*i + 1], w[*i + 2]);
		if (arg)
			append(&c->args, &c->nargs, item);
		else
			append(&c->argjson, &c->nargjson, item);
		*i += 2;
		return NULL;
	}
	if (!strcmp(name, "indent")) {
		char *end = NULL;
		long v = *i + 1 < n ? strtol(w[*i + 1], &end, 10) : -2;
		if (!end || *end || v < -1 || v > 7)
			return err_new(EXIT_USAGE, "jq option --indent needs a number from -1 to 7");
		c->format.dump_flags = (c->format.dump_flags & ~INDENT_MASK) | JV_PRINT_INDENT_FLAGS(v);
		*i += 1;
		return NULL;
	}
	return err_new(EXIT_USAGE, "jq option --%s is not supported by this task", name);
}

err_t *jqcli_parse(const char *options, struct jqcli *out)
{
	memset(out, 0, sizeof *out);
	out->format = JQ_FORMAT_DEFAULT;
	size_t n = 0;
	char **w = words_of(options ? options : "", &n);
	err_t *e = NULL;
	for (size_t i = 0; i < n && !e; i++) {
		if (w[i][0] != '-' || !w[i][1])
			e = err_new(EXIT_USAGE, "jq options: '%s' is not an option (the filter is its own param)", w[i]);
		else if (w[i][1] == '-')
			e = long_option(out, w, n, &i);
		else
			e = short_cluster(out, w[i]);
	}
	for (size_t i = 0; i < n; i++)
		free(w[i]);
	free(w);
	if (e)
		jqcli_release(out);
	return e;
}

void jqcli_release(struct jqcli *c)
{
	for (size_t i = 0; i < c->nargs; i++)
		free(c->args[i]);
	for (size_t i = 0; i < c->nargjson; i++)
		free(c->argjson[i]);
	free(c->args);
	free(c->argjson);
	c->args = c->argjson = NULL;
	c->nargs = c->nargjson = 0;
}

/* '$' followed by what the shell expands: a name, a digit, a special
 * parameter, '{' or '(' */
static bool starts_expansion(const char *p)
{
	char c = p[1];
	return c == '{' || c == '(' || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("@*#?-$!", c));
}

err_t *jqcli_shell_dquoted(const char *param, const char *text, char **out)
{
	struct strbuf sb = STRBUF_INIT;
	for (const char *p = text; *p; p++) {
		const char *why = NULL;
		if (*p == '\\' && p[1] && strchr("\"\\$`\n", p[1])) {
			if (p[1] != '\n')
				sb_addc(&sb, p[1]);
			p++;
			continue;
		}
		if (*p == '"')
			why = "an unescaped '\"' (write \\\")";
		else if (*p == '`')
			why = "an unescaped '`' (command substitution)";
		else if (*p == '$' && starts_expansion(p))
			why = "an unescaped '$' starting a shell expansion";
		if (why) {
			sb_release(&sb);
			return err_new(EXIT_USAGE,
				       "param %s holds %s at offset %zu: the catalog Task's shell step would change it",
				       param, why, (size_t)(p - text));
		}
		sb_addc(&sb, *p);
	}
	*out = sb_detach(&sb);
	return NULL;
}

err_t *jqcli_shell_squoted(const char *param, const char *text)
{
	const char *q = strchr(text, '\'');
	if (q)
		return err_new(EXIT_USAGE,
			       "param %s holds a single quote at offset %zu: the catalog Task's shell step quotes it "
			       "with single quotes, which would end there",
			       param, (size_t)(q - text));
	return NULL;
}
