/* Declarative params: one table per task gives --name=value flags, env
 * fallbacks under our one prefix (PIPELINE_PARAM_NAME, '-' -> '_'), --help,
 * and --describe JSON. No other variable named after a param is read: CI
 * systems set TOKEN, WORKSPACE, GIT_COMMIT... for their own use. */
#ifndef COMMON_PARAMS_H
#define COMMON_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

enum param_type {
	PARAM_STRING,
	PARAM_BOOL, /* true/false, yes/no, 1/0; a bare --flag means true, --no-flag false */
	PARAM_INT,  /* decimal, non-negative */
	PARAM_LIST, /* repeatable flag; from env: one item per line */
};

struct param_spec {
	const char *name;
	enum param_type type;
	const char *default_value; /* NULL: no default */
	bool required;
	bool secret; /* value is redacted from every log line and error */
	const char *help;
	/* a standard variable (not ours) that also sets the param when neither
	 * the flag nor PIPELINE_PARAM_<NAME> is given, e.g. SOURCE_DATE_EPOCH */
	const char *std_env;
};

struct result_spec {
	const char *name;
	const char *help;
};

struct results;
struct task_spec {
	const char *name;
	const char *summary;
	const struct param_spec *params;   /* ends with { NULL } */
	const struct result_spec *results; /* ends with { NULL } */
	/* results_spill for a task whose results can pass Tekton's cap
	 * (--results-overflow-dir); NULL: they cannot, the option is moot */
	err_t *(*spill_results)(struct results *r, const char *overflow_dir);
};

/* Options every task has besides its own params. */
struct common_options {
	const char *results_dir; /* NULL: no results written */
	const char *results_overflow_dir; /* NULL: results are not held to Tekton's size cap */
	const char *log_format;
	const char *log_level;
	const char *secrets_dir; /* "DIR[:DIR...]": secret params not given are read from DIR/<name> */
	bool help, version, describe;
};

struct params;

/* Parse argv and the environment against spec. On bad usage returns an
 * EXIT_USAGE error naming the param. Secret values are registered with the
 * logger before anything can print them. */
err_t *params_parse(const struct task_spec *spec, int argc, char **argv, struct params **out,
		    struct common_options *opts);
void params_free(struct params *p);

/* Getters take a name declared in the spec (anything else is a bug and aborts). */
const char *params_str(const struct params *p, const char *name); /* NULL: unset, no default */
bool params_bool(const struct params *p, const char *name);
long params_int(const struct params *p, const char *name);
size_t params_list(const struct params *p, const char *name, const char *const **items);
bool params_given(const struct params *p, const char *name); /* set by flag or env */
/* A param required only in some of the task's modes (its table says not
 * required): EXIT_USAGE with the message of a required one when empty. */
err_t *params_require(const struct params *p, const char *name);

/* --help text and --describe JSON (caller frees). */
char *params_usage(const struct task_spec *spec);
char *params_describe(const struct task_spec *spec, const char *version);

/* Prefix of every variable of ours: PIPELINE_PARAM_<NAME>,
 * PIPELINE_RESULTS_DIR, PIPELINE_LOG_FORMAT, PIPELINE_LOG_LEVEL. */
#define PARAMS_ENV_PREFIX "PIPELINE_"

/* Env var name for a param: "json-file" -> "PIPELINE_PARAM_JSON_FILE" (caller frees). */
char *params_env_name(const char *name);

#endif
