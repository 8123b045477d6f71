#include "prmerge.h"

#include <stdlib.h>
#include <string.h>

#include <git2/sys/errors.h>

#include "cleanup.h"
#include "log.h"
#include "strbuf.h"
#include "xalloc.h"

#define PR_REF "refs/remotes/pr/head"

/* Fetch the PR head into PR_REF (or, for a bare SHA, just its objects). */
static err_t *fetch_head(git_repository *repo, const struct clone_request *rq, git_oid *out)
{
	const struct remote_url *url = rq->pr_url ? rq->pr_url : rq->url;
	struct net net = { rq->auth, url, rq->max_retries };
	git_remote *remote = NULL;
	if (git_remote_create_anonymous(&remote, repo, url->clean) < 0)
		return git_failure(-1, "invalid pr-url %s", url->clean);
	struct ref_list refs;
	err_t *e = remote_list(remote, &net, &refs);
	_cleanup_free_ char *spec = NULL;
	const char *rev = rq->pr_revision && *rq->pr_revision ? rq->pr_revision : NULL;
	if (!e && rq->pr_branch && *rq->pr_branch) {
		_cleanup_free_ char *name = xasprintf("refs/heads/%s", rq->pr_branch);
		if (!ref_list_find(&refs, name))
			e = err_new(EXIT_USAGE, "pr-branch '%s' not found in %s", rq->pr_branch, url->clean);
		else
			spec = xasprintf("+%s:" PR_REF, name);
	} else if (!e && rev && !is_hex_id(rev, GIT_OID_SHA1_HEXSIZE)) {
		const char *name = ref_list_find(&refs, rev) ? rev : NULL;
		if (!name)
			e = err_new(EXIT_USAGE, "pr-revision '%s' is neither a full commit SHA nor a ref of %s", rev,
				    url->clean);
		else
			spec = xasprintf("+%s:" PR_REF, name);
		rev = NULL;
	}
	if (!e && spec) {
		const char *s = spec;
		e = remote_fetch(remote, &net, &s, 1, 0, GIT_REMOTE_DOWNLOAD_TAGS_NONE);
	}
	if (!e && rev) {
		git_oid_fromstr(out, rev);
		if (!repo_has_object(repo, out)) {
			e = remote_fetch_id(remote, &net, out, 0);
			if (e && e->code != EXIT_AUTH) {
				err_free(e);
				e = err_new(EXIT_USAGE, "pr-revision '%s' not found in %s", rev, url->clean);
			}
		}
	} else if (!e && git_reference_name_to_id(out, repo, PR_REF) < 0) {
		e = git_failure(-1, "the pull request head was not fetched");
	}
	ref_list_free(&refs);
	git_remote_free(remote);
	return e;
}

static err_t *conflict_error(git_index *index, const char *base_branch, const git_oid *pr)
{
	struct strbuf sb = STRBUF_INIT;
	git_index_conflict_iterator *it = NULL;
	const git_index_entry *anc, *ours, *theirs;
	size_t n = 0;
	if (git_index_conflict_iterator_new(&it, index) == 0) {
		while (git_index_conflict_next(&anc, &ours, &theirs, it) == 0) {
			const git_index_entry *any = ours ? ours : theirs ? theirs : anc;
			if (n++ < 20)
				sb_addf(&sb, "%s%s", n > 1 ? ", " : "", any->path);
		}
		git_index_conflict_iterator_free(it);
	}
	if (n > 20)
		sb_addf(&sb, " and %zu more", n - 20);
	char hex[GIT_OID_SHA1_HEXSIZE + 1];
	git_oid_tostr(hex, sizeof hex, pr);
	err_t *e = err_new(EXIT_FAILED, "the pull request head %s does not merge cleanly into %s: conflicts in %s", hex,
			   base_branch, sb_str(&sb));
	sb_release(&sb);
	return e;
}

static err_t *checkout_head(git_repository *repo)
{
	git_checkout_options co = GIT_CHECKOUT_OPTIONS_INIT;
	co.checkout_strategy = GIT_CHECKOUT_FORCE;
	int rc = git_checkout_head(repo, &co);
	return rc < 0 ? git_failure(rc, "cannot check out the merged tree") : NULL;
}

static err_t *merge_commit(git_repository *repo, const struct clone_request *rq, const char *base_branch,
			   const git_oid *base, const git_oid *pr, git_oid *out)
{
	git_commit *ours = NULL, *theirs = NULL;
	git_index *index = NULL;
	git_tree *tree = NULL;
	git_signature *sig = NULL;
	_cleanup_free_ char *msg = NULL;
	err_t *e = NULL;
	git_oid tree_id;
	if (git_commit_lookup(&ours, repo, base) < 0 || git_commit_lookup(&theirs, repo, pr) < 0) {
		e = git_failure(-1, "cannot read the commits to merge");
		goto out;
	}
	git_merge_options mo = GIT_MERGE_OPTIONS_INIT;
	if (git_merge_commits(&index, repo, ours, theirs, &mo) < 0) {
		e = git_failure(-1, "cannot merge the pull request");
		goto out;
	}
	if (git_index_has_conflicts(index)) {
		e = conflict_error(index, base_branch, pr);
		goto out;
	}
	const char *name = getenv("GIT_COMMITTER_NAME"), *email = getenv("GIT_COMMITTER_EMAIL");
	if (git_index_write_tree_to(&tree_id, index, repo) < 0 || git_tree_lookup(&tree, repo, &tree_id) < 0 ||
	    git_signature_now(&sig, name && *name ? name : "git-clone", email && *email ? email : "git-clone@localhost") <
		    0) {
		e = git_failure(-1, "cannot write the merge");
		goto out;
	}
	msg = xasprintf("Merge %s into %s\n", rq->pr_branch && *rq->pr_branch ? rq->pr_branch : rq->pr_revision,
			base_branch);
	const git_commit *parents[2] = { ours, theirs };
	if (git_commit_create(out, repo, "HEAD", sig, sig, NULL, msg, tree, 2, parents) < 0) {
		e = git_failure(-1, "cannot commit the merge");
		goto out;
	}
	e = checkout_head(repo);
out:
	git_signature_free(sig);
	git_tree_free(tree);
	git_index_free(index);
	git_commit_free(theirs);
	git_commit_free(ours);
	return e;
}

err_t *pr_merge(git_repository *repo, const struct clone_request *rq, const char *base_branch, git_oid *head)
{
	git_oid pr;
	TRY(fetch_head(repo, rq, &pr));
	char hex[GIT_OID_SHA1_HEXSIZE + 1];
	git_oid_tostr(hex, sizeof hex, &pr);
	git_oid base_of;
	int rc = git_merge_base(&base_of, repo, head, &pr);
	if (rc == GIT_ENOTFOUND)
		return err_new(EXIT_FAILED, "the pull request head %s shares no history with %s", hex, base_branch);
	if (rc < 0)
		return git_failure(rc, "cannot find where the pull request forked from %s", base_branch);
	if (git_oid_equal(&base_of, &pr)) {
		log_info("pull request head %s is already in %s", hex, base_branch);
		return NULL;
	}
	if (git_oid_equal(&base_of, head)) {
		log_info("fast-forwarding %s to the pull request head %s", base_branch, hex);
		git_reference *ref = NULL, *moved = NULL;
		_cleanup_free_ char *name = xasprintf("refs/heads/%s", base_branch);
		rc = git_reference_lookup(&ref, repo, name);
		if (rc == 0)
			rc = git_reference_set_target(&moved, ref, &pr, "merge: fast-forward");
		git_reference_free(moved);
		git_reference_free(ref);
		if (rc < 0)
			return git_failure(rc, "cannot fast-forward %s", base_branch);
		git_oid_cpy(head, &pr);
		return checkout_head(repo);
	}
	log_info("merging the pull request head %s into %s", hex, base_branch);
	git_oid merged;
	TRY(merge_commit(repo, rq, base_branch, head, &pr, &merged));
	git_oid_cpy(head, &merged);
	return NULL;
}
