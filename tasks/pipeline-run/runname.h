/* The name of a run pipeline-run makes (a PipelineRun, from --name or a
 * TriggerTemplate), checked as a cluster checks it on create:
 *   - the API server (k8s.io/apimachinery ValidateObjectMeta): a
 *     metadata.name is a DNS-1123 subdomain ('[a-z0-9]([-a-z0-9]*[a-z0-9])?
 *     (\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*', at most 253), a generateName is
 *     the same as a prefix (a trailing '-' allowed), and neither empty is
 *     "name or generateName is required";
 *   - the name it makes of a generateName (names.SimpleNameGenerator): at
 *     most 58 characters of it, then 5 random ones;
 *   - Tekton's admission webhook (validate.ObjectMetadata): at most 63;
 *   - the names Tekton gives its TaskRuns (runname_child).
 * A name that passes has no '/' and is never "." or "..": every path built
 * from a run's name (its directory under --work-dir, --logs-dir/<run>-<task>)
 * is built after this check. */
#ifndef PIPELINE_RUN_RUNNAME_H
#define PIPELINE_RUN_RUNNAME_H

#include <stdbool.h>

#include "error.h"

/* Tekton's limit on a run's name, and the API server's generateName share */
#define RUNNAME_MAX 63
#define RUNNAME_GENERATED_PREFIX_MAX 58

/* NULL when the API server and Tekton accept name as a run's
 * metadata.name, else the rule it breaks, worded as they word it. */
const char *runname_problem(const char *name);
/* NULL when the API server accepts prefix as metadata.generateName. */
const char *runname_prefix_problem(const char *prefix);
/* The name the API server makes of generateName prefix: at most its
 * first 58 characters, then suffix (5 random characters). */
char *runname_generate(const char *prefix, const char *suffix);
/* The name Tekton gives a PipelineRun's TaskRun (knative's
 * kmeta.ChildName(run, "-" + task)): "<run>-<task>" when that fits in 63,
 * else shortened with an MD5 of the run's name. Newly allocated. */
char *runname_child(const char *parent, const char *suffix);
/* name for a message: in double quotes, '"', '\' and bytes outside
 * printable ASCII escaped (a name from a webhook may hold terminal
 * escapes), cut after 80 characters. Newly allocated. */
char *runname_quote(const char *name);
/* EXIT_USAGE "<kind> name "x" is invalid: rule" unless runname_problem
 * accepts it. */
err_t *runname_check(const char *kind, const char *name);

#endif
