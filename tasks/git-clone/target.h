/* The clone's destination, all or nothing: we clone into a staging
 * directory and only move it into place once everything succeeded, so a
 * failed run leaves no half-cloned tree and an existing tree is replaced
 * (delete-existing) only by a complete new one.
 *
 * A target that does not exist is staged beside it and renamed. A target
 * that exists (say, a mounted workspace, which cannot be renamed) is staged
 * inside it; on success its old entries are removed and the staged ones
 * moved up. */
#ifndef GIT_CLONE_TARGET_H
#define GIT_CLONE_TARGET_H

#include <stdbool.h>

#include "error.h"

struct target {
	char *path;    /* the final directory */
	char *staging; /* where the clone is built */
	bool inside;   /* staging is path/.git-clone-XXXXXX */
};

/* Refuses (exit 2) a target that is not a directory, or is one with entries
 * while delete_existing is false. */
err_t *target_prepare(struct target *t, const char *path, bool delete_existing);
err_t *target_commit(struct target *t);
/* Remove the staging directory (never anything else). Safe to call twice. */
void target_abort(struct target *t);
void target_free(struct target *t);

/* Join a workspace and a directory inside it, refusing absolute paths and
 * ".." components (exit 2). */
err_t *target_join(const char *workspace, const char *directory, char **out);

#endif
