#include "jq_program.h"

#include <jq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strbuf.h"
#include "xalloc.h"

struct jq_program {
	jq_state *jq;
	struct strbuf messages; /* what libjq reported while compiling */
};


static void collect_message(void *data, jv msg)
{
	struct strbuf *sb = data;
	if (jv_get_kind(msg) == JV_KIND_STRING) {
		sb_adds(sb, jv_string_value(msg));
	} else {
		jv text = jv_dump_string(msg, 0);
		sb_adds(sb, jv_string_value(text));
		jv_free(text);
		return;
	}
	jv_free(msg);
}

static void debug_to_stderr(void *data, jv input)
{
	(void)data;
	jv_dumpf(JV_ARRAY(jv_string("DEBUG:"), input), stderr, 0);
	fputc('\n', stderr);
}

static err_t *parse_named(const char *const *items, size_t n, bool as_json, jv *named)
{
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(items[i], '=');
		const char *param = as_json ? "argjson" : "arg";
		if (!eq || eq == items[i])
			return err_new(EXIT_USAGE, "--%s: '%s' is not name=value", param, items[i]);
		jv name = jv_string_sized(items[i], (int)(eq - items[i]));
		jv value = as_json ? jv_parse(eq + 1) : jv_string(eq + 1);
		if (!jv_is_valid(value)) {
			jv msg = jv_invalid_get_msg(value);
			err_t *e = err_new(EXIT_USAGE, "--argjson %s: invalid JSON text: %s", jv_string_value(name),
					   jv_string_value(msg));
			jv_free(msg);
			jv_free(name);
			return e;
		}
		/* jq keeps the first of duplicate names */
		if (jv_object_has(jv_copy(*named), jv_copy(name))) {
			jv_free(name);
			jv_free(value);
		} else {
			*named = jv_object_set(*named, name, value);
		}
	}
	return NULL;
}

static void set_library_paths(jq_state *jq, const struct jq_program_options *opts)
{
	jv paths = jv_array();
	for (size_t i = 0; i < opts->nlibrary_paths; i++)
		paths = jv_array_append(paths, jv_string(opts->library_paths[i]));
	if (!opts->nlibrary_paths) {
		/* jq's defaults; "~" only where there is a HOME (an empty image
		 * may have none, and libjq leaks the path list when it cannot
		 * expand it) */
		if (getenv("HOME"))
			paths = jv_array_append(paths, jv_string("~/.jq"));
		paths = jv_array_append(paths, jv_string("$ORIGIN/../lib/jq"));
		paths = jv_array_append(paths, jv_string("$ORIGIN/lib"));
	}
	jq_set_attr(jq, jv_string("JQ_LIBRARY_PATH"), paths);
	jq_set_attr(jq, jv_string("JQ_ORIGIN"), jv_string(opts->origin ? opts->origin : "."));
	char *cwd = realpath(".", NULL);
	jq_set_attr(jq, jv_string("PROGRAM_ORIGIN"), jv_string(cwd ? cwd : "."));
	free(cwd);
	jq_set_attr(jq, jv_string("VERSION_DIR"), jv_string("1.6"));
}

err_t *jq_program_compile(const char *expression, const struct jq_program_options *opts, struct jq_program **out)
{
	struct jq_program *p = xcalloc(1, sizeof *p);
	p->jq = jq_init();
	if (!p->jq) {
		free(p);
		return err_new(EXIT_FAILED, "cannot initialise jq");
	}
	jq_set_error_cb(p->jq, collect_message, &p->messages);
	jq_set_debug_cb(p->jq, debug_to_stderr, NULL);
	set_library_paths(p->jq, opts);

	jv named = jv_object();
	err_t *e = parse_named(opts->args, opts->nargs, false, &named);
	if (!e)
		e = parse_named(opts->argjson, opts->nargjson, true, &named);
	if (e) {
		jv_free(named);
		jq_program_free(p);
		return e;
	}
	jv args = JV_OBJECT(jv_string("positional"), jv_array(), jv_string("named"), jv_copy(named));
	named = jv_object_set(named, jv_string("ARGS"), args);
	if (!jq_compile_args(p->jq, expression, named)) {
		/* libjq ends each message with a newline; keep them on one line each */
		while (p->messages.len && p->messages.buf[p->messages.len - 1] == '\n')
			p->messages.buf[--p->messages.len] = '\0';
		e = err_new(EXIT_USAGE, "invalid jq expression: %s", sb_str(&p->messages));
		jq_program_free(p);
		return e;
	}
	*out = p;
	return NULL;
}

void jq_program_free(struct jq_program *p)
{
	if (!p)
		return;
	jq_teardown(&p->jq);
	sb_release(&p->messages);
	free(p);
}


static err_t *halted(jq_state *jq)
{
	jv code = jq_get_exit_code(jq);
	jv msg = jq_get_error_message(jq);
	err_t *e = NULL;
	int status = jv_get_kind(code) == JV_KIND_NUMBER ? (int)jv_number_value(code) : jv_is_valid(code) ? 5 : 0;
	if (status != 0) {
		struct strbuf text = STRBUF_INIT;
		if (jv_get_kind(msg) == JV_KIND_STRING)
			sb_adds(&text, jv_string_value(msg));
		else if (jv_is_valid(msg))
			collect_message(&text, jv_copy(msg));
		e = err_new(EXIT_FAILED, "jq program halted with status %d%s%s", status, text.len ? ": " : "",
			    sb_str(&text));
		sb_release(&text);
	}
	jv_free(code);
	jv_free(msg);
	return e;
}

void jq_format_value(jv value, const struct jq_format *f, struct strbuf *out)
{
	if (f->raw && jv_get_kind(value) == JV_KIND_STRING && !(f->dump_flags & JV_PRINT_ASCII)) {
		sb_add(out, jv_string_value(value), (size_t)jv_string_length_bytes(jv_copy(value)));
	} else {
		/* jq 1.6 prints a raw string with --ascii-output as JSON */
		int flags = f->raw && jv_get_kind(value) == JV_KIND_STRING ? JV_PRINT_ASCII : f->dump_flags;
		jv text = jv_dump_string(jv_copy(value), flags);
		sb_add(out, jv_string_value(text), (size_t)jv_string_length_bytes(jv_copy(text)));
		jv_free(text);
	}
	if (!f->join)
		sb_addc(out, '\n');
}

/* Run the program on one input; returns the first error. */
static err_t *run_one(struct jq_program *p, struct json_stream *in, jv value, jq_value_fn fn, void *data,
		      bool *stop)
{
	jq_start(p->jq, value, 0);
	jv result;
	while (jv_is_valid(result = jq_next(p->jq))) {
		err_t *e = fn(result, data);
		jv_free(result);
		if (e)
			return e;
	}
	if (jq_halted(p->jq)) {
		jv_free(result);
		*stop = true;
		return halted(p->jq);
	}
	if (!jv_invalid_has_msg(jv_copy(result))) {
		jv_free(result);
		return NULL;
	}
	jv msg = jv_invalid_get_msg(result);
	struct strbuf text = STRBUF_INIT;
	collect_message(&text, msg);
	char *where = json_stream_position(in, p->jq);
	err_t *e = err_new(EXIT_FAILED, "jq: error (at %s): %s", where, sb_str(&text));
	free(where);
	sb_release(&text);
	return e;
}

err_t *jq_program_run_values(struct jq_program *p, struct json_stream *input, bool null_input, jq_value_fn fn,
			     void *data)
{
	json_stream_attach(input, p->jq);
	bool stop = false;
	if (null_input)
		return run_one(p, input, jv_null(), fn, data, &stop);
	while (!stop) {
		jv value;
		TRY(json_stream_next(input, &value));
		if (!jv_is_valid(value))
			return NULL;
		TRY(run_one(p, input, value, fn, data, &stop));
	}
	return NULL;
}

struct emit_ctx {
	bool raw;
	jq_output_fn emit;
	void *data;
};

static err_t *emit_value(jv value, void *data)
{
	const struct emit_ctx *c = data;
	if (c->raw && jv_get_kind(value) == JV_KIND_STRING)
		return c->emit(jv_string_value(value), (size_t)jv_string_length_bytes(jv_copy(value)), false,
			       c->data);
	jv text = jv_dump_string(jv_copy(value), 0);
	err_t *e = c->emit(jv_string_value(text), (size_t)jv_string_length_bytes(jv_copy(text)),
			   jv_get_kind(value) == JV_KIND_NULL, c->data);
	jv_free(text);
	return e;
}

err_t *jq_program_run(struct jq_program *p, struct json_stream *input, bool raw, jq_output_fn emit, void *data)
{
	struct emit_ctx c = { raw, emit, data };
	return jq_program_run_values(p, input, false, emit_value, &c);
}
