#include "json_stream.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "xalloc.h"

#define CHUNK_SIZE (64 * 1024)

struct json_stream {
	jv_parser *parser;
	int fd;              /* -1 for a buffer */
	const char *name;
	bool fed_last;       /* the parser has been told no more input follows */
	char chunk[];        /* CHUNK_SIZE bytes for fd streams */
};

struct json_stream *json_stream_from_fd(int fd, const char *name)
{
	struct json_stream *s = xcalloc(1, sizeof *s + CHUNK_SIZE);
	s->parser = jv_parser_new(0);
	s->fd = fd;
	s->name = name;
	return s;
}

struct json_stream *json_stream_from_buffer(const char *data, size_t len, const char *name)
{
	struct json_stream *s = xcalloc(1, sizeof *s);
	s->parser = jv_parser_new(0);
	s->fd = -1;
	s->name = name;
	jv_parser_set_buf(s->parser, data, (int)len, 0);
	s->fed_last = true;
	return s;
}

void json_stream_free(struct json_stream *s)
{
	if (!s)
		return;
	jv_parser_free(s->parser);
	free(s);
}

const char *json_stream_name(const struct json_stream *s)
{
	return s->name;
}

/* Hand the parser the next chunk; the previous one has been consumed. */
static err_t *feed(struct json_stream *s)
{
	ssize_t n;
	do
		n = read(s->fd, s->chunk, CHUNK_SIZE);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return err_errno(EXIT_FAILED, "cannot read %s", s->name);
	s->fed_last = n == 0;
	jv_parser_set_buf(s->parser, s->chunk, (int)n, !s->fed_last);
	return NULL;
}

err_t *json_stream_next(struct json_stream *s, jv *out)
{
	for (;;) {
		jv v = jv_parser_next(s->parser);
		if (jv_is_valid(v)) {
			*out = v;
			return NULL;
		}
		if (jv_invalid_has_msg(jv_copy(v))) {
			jv msg = jv_invalid_get_msg(v);
			err_t *e = err_new(EXIT_USAGE, "invalid JSON in %s: %s", s->name, jv_string_value(msg));
			jv_free(msg);
			*out = jv_invalid();
			return e;
		}
		jv_free(v);
		if (s->fed_last) {
			*out = jv_invalid();
			return NULL;
		}
		TRY(feed(s));
	}
}
