/* jansson helpers: parsing with located errors, typed field access, and the
 * canonical form signatures are computed over. */
#ifndef COMMON_JSONUTIL_H
#define COMMON_JSONUTIL_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"
#include "strbuf.h"

/* Parse one JSON document; errors are EXIT_USAGE and say
 * "<what>: invalid JSON at line L, column C: <reason>". */
err_t *json_parse(const char *text, size_t len, const char *what, json_t **out);
err_t *json_parse_file(const char *path, size_t max, json_t **out);

/* Required members of an object, with errors naming the path ("what.key"). */
err_t *json_get_string(const json_t *obj, const char *key, const char *what, const char **out);
err_t *json_get_object(const json_t *obj, const char *key, const char *what, json_t **out);
err_t *json_get_array(const json_t *obj, const char *key, const char *what, json_t **out);
err_t *json_get_int(const json_t *obj, const char *key, const char *what, json_int_t *out);

/* Canonical JSON, as Go's encoding/json writes it with sorted keys (the form
 * Notary/TUF signs): no whitespace, object keys in byte order, integers only,
 * strings UTF-8 with '"', '\\', control characters, '<', '>', '&', U+2028
 * and U+2029 escaped. Reals are refused (EXIT_USAGE): they have no single
 * canonical spelling. */
err_t *json_canonical(const json_t *value, struct strbuf *out);

#endif
