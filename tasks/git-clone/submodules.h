/* Submodules, recursively, as git clone --recurse-submodules brings them:
 * each one initialised from .gitmodules (relative URLs resolved against
 * the superproject's remote), fetched with the same credentials and depth,
 * and checked out at the commit the superproject records. Paths that would
 * leave the working tree, and URLs that would read the runner's own disk,
 * are refused. */
#ifndef GIT_CLONE_SUBMODULES_H
#define GIT_CLONE_SUBMODULES_H

#include <git2.h>

#include "clone.h"
#include "error.h"

err_t *submodules_update(git_repository *repo, const struct clone_request *rq, int depth);

#endif
