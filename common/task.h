/* The frame every task's main() runs in: parse params, answer --help,
 * --version and --describe, set up logging, run the task, print its error
 * once, write results on success (and on a policy verdict whose results
 * are marked as it: results.h), and return the exit code. */
#ifndef COMMON_TASK_H
#define COMMON_TASK_H

#include "error.h"
#include "params.h"
#include "results.h"

#ifndef PIPELINE_VERSION
#define PIPELINE_VERSION "dev"
#endif

/* The third-party sources linked into this binary, one "  source version
 * (from where: archives)" line each; generated at build time
 * (mk/versions.sh) and printed by --version. */
extern const char task_third_party[];

typedef err_t *(*task_run_fn)(const struct params *params, struct results *results);

int task_main(const struct task_spec *spec, int argc, char **argv, task_run_fn run);

#endif
