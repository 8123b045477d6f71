#include "credfile.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "strbuf.h"
#include "xalloc.h"

#define CRED_FILE_MAX (1 << 20)

static void add_entry(struct cred_list *l, struct cred_entry *e)
{
	struct cred_entry **p = &l->head;
	while (*p)
		p = &(*p)->next;
	*p = e;
}

static void remember_secret(const char *s)
{
	if (s && strlen(s) >= LOG_SECRET_MIN)
		log_secret(s);
}

err_t *credfile_parse_git_credentials(struct cred_list *l, const char *text, size_t len, const char *what)
{
	const char *end = text + len;
	for (const char *p = text; p < end;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((eol ? eol : end) - p);
		_cleanup_free_ char *line = xstrndup(p, n);
		p += n + (eol ? 1 : 0);
		char *s = line;
		while (isspace((unsigned char)*s))
			s++;
		size_t sl = strlen(s);
		while (sl && isspace((unsigned char)s[sl - 1]))
			s[--sl] = '\0';
		if (!*s || *s == '#')
			continue;
		struct cred_entry *e = xcalloc(1, sizeof *e);
		err_t *err = url_parse(s, &e->url); /* registers the password */
		if (err || !e->url.host || !e->url.password || !strcmp(e->url.scheme, "file")) {
			err_free(err);
			url_free(&e->url);
			free(e);
			return err_new(EXIT_USAGE, "credentials-file %s: a line is not scheme://user:password@host", what);
		}
		e->user = xstrdup(e->url.user ? e->url.user : "");
		e->password = xstrdup(e->url.password);
		add_entry(l, e);
	}
	return NULL;
}

err_t *credfile_parse_netrc(struct cred_list *l, const char *text, size_t len, const char *what)
{
	struct cred_entry *cur = NULL;
	const char *want = NULL; /* keyword waiting for its value */
	const char *end = text + len;
	for (const char *p = text; p < end;) {
		while (p < end && isspace((unsigned char)*p))
			p++;
		if (p >= end)
			break;
		const char *w = p;
		while (p < end && !isspace((unsigned char)*p))
			p++;
		_cleanup_free_ char *tok = xstrndup(w, (size_t)(p - w));
		if (want) {
			if (!strcmp(want, "machine")) {
				cur->url.host = xstrdup(tok);
			} else if (!strcmp(want, "login")) {
				free(cur->user);
				cur->user = xstrdup(tok);
			} else if (!strcmp(want, "password")) {
				remember_secret(tok);
				free(cur->password);
				cur->password = xstrdup(tok);
			}
			want = NULL;
			continue;
		}
		if (!strcmp(tok, "machine") || !strcmp(tok, "default")) {
			cur = xcalloc(1, sizeof *cur);
			cur->any_host = !strcmp(tok, "default");
			add_entry(l, cur);
			if (!cur->any_host)
				want = "machine";
		} else if (cur && (!strcmp(tok, "login") || !strcmp(tok, "password") || !strcmp(tok, "account"))) {
			want = !strcmp(tok, "login") ? "login" : !strcmp(tok, "password") ? "password" : "account";
		} else if (!strcmp(tok, "macdef")) {
			break; /* macros end the part of the file we understand */
		} else {
			return err_new(EXIT_USAGE,
				       "netrc-file %s: unexpected word (not shown) outside machine/login/password", what);
		}
	}
	for (struct cred_entry *e = l->head; e; e = e->next)
		if (!e->user)
			e->user = xstrdup("");
	return NULL;
}

err_t *credfile_read(struct cred_list *l, const char *path, bool netrc)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	TRY(fs_read_file(path, CRED_FILE_MAX, &sb));
	return netrc ? credfile_parse_netrc(l, sb_str(&sb), sb.len, path)
		     : credfile_parse_git_credentials(l, sb_str(&sb), sb.len, path);
}

/* A git-credentials URL with a path covers that path and what is under it;
 * one without a path covers the whole host. */
static bool path_covers(const char *prefix, const char *path)
{
	size_t n = prefix ? strlen(prefix) : 0;
	while (n && prefix[n - 1] == '/')
		n--;
	if (!n)
		return true;
	if (!path || strncmp(prefix, path, n) != 0)
		return false;
	return path[n] == '\0' || path[n] == '/';
}

const struct cred_entry *credfile_find(const struct cred_list *l, const struct remote_url *u)
{
	const struct cred_entry *fallback = NULL;
	for (const struct cred_entry *e = l->head; e; e = e->next) {
		if (e->any_host) {
			if (!fallback)
				fallback = e;
			continue;
		}
		if (e->url.scheme) { /* git-credentials: scheme, host and port */
			if (u->scheme && !strcmp(e->url.scheme, u->scheme) && url_same_origin(&e->url, u) &&
			    path_covers(e->url.path, u->path))
				return e;
		} else if (e->url.host && u->host && !strcasecmp(e->url.host, u->host)) {
			return e; /* netrc: host only */
		}
	}
	return fallback;
}

void credfile_free(struct cred_list *l)
{
	for (struct cred_entry *e = l->head, *next; e; e = next) {
		next = e->next;
		url_free(&e->url);
		free(e->user);
		free(e->password);
		free(e);
	}
	l->head = NULL;
}
