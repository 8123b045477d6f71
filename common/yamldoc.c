/* YAML stream -> trees with line numbers (see yamldoc.h). */
#include "yamldoc.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "xalloc.h"

/* Bounds on untrusted input: nesting depth and total node count. */
#define YDOC_MAX_DEPTH 256
#define YDOC_MAX_NODES 2000000

struct anchor {
	char *name;
	const struct ydoc_node *node;
};

struct builder {
	const char *name;
	struct ydoc_node *stack[YDOC_MAX_DEPTH + 1];
	char *stack_anchor[YDOC_MAX_DEPTH + 1];
	int depth;
	size_t nodes;
	struct anchor *anchors;
	size_t nanchors;
	struct ydoc_node *root;
};

static void node_free(struct ydoc_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		node_free(n->items[i]);
	free(n->items);
	free(n->tag);
	free(n->value);
	free(n);
}

void ydoc_free(struct ydoc *y)
{
	if (!y)
		return;
	for (size_t i = 0; i < y->ndocs; i++)
		node_free(y->docs[i]);
	free(y->docs);
	free(y);
}

static void anchors_clear(struct builder *b)
{
	for (size_t i = 0; i < b->nanchors; i++)
		free(b->anchors[i].name);
	free(b->anchors);
	b->anchors = NULL;
	b->nanchors = 0;
}

static void add_anchor(struct builder *b, const char *name, const struct ydoc_node *node)
{
	if (!name)
		return;
	b->anchors = xrealloc(b->anchors, (b->nanchors + 1) * sizeof *b->anchors);
	b->anchors[b->nanchors].name = xstrdup(name);
	b->anchors[b->nanchors].node = node;
	b->nanchors++;
}

static const struct ydoc_node *find_anchor(const struct builder *b, const char *name)
{
	/* the latest definition wins */
	for (size_t i = b->nanchors; i-- > 0;)
		if (!strcmp(b->anchors[i].name, name))
			return b->anchors[i].node;
	return NULL;
}

static struct ydoc_node *new_node(enum ydoc_kind kind, const yaml_mark_t *m, const yaml_char_t *tag)
{
	struct ydoc_node *n = xcalloc(1, sizeof *n);
	n->kind = kind;
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	n->tag = tag ? xstrdup((const char *)tag) : NULL;
	return n;
}

static void attach(struct builder *b, struct ydoc_node *n)
{
	if (b->depth == 0) {
		node_free(b->root);
		b->root = n;
		return;
	}
	struct ydoc_node *parent = b->stack[b->depth - 1];
	parent->items = xrealloc(parent->items, (parent->n + 1) * sizeof *parent->items);
	parent->items[parent->n++] = n;
}

static err_t *located(const struct builder *b, size_t line, size_t col, const char *what, const char *problem)
{
	return err_new(EXIT_USAGE, "%s:%zu:%zu: %s%s%s", b->name, line + 1, col + 1, what ? what : "",
		       what && problem ? ": " : "", problem ? problem : "");
}

static err_t *handle(struct builder *b, const yaml_event_t *ev, struct ydoc *y)
{
	if (++b->nodes > YDOC_MAX_NODES)
		return located(b, ev->start_mark.line, ev->start_mark.column, "too many YAML nodes", NULL);
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		b->root = NULL;
		anchors_clear(b);
		return NULL;
	case YAML_DOCUMENT_END_EVENT:
		y->docs = xrealloc(y->docs, (y->ndocs + 1) * sizeof *y->docs);
		y->docs[y->ndocs++] = b->root;
		b->root = NULL;
		return NULL;
	case YAML_SCALAR_EVENT: {
		struct ydoc_node *n = new_node(YDOC_SCALAR, &ev->start_mark, ev->data.scalar.tag);
		n->value = xstrndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
		n->len = ev->data.scalar.length;
		n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
		attach(b, n);
		add_anchor(b, (const char *)ev->data.scalar.anchor, n);
		return NULL;
	}
	case YAML_ALIAS_EVENT: {
		const struct ydoc_node *t = find_anchor(b, (const char *)ev->data.alias.anchor);
		if (!t)
			return located(b, ev->start_mark.line, ev->start_mark.column, "unknown or recursive alias",
				       (const char *)ev->data.alias.anchor);
		struct ydoc_node *n = new_node(YDOC_ALIAS, &ev->start_mark, NULL);
		n->target = t;
		attach(b, n);
		return NULL;
	}
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		if (b->depth >= YDOC_MAX_DEPTH)
			return located(b, ev->start_mark.line, ev->start_mark.column, "YAML nested too deeply", NULL);
		bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
		struct ydoc_node *n = new_node(seq ? YDOC_SEQ : YDOC_MAP, &ev->start_mark,
					       seq ? ev->data.sequence_start.tag : ev->data.mapping_start.tag);
		const yaml_char_t *anchor = seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor;
		attach(b, n);
		b->stack_anchor[b->depth] = anchor ? xstrdup((const char *)anchor) : NULL;
		b->stack[b->depth++] = n;
		return NULL;
	}
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (b->depth > 0) {
			b->depth--;
			/* registered only now: an alias inside its own anchor is refused */
			add_anchor(b, b->stack_anchor[b->depth], b->stack[b->depth]);
			free(b->stack_anchor[b->depth]);
			b->stack_anchor[b->depth] = NULL;
		}
		return NULL;
	default:
		return NULL;
	}
}

err_t *ydoc_parse(const char *text, size_t len, const char *name, struct ydoc **out)
{
	*out = NULL;
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser))
		return err_new(EXIT_FAILED, "cannot initialise the YAML parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	struct builder b = { .name = name ? name : "<yaml>" };
	struct ydoc *y = xcalloc(1, sizeof *y);
	err_t *e = NULL;
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&parser, &ev)) {
			const char *ctx = parser.context;
			char *what = ctx ? xasprintf("%s", ctx) : NULL;
			e = located(&b, parser.problem_mark.line, parser.problem_mark.column,
				    parser.problem ? parser.problem : "invalid YAML", what);
			free(what);
			break;
		}
		bool end = ev.type == YAML_STREAM_END_EVENT;
		e = handle(&b, &ev, y);
		yaml_event_delete(&ev);
		if (e || end)
			break;
	}
	yaml_parser_delete(&parser);
	/* nodes still open after an error belong to b.root's tree */
	for (int i = 0; i < b.depth; i++)
		free(b.stack_anchor[i]);
	node_free(b.root);
	anchors_clear(&b);
	if (e) {
		ydoc_free(y);
		return e;
	}
	*out = y;
	return NULL;
}

const struct ydoc_node *ydoc_deref(const struct ydoc_node *n)
{
	/* anchors are registered only once complete, so chains are finite */
	for (int i = 0; n && n->kind == YDOC_ALIAS && i < 64; i++)
		n = n->target;
	return n && n->kind == YDOC_ALIAS ? NULL : n;
}

const char *ydoc_str(const struct ydoc_node *n)
{
	n = ydoc_deref(n);
	if (!n || n->kind != YDOC_SCALAR || ydoc_is_null(n))
		return NULL;
	return n->value;
}

bool ydoc_is_null(const struct ydoc_node *n)
{
	n = ydoc_deref(n);
	if (!n)
		return true;
	if (n->kind != YDOC_SCALAR || n->quoted)
		return false;
	return !*n->value || !strcmp(n->value, "~") || !strcasecmp(n->value, "null");
}

bool ydoc_is_map(const struct ydoc_node *n)
{
	n = ydoc_deref(n);
	return n && n->kind == YDOC_MAP;
}

bool ydoc_is_seq(const struct ydoc_node *n)
{
	n = ydoc_deref(n);
	return n && n->kind == YDOC_SEQ;
}

const struct ydoc_node *ydoc_get(const struct ydoc_node *map, const char *key)
{
	map = ydoc_deref(map);
	if (!map || map->kind != YDOC_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const struct ydoc_node *k = ydoc_deref(map->items[i]);
		if (k && k->kind == YDOC_SCALAR && !strcmp(k->value, key))
			return ydoc_deref(map->items[i + 1]);
	}
	return NULL;
}

size_t ydoc_count(const struct ydoc_node *n)
{
	n = ydoc_deref(n);
	if (!n)
		return 0;
	if (n->kind == YDOC_SEQ)
		return n->n;
	if (n->kind == YDOC_MAP)
		return n->n / 2;
	return 0;
}

const struct ydoc_node *ydoc_item(const struct ydoc_node *seq, size_t i)
{
	seq = ydoc_deref(seq);
	return seq && seq->kind == YDOC_SEQ && i < seq->n ? ydoc_deref(seq->items[i]) : NULL;
}

const struct ydoc_node *ydoc_key(const struct ydoc_node *map, size_t i)
{
	map = ydoc_deref(map);
	return map && map->kind == YDOC_MAP && 2 * i + 1 < map->n ? ydoc_deref(map->items[2 * i]) : NULL;
}

const struct ydoc_node *ydoc_value(const struct ydoc_node *map, size_t i)
{
	map = ydoc_deref(map);
	return map && map->kind == YDOC_MAP && 2 * i + 1 < map->n ? ydoc_deref(map->items[2 * i + 1]) : NULL;
}

bool ydoc_bool(const struct ydoc_node *n, bool *out)
{
	n = ydoc_deref(n);
	if (!n || n->kind != YDOC_SCALAR || n->quoted)
		return false;
	static const char *const yes[] = { "true", "yes", "on", "y" };
	static const char *const no[] = { "false", "no", "off", "n" };
	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(n->value, yes[i])) {
			*out = true;
			return true;
		}
		if (!strcasecmp(n->value, no[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

bool ydoc_int(const struct ydoc_node *n, long long *out)
{
	n = ydoc_deref(n);
	if (!n || n->kind != YDOC_SCALAR || n->quoted || !*n->value)
		return false;
	char *end = NULL;
	errno = 0;
	long long v = strtoll(n->value, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

const struct ydoc_node *ydoc_path(const struct ydoc_node *root, const char *dotted)
{
	const struct ydoc_node *n = ydoc_deref(root);
	const char *p = dotted;
	while (n && *p) {
		const char *dot = strchr(p, '.');
		size_t klen = dot ? (size_t)(dot - p) : strlen(p);
		char *key = xstrndup(p, klen);
		n = ydoc_get(n, key);
		free(key);
		p = dot ? dot + 1 : p + klen;
	}
	return n;
}

/* ---- YAML -> JSON --------------------------------------------------- */

/* Output nodes one conversion may make: an alias repeats its target, so a
 * "billion laughs" document would otherwise grow without bound. */
#define YDOC_MAX_JSON_NODES 1000000

struct to_json {
	const char *name;
	size_t nodes;
};

static err_t *json_err(const struct to_json *c, const struct ydoc_node *n, const char *what)
{
	return err_new(EXIT_USAGE, "%s:%d:%d: %s", c->name, n->line, n->col, what);
}

static bool plain_float(const char *s)
{
	/* YAML 1.1's float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
	const char *p = s + (*s == '-' || *s == '+');
	size_t digits = 0;
	while (isdigit((unsigned char)*p))
		p++, digits++;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			digits++;
	if (!digits)
		return false;
	if (*p == 'e' || *p == 'E') {
		p++;
		p += *p == '-' || *p == '+';
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return !*p;
}

static json_t *scalar_json(const struct ydoc_node *n)
{
	if (n->quoted)
		return json_stringn(n->value, n->len);
	bool b;
	long long i;
	if (ydoc_is_null(n))
		return json_null();
	if (ydoc_bool(n, &b))
		return json_boolean(b);
	if (ydoc_int(n, &i))
		return json_integer(i);
	if (plain_float(n->value))
		return json_real(strtod(n->value, NULL));
	return json_stringn(n->value, n->len);
}

static err_t *to_json(struct to_json *c, const struct ydoc_node *n, int depth, json_t **out);

static bool is_merge_key(const struct ydoc_node *k)
{
	return k->kind == YDOC_SCALAR && !k->quoted && !strcmp(k->value, "<<");
}

/* Members of a merged mapping that the mapping does not set itself. */
static err_t *merge_into(struct to_json *c, const struct ydoc_node *v, int depth, json_t *obj)
{
	if (v->kind == YDOC_SEQ) {
		for (size_t i = 0; i < v->n; i++) {
			const struct ydoc_node *m = ydoc_deref(v->items[i]);
			if (!m || m->kind != YDOC_MAP)
				return json_err(c, v, "a merge (<<) takes a mapping or a list of mappings");
			TRY(merge_into(c, m, depth, obj));
		}
		return NULL;
	}
	if (v->kind != YDOC_MAP)
		return json_err(c, v, "a merge (<<) takes a mapping or a list of mappings");
	json_t *m = NULL;
	TRY(to_json(c, v, depth + 1, &m));
	const char *k;
	json_t *val;
	json_object_foreach(m, k, val)
		if (!json_object_get(obj, k))
			json_object_set(obj, k, val);
	json_decref(m);
	return NULL;
}

static err_t *map_json(struct to_json *c, const struct ydoc_node *n, int depth, json_t **out)
{
	json_t *obj = json_object();
	err_t *e = NULL;
	for (size_t i = 0; !e && i + 1 < n->n; i += 2) {
		const struct ydoc_node *k = ydoc_deref(n->items[i]);
		if (!k || is_merge_key(k))
			continue;
		if (k->kind != YDOC_SCALAR) {
			e = json_err(c, k, "a mapping key must be a scalar");
			break;
		}
		if (json_object_getn(obj, k->value, k->len)) {
			e = err_new(EXIT_USAGE, "%s:%d:%d: key \"%s\" already defined", c->name, k->line, k->col,
				    k->value);
			break;
		}
		json_t *v = NULL;
		e = to_json(c, n->items[i + 1], depth + 1, &v);
		if (!e)
			json_object_setn_new(obj, k->value, k->len, v);
	}
	for (size_t i = 0; !e && i + 1 < n->n; i += 2) {
		const struct ydoc_node *k = ydoc_deref(n->items[i]);
		const struct ydoc_node *v = ydoc_deref(n->items[i + 1]);
		if (k && is_merge_key(k) && v)
			e = merge_into(c, v, depth, obj);
	}
	if (e) {
		json_decref(obj);
		return e;
	}
	*out = obj;
	return NULL;
}

static err_t *to_json(struct to_json *c, const struct ydoc_node *n, int depth, json_t **out)
{
	const struct ydoc_node *d = ydoc_deref(n);
	if (!d) {
		*out = json_null();
		return NULL;
	}
	if (++c->nodes > YDOC_MAX_JSON_NODES)
		return json_err(c, n, "aliases expand this document past a million nodes");
	if (depth > YDOC_MAX_DEPTH)
		return json_err(c, n, "nested too deeply");
	if (d->kind == YDOC_SCALAR) {
		*out = scalar_json(d);
		return NULL;
	}
	if (d->kind == YDOC_MAP)
		return map_json(c, d, depth, out);
	json_t *arr = json_array();
	for (size_t i = 0; i < d->n; i++) {
		json_t *v = NULL;
		err_t *e = to_json(c, d->items[i], depth + 1, &v);
		if (e) {
			json_decref(arr);
			return e;
		}
		json_array_append_new(arr, v);
	}
	*out = arr;
	return NULL;
}

err_t *ydoc_to_json(const struct ydoc_node *n, const char *name, json_t **out)
{
	struct to_json c = { name, 0 };
	*out = NULL;
	return to_json(&c, n, 0, out);
}

/* ---- JSON -> YAML --------------------------------------------------- */

static int emit_write(void *data, unsigned char *buffer, size_t size)
{
	sb_add(data, (const char *)buffer, size);
	return 1;
}

/* would this string, written plain, read back as something else? */
static bool needs_quotes(const char *s, size_t len)
{
	if (!len || strchr("0123456789+-.", s[0]))
		return true;
	struct ydoc_node n = { .kind = YDOC_SCALAR, .value = (char *)s, .len = len };
	json_t *v = scalar_json(&n);
	bool other = !json_is_string(v);
	json_decref(v);
	return other;
}

static void emit_scalar(yaml_emitter_t *em, const char *text, size_t len, bool plain_ok, yaml_scalar_style_t style)
{
	yaml_event_t ev;
	yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)len, plain_ok, 1, style);
	yaml_emitter_emit(em, &ev);
}

static void emit_value(yaml_emitter_t *em, const json_t *v)
{
	yaml_event_t ev;
	char num[64];
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *k;
		const json_t *x;
		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
		yaml_emitter_emit(em, &ev);
		json_object_foreach((json_t *)v, k, x) {
			emit_scalar(em, k, strlen(k), !needs_quotes(k, strlen(k)), YAML_ANY_SCALAR_STYLE);
			emit_value(em, x);
		}
		yaml_mapping_end_event_initialize(&ev);
		yaml_emitter_emit(em, &ev);
		break;
	}
	case JSON_ARRAY:
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
		yaml_emitter_emit(em, &ev);
		for (size_t i = 0; i < json_array_size(v); i++)
			emit_value(em, json_array_get(v, i));
		yaml_sequence_end_event_initialize(&ev);
		yaml_emitter_emit(em, &ev);
		break;
	case JSON_STRING: {
		const char *s = json_string_value(v);
		size_t len = json_string_length(v);
		bool multi = memchr(s, '\n', len) != NULL;
		emit_scalar(em, s, len, !multi && !needs_quotes(s, len),
			    multi ? YAML_LITERAL_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE);
		break;
	}
	case JSON_INTEGER:
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		emit_scalar(em, num, strlen(num), true, YAML_PLAIN_SCALAR_STYLE);
		break;
	case JSON_REAL:
		snprintf(num, sizeof num, "%.17g", json_real_value(v));
		emit_scalar(em, num, strlen(num), true, YAML_PLAIN_SCALAR_STYLE);
		break;
	case JSON_TRUE:
		emit_scalar(em, "true", 4, true, YAML_PLAIN_SCALAR_STYLE);
		break;
	case JSON_FALSE:
		emit_scalar(em, "false", 5, true, YAML_PLAIN_SCALAR_STYLE);
		break;
	case JSON_NULL:
		emit_scalar(em, "null", 4, true, YAML_PLAIN_SCALAR_STYLE);
		break;
	}
}

void ydoc_emit_json(const json_t *doc, struct strbuf *out)
{
	yaml_emitter_t em;
	yaml_event_t ev;
	yaml_emitter_initialize(&em);
	yaml_emitter_set_output(&em, emit_write, out);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, -1);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	yaml_emitter_emit(&em, &ev);
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 0);
	yaml_emitter_emit(&em, &ev);
	emit_value(&em, doc);
	yaml_document_end_event_initialize(&ev, 1);
	yaml_emitter_emit(&em, &ev);
	yaml_stream_end_event_initialize(&ev);
	yaml_emitter_emit(&em, &ev);
	yaml_emitter_delete(&em);
}
