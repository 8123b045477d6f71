/* Tekton variable substitution (see subst.h). */
#include "subst.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "xalloc.h"

struct var {
	char *key;
	struct tk_value value;
};

struct subst {
	char *file;
	struct var *vars;
	size_t n, cap;
	char **roots;
	size_t nroots;
};

enum selector { SEL_NONE, SEL_STAR, SEL_INDEX, SEL_KEY };

struct ref {
	char *key; /* "params.x", "workspaces.w.path" */
	enum selector sel;
	size_t index;
	char *member; /* SEL_KEY */
};

struct subst *subst_new(const char *file)
{
	struct subst *s = xcalloc(1, sizeof *s);
	s->file = xstrdup(file);
	static const char *const roots[] = { "params", "workspaces", "results", "context" };
	for (size_t i = 0; i < sizeof roots / sizeof *roots; i++)
		subst_root(s, roots[i]);
	return s;
}

void subst_free(struct subst *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->vars[i].key);
		tk_value_free(&s->vars[i].value);
	}
	for (size_t i = 0; i < s->nroots; i++)
		free(s->roots[i]);
	free(s->roots);
	free(s->vars);
	free(s->file);
	free(s);
}

void subst_root(struct subst *s, const char *root)
{
	s->roots = xrealloc(s->roots, (s->nroots + 1) * sizeof *s->roots);
	s->roots[s->nroots++] = xstrdup(root);
}

static struct var *find(const struct subst *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->vars[i].key, key))
			return &s->vars[i];
	return NULL;
}

void subst_set(struct subst *s, const char *key, const struct tk_value *value)
{
	struct var *v = find(s, key);
	if (v) {
		tk_value_free(&v->value);
	} else {
		if (s->n == s->cap) {
			s->cap = s->cap ? 2 * s->cap : 16;
			s->vars = xrealloc(s->vars, s->cap * sizeof *s->vars);
		}
		v = &s->vars[s->n++];
		v->key = xstrdup(key);
	}
	tk_value_copy(&v->value, value);
}

void subst_set_str(struct subst *s, const char *key, const char *value)
{
	struct tk_value v = { .type = TK_STRING, .str = (char *)value };
	subst_set(s, key, &v);
}

static void ref_free(struct ref *r)
{
	free(r->key);
	free(r->member);
	r->key = r->member = NULL;
}

static bool known_root(const struct subst *s, const char *expr, size_t len)
{
	for (size_t i = 0; i < s->nroots; i++) {
		size_t rl = strlen(s->roots[i]);
		if (len > rl && !strncmp(expr, s->roots[i], rl) && (expr[rl] == '.' || expr[rl] == '['))
			return true;
	}
	return false;
}

/* The selector after a param name: "", "[*]", "[N]" or ".key". */
static bool parse_selector(const char *p, const char *end, struct ref *r)
{
	if (p == end)
		return true;
	if (end - p == 3 && !strncmp(p, "[*]", 3)) {
		r->sel = SEL_STAR;
		return true;
	}
	if (*p == '[' && end[-1] == ']' && end - p > 2) {
		size_t v = 0;
		for (const char *q = p + 1; q < end - 1; q++) {
			if (!isdigit((unsigned char)*q) || v > 1000000)
				return false;
			v = v * 10 + (size_t)(*q - '0');
		}
		r->sel = SEL_INDEX;
		r->index = v;
		return true;
	}
	if (*p == '.' && end - p > 1) {
		r->sel = SEL_KEY;
		r->member = xstrndup(p + 1, (size_t)(end - p - 1));
		return true;
	}
	return false;
}

/* expr is the text between "$(" and ")". */
static bool parse_ref(const char *expr, size_t len, struct ref *r)
{
	const char *end = expr + len;
	memset(r, 0, sizeof *r);
	if (len > 7 && !strncmp(expr, "params", 6) && (expr[6] == '.' || expr[6] == '[')) {
		const char *p = expr + 6, *name, *name_end;
		if (*p == '.') {
			name = ++p;
			while (p < end && (isalnum((unsigned char)*p) || *p == '_' || *p == '-'))
				p++;
			name_end = p;
		} else {
			/* params["a.b"] or params['a.b'] */
			if (end - p < 4 || (p[1] != '"' && p[1] != '\''))
				return false;
			char q = p[1];
			name = p + 2;
			name_end = memchr(name, q, (size_t)(end - name));
			if (!name_end || name_end + 1 >= end || name_end[1] != ']')
				return false;
			p = name_end + 2;
		}
		if (name_end == name)
			return false;
		r->key = xasprintf("params.%.*s", (int)(name_end - name), name);
		if (!parse_selector(p, end, r)) {
			ref_free(r);
			return false;
		}
		return true;
	}
	for (const char *p = expr; p < end; p++)
		if (!(isalnum((unsigned char)*p) || strchr("._-[]*", *p)))
			return false;
	r->key = xstrndup(expr, len);
	/* $(results.r.path) has an array form too, never a selector */
	return true;
}

/* A Pipeline's $(tasks.t.results.r[*]), [N] or .key: the selector is the
 * end of a key that names no variable itself. */
static const struct var *split_selector(const struct subst *s, struct ref *r)
{
	char *key = r->key, *cut = strrchr(key, '[');
	if (!cut || cut == key)
		cut = strrchr(key, '.');
	if (!cut || cut == key)
		return NULL;
	char *base = xstrndup(key, (size_t)(cut - key));
	const struct var *v = find(s, base);
	struct ref t = { .key = base };
	if (!v || !parse_selector(cut, key + strlen(key), &t)) {
		free(t.member);
		free(base);
		return NULL;
	}
	free(r->key);
	r->key = base;
	r->sel = t.sel;
	r->index = t.index;
	r->member = t.member;
	return v;
}

static err_t *ref_error(const struct subst *s, int line, const char *expr, size_t len, const char *why)
{
	return err_new(EXIT_USAGE, "%s:%d: $(%.*s): %s", s->file, line, (int)len, expr, why);
}

/* Resolve a reference to a variable; *v is NULL only on error. */
static err_t *lookup(const struct subst *s, int line, const char *expr, size_t len, struct ref *r,
		     const struct tk_value **v)
{
	*v = NULL;
	if (!parse_ref(expr, len, r))
		return ref_error(s, line, expr, len, "malformed variable reference (Tekton)");
	const struct var *var = find(s, r->key);
	if (!var && r->sel == SEL_NONE && strncmp(r->key, "params.", 7))
		var = split_selector(s, r);
	if (!var) {
		const char *why = !strncmp(r->key, "params.", 7)	 ? "no such param is declared (Tekton: non-existent variable)"
				  : !strncmp(r->key, "workspaces.", 11) ? "no such workspace is declared, or the field is not path, bound, claim or volume (Tekton)"
				  : !strncmp(r->key, "results.", 8)	 ? "no such result is declared, or the field is not path (Tekton)"
									 : "not a variable Tekton provides here";
		return ref_error(s, line, expr, len, why);
	}
	*v = &var->value;
	return NULL;
}

/* A single value for string context. */
static err_t *scalar_of(const struct subst *s, int line, const char *expr, size_t len, const struct ref *r,
			const struct tk_value *v, const char **out)
{
	switch (v->type) {
	case TK_STRING:
		if (r->sel != SEL_NONE)
			return ref_error(s, line, expr, len, "a string param takes no index, [*] or key");
		*out = v->str;
		return NULL;
	case TK_ARRAY:
		if (r->sel == SEL_INDEX) {
			if (r->index >= v->n)
				return ref_error(s, line, expr, len, "index out of the array's bounds (Tekton)");
			*out = v->items[r->index];
			return NULL;
		}
		return ref_error(s, line, expr, len,
				 "an array is substituted only as a whole item of command or args ($(params.x[*])) "
				 "or by index (Tekton)");
	case TK_OBJECT:
		if (r->sel == SEL_KEY)
			for (size_t i = 0; i < v->n; i++)
				if (!strcmp(v->keys[i], r->member)) {
					*out = v->items[i];
					return NULL;
				}
		return ref_error(s, line, expr, len,
				 r->sel == SEL_KEY ? "the object has no such key" : "an object is substituted by key: $(params.x.key) (Tekton)");
	}
	return NULL;
}

err_t *subst_string(const struct subst *s, const char *in, int line, char **out)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p = in;
	*out = NULL;
	for (;;) {
		const char *d = strstr(p, "$(");
		if (!d) {
			sb_adds(&sb, p);
			break;
		}
		sb_add(&sb, p, (size_t)(d - p));
		const char *expr = d + 2, *close = strchr(expr, ')');
		if (!close || !known_root(s, expr, (size_t)(close - expr))) {
			sb_add(&sb, "$(", 2);
			p = expr;
			continue;
		}
		size_t len = (size_t)(close - expr);
		struct ref r;
		const struct tk_value *v;
		const char *text = NULL;
		err_t *e = lookup(s, line, expr, len, &r, &v);
		if (!e)
			e = scalar_of(s, line, expr, len, &r, v, &text);
		ref_free(&r);
		if (e) {
			sb_release(&sb);
			return e;
		}
		sb_adds(&sb, text);
		p = close + 1;
	}
	*out = sb_detach(&sb);
	return NULL;
}

/* An item that is exactly one "$(...[*])" reference to an array. */
static err_t *spread_item(const struct subst *s, const char *in, int line, const struct tk_value **arr)
{
	size_t len = strlen(in);
	*arr = NULL;
	if (len < 7 || strncmp(in, "$(", 2) || strcmp(in + len - 4, "[*])") || strchr(in + 2, ')') != in + len - 1)
		return NULL;
	const char *expr = in + 2;
	size_t elen = len - 3;
	if (!known_root(s, expr, elen))
		return NULL;
	struct ref r;
	const struct tk_value *v;
	err_t *e = lookup(s, line, expr, elen, &r, &v);
	if (!e && v->type != TK_ARRAY)
		e = ref_error(s, line, expr, elen, "[*] applies to array params only (Tekton)");
	ref_free(&r);
	if (!e)
		*arr = v;
	return e;
}

err_t *subst_list(const struct subst *s, char *const *in, const int *lines, size_t n, char ***out, size_t *nout)
{
	size_t cap = n + 1, k = 0;
	char **v = xcalloc(cap, sizeof *v);
	err_t *e = NULL;
	for (size_t i = 0; i < n && !e; i++) {
		const struct tk_value *arr = NULL;
		e = spread_item(s, in[i], lines ? lines[i] : 0, &arr);
		if (e)
			break;
		if (arr) {
			cap += arr->n;
			v = xrealloc(v, cap * sizeof *v);
			for (size_t j = 0; j < arr->n; j++)
				v[k++] = xstrdup(arr->items[j]);
			continue;
		}
		e = subst_string(s, in[i], lines ? lines[i] : 0, &v[k]);
		if (!e)
			k++;
	}
	v[k] = NULL;
	if (e) {
		for (size_t i = 0; i < k; i++)
			free(v[i]);
		free(v);
		return e;
	}
	*out = v;
	*nout = k;
	return NULL;
}

err_t *subst_value(const struct subst *s, const struct tk_value *in, int line, struct tk_value *out)
{
	memset(out, 0, sizeof *out);
	out->type = in->type;
	if (in->type == TK_ARRAY)
		return subst_list(s, in->items, NULL, in->n, &out->items, &out->n);
	if (in->type == TK_OBJECT) {
		out->keys = xcalloc(in->n + 1, sizeof *out->keys);
		out->items = xcalloc(in->n + 1, sizeof *out->items);
		for (; out->n < in->n; out->n++) {
			out->keys[out->n] = xstrdup(in->keys[out->n]);
			err_t *e = subst_string(s, in->items[out->n], line, &out->items[out->n]);
			if (e) {
				out->items[out->n] = xstrdup("");
				out->n++;
				tk_value_free(out);
				return e;
			}
		}
		return NULL;
	}
	/* a whole "$(x[*])": the array or object itself (Tekton passes
	 * array and object params and results this way) */
	size_t len = strlen(in->str);
	if (len > 7 && !strncmp(in->str, "$(", 2) && !strcmp(in->str + len - 4, "[*])") &&
	    strchr(in->str + 2, ')') == in->str + len - 1 && known_root(s, in->str + 2, len - 3)) {
		const char *expr = in->str + 2;
		struct ref r;
		const struct tk_value *v;
		err_t *e = lookup(s, line, expr, len - 3, &r, &v);
		if (!e && v->type == TK_STRING)
			e = ref_error(s, line, expr, len - 3, "[*] applies to arrays and objects only (Tekton)");
		ref_free(&r);
		if (e)
			return e;
		tk_value_copy(out, v);
		return NULL;
	}
	return subst_string(s, in->str, line, &out->str);
}
