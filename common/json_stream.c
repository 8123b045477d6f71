#include "json_stream.h"

#include <stdbool.h>
#include <stdlib.h>

#include "strbuf.h"
#include "xalloc.h"

struct json_stream {
	const char *name;
	jq_util_input_state *reader; /* files and stdin */
	jv_parser *parser;           /* inline text */
	struct strbuf reader_errors; /* what libjq's reader reported */
	bool slurp, slurped;
};

static void collect_reader_error(void *data, const char *msg)
{
	struct strbuf *sb = data;
	if (sb->len)
		sb_adds(sb, "; ");
	sb_adds(sb, msg);
}

struct json_stream *json_stream_from_path(const char *path, const char *name)
{
	struct json_stream *s = xcalloc(1, sizeof *s);
	s->name = name;
	s->reader = jq_util_input_init(collect_reader_error, &s->reader_errors);
	jq_util_input_set_parser(s->reader, jv_parser_new(0), 0);
	jq_util_input_add_input(s->reader, path);
	return s;
}

struct json_stream *json_stream_from_buffer(const char *data, size_t len, const char *name)
{
	struct json_stream *s = xcalloc(1, sizeof *s);
	s->name = name;
	s->parser = jv_parser_new(0);
	jv_parser_set_buf(s->parser, data, (int)len, 0);
	return s;
}

void json_stream_free(struct json_stream *s)
{
	if (!s)
		return;
	if (s->reader)
		jq_util_input_free(&s->reader);
	if (s->parser)
		jv_parser_free(s->parser);
	sb_release(&s->reader_errors);
	free(s);
}

static jv next_from_buffer(jq_state *jq, void *data)
{
	(void)jq;
	struct json_stream *s = data;
	return jv_parser_next(s->parser);
}

void json_stream_attach(struct json_stream *s, jq_state *jq)
{
	if (s->reader)
		jq_set_input_cb(jq, jq_util_input_next_input_cb, s->reader);
	else
		jq_set_input_cb(jq, next_from_buffer, s);
}

void json_stream_set_slurp(struct json_stream *s)
{
	s->slurp = true;
}

static err_t *next_value(struct json_stream *s, jv *out);

/* jq -s: every value of the stream in one array, then the end. */
static err_t *next_slurped(struct json_stream *s, jv *out)
{
	*out = jv_invalid();
	if (s->slurped)
		return NULL;
	s->slurped = true;
	jv all = jv_array();
	for (;;) {
		jv v;
		err_t *e = next_value(s, &v);
		if (e) {
			jv_free(all);
			return e;
		}
		if (!jv_is_valid(v))
			break;
		all = jv_array_append(all, v);
	}
	*out = all;
	return NULL;
}

err_t *json_stream_next(struct json_stream *s, jv *out)
{
	return s->slurp ? next_slurped(s, out) : next_value(s, out);
}

static err_t *next_value(struct json_stream *s, jv *out)
{
	jv v = s->reader ? jq_util_input_next_input(s->reader) : jv_parser_next(s->parser);
	*out = jv_invalid();
	if (s->reader && jq_util_input_errors(s->reader)) {
		jv_free(v);
		return err_new(EXIT_USAGE, "cannot read %s: %s", s->name, sb_str(&s->reader_errors));
	}
	if (jv_is_valid(v)) {
		*out = v;
		return NULL;
	}
	if (!jv_invalid_has_msg(jv_copy(v))) {
		jv_free(v);
		return NULL;
	}
	jv msg = jv_invalid_get_msg(v);
	err_t *e = err_new(EXIT_USAGE, "invalid JSON in %s: %s", s->name, jv_string_value(msg));
	jv_free(msg);
	return e;
}

char *json_stream_position(struct json_stream *s, jq_state *jq)
{
	if (!s->reader)
		return xstrdup(s->name);
	jv pos = jq_util_input_get_position(jq);
	char *text = xstrdup(jv_is_valid(pos) ? jv_string_value(pos) : s->name);
	jv_free(pos);
	return text;
}
