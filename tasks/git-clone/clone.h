/* The clone itself, as the seed's clone-repo step and the Tekton catalog's
 * git-clone do it, on libgit2: initialise a repository, ask the remote what
 * it has, fetch just what the request needs (a branch, a tag, a ref, a
 * commit; shallow when asked), check out the commit, then merge a pull
 * request's head into it and bring in submodules when asked. */
#ifndef GIT_CLONE_CLONE_H
#define GIT_CLONE_CLONE_H

#include <stdbool.h>
#include <stddef.h>

#include <git2.h>

#include "error.h"
#include "fetch.h"
#include "url.h"

struct clone_request {
	const struct remote_url *url;
	const char *branch;   /* NULL: the remote's default branch */
	const char *revision; /* NULL: the branch tip; else SHA, tag or ref */
	const char *const *refspecs; /* extra refspecs fetched first */
	size_t nrefspecs;
	int depth; /* 0: full history */
	bool submodules;
	/* pull request mode: merge this head into the checked-out branch */
	const struct remote_url *pr_url; /* NULL: url */
	const char *pr_branch, *pr_revision;
	struct auth *auth;
	long max_retries;
};

struct clone_outcome {
	bool empty; /* the remote has no commits */
	git_oid commit;
	char *branch; /* the branch checked out or merged into; NULL when detached from no branch */
};

/* Clone into dir (an existing empty directory). */
err_t *clone_run(const struct clone_request *rq, const char *dir, struct clone_outcome *out);
void clone_outcome_free(struct clone_outcome *o);

#endif
