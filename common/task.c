#include "task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "xalloc.h"

static void report(const err_t *e)
{
	char *text = err_describe(e);
	log_error("%s", text); /* redacts registered secrets */
	free(text);
}

static int print_and_free(char *text)
{
	fputs(text, stdout);
	if (text[0] && text[strlen(text) - 1] != '\n')
		fputc('\n', stdout);
	free(text);
	return EXIT_OK;
}

static err_t *setup_logging(const struct task_spec *spec, const struct common_options *opts)
{
	enum log_format format;
	enum log_level level;
	if (!log_parse_format(opts->log_format, &format))
		return err_new(EXIT_USAGE, "--log-format: '%s' is not human or json", opts->log_format);
	if (!log_parse_level(opts->log_level, &level))
		return err_new(EXIT_USAGE, "--log-level: '%s' is not debug, info, warn or error", opts->log_level);
	log_setup(spec->name, format, level);
	return NULL;
}

/* Everything of ours is released by now; what libraries registered to
 * run at exit (OpenSSL frees its provider and method stores: ~0.3 ms of a
 * 5 ms verify) only frees memory the kernel takes back anyway, so release
 * builds leave at once. Sanitizer builds return normally: their leak
 * check runs at exit. */
#if defined(__SANITIZE_ADDRESS__)
#define PIPELINE_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PIPELINE_SANITIZED 1
#endif
#endif

static void fast_exit(int code)
{
#ifndef PIPELINE_SANITIZED
	fflush(NULL);
	_exit(code);
#else
	(void)code;
#endif
}

int task_main(const struct task_spec *spec, int argc, char **argv, task_run_fn run)
{
	struct params *params = NULL;
	struct common_options opts;
	log_setup(spec->name, LOG_HUMAN, LOG_INFO);

	err_t *e = params_parse(spec, argc, argv, &params, &opts);
	if (!e)
		e = setup_logging(spec, &opts);
	if (e) {
		report(e);
		fprintf(stderr, "Try '%s --help'.\n", spec->name);
		int code = e->code;
		err_free(e);
		params_free(params);
		return code;
	}
	int code = EXIT_OK;
	if (opts.help)
		code = print_and_free(params_usage(spec));
	else if (opts.version)
		code = print_and_free(xasprintf("%s %s\nthird-party sources linked in:\n%s", spec->name,
						PIPELINE_VERSION, task_third_party));
	else if (opts.describe)
		code = print_and_free(params_describe(spec, PIPELINE_VERSION));
	if (opts.help || opts.version || opts.describe) {
		params_free(params);
		return code;
	}

	struct results *results = results_new(spec);
	e = run(params, results);
	/* a gate's verdict is evidence: written when the policy says no too */
	bool write = !e || (e->code == EXIT_POLICY && results_are_verdict(results));
	if (write && opts.results_dir) {
		err_t *ce = opts.results_overflow_dir && spec->spill_results
				    ? spec->spill_results(results, opts.results_overflow_dir)
				    : NULL;
		if (!ce)
			ce = results_commit(results, opts.results_dir);
		if (ce && e) {
			report(ce); /* the verdict stays the exit code */
			err_free(ce);
		} else if (ce) {
			e = ce;
		}
	}
	if (e) {
		report(e);
		code = e->code;
		err_free(e);
	}
	results_free(results);
	params_free(params);
	log_forget_secrets();
	fast_exit(code);
	return code;
}
