#include "fetch.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <strings.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <git2/sys/errors.h>

#include "log.h"
#include "strbuf.h"
#include "xalloc.h"

#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 8000

void ref_list_free(struct ref_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->refs[i].name);
	free(l->refs);
	free(l->head_target);
	memset(l, 0, sizeof *l);
}

const struct remote_ref *ref_list_find(const struct ref_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->refs[i].name, name))
			return &l->refs[i];
	return NULL;
}

static const char *last_message(void)
{
	const git_error *ge = git_error_last();
	return ge && ge->message && *ge->message ? ge->message : "unknown libgit2 error";
}

err_t *git_failure(int rc, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	err_t *e = err_new(rc == GIT_ENOTFOUND ? EXIT_USAGE : EXIT_FAILED, "%s: %s", sb_str(&sb), last_message());
	sb_release(&sb);
	return e;
}

enum verdict { FATAL, RETRY };

/* Decide what a failed network operation means. */
static enum verdict classify(int rc, const struct net *net, const char *what, err_t **out)
{
	const struct auth *a = net->auth;
	const git_error *ge = git_error_last();
	const char *msg = last_message();
	const char *where = net->url->clean;
	if (a->bad_config) {
		*out = err_new(EXIT_USAGE, "%s %s: %s", what, where, a->why);
		return FATAL;
	}
	if (a->auth_refused || a->no_credentials || a->identity_refused) {
		*out = err_new(EXIT_AUTH, "%s %s: %s", what, where, a->why);
		return FATAL;
	}
	if (rc == GIT_EAUTH || strstr(msg, "401") || strstr(msg, "403") || strstr(msg, "authentication")) {
		*out = err_new(EXIT_AUTH, "%s %s: the server refused access: %s", what, where, msg);
		return FATAL;
	}
	if (rc == GIT_ECERTIFICATE) {
		*out = err_new(EXIT_AUTH, "%s %s: the server's identity could not be verified: %s", what, where, msg);
		return FATAL;
	}
	if (strstr(msg, "404") || strstr(msg, "repository not found") || strstr(msg, "does not appear to be a git repository") ||
	    strstr(msg, "not a git repository")) {
		*out = err_new(EXIT_USAGE, "%s %s: no repository there: %s", what, where, msg);
		return FATAL;
	}
	if (strstr(msg, "known_hosts") || strstr(msg, "home directory")) {
		*out = err_new(EXIT_FAILED, "%s %s: %s", what, where, msg); /* local setup: retrying cannot help */
		return FATAL;
	}
	bool net_class = ge && (ge->klass == GIT_ERROR_NET || ge->klass == GIT_ERROR_SSL || ge->klass == GIT_ERROR_SSH ||
				ge->klass == GIT_ERROR_HTTP || ge->klass == GIT_ERROR_OS);
	bool net_words = strstr(msg, "status code: 5") || strstr(msg, "early EOF") || strstr(msg, "connection") ||
			 strstr(msg, "Connection") || strstr(msg, "timed out") || strstr(msg, "reset") ||
			 strstr(msg, "failed to resolve") || strstr(msg, "unexpected disconnect") ||
			 strstr(msg, "failed to connect") || strstr(msg, "socket");
	if (net_class || net_words) {
		*out = err_new(EXIT_UNREACHABLE, "%s %s: %s", what, where, msg);
		return RETRY;
	}
	*out = err_new(EXIT_FAILED, "%s %s: %s", what, where, msg);
	return FATAL;
}

static void backoff(long attempt)
{
	long ms = BACKOFF_FIRST_MS;
	for (long i = 0; i < attempt && ms < BACKOFF_MAX_MS; i++)
		ms *= 2;
	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	ms += rand() % (ms / 4 + 1); /* jitter: clients retrying together spread out */
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Run op until it succeeds, fails for a reason retrying cannot fix, or the
 * retries run out. */
err_t *net_retry(const struct net *net, const char *what, net_op op, void *data)
{
	for (long attempt = 0;; attempt++) {
		auth_reset_attempt(net->auth, net->url);
		git_error_clear();
		int rc = op(net, data);
		if (rc >= 0)
			return NULL;
		err_t *e = NULL;
		enum verdict v = classify(rc, net, what, &e);
		if (v == FATAL)
			return e;
		if (attempt >= net->max_retries) {
			if (net->max_retries > 0)
				return err_wrap(e, "still failing after %ld retries", net->max_retries);
			return e;
		}
		char *text = err_describe(e);
		log_warn("%s; retry %ld of %ld", text, attempt + 1, net->max_retries);
		free(text);
		err_free(e);
		backoff(attempt);
	}
}

void net_set_callbacks(const struct net *net, git_remote_callbacks *cb)
{
	auth_set_callbacks(net->auth, cb);
}

static const char *env2(const char *lower, const char *upper)
{
	const char *v = getenv(lower);
	if (!v || !*v)
		v = getenv(upper);
	return v && *v ? v : NULL;
}

/* NO_PROXY: comma-separated hosts or domains (".example.com" or
 * "example.com" also cover subdomains), "*" for every host. */
static bool no_proxy_for(const char *host)
{
	const char *list = env2("no_proxy", "NO_PROXY");
	if (!list || !host)
		return false;
	size_t hlen = strlen(host);
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		const char *e = p;
		size_t len = n;
		while (len && (*e == ' ' || *e == '.')) {
			e++;
			len--;
		}
		while (len && e[len - 1] == ' ')
			len--;
		const char *colon = memchr(e, ':', len);
		if (colon && e[0] != '[')
			len = (size_t)(colon - e);
		if (len == 1 && *e == '*')
			return true;
		if (len && hlen >= len && !strncasecmp(host + hlen - len, e, len) &&
		    (hlen == len || host[hlen - len - 1] == '.'))
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

void net_set_proxy(const struct net *net, git_proxy_options *po)
{
	/* libgit2's own lookup (GIT_PROXY_AUTO) reads git config first; we read
	 * no config, so the environment decides, as curl and git do */
	const char *scheme = net->url->scheme;
	const char *proxy = NULL;
	if (!strcmp(scheme, "https"))
		proxy = env2("https_proxy", "HTTPS_PROXY");
	else if (!strcmp(scheme, "http"))
		proxy = env2("http_proxy", "HTTP_PROXY");
	if (proxy && !no_proxy_for(net->url->host)) {
		po->type = GIT_PROXY_SPECIFIED;
		po->url = proxy;
		po->certificate_check = NULL;
	} else {
		po->type = GIT_PROXY_NONE;
	}
}

struct list_args {
	git_remote *remote;
	struct ref_list *out;
};

static int list_op(const struct net *net, void *data)
{
	git_remote *remote = ((struct list_args *)data)->remote;
	struct ref_list *out = ((struct list_args *)data)->out;
	git_remote_callbacks cb = GIT_REMOTE_CALLBACKS_INIT;
	net_set_callbacks(net, &cb);
	git_proxy_options proxy = GIT_PROXY_OPTIONS_INIT;
	net_set_proxy(net, &proxy);
	int rc = git_remote_connect(remote, GIT_DIRECTION_FETCH, &cb, &proxy, NULL);
	if (rc < 0)
		return rc;
	const git_remote_head **heads = NULL;
	size_t n = 0;
	rc = git_remote_ls(&heads, &n, remote);
	if (rc >= 0) {
		ref_list_free(out);
		out->refs = xcalloc(n ? n : 1, sizeof *out->refs);
		for (size_t i = 0; i < n; i++) {
			if (!strcmp(heads[i]->name, "HEAD")) {
				out->has_head = true;
				git_oid_cpy(&out->head_oid, &heads[i]->oid);
				if (heads[i]->symref_target)
					out->head_target = xstrdup(heads[i]->symref_target);
				continue;
			}
			out->refs[out->n].name = xstrdup(heads[i]->name);
			git_oid_cpy(&out->refs[out->n].oid, &heads[i]->oid);
			out->n++;
		}
	}
	git_remote_disconnect(remote);
	return rc;
}

err_t *remote_list(git_remote *remote, const struct net *net, struct ref_list *out)
{
	memset(out, 0, sizeof *out);
	struct list_args args = { remote, out };
	return net_retry(net, "cannot list the refs of", list_op, &args);
}

struct fetch_args {
	git_remote *remote;
	git_strarray specs;
	int depth;
	git_remote_autotag_option_t tags;
};

static int fetch_op(const struct net *net, void *data)
{
	struct fetch_args *f = data;
	git_remote *remote = f->remote;
	git_fetch_options fo = GIT_FETCH_OPTIONS_INIT;
	net_set_callbacks(net, &fo.callbacks);
	net_set_proxy(net, &fo.proxy_opts);
	fo.depth = f->depth;
	fo.download_tags = f->tags;
	fo.update_fetchhead = 1;
	return git_remote_fetch(remote, f->specs.count ? &f->specs : NULL, &fo, NULL);
}

err_t *remote_fetch(git_remote *remote, const struct net *net, const char *const *refspecs, size_t n, int depth,
		    git_remote_autotag_option_t tags)
{
	struct fetch_args f = { remote, { (char **)refspecs, n }, depth, tags };
	return net_retry(net, "cannot fetch from", fetch_op, &f);
}

err_t *remote_fetch_id(git_remote *remote, const struct net *net, const git_oid *id, int depth)
{
	struct net once = *net;
	once.max_retries = 0;
	char hex[GIT_OID_SHA1_HEXSIZE + 1];
	git_oid_tostr(hex, sizeof hex, id);
	const char *spec = hex;
	return remote_fetch(remote, &once, &spec, 1, depth, GIT_REMOTE_DOWNLOAD_TAGS_NONE);
}

bool repo_has_object(git_repository *repo, const git_oid *id)
{
	git_odb *odb = NULL;
	if (git_repository_odb(&odb, repo) < 0)
		return false;
	bool ok = git_odb_exists(odb, id);
	git_odb_free(odb);
	return ok;
}

bool is_hex_id(const char *s, size_t min)
{
	size_t n = strlen(s);
	if (n < min || n > GIT_OID_SHA1_HEXSIZE)
		return false;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s))
			return false;
	return true;
}
