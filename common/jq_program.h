/* A compiled jq program (the whole language, through libjq) run over a
 * stream of inputs, with output formatted as `jq -r -c` or `jq -c`. */
#ifndef COMMON_JQ_PROGRAM_H
#define COMMON_JQ_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "json_stream.h"

struct jq_program;

struct jq_program_options {
	const char *const *args; /* "name=value": $name is the string value */
	size_t nargs;
	const char *const *argjson; /* "name=json": $name is the parsed value */
	size_t nargjson;
	const char *const *library_paths; /* for import/include; jq's defaults if none */
	size_t nlibrary_paths;
	const char *origin; /* directory of the running binary ($ORIGIN in paths) */
};

/* Compile errors are EXIT_USAGE with jq's own messages. */
err_t *jq_program_compile(const char *expression, const struct jq_program_options *opts,
			  struct jq_program **out);
void jq_program_free(struct jq_program *p);

/* Called once per output value, already formatted (no newline). */
typedef err_t *(*jq_output_fn)(const char *text, size_t len, bool is_null, void *data);

/* Run over every value of input (program inputs via `input`/`inputs` come
 * from the same stream). raw: strings are written unquoted. A runtime
 * error is EXIT_FAILED; malformed input EXIT_USAGE. */
err_t *jq_program_run(struct jq_program *p, struct json_stream *input, bool raw, jq_output_fn emit, void *data);

/* Called once per output value (borrowed: copy it to keep it). */
typedef err_t *(*jq_value_fn)(jv value, void *data);
/* As jq_program_run, with the values themselves; null_input (jq -n): the
 * program runs once on null and reads the stream only through
 * `input`/`inputs`. */
err_t *jq_program_run_values(struct jq_program *p, struct json_stream *input, bool null_input, jq_value_fn fn,
			     void *data);

/* How the jq command line prints a value (jq 1.6's main.c). */
struct jq_format {
	int dump_flags; /* JV_PRINT_*: jq's default is JV_PRINT_INDENT_FLAGS(2) */
	bool raw;       /* -r: a string unquoted (quoted all the same with JV_PRINT_ASCII, as jq 1.6) */
	bool join;      /* -j: no newline after the value */
};
#define JQ_FORMAT_DEFAULT ((struct jq_format){ JV_PRINT_INDENT_FLAGS(2), false, false })
/* Append value (borrowed) to out exactly as jq prints it. */
struct strbuf;
void jq_format_value(jv value, const struct jq_format *f, struct strbuf *out);

#endif
