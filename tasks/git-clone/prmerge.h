/* Pull request mode, as the seed's PR pipeline runs it: with the base branch
 * checked out, fetch the PR head (pr-branch and/or pr-revision, from
 * pr-url or the same repository) and merge it into the base: a fast-forward
 * when the base is behind, else a merge commit. A conflict is a failure
 * (exit 1) that names the conflicting paths. */
#ifndef GIT_CLONE_PRMERGE_H
#define GIT_CLONE_PRMERGE_H

#include <git2.h>

#include "clone.h"
#include "error.h"

/* head: in, the checked-out base commit; out, the merged commit. */
err_t *pr_merge(git_repository *repo, const struct clone_request *rq, const char *base_branch, git_oid *head);

#endif
