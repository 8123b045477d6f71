/* Task results, collected during the run and written when the task
 * succeeds, or when it ends with a policy verdict (EXIT_POLICY) and its
 * results were marked as that verdict (a gate's verdicts are evidence):
 * one file per result in the results dir, no trailing newline, each
 * replaced atomically (what Tekton reads from /tekton/results). Any other
 * failure (usage, auth, unreachable, failed) writes none: no verdict was
 * reached, and a missing result must not read as one. */
#ifndef COMMON_RESULTS_H
#define COMMON_RESULTS_H

#include <stdbool.h>
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
/* The value (NULL: not set) and its length (values may hold NULs). */
const char *results_get_len(const struct results *r, const char *name, size_t *len);
const struct task_spec *results_spec(const struct results *r);
/* Tekton Chains' v2 type hint for a produced artifact: the result
 * ARTIFACT_OUTPUTS (declared as an object in the Task) as compact JSON
 * {"digest":"sha256:...","uri":"..."}. */
void results_set_artifact(struct results *r, const char *uri, const char *digest);
/* The results set so far are a verdict: write them also when the run
 * returns an EXIT_POLICY error (call once every verdict result is set). */
void results_mark_verdict(struct results *r);
bool results_are_verdict(const struct results *r);
/* Write every set result into dir (created if missing). On failure, the
 * files this call wrote are removed again: all or nothing. */
err_t *results_commit(const struct results *r, const char *dir);

/* Tekton caps a step's results at 4096 bytes, counted as its termination
 * message: a JSON array of {"key","value","type"} objects. A task whose
 * results can grow past that names results_spill as its spec's
 * spill_results (common/results_spill.c, which links libcrypto); the
 * others' results are small by construction. */
#define RESULTS_TEKTON_MAX 4096
/* The size of that message for the results set so far. */
size_t results_message_size(const struct results *r);
/* While the message would exceed RESULTS_TEKTON_MAX, the largest value
 * goes to the file overflow_dir/<name> (created if missing, written
 * atomically) and the result becomes "<that path> sha256:<hex of the
 * file>". Nothing is moved when the results fit. */
err_t *results_spill(struct results *r, const char *overflow_dir);

#endif
