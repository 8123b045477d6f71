/* The interceptors of a Tekton Triggers EventListener trigger, as the
 * Triggers controller runs its github and gitlab ClusterInterceptors
 * (triggers.tekton.dev, pkg/interceptors/github and gitlab):
 *   - eventTypes: the X-GitHub-Event / X-Gitlab-Event header must be one
 *     of them, else the trigger does not fire (not an error);
 *   - secretRef {secretName, secretKey}: github: X-Hub-Signature-256
 *     (else X-Hub-Signature) must be "sha256=" (or "sha1=") and the hex
 *     HMAC of the payload's exact bytes under the secret's value; gitlab:
 *     X-Gitlab-Token must equal the secret's value. Compared in constant
 *     time. The Secret is a directory given with --secret NAME=DIR, one
 *     file per key, as Kubernetes mounts it: its bytes as they are (no
 *     newline is trimmed, as Triggers reads the Secret's data). An empty
 *     value, or only white space, is refused (anyone can sign with it).
 * A value shorter than 16 bytes is refused too: a short one is guessed
 * offline from any delivery it signed.
 * A missing or wrong signature or token is EXIT_AUTH; an interceptor this
 * does not implement, or a secret not given, empty or short, EXIT_USAGE. */
#ifndef PIPELINE_RUN_INTERCEPTOR_H
#define PIPELINE_RUN_INTERCEPTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "secret.h"
#include "yamldoc.h"

/* An event as the EventListener receives it. */
struct trigger_event {
	const char *body; /* the payload's exact bytes */
	size_t body_len;
	const char *const *headers; /* "Name=Value" or "Name: Value" */
	size_t nheaders;
	const struct tr_binding *secrets; /* --secret NAME=DIR */
	size_t nsecrets;
};

/* The header's value (name matched without case), or NULL. */
const char *event_header(const struct trigger_event *ev, const char *name);

/* Run one interceptor (ic: an item of a trigger's interceptors, from
 * file) on the event: *fires false when its eventTypes do not list the
 * event's type; an error when its secret check refuses the event. */
err_t *interceptor_run(const char *file, const struct ydoc_node *ic, const struct trigger_event *ev, bool *fires);

#endif
