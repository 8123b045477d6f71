/* The JSON values a jq program reads (zero or more, whitespace separated):
 * from a file or stdin through libjq's own input reader (so `input`,
 * `inputs`, `input_filename` and `input_line_number` behave as in jq, and
 * memory holds one value, never the whole input), or from inline text. */
#ifndef COMMON_JSON_STREAM_H
#define COMMON_JSON_STREAM_H

#include <jq.h>
#include <stddef.h>

#include "error.h"

struct json_stream;

/* path "-" is stdin. The file must already be known to be readable. */
struct json_stream *json_stream_from_path(const char *path, const char *name);
/* data must outlive the stream. */
struct json_stream *json_stream_from_buffer(const char *data, size_t len, const char *name);
void json_stream_free(struct json_stream *s);

/* jq -s: the stream yields one array of all its values (call before
 * the first read). */
void json_stream_set_slurp(struct json_stream *s);

/* Let the program pull inputs (input/inputs) from this stream. */
void json_stream_attach(struct json_stream *s, jq_state *jq);

/* Next value into *out; *out is jv_invalid() at the end of the stream.
 * Malformed input is an EXIT_USAGE error with line and column. */
err_t *json_stream_next(struct json_stream *s, jv *out);
/* "name" or "name:line" for messages about the current value. */
char *json_stream_position(struct json_stream *s, jq_state *jq);

#endif
