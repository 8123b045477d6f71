/* A webhook event replayed through Tekton Triggers resources, as the
 * Triggers controller would handle it (triggers.tekton.dev/v1beta1):
 * the EventListener's triggers whose interceptors accept the event (the
 * github and gitlab interceptors: event types and webhook secret, see
 * interceptor.h), the TriggerBindings' params from $(body.path) and
 * $(header.Name), the TriggerTemplate's params (defaults) substituted as
 * $(tt.params.x) (and $(uid)) into the PipelineRun it makes (its name
 * too, then checked: runname.h). One trigger
 * must fire. Errors are EXIT_USAGE "file:line: why"; EXIT_AUTH when no
 * trigger fires and an interceptor's secret check refused the event. */
#ifndef PIPELINE_RUN_TRIGGER_H
#define PIPELINE_RUN_TRIGGER_H

#include <stddef.h>

#include "error.h"
#include "interceptor.h"

struct trigger_run {
	char *trigger;  /* the EventListener trigger that fired */
	char *pipeline; /* the PipelineRun's pipelineRef.name */
	char *name;     /* metadata.name, or generateName with a random suffix:
	                 * checked as the API server and Tekton check it
	                 * (runname.h), else EXIT_USAGE naming the params */
	char **params;  /* the PipelineRun's params, "NAME=VALUE" */
	size_t nparams;
};

/* file: the Triggers resources; ev: the event's headers and the Secrets
 * given (its body is read from event_file). */
err_t *trigger_resolve(const char *file, const char *listener, const char *event_file,
                       const struct trigger_event *ev, struct trigger_run *out);
/* The same with the Triggers resources (named file in messages) and the
 * event (named event_name) already read: what the fuzz target drives. */
err_t *trigger_resolve_text(const char *file, const char *text, size_t len, const char *listener,
                            const char *event_name, const struct trigger_event *ev, struct trigger_run *out);
/* The file beside `near` (a file in the same directory, *.yaml / *.yml)
 * holding the Pipeline `name`: newly allocated, or an error. */
err_t *trigger_find_pipeline(const char *near, const char *name, char **path);
void trigger_run_free(struct trigger_run *r);

#endif
