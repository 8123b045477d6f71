/* Task results, collected during the run and written only when the task
 * succeeds: one file per result in the results dir, no trailing newline,
 * each replaced atomically (what Tekton reads from /tekton/results). */
#ifndef COMMON_RESULTS_H
#define COMMON_RESULTS_H

#include <stddef.h>

#include "error.h"
#include "params.h"

struct results;

struct results *results_new(const struct task_spec *spec);
void results_free(struct results *r);
/* name must be declared in the spec's results (anything else aborts). */
void results_set(struct results *r, const char *name, const char *value, size_t len);
void results_sets(struct results *r, const char *name, const char *value);
const char *results_get(const struct results *r, const char *name);
/* Write every set result into dir (created if missing). On failure, the
 * files this call wrote are removed again: all or nothing. */
err_t *results_commit(const struct results *r, const char *dir);

#endif
