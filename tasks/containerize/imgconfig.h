/* The OCI image config a build edits: the runtime part (Env, Cmd,
 * Entrypoint, User, WorkingDir, ExposedPorts, Volumes, Labels, StopSignal,
 * Healthcheck, OnBuild, Shell), history, and the final document with
 * rootfs.diff_ids. Keys keep a fixed order so the same build gives the
 * same bytes. */
#ifndef CONTAINERIZE_IMGCONFIG_H
#define CONTAINERIZE_IMGCONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct imgconfig {
	json_t *doc;     /* whole config document (owned) */
	json_t *config;  /* doc.config (borrowed) */
	json_t *history; /* doc.history (borrowed) */
};

/* An empty config for FROM scratch ("os"/"architecture" from platform). */
void imgconfig_scratch(struct imgconfig *c, const char *os, const char *arch, const char *variant);
/* From a base image's config blob (untrusted: bad types are dropped). */
err_t *imgconfig_load(struct imgconfig *c, const char *json, size_t len);
void imgconfig_copy(struct imgconfig *dst, const struct imgconfig *src);
void imgconfig_release(struct imgconfig *c);

/* Env as NAME=value strings (borrowed from the doc; NULL-terminated array
 * the caller frees, not the strings). */
const char **imgconfig_env(const struct imgconfig *c, size_t *n);
/* Value of an env var, NULL if unset. */
const char *imgconfig_getenv(const struct imgconfig *c, const char *name);
void imgconfig_setenv(struct imgconfig *c, const char *name, const char *value);

void imgconfig_set_string(struct imgconfig *c, const char *key, const char *value); /* NULL: remove */
void imgconfig_set_array(struct imgconfig *c, const char *key, const char *const *v, size_t n);
void imgconfig_set_null(struct imgconfig *c, const char *key);
void imgconfig_add_to_set(struct imgconfig *c, const char *key, const char *member); /* {"x":{}} */
void imgconfig_set_label(struct imgconfig *c, const char *key, const char *value);
const char *imgconfig_get_string(const struct imgconfig *c, const char *key);

/* Append a history entry. */
void imgconfig_add_history(struct imgconfig *c, const char *created, const char *created_by, bool empty_layer);

/* Final bytes: diff_ids set, "created" set. */
void imgconfig_finish(struct imgconfig *c, const char *created, const char *const *diff_ids, size_t n);

#endif
