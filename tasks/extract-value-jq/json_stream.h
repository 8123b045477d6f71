/* A stream of JSON values (zero or more, whitespace separated, as jq reads
 * them) from a file descriptor or a memory buffer, parsed by libjq's parser
 * in fixed-size chunks: memory holds one value, never the whole input. */
#ifndef EXTRACT_JSON_STREAM_H
#define EXTRACT_JSON_STREAM_H

#include <jv.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct json_stream;

/* Streams take a name for messages ("<stdin>", a path, "param json"). */
struct json_stream *json_stream_from_fd(int fd, const char *name);
struct json_stream *json_stream_from_buffer(const char *data, size_t len, const char *name);
void json_stream_free(struct json_stream *s);

/* Next value into *out; *out is jv_invalid() at the end of the stream.
 * Malformed input is an EXIT_USAGE error with line and column. */
err_t *json_stream_next(struct json_stream *s, jv *out);
const char *json_stream_name(const struct json_stream *s);

#endif
