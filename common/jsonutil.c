#include "jsonutil.h"

#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "xalloc.h"

err_t *json_parse(const char *text, size_t len, const char *what, json_t **out)
{
	json_error_t jerr;
	json_t *v = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!v)
		return err_new(EXIT_USAGE, "%s: invalid JSON at line %d, column %d: %s", what, jerr.line, jerr.column,
			       jerr.text);
	*out = v;
	return NULL;
}

err_t *json_parse_file(const char *path, size_t max, json_t **out)
{
	struct strbuf sb = STRBUF_INIT;
	err_t *e = fs_read_file(path, max, &sb);
	if (!e)
		e = json_parse(sb_str(&sb), sb.len, path, out);
	sb_release(&sb);
	return e;
}

static err_t *get_member(const json_t *obj, const char *key, const char *what, json_type type, const char *type_name,
			 json_t **out)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	if (!v)
		return err_new(EXIT_USAGE, "%s.%s: missing", what, key);
	if (json_typeof(v) != type)
		return err_new(EXIT_USAGE, "%s.%s: expected %s", what, key, type_name);
	*out = v;
	return NULL;
}

err_t *json_get_string(const json_t *obj, const char *key, const char *what, const char **out)
{
	json_t *v = NULL;
	TRY(get_member(obj, key, what, JSON_STRING, "a string", &v));
	*out = json_string_value(v);
	return NULL;
}

err_t *json_get_object(const json_t *obj, const char *key, const char *what, json_t **out)
{
	return get_member(obj, key, what, JSON_OBJECT, "an object", out);
}

err_t *json_get_array(const json_t *obj, const char *key, const char *what, json_t **out)
{
	return get_member(obj, key, what, JSON_ARRAY, "an array", out);
}

err_t *json_get_int(const json_t *obj, const char *key, const char *what, json_int_t *out)
{
	json_t *v = NULL;
	TRY(get_member(obj, key, what, JSON_INTEGER, "an integer", &v));
	*out = json_integer_value(v);
	return NULL;
}

static void canonical_string(const char *s, size_t len, struct strbuf *out)
{
	static const char hex[] = "0123456789abcdef";
	sb_addc(out, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			sb_addc(out, '\\');
			sb_addc(out, (char)c);
		} else if (c == '\n') {
			sb_adds(out, "\\n");
		} else if (c == '\r') {
			sb_adds(out, "\\r");
		} else if (c == '\t') {
			sb_adds(out, "\\t");
		} else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
			sb_adds(out, "\\u00");
			sb_addc(out, hex[c >> 4]);
			sb_addc(out, hex[c & 15]);
		} else if (c == 0xe2 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
			   ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9)) {
			sb_adds(out, (unsigned char)s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029");
			i += 2;
		} else {
			sb_addc(out, (char)c);
		}
	}
	sb_addc(out, '"');
}

static int compare_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

err_t *json_canonical(const json_t *value, struct strbuf *out)
{
	switch (json_typeof(value)) {
	case JSON_NULL:
		sb_adds(out, "null");
		return NULL;
	case JSON_TRUE:
		sb_adds(out, "true");
		return NULL;
	case JSON_FALSE:
		sb_adds(out, "false");
		return NULL;
	case JSON_INTEGER:
		sb_addf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
		return NULL;
	case JSON_REAL:
		return err_new(EXIT_USAGE, "canonical JSON cannot hold the real number %g", json_real_value(value));
	case JSON_STRING:
		canonical_string(json_string_value(value), json_string_length(value), out);
		return NULL;
	case JSON_ARRAY: {
		sb_addc(out, '[');
		for (size_t i = 0; i < json_array_size(value); i++) {
			if (i)
				sb_addc(out, ',');
			TRY(json_canonical(json_array_get(value, i), out));
		}
		sb_addc(out, ']');
		return NULL;
	}
	case JSON_OBJECT: {
		size_t n = json_object_size(value);
		const char **keys = xcalloc(n + 1, sizeof *keys);
		size_t k = 0;
		const char *key;
		json_t *member;
		json_object_foreach((json_t *)value, key, member)
			keys[k++] = key;
		qsort(keys, n, sizeof *keys, compare_keys);
		sb_addc(out, '{');
		err_t *e = NULL;
		for (size_t i = 0; i < n && !e; i++) {
			if (i)
				sb_addc(out, ',');
			canonical_string(keys[i], strlen(keys[i]), out);
			sb_addc(out, ':');
			e = json_canonical(json_object_get(value, keys[i]), out);
		}
		free(keys);
		if (e)
			return e;
		sb_addc(out, '}');
		return NULL;
	}
	}
	return err_new(EXIT_USAGE, "canonical JSON: unknown value type");
}
