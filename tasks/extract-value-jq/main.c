/* extract-value-jq: run a jq program over a JSON document (a mounted config
 * map or secret, inline text, or stdin) and publish what it yields: one
 * value per line, and exactly as the jq command line prints it with the
 * given jq options (the tektoncd catalog jq Task's result, which
 * tekton/compat/jq.yaml gives through this program). */
#include <sys/stat.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "jq_program.h"
#include "jqcli.h"
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
	{ "jq-options", PARAM_STRING, "", false, false,
	  "jq command-line options for jq-script-outcome, split at blanks: -r -j -c -S -C -M -a -s -n -e (or "
	  "a cluster: -rc), their long forms, --tab, --indent N, --arg NAME VALUE, --argjson NAME JSON; any "
	  "other is refused" },
	{ "input-kind", PARAM_STRING, "", false, false,
	  "string or file: read param input as JSON text or as a file name (instead of json, json-file)" },
	{ "input", PARAM_STRING, "", false, false, "JSON text or file name, as input-kind says" },
	{ "catalog-jq-task", PARAM_BOOL, "false", false, false,
	  "params as the tektoncd catalog jq Task's shell step reads them: input-kind must be given, input "
	  "and jq-options are unescaped as between double quotes, expression must hold no single quote" },
	{ NULL },
};

static const struct result_spec results[] = {
	{ "extracted-value", "every output of the program, one per line" },
	{ "jq-script-outcome", "the output exactly as jq prints it with jq-options (indented by default)" },
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
	struct strbuf value;   /* outputs joined by newlines */
	struct strbuf outcome; /* what jq prints */
	const struct jq_format *extracted, *printed;
	bool catalog; /* stdout is what jq prints, else the extracted lines */
	size_t count;
	bool saw_null;
	bool last_falsy; /* for jq -e */
};

static err_t *collect_output(jv v, void *data)
{
	struct collected *c = data;
	size_t start = c->value.len;
	if (c->count++)
		sb_addc(&c->value, '\n');
	jq_format_value(v, c->extracted, &c->value);
	jv_kind kind = jv_get_kind(v);
	c->saw_null |= kind == JV_KIND_NULL;
	c->last_falsy = kind == JV_KIND_NULL || kind == JV_KIND_FALSE;
	size_t ostart = c->outcome.len;
	jq_format_value(v, c->printed, &c->outcome);
	const char *text = c->catalog ? c->outcome.buf + ostart : c->value.buf + start + (c->count > 1);
	size_t len = c->catalog ? c->outcome.len - ostart : c->value.len - start - (c->count > 1);
	if (fwrite(text, 1, len, stdout) != len || (!c->catalog && fputc('\n', stdout) == EOF))
		return err_errno(EXIT_FAILED, "cannot write to stdout");
	return NULL;
}

static err_t *open_file(const char *what, const char *file, struct json_stream **out)
{
	struct stat st;
	if (access(file, R_OK) < 0 || stat(file, &st) < 0)
		return err_errno(EXIT_USAGE, "cannot read %s %s", what, file);
	if (S_ISDIR(st.st_mode))
		return err_new(EXIT_USAGE, "%s %s is a directory", what, file);
	*out = json_stream_from_path(file, file);
	return NULL;
}

/* The catalog's params are read as its script's shell reads them. */
static err_t *catalog_text(const struct params *p, bool catalog, const char *name, const char *catalog_name,
			   char **out)
{
	const char *v = params_str(p, name);
	if (!catalog) {
		*out = xstrdup(v ? v : "");
		return NULL;
	}
	return jqcli_shell_dquoted(catalog_name, v ? v : "", out);
}

/* input (with input-kind), else json, json-file or stdin. *keep holds the
 * text the stream reads from. */
static err_t *open_input(const struct params *p, bool catalog, char **keep, struct json_stream **out)
{
	const char *text = params_str(p, "json");
	const char *file = params_str(p, "json-file");
	const char *kind = params_str(p, "input-kind");
	if (catalog && strcmp(kind, "string") && strcmp(kind, "file"))
		return err_new(EXIT_USAGE, "param stringOrFile must be 'string' or 'file' (given '%s')", kind);
	if (*kind) {
		if ((text && *text) || (file && *file))
			return err_new(EXIT_USAGE, "give input (with input-kind) or --json or --json-file, not two");
		TRY(catalog_text(p, catalog, "input", "input", keep));
		if (!strcmp(kind, "file"))
			return open_file("input file", *keep, out);
		if (strcmp(kind, "string"))
			return err_new(EXIT_USAGE, "param input-kind must be string or file (given '%s')", kind);
		*out = json_stream_from_buffer(*keep, strlen(*keep), "param input");
		return NULL;
	}
	if (text && *text && file && *file)
		return err_new(EXIT_USAGE, "give --json or --json-file, not both");
	if (text && *text) {
		*out = json_stream_from_buffer(text, strlen(text), "param json");
		return NULL;
	}
	if (file && *file)
		return open_file("json-file", file, out);
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

static err_t *check_outputs(const struct params *p, const struct jqcli *cli, const struct collected *out)
{
	if (params_bool(p, "fail-on-null") && (out->count == 0 || out->saw_null))
		return err_new(EXIT_FAILED, "the expression yielded %s and fail-on-null is set",
			       out->count ? "null" : "nothing");
	if (cli->exit_status && (out->count == 0 || out->last_falsy))
		return err_new(EXIT_FAILED, "jq option -e: the last output was %s",
			       out->count ? "false or null" : "missing (no output)");
	return NULL;
}

static err_t *extract(const struct params *p, const struct jqcli *cli, struct jq_program *program,
		      struct collected *out)
{
	_cleanup_free_ char *keep = NULL;
	struct json_stream *input = NULL;
	err_t *e = open_input(p, out->catalog, &keep, &input);
	if (!e && cli->slurp)
		json_stream_set_slurp(input);
	if (!e)
		e = jq_program_run_values(program, input, cli->null_input, collect_output, out);
	if (!e && fflush(stdout) != 0)
		e = err_errno(EXIT_FAILED, "cannot write to stdout");
	json_stream_free(input);
	return e ? e : check_outputs(p, cli, out);
}

/* the items of list param name, then extra (the caller frees the array) */
static const char **merged(const struct params *p, const char *name, char *const *extra, size_t nextra, size_t *n)
{
	const char *const *list;
	size_t nlist = params_list(p, name, &list);
	const char **all = xcalloc(nlist + nextra + 1, sizeof *all);
	for (size_t i = 0; i < nlist; i++)
		all[i] = list[i];
	for (size_t i = 0; i < nextra; i++)
		all[nlist + i] = extra[i];
	*n = nlist + nextra;
	return all;
}

static err_t *compile(const struct params *p, const struct jqcli *cli, bool catalog, struct jq_program **program)
{
	const char *expression = params_str(p, "expression");
	if (catalog)
		TRY(jqcli_shell_squoted("filter", expression));
	_cleanup_free_ char *origin = binary_dir();
	struct jq_program_options opts = { .origin = origin };
	const char **args = merged(p, "arg", cli->args, cli->nargs, &opts.nargs);
	const char **argjson = merged(p, "argjson", cli->argjson, cli->nargjson, &opts.nargjson);
	opts.args = args;
	opts.argjson = argjson;
	opts.nlibrary_paths = params_list(p, "jq-library-path", &opts.library_paths);
	err_t *e = jq_program_compile(expression, &opts, program);
	free(args);
	free(argjson);
	return e;
}

static err_t *run(const struct params *p, struct results *r)
{
	bool catalog = params_bool(p, "catalog-jq-task");
	_cleanup_free_ char *options = NULL;
	TRY(catalog_text(p, catalog, "jq-options", "options", &options));
	struct jqcli cli;
	TRY(jqcli_parse(options, &cli));

	struct jq_program *program = NULL;
	const struct jq_format extracted = { 0, params_bool(p, "raw"), true };
	struct collected out = { STRBUF_INIT, STRBUF_INIT, &extracted, &cli.format, catalog, 0, false, false };
	err_t *e = compile(p, &cli, catalog, &program);
	if (!e)
		e = extract(p, &cli, program, &out);
	if (!e) {
		if (out.value.len + out.outcome.len > TEKTON_RESULT_LIMIT)
			log_warn("the results are %zu bytes; Tekton keeps at most %d bytes of results",
				 out.value.len + out.outcome.len, TEKTON_RESULT_LIMIT);
		results_set(r, "extracted-value", sb_str(&out.value), out.value.len);
		results_set(r, "jq-script-outcome", sb_str(&out.outcome), out.outcome.len);
	}
	sb_release(&out.value);
	sb_release(&out.outcome);
	jq_program_free(program);
	jqcli_release(&cli);
	return e;
}

int main(int argc, char **argv)
{
	return task_main(&spec, argc, argv, run);
}
