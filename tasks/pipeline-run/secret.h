/* Workspaces and Secrets given on the command line (--workspace,
 * --secret NAME=DIR): found by name; a Secret's key is the file DIR/key,
 * as Kubernetes mounts a Secret. */
#ifndef PIPELINE_RUN_SECRET_H
#define PIPELINE_RUN_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "pod.h"
#include "strbuf.h"

/* The binding called name, or NULL. */
const struct tr_binding *tr_binding_find(const struct tr_binding *b, size_t n, const char *name);

/* Kubernetes IsConfigMapKey: [-._a-zA-Z0-9]+, at most 253, not "." or
 * "..": a file name in the Secret's directory. */
bool secret_key_ok(const char *key);

/* The value of key in the Secret name (its bytes as they are), registered
 * for redaction in every log; *given false (and no error) when no such
 * Secret is given; EXIT_USAGE for a key that is not valid, not there
 * (kind ERR_KIND_NOT_FOUND) or not a regular file (a FIFO would block). */
err_t *secret_value(const struct tr_binding *secrets, size_t n, const char *name, const char *key,
		    struct strbuf *out, bool *given);

#endif
