/* extract-value-jq: run a jq program over a JSON document (a mounted config
 * map or secret, inline text, or stdin) and publish what it yields. */
#include <sys/stat.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "jq_program.h"
#include "json_stream.h"
#include "log.h"
#include "strbuf.h"
#include "task.h"
#include "xalloc.h"

static const struct param_spec params[] = {
	{ "expression", PARAM_STRING, NULL, true, false, "jq program to run (the whole jq 1.6 language)" },
	{ "json", PARAM_STRING, NULL, false, false, "JSON text to read (one or more values); default: stdin" },
	{ "json-file", PARAM_STRING, NULL, false, false, "file holding the JSON, e.g. a mounted config map or secret" },
	{ "raw", PARAM_BOOL, "true", false, false, "strings unquoted, other values compact JSON (jq -r -c)" },
	{ "arg", PARAM_LIST, NULL, false, false, "name=value: $name is the string value" },
	{ "argjson", PARAM_LIST, NULL, false, false, "name=json: $name is the parsed JSON value" },
	{ "fail-on-null", PARAM_BOOL, "false", false, false, "fail (exit 1) when the program yields null or nothing" },
	{ "jq-library-path", PARAM_LIST, NULL, false, false, "directory searched by import/include (jq -L)" },
	{ NULL },
};

static const struct result_spec results[] = {
	{ "extracted-value", "every output of the program, one per line" },
	{ NULL },
};

static const struct task_spec spec = {
	"extract-value-jq",
	"Run a jq program over JSON and publish its output as the result extracted-value.",
	params,
	results,
	results_spill,
};

/* Tekton keeps results in the termination message, 4096 bytes in all. */
#define TEKTON_RESULT_LIMIT 4096

struct collected {
	struct strbuf value; /* outputs joined by newlines */
	size_t count;
	bool saw_null;
};

static err_t *collect_output(const char *text, size_t len, bool is_null, void *data)
{
	struct collected *c = data;
	if (c->count++)
		sb_addc(&c->value, '\n');
	sb_add(&c->value, text, len);
	c->saw_null |= is_null;
	if (fwrite(text, 1, len, stdout) != len || fputc('\n', stdout) == EOF)
		return err_errno(EXIT_FAILED, "cannot write to stdout");
	return NULL;
}

static err_t *open_input(const struct params *p, struct json_stream **out)
{
	const char *text = params_str(p, "json");
	const char *file = params_str(p, "json-file");
	if (text && *text && file && *file)
		return err_new(EXIT_USAGE, "give --json or --json-file, not both");
	if (text && *text) {
		*out = json_stream_from_buffer(text, strlen(text), "param json");
		return NULL;
	}
	if (file && *file) {
		struct stat st;
		if (access(file, R_OK) < 0 || stat(file, &st) < 0)
			return err_errno(EXIT_USAGE, "cannot read json-file %s", file);
		if (S_ISDIR(st.st_mode))
			return err_new(EXIT_USAGE, "json-file %s is a directory", file);
		*out = json_stream_from_path(file, file);
		return NULL;
	}
	*out = json_stream_from_path("-", "<stdin>");
	return NULL;
}

static char *binary_dir(void)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return xstrdup(".");
	self[n] = '\0';
	return xstrdup(dirname(self));
}

static err_t *run(const struct params *p, struct results *r)
{
	_cleanup_free_ char *origin = binary_dir();
	struct jq_program_options opts = { .origin = origin };
	opts.nargs = params_list(p, "arg", &opts.args);
	opts.nargjson = params_list(p, "argjson", &opts.argjson);
	opts.nlibrary_paths = params_list(p, "jq-library-path", &opts.library_paths);

	struct jq_program *program = NULL;
	TRY(jq_program_compile(params_str(p, "expression"), &opts, &program));

	struct json_stream *input = NULL;
	struct collected out = { STRBUF_INIT, 0, false };
	err_t *e = open_input(p, &input);
	if (!e)
		e = jq_program_run(program, input, params_bool(p, "raw"), collect_output, &out);
	if (!e && fflush(stdout) != 0)
		e = err_errno(EXIT_FAILED, "cannot write to stdout");
	if (!e && params_bool(p, "fail-on-null") && (out.count == 0 || out.saw_null))
		e = err_new(EXIT_FAILED, "the expression yielded %s and fail-on-null is set",
			    out.count ? "null" : "nothing");
	if (!e) {
		if (out.value.len > TEKTON_RESULT_LIMIT)
			log_warn("extracted-value is %zu bytes; Tekton keeps at most %d bytes of results",
				 out.value.len, TEKTON_RESULT_LIMIT);
		results_set(r, "extracted-value", sb_str(&out.value), out.value.len);
	}
	sb_release(&out.value);
	json_stream_free(input);
	jq_program_free(program);
	return e;
}

int main(int argc, char **argv)
{
	return task_main(&spec, argc, argv, run);
}
