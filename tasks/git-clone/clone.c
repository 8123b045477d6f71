#include "clone.h"

#include <stdlib.h>
#include <string.h>

#include <git2/sys/errors.h>

#include "cleanup.h"
#include "log.h"
#include "prmerge.h"
#include "strbuf.h"
#include "submodules.h"
#include "xalloc.h"

/* What the request names, resolved against what the remote advertises. */
struct plan {
	char *branch;      /* branch to check out / merge into; NULL: detached */
	char *rev_ref;     /* revision matched a remote ref */
	git_oid rev_oid;   /* revision as an object id */
	bool has_rev_oid;
	char *rev_tip_ref; /* a ref whose tip is rev_oid: fetchable from any server */
	bool rev_local;    /* revision must be resolved locally after a full fetch */
	char *owned[8]; /* refspecs built here */
	size_t nowned;
	const char *specs[64];
	size_t nspecs;
	int depth;
	git_remote_autotag_option_t tags;
	char *single_branch_spec; /* remote.origin.fetch for shallow clones */
};

static void plan_free(struct plan *p)
{
	free(p->branch);
	free(p->rev_ref);
	free(p->rev_tip_ref);
	for (size_t i = 0; i < p->nowned; i++)
		free(p->owned[i]);
	free(p->single_branch_spec);
}

static err_t *add_spec(struct plan *p, const char *spec)
{
	if (p->nspecs >= sizeof p->specs / sizeof *p->specs)
		return err_new(EXIT_USAGE, "too many refspecs");
	p->specs[p->nspecs++] = spec; /* callers pass stable strings */
	return NULL;
}

/* A refspec built here lives as long as the plan. */
static char *keep(struct plan *p, char *s)
{
	if (p->nowned < sizeof p->owned / sizeof *p->owned)
		p->owned[p->nowned++] = s;
	return s;
}

/* Where a remote ref is stored locally. */
static char *local_name(const char *ref)
{
	if (!strncmp(ref, "refs/heads/", 11))
		return xasprintf("refs/remotes/origin/%s", ref + 11);
	return xstrdup(ref); /* tags and other refs keep their name */
}

static err_t *make_plan(const struct clone_request *rq, const struct ref_list *refs, struct plan *p)
{
	const char *where = rq->url->clean;
	const char *default_branch = refs->head_target && !strncmp(refs->head_target, "refs/heads/", 11)
					     ? refs->head_target + 11
					     : NULL;
	if (rq->branch && *rq->branch) {
		/* "refs/heads/<name>" is <name>: what a push webhook's ref says */
		const char *b = !strncmp(rq->branch, "refs/heads/", 11) ? rq->branch + 11 : rq->branch;
		if (!*b)
			return err_new(EXIT_USAGE, "branch '%s' names no branch", rq->branch);
		/* a branch literally named refs/heads/<x> would be git-branch
		 * refs/heads/<x>, which reads (here too) as branch <x> */
		if (!strncmp(b, "refs/heads/", 11))
			return err_new(EXIT_USAGE,
				       "branch '%s': a branch named '%s' is refused: git-branch '%s' would read as branch "
				       "'%s'",
				       rq->branch, b, b, b + 11);
		_cleanup_free_ char *name = xasprintf("refs/heads/%s", b);
		if (!ref_list_find(refs, name))
			return err_new(EXIT_USAGE, "branch '%s' not found in %s", rq->branch, where);
		p->branch = xstrdup(b);
	} else if (default_branch) {
		p->branch = xstrdup(default_branch);
	}
	p->depth = rq->depth;
	p->tags = rq->depth ? GIT_REMOTE_DOWNLOAD_TAGS_AUTO : GIT_REMOTE_DOWNLOAD_TAGS_ALL;

	if (rq->revision && *rq->revision) {
		const char *r = rq->revision;
		/* git rev-parse's order: as given, refs/, refs/tags/, refs/heads/ */
		const char *const prefixes[] = { "", "refs/", "refs/tags/", "refs/heads/" };
		for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes && !p->rev_ref; i++) {
			if (i == 0 && strncmp(r, "refs/", 5))
				continue;
			_cleanup_free_ char *name = xasprintf("%s%s", prefixes[i], r);
			if (ref_list_find(refs, name))
				p->rev_ref = xstrdup(name);
		}
		if (!p->rev_ref && is_hex_id(r, 4)) {
			size_t n = strlen(r);
			for (size_t i = 0; i < refs->n && !p->has_rev_oid; i++) {
				char hex[GIT_OID_SHA1_HEXSIZE + 1];
				git_oid_tostr(hex, sizeof hex, &refs->refs[i].oid);
				if (!strncasecmp(hex, r, n)) {
					git_oid_cpy(&p->rev_oid, &refs->refs[i].oid);
					p->has_rev_oid = true;
					/* "refs/tags/v1^{}" is the commit an annotated tag points at */
					const char *name = refs->refs[i].name;
					const char *peel = strstr(name, "^{}");
					p->rev_tip_ref = peel ? xstrndup(name, (size_t)(peel - name)) : xstrdup(name);
				}
			}
			if (!p->has_rev_oid && n == GIT_OID_SHA1_HEXSIZE && git_oid_fromstr(&p->rev_oid, r) == 0)
				p->has_rev_oid = true;
			if (!p->has_rev_oid)
				p->rev_local = true; /* a short SHA: look it up after a full fetch */
		}
		if (!p->rev_ref && !p->has_rev_oid && !p->rev_local)
			return err_new(EXIT_USAGE, "revision '%s' not found in %s (not a branch, tag, ref or commit SHA)", r,
				       where);
		if (p->rev_local && p->depth) {
			log_warn("revision '%s' is an abbreviated SHA: fetching full history to find it", r);
			p->depth = 0;
		}
		if (!rq->branch || !*rq->branch) {
			free(p->branch);
			p->branch = NULL; /* a revision is checked out detached */
		}
	} else if (!p->branch) {
		return err_new(EXIT_USAGE, "%s has no default branch (HEAD); give branch", where);
	}

	for (size_t i = 0; i < rq->nrefspecs; i++)
		if (rq->refspecs[i] && *rq->refspecs[i])
			TRY(add_spec(p, rq->refspecs[i]));

	if (p->depth == 0) {
		TRY(add_spec(p, "+refs/heads/*:refs/remotes/origin/*"));
		if (p->rev_ref && strncmp(p->rev_ref, "refs/heads/", 11) && strncmp(p->rev_ref, "refs/tags/", 10))
			TRY(add_spec(p, keep(p, xasprintf("+%s:%s", p->rev_ref, p->rev_ref))));
		return NULL;
	}
	/* shallow: only what is checked out, like git clone --depth */
	if (p->rev_ref) {
		_cleanup_free_ char *dst = local_name(p->rev_ref);
		TRY(add_spec(p, keep(p, xasprintf("+%s:%s", p->rev_ref, dst))));
	} else if (p->rev_tip_ref) {
		_cleanup_free_ char *dst = local_name(p->rev_tip_ref);
		TRY(add_spec(p, keep(p, xasprintf("+%s:%s", p->rev_tip_ref, dst))));
	} else if (p->has_rev_oid) {
		char hex[GIT_OID_SHA1_HEXSIZE + 1];
		git_oid_tostr(hex, sizeof hex, &p->rev_oid);
		TRY(add_spec(p, keep(p, xstrdup(hex))));
	}
	if (p->branch && (!rq->revision || !*rq->revision || (rq->branch && *rq->branch))) {
		p->single_branch_spec = xasprintf("+refs/heads/%s:refs/remotes/origin/%s", p->branch, p->branch);
		TRY(add_spec(p, p->single_branch_spec));
	}
	return NULL;
}

static err_t *peel_commit(git_repository *repo, const git_oid *id, const char *what, git_oid *out)
{
	git_object *obj = NULL, *commit = NULL;
	int rc = git_object_lookup(&obj, repo, id, GIT_OBJECT_ANY);
	if (rc == 0)
		rc = git_object_peel(&commit, obj, GIT_OBJECT_COMMIT);
	git_object_free(obj);
	if (rc < 0)
		return err_new(EXIT_USAGE, "revision '%s' does not name a commit: %s", what,
			       git_error_last() ? git_error_last()->message : "not found");
	git_oid_cpy(out, git_object_id(commit));
	git_object_free(commit);
	return NULL;
}

static err_t *resolve_commit(git_repository *repo, const struct clone_request *rq, const struct plan *p,
			     git_oid *out)
{
	git_oid id;
	if (p->rev_ref) {
		_cleanup_free_ char *name = local_name(p->rev_ref);
		if (git_reference_name_to_id(&id, repo, name) < 0)
			return git_failure(-1, "revision '%s' was not fetched", rq->revision);
		return peel_commit(repo, &id, rq->revision, out);
	}
	if (p->has_rev_oid)
		return peel_commit(repo, &p->rev_oid, rq->revision, out);
	if (p->rev_local) {
		git_object *obj = NULL;
		if (git_revparse_single(&obj, repo, rq->revision) < 0)
			return err_new(EXIT_USAGE, "revision '%s' not found in %s", rq->revision, rq->url->clean);
		git_oid_cpy(&id, git_object_id(obj));
		git_object_free(obj);
		return peel_commit(repo, &id, rq->revision, out);
	}
	_cleanup_free_ char *name = xasprintf("refs/remotes/origin/%s", p->branch);
	if (git_reference_name_to_id(&id, repo, name) < 0)
		return git_failure(-1, "branch '%s' was not fetched", p->branch);
	return peel_commit(repo, &id, p->branch, out);
}

static err_t *fetch_plan(git_repository *repo, git_remote *remote, const struct net *net,
			 const struct clone_request *rq, struct plan *p)
{
	const char *all = "+refs/heads/*:refs/remotes/origin/*";
	if (p->depth && p->has_rev_oid && !p->rev_tip_ref) {
		err_t *e = remote_fetch_id(remote, net, &p->rev_oid, p->depth);
		if (!e && p->single_branch_spec) {
			/* and the branch: the revision is checked against its tip */
			const char *spec = p->single_branch_spec;
			return remote_fetch(remote, net, &spec, 1, p->depth, p->tags);
		}
		if (!e || e->code == EXIT_AUTH)
			return e;
		/* the server will not give out that commit on its own: take full history */
		log_warn("the server did not send commit %s on its own; fetching full history", rq->revision);
		err_free(e);
		p->depth = 0;
		TRY(remote_fetch(remote, net, &all, 1, 0, GIT_REMOTE_DOWNLOAD_TAGS_ALL));
	} else {
		TRY(remote_fetch(remote, net, p->specs, p->nspecs, p->depth, p->tags));
	}
	if (p->has_rev_oid && !repo_has_object(repo, &p->rev_oid)) {
		/* not reachable from a branch or tag: ask for it by id */
		err_t *e = remote_fetch_id(remote, net, &p->rev_oid, p->depth);
		if (e && e->code != EXIT_AUTH) {
			char *why = err_describe(e);
			err_free(e);
			e = err_new(EXIT_USAGE, "revision '%s' not found in %s (%s)", rq->revision, rq->url->clean, why);
			free(why);
		}
		return e;
	}
	return NULL;
}

/* Is commit the tip of the branch or one of its ancestors? In a shallow
 * repository the walk ends at the shallow boundary: "no" then may only mean
 * "not within the history fetched so far". */
static err_t *on_branch(git_repository *repo, const git_oid *commit, const git_oid *tip, const char *branch, bool *yes)
{
	*yes = git_oid_equal(commit, tip);
	if (*yes)
		return NULL;
	int rc = git_graph_descendant_of(repo, tip, commit);
	if (rc < 0 && git_repository_is_shallow(repo) == 1) {
		git_error_clear(); /* a parent beyond the boundary: not found so far */
		return NULL;
	}
	if (rc < 0)
		return git_failure(rc, "cannot walk the history of branch '%s'", branch);
	*yes = rc == 1;
	return NULL;
}

/* Branch and revision both given: the revision must be on the branch, or
 * git-branch would vouch for a commit that never was on it (a policy on the
 * branch, built-from-branch, trusts that result). A shallow fetch may stop
 * short of an older revision: then the branch's whole history is fetched,
 * once, and the walk runs again. */
static err_t *check_on_branch(git_repository *repo, git_remote *origin, const struct net *net,
			      const struct clone_request *rq, const struct plan *p, const git_oid *commit)
{
	_cleanup_free_ char *name = xasprintf("refs/remotes/origin/%s", p->branch);
	git_oid tip;
	if (git_reference_name_to_id(&tip, repo, name) < 0)
		return git_failure(-1, "branch '%s' was not fetched", p->branch);
	bool yes = false;
	TRY(on_branch(repo, commit, &tip, p->branch, &yes));
	if (!yes && git_repository_is_shallow(repo) == 1) {
		log_warn("revision '%s' is not in the shallow history of branch '%s': fetching the branch's full history "
			 "to check that it is on it",
			 rq->revision, p->branch);
		_cleanup_free_ char *spec = xasprintf("+refs/heads/%s:%s", p->branch, name);
		const char *s = spec;
		TRY(remote_fetch(origin, net, &s, 1, GIT_FETCH_DEPTH_UNSHALLOW, GIT_REMOTE_DOWNLOAD_TAGS_NONE));
		if (git_reference_name_to_id(&tip, repo, name) < 0)
			return git_failure(-1, "branch '%s' was not fetched", p->branch);
		TRY(on_branch(repo, commit, &tip, p->branch, &yes));
	}
	if (!yes) {
		char hex[GIT_OID_SHA1_HEXSIZE + 1], tip_hex[GIT_OID_SHA1_HEXSIZE + 1];
		git_oid_tostr(hex, sizeof hex, commit);
		git_oid_tostr(tip_hex, sizeof tip_hex, &tip);
		return err_new(EXIT_USAGE,
			       "revision '%s' (commit %s) is not on branch '%s' (tip %s): give the branch it is on, or no "
			       "branch",
			       rq->revision, hex, p->branch, tip_hex);
	}
	return NULL;
}

static int find_gitattributes(const char *root, const git_tree_entry *entry, void *payload)
{
	(void)root;
	if (!strcmp(git_tree_entry_name(entry), ".gitattributes")) {
		*(bool *)payload = true;
		return -1; /* found: stop walking */
	}
	return 0;
}

/* Checkout filters (eol, ident, drivers) come only from .gitattributes
 * here: no system or global config is read, and a fresh repository has no
 * info/attributes. Without any .gitattributes in the tree they are no-ops,
 * yet looking them up costs a realpath() per file; skip them then. */
static bool tree_needs_filters(git_repository *repo, const git_commit *commit)
{
	git_tree *tree = NULL;
	if (git_commit_tree(&tree, commit) < 0) {
		git_error_clear();
		return true;
	}
	bool found = false;
	int rc = git_tree_walk(tree, GIT_TREEWALK_PRE, find_gitattributes, &found);
	if (rc < 0 && !found)
		found = true; /* could not tell: keep the filters */
	git_error_clear();
	git_tree_free(tree);
	(void)repo;
	return found;
}

static err_t *checkout(git_repository *repo, const struct plan *p, const git_oid *commit_id, bool detached)
{
	git_commit *commit = NULL;
	if (git_commit_lookup(&commit, repo, commit_id) < 0)
		return git_failure(-1, "cannot read the commit to check out");
	int rc = 0;
	err_t *e = NULL;
	if (!detached) {
		git_reference *branch = NULL;
		rc = git_branch_create(&branch, repo, p->branch, commit, 1);
		if (rc == 0) {
			_cleanup_free_ char *upstream = xasprintf("origin/%s", p->branch);
			if (git_branch_set_upstream(branch, upstream) < 0)
				git_error_clear(); /* no upstream then; the checkout stands */
			rc = git_repository_set_head(repo, git_reference_name(branch));
		}
		git_reference_free(branch);
	} else {
		rc = git_repository_set_head_detached(repo, commit_id);
	}
	if (rc < 0)
		e = git_failure(rc, "cannot set HEAD");
	if (!e) {
		git_checkout_options co = GIT_CHECKOUT_OPTIONS_INIT;
		co.checkout_strategy = GIT_CHECKOUT_FORCE;
		co.disable_filters = !tree_needs_filters(repo, commit);
		rc = git_checkout_head(repo, &co);
		if (rc < 0)
			e = git_failure(rc, "cannot check out the working tree");
	}
	git_commit_free(commit);
	return e;
}

static err_t *set_origin_head(git_repository *repo, const struct ref_list *refs)
{
	if (!refs->head_target || strncmp(refs->head_target, "refs/heads/", 11))
		return NULL;
	_cleanup_free_ char *target = xasprintf("refs/remotes/origin/%s", refs->head_target + 11);
	git_oid id;
	if (git_reference_name_to_id(&id, repo, target) < 0) {
		git_error_clear();
		return NULL; /* not fetched (shallow single branch) */
	}
	git_reference *ref = NULL;
	if (git_reference_symbolic_create(&ref, repo, "refs/remotes/origin/HEAD", target, 1, NULL) < 0)
		return git_failure(-1, "cannot record origin/HEAD");
	git_reference_free(ref);
	return NULL;
}

static err_t *clone_into(git_repository *repo, const struct clone_request *rq, struct clone_outcome *out)
{
	struct net net = { rq->auth, rq->url, rq->max_retries };
	git_remote *probe = NULL;
	if (git_remote_create_anonymous(&probe, repo, rq->url->clean) < 0)
		return git_failure(-1, "invalid repository URL %s", rq->url->clean);
	struct ref_list refs;
	err_t *e = remote_list(probe, &net, &refs);
	git_remote_free(probe);
	if (e)
		return e;
	if (refs.n == 0 && !refs.has_head) {
		ref_list_free(&refs);
		if ((rq->branch && *rq->branch) || (rq->revision && *rq->revision) || rq->pr_branch || rq->pr_revision)
			return err_new(EXIT_USAGE, "%s is an empty repository: it has no %s '%s'", rq->url->clean,
				       rq->revision && *rq->revision ? "revision" : "branch",
				       rq->revision && *rq->revision ? rq->revision : rq->branch ? rq->branch : "");
		log_warn("%s is an empty repository", rq->url->clean);
		git_remote *origin = NULL;
		if (git_remote_create(&origin, repo, "origin", rq->url->clean) < 0)
			return git_failure(-1, "cannot add remote origin");
		git_remote_free(origin);
		out->empty = true;
		return NULL;
	}

	struct plan p = { 0 };
	e = make_plan(rq, &refs, &p);
	git_remote *origin = NULL;
	if (!e) {
		int rc = p.depth && p.single_branch_spec
				 ? git_remote_create_with_fetchspec(&origin, repo, "origin", rq->url->clean,
								    p.single_branch_spec)
				 : git_remote_create(&origin, repo, "origin", rq->url->clean);
		if (rc < 0)
			e = git_failure(rc, "cannot add remote origin");
	}
	if (!e) {
		log_info("fetching %s%s%s%s", rq->url->clean, p.branch ? " branch " : "", p.branch ? p.branch : "",
			 p.depth ? " (shallow)" : "");
		e = fetch_plan(repo, origin, &net, rq, &p);
	}
	if (!e) {
		const git_indexer_progress *st = git_remote_stats(origin);
		log_info("received %u objects", st->received_objects);
		e = resolve_commit(repo, rq, &p, &out->commit);
	}
	if (!e && p.branch && rq->branch && *rq->branch && rq->revision && *rq->revision)
		e = check_on_branch(repo, origin, &net, rq, &p, &out->commit);
	/* a revision is checked out detached, as git checkout <rev> does; in
	 * pull request mode it is the base the head is merged onto */
	bool pr_mode = rq->pr_branch || rq->pr_revision;
	bool detached = !p.branch || (rq->revision && *rq->revision && !pr_mode);
	if (!e)
		e = checkout(repo, &p, &out->commit, detached);
	if (!e)
		e = set_origin_head(repo, &refs);
	if (!e && pr_mode) {
		if (!p.branch)
			e = err_new(EXIT_USAGE, "pull request mode needs the base branch (give branch)");
		else
			e = pr_merge(repo, rq, p.branch, &out->commit);
	}
	if (!e && rq->submodules)
		e = submodules_update(repo, rq, rq->depth);
	/* git-branch vouches that the commit is on the branch: a pull
	 * request's merge (or the head it fast-forwards to) is not on it yet */
	if (!e && p.branch && !pr_mode)
		out->branch = xstrdup(p.branch);
	git_remote_free(origin);
	plan_free(&p);
	ref_list_free(&refs);
	return e;
}

err_t *clone_run(const struct clone_request *rq, const char *dir, struct clone_outcome *out)
{
	memset(out, 0, sizeof *out);
	git_repository *repo = NULL;
	git_repository_init_options io = GIT_REPOSITORY_INIT_OPTIONS_INIT;
	io.flags = GIT_REPOSITORY_INIT_NO_REINIT;
	if (git_repository_init_ext(&repo, dir, &io) < 0)
		return git_failure(-1, "cannot create a repository in %s", dir);
	err_t *e = clone_into(repo, rq, out);
	git_repository_free(repo);
	return e;
}

void clone_outcome_free(struct clone_outcome *o)
{
	free(o->branch);
	o->branch = NULL;
}
