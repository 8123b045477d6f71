#include "submodules.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <git2/sys/errors.h>

#include "cleanup.h"
#include "log.h"
#include "strbuf.h"
#include "xalloc.h"

#define MAX_NESTING 8

struct names {
	char **v;
	size_t n;
};

static int collect(git_submodule *sm, const char *name, void *payload)
{
	(void)sm;
	struct names *names = payload;
	names->v = xrealloc(names->v, (names->n + 1) * sizeof *names->v);
	names->v[names->n++] = xstrdup(name);
	return 0;
}

/* A relative path with no "..", ".git" or empty component, whose parent
 * directories inside workdir are real directories (not symlinks). */
static err_t *check_path(const char *workdir, const char *path)
{
	if (!*path || path[0] == '/')
		return err_new(EXIT_FAILED, "submodule path '%s' is not inside the working tree", path);
	struct strbuf sb = STRBUF_INIT;
	sb_adds(&sb, workdir);
	err_t *e = NULL;
	for (const char *p = path; *p && !e;) {
		size_t n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && !strncmp(p, "..", 2)) ||
		    (n == 4 && !strncasecmp(p, ".git", 4))) {
			e = err_new(EXIT_FAILED, "submodule path '%s' is not inside the working tree", path);
			break;
		}
		if (sb.len && sb.buf[sb.len - 1] != '/')
			sb_addc(&sb, '/');
		sb_add(&sb, p, n);
		p += n;
		while (*p == '/')
			p++;
		struct stat st;
		if (*p && lstat(sb_str(&sb), &st) == 0 && !S_ISDIR(st.st_mode))
			e = err_new(EXIT_FAILED, "submodule path '%s' goes through a non-directory", path);
	}
	sb_release(&sb);
	return e;
}

static bool url_allowed(const struct remote_url *super, const struct remote_url *u)
{
	static const char *const net_schemes[] = { "https", "http", "ssh", "git" };
	for (size_t i = 0; i < sizeof net_schemes / sizeof *net_schemes; i++)
		if (!strcmp(u->scheme, net_schemes[i]))
			return true;
	/* local paths only for a local superproject (as git's protocol.file.allow=user) */
	return !strcmp(super->scheme, "file") && !strcmp(u->scheme, "file");
}

struct update_args {
	git_submodule *sm;
	int depth;
};

static int update_op(const struct net *net, void *data)
{
	struct update_args *a = data;
	git_submodule_update_options uo = GIT_SUBMODULE_UPDATE_OPTIONS_INIT;
	uo.checkout_opts.checkout_strategy = GIT_CHECKOUT_FORCE;
	net_set_callbacks(net, &uo.fetch_opts.callbacks);
	net_set_proxy(net, &uo.fetch_opts.proxy_opts);
	uo.fetch_opts.depth = a->depth;
	uo.allow_fetch = 1;
	return git_submodule_update(a->sm, 1, &uo);
}

static err_t *update_one(git_repository *repo, const struct clone_request *rq, const char *name, int depth,
			 int nesting);

static err_t *update_all(git_repository *repo, const struct clone_request *rq, int depth, int nesting)
{
	if (nesting > MAX_NESTING)
		return err_new(EXIT_FAILED, "submodules nest deeper than %d levels", MAX_NESTING);
	struct names names = { NULL, 0 };
	if (git_submodule_foreach(repo, collect, &names) < 0) {
		for (size_t i = 0; i < names.n; i++)
			free(names.v[i]);
		free(names.v);
		return git_failure(-1, "cannot read .gitmodules");
	}
	err_t *e = NULL;
	for (size_t i = 0; i < names.n; i++) {
		if (!e)
			e = update_one(repo, rq, names.v[i], depth, nesting);
		free(names.v[i]);
	}
	free(names.v);
	return e;
}

static err_t *update_one(git_repository *repo, const struct clone_request *rq, const char *name, int depth,
			 int nesting)
{
	git_submodule *sm = NULL;
	if (git_submodule_lookup(&sm, repo, name) < 0)
		return git_failure(-1, "cannot read submodule '%s'", name);
	err_t *e = NULL;
	git_buf resolved = { 0 };
	struct remote_url u = { 0 };
	const char *path = git_submodule_path(sm);
	const char *url = git_submodule_url(sm);
	const git_oid *want = git_submodule_index_id(sm);
	if (!want) {
		log_warn("submodule '%s' is in .gitmodules but not in the tree; skipped", name);
		goto out;
	}
	if ((e = check_path(git_repository_workdir(repo), path)))
		goto out;
	if (!url || !*url) {
		e = err_new(EXIT_FAILED, "submodule '%s' has no URL", name);
		goto out;
	}
	if (git_submodule_resolve_url(&resolved, repo, url) < 0) {
		e = git_failure(-1, "cannot resolve the URL of submodule '%s'", name);
		goto out;
	}
	if ((e = url_parse(resolved.ptr, &u)))
		goto out;
	if (!url_allowed(rq->url, &u)) {
		e = err_new(EXIT_FAILED, "submodule '%s' points at %s, which a %s clone may not read", name, u.clean,
			    rq->url->scheme);
		goto out;
	}
	log_info("submodule %s: %s", path, u.clean);
	struct net net = { rq->auth, &u, rq->max_retries };
	struct update_args args = { sm, depth };
	e = net_retry(&net, "cannot fetch submodule from", update_op, &args);
	if (e && depth && e->code == EXIT_FAILED) {
		/* the recorded commit is not within depth of a branch tip */
		log_warn("submodule %s: commit not in the shallow history; fetching its full history", path);
		err_free(e);
		args.depth = GIT_FETCH_DEPTH_UNSHALLOW;
		e = net_retry(&net, "cannot fetch submodule from", update_op, &args);
	}
	if (!e) {
		git_repository *sub = NULL;
		if (git_submodule_open(&sub, sm) < 0) {
			e = git_failure(-1, "cannot open submodule '%s'", name);
		} else {
			e = update_all(sub, rq, depth, nesting + 1);
			if (e)
				e = err_wrap(e, "in submodule %s", path);
			git_repository_free(sub);
		}
	}
out:
	url_free(&u);
	git_buf_dispose(&resolved);
	git_submodule_free(sm);
	return e;
}

err_t *submodules_update(git_repository *repo, const struct clone_request *rq, int depth)
{
	return update_all(repo, rq, depth, 0);
}
