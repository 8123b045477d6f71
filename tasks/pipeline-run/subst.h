/* Tekton variable substitution: $(params.x), $(params["x.y"]),
 * $(params.x[*]) (an array spread over whole list items), $(params.x[0]),
 * $(params.obj.key), $(workspaces.w.path|bound|claim|volume),
 * $(results.r.path), $(context.taskRun.name|namespace|uid),
 * $(context.task.name|retry-count), and whatever a caller adds (a
 * PipelineRun adds $(tasks.t.results.r), $(context.pipelineRun.name)...).
 *
 * Every reference under a known root (params, workspaces, results,
 * context, and roots added with subst_root) must name a variable that is
 * set, else EXIT_USAGE "file:line: $(ref): the rule". Other "$(...)" text
 * (shell command substitution in a script) is left alone. */
#ifndef PIPELINE_RUN_SUBST_H
#define PIPELINE_RUN_SUBST_H

#include <stddef.h>

#include "error.h"
#include "taskdef.h"

struct subst;

struct subst *subst_new(const char *file);
void subst_free(struct subst *s);
/* A root whose references must all be set ("tasks" for a Pipeline). The
 * four Task roots are known from the start. */
void subst_root(struct subst *s, const char *root);
/* Set a variable: key without "$(" ")", e.g. "params.url",
 * "workspaces.source.path", "context.taskRun.name". The value is copied. */
void subst_set(struct subst *s, const char *key, const struct tk_value *value);
void subst_set_str(struct subst *s, const char *key, const char *value);

/* Substitute in one string (an array or object reference here is an
 * error: Tekton allows those only as a whole list item). */
err_t *subst_string(const struct subst *s, const char *in, int line, char **out);
/* Substitute in a list (command, args): an item that is exactly
 * "$(params.a[*])" becomes the array's items. */
err_t *subst_list(const struct subst *s, char *const *in, const int *lines, size_t n, char ***out, size_t *nout);
/* Substitute in a param value: a string, an array (items spread) or an
 * object (member values); a string that is exactly "$(x[*])" naming an
 * array or object becomes that value. A key of a root added by
 * subst_root may carry a selector ($(tasks.t.results.r[*]), [N], .key). */
err_t *subst_value(const struct subst *s, const struct tk_value *in, int line, struct tk_value *out);

#endif
