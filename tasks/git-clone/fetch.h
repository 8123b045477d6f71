/* Talking to a remote: list its refs and fetch from it, retrying with
 * backoff while the network fails, and turning libgit2's failures into our
 * exit codes: refused credentials or server identity -> 4, a remote that
 * stays unreachable or keeps resetting -> 5, a missing repository -> 2. */
#ifndef GIT_CLONE_FETCH_H
#define GIT_CLONE_FETCH_H

#include <stddef.h>

#include <git2.h>

#include "auth.h"
#include "error.h"
#include "url.h"

struct remote_ref {
	char *name;
	git_oid oid;
};

struct ref_list {
	struct remote_ref *refs;
	size_t n;
	char *head_target; /* what HEAD points at ("refs/heads/main"), or NULL */
	git_oid head_oid;
	bool has_head;
};

struct net {
	struct auth *auth;
	const struct remote_url *url; /* the remote, for messages and host key ports */
	long max_retries;
};

void ref_list_free(struct ref_list *l);
const struct remote_ref *ref_list_find(const struct ref_list *l, const char *name);

/* The refs the remote advertises, and its HEAD. */
err_t *remote_list(git_remote *remote, const struct net *net, struct ref_list *out);

/* Fetch refspecs (NULL, 0: the remote's configured ones). depth 0: full
 * history. A refspec naming an object id asks for that commit. */
err_t *remote_fetch(git_remote *remote, const struct net *net, const char *const *refspecs, size_t n, int depth,
		    git_remote_autotag_option_t tags);

/* Ask for one commit by id, once: a server that does not have it, or will
 * not send it on its own, just ends the connection, which looks like a
 * network failure, so retrying would only delay the answer (the refs were
 * listed fine just before). */
err_t *remote_fetch_id(git_remote *remote, const struct net *net, const git_oid *id, int depth);
bool repo_has_object(git_repository *repo, const git_oid *id);
/* s is min to 40 hex digits: a commit id, maybe abbreviated. */
bool is_hex_id(const char *s, size_t min);

/* Run op until it succeeds (rc >= 0), fails for a reason retrying cannot
 * fix, or net->max_retries retries (with backoff) ran out. what says what
 * failed, before the remote's URL ("cannot fetch from"). */
typedef int (*net_op)(const struct net *net, void *data);
err_t *net_retry(const struct net *net, const char *what, net_op op, void *data);
void net_set_callbacks(const struct net *net, git_remote_callbacks *cb);
/* The proxy for net->url from http_proxy/https_proxy/no_proxy (either case). */
void net_set_proxy(const struct net *net, git_proxy_options *po);

/* A libgit2 failure (rc < 0) as an error, with what we were doing. */
err_t *git_failure(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
