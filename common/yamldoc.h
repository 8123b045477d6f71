/* YAML documents as trees (libyaml underneath): a stream of one or more
 * documents ("---"), each a tree of scalars, sequences and mappings that
 * keeps the 1-based line and column of every node, so checks can point at
 * "file:line". Aliases point at their anchored node (never copied, so an
 * alias bomb costs nothing); the getters follow them. Used by cis-check,
 * docker-lint's config and deploy. */
#ifndef COMMON_YAMLDOC_H
#define COMMON_YAMLDOC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "strbuf.h"

enum ydoc_kind { YDOC_SCALAR, YDOC_SEQ, YDOC_MAP, YDOC_ALIAS };

struct ydoc_node {
	enum ydoc_kind kind;
	int line, col;
	char *tag;   /* explicit tag or NULL */
	char *value; /* SCALAR: the text (NUL-terminated; len bytes) */
	size_t len;
	bool quoted; /* SCALAR written in quotes or as a block: always a string */
	/* SEQ: items; MAP: keys and values alternate (items[2i], items[2i+1]) */
	struct ydoc_node **items;
	size_t n;
	const struct ydoc_node *target; /* ALIAS */
};

struct ydoc {
	struct ydoc_node **docs; /* each document's root (NULL for an empty document) */
	size_t ndocs;
};

/* Parse text; errors are EXIT_USAGE "name:line:col: message". */
err_t *ydoc_parse(const char *text, size_t len, const char *name, struct ydoc **out);
void ydoc_free(struct ydoc *y);

/* Follow an alias (NULL stays NULL). */
const struct ydoc_node *ydoc_deref(const struct ydoc_node *n);
/* Mapping member by key (a plain or quoted scalar key), or NULL. */
const struct ydoc_node *ydoc_get(const struct ydoc_node *map, const char *key);
/* Number of items of a sequence, or pairs of a mapping; 0 otherwise. */
size_t ydoc_count(const struct ydoc_node *n);
const struct ydoc_node *ydoc_item(const struct ydoc_node *seq, size_t i);
const struct ydoc_node *ydoc_key(const struct ydoc_node *map, size_t i);
const struct ydoc_node *ydoc_value(const struct ydoc_node *map, size_t i);
/* Scalar text, or NULL for a non-scalar or a null (~, null, empty plain). */
const char *ydoc_str(const struct ydoc_node *n);
bool ydoc_is_null(const struct ydoc_node *n);
bool ydoc_is_map(const struct ydoc_node *n);
bool ydoc_is_seq(const struct ydoc_node *n);
/* YAML 1.1/1.2 booleans (true/false/yes/no/on/off, any case) in a plain
 * scalar; false when n is not one. */
bool ydoc_bool(const struct ydoc_node *n, bool *out);
/* A plain scalar integer (decimal); false when n is not one. */
bool ydoc_int(const struct ydoc_node *n, long long *out);
/* ydoc_get through a dotted path of keys: "spec.template.spec". */
const struct ydoc_node *ydoc_path(const struct ydoc_node *root, const char *dotted);

/* The JSON value of a node, as Kubernetes' YAML reader (YAML 1.1 via
 * sigs.k8s.io/yaml) types plain scalars: null, booleans (ydoc_bool),
 * decimal integers, decimal floats, the rest strings; quoted scalars are strings. Keys are strings; merge keys
 * ("<<") are applied; a duplicate key is an error, as is output that an
 * alias makes grow past a bound. Errors are EXIT_USAGE "name:line:col:
 * message". */
err_t *ydoc_to_json(const struct ydoc_node *n, const char *name, json_t **out);

/* Append doc as one YAML document ("---" first) to out: block style,
 * keys in the object's order, multi-line strings as literal blocks, and a
 * string that a plain scalar would not read back as that string (a
 * number, boolean, null, ...: see ydoc_to_json) quoted, so ydoc_to_json
 * of the result is doc again. */
void ydoc_emit_json(const json_t *doc, struct strbuf *out);

#endif
