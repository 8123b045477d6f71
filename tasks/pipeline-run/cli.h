/* pipeline-run's command line: a subcommand ("taskrun", the default, or
 * "pipelinerun") and kubectl/tkn-style short options (-f FILE,
 * -p NAME=VALUE, -w NAME=DIR) in front of the common --name=value params;
 * and the NAME=VALUE lists turned into what a TaskRun takes. */
#ifndef PIPELINE_RUN_CLI_H
#define PIPELINE_RUN_CLI_H

#include <stddef.h>

#include "error.h"
#include "params.h"
#include "pod.h"
#include "taskrun.h"

enum cli_command { CLI_NONE, CLI_TASKRUN, CLI_PIPELINERUN };

/* Rewrite argv (a new NULL-terminated vector, caller frees the vector
 * only: its strings are argv's or cli_free_argv's) without the subcommand,
 * with short options as long ones. */
err_t *cli_rewrite(int argc, char **argv, enum cli_command *cmd, int *out_argc, char ***out_argv);
void cli_free_argv(char **argv);

/* "--param NAME=VALUE": VALUE is a string, or for an array/object param
 * of the Task, JSON text ([...] / {...}), as tkn's -p a=x,y is not
 * able to say a string with a comma. */
err_t *cli_params(const struct params *p, const struct tk_task *task, struct tr_param **out, size_t *n);
/* The same from a list of NAME=VALUE items. */
err_t *cli_params_of(const char *const *items, size_t count, const struct tk_task *task, struct tr_param **out,
		     size_t *n);
void cli_params_free(struct tr_param *v, size_t n);
/* "--workspace NAME=DIR" lists (param names one of workspace,
 * secret-workspace, secret) into bindings. */
err_t *cli_bindings(const struct params *p, struct tr_binding **out, size_t *n);
err_t *cli_secrets(const struct params *p, struct tr_binding **out, size_t *n);
void cli_bindings_free(struct tr_binding *v, size_t n);
/* "--image-map IMAGE=TARGET" */
err_t *cli_image_map(const struct params *p, struct image_map **out, size_t *n);
void cli_image_map_free(struct image_map *v, size_t n);

#endif
