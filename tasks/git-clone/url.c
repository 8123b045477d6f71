#include "url.h"

#include <ctype.h>
#include <stdbool.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "strbuf.h"
#include "xalloc.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static char *percent_decode(const char *s, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 && (lo = hexval(s[i + 2])) >= 0) {
			sb_addc(&sb, (char)(hi * 16 + lo));
			i += 2;
		} else {
			sb_addc(&sb, s[i]);
		}
	}
	return sb_detach(&sb);
}

const char *url_default_port(const char *scheme)
{
	if (!scheme)
		return NULL;
	if (!strcmp(scheme, "https"))
		return "443";
	if (!strcmp(scheme, "http"))
		return "80";
	if (!strcmp(scheme, "ssh"))
		return "22";
	if (!strcmp(scheme, "git"))
		return "9418";
	return NULL;
}

/* host[:port] or [v6]:port, from s..end */
static err_t *split_hostport(const char *s, const char *end, struct remote_url *u)
{
	const char *colon = NULL;
	if (*s == '[') {
		const char *close = memchr(s, ']', (size_t)(end - s));
		if (!close)
			return err_new(EXIT_USAGE, "repository URL has an unterminated [IPv6] host");
		u->host = xstrndup(s, (size_t)(close + 1 - s));
		if (close + 1 < end && close[1] == ':')
			colon = close + 1;
	} else {
		colon = memchr(s, ':', (size_t)(end - s));
		u->host = xstrndup(s, (size_t)((colon ? colon : end) - s));
	}
	if (colon && colon + 1 < end) {
		for (const char *p = colon + 1; p < end; p++)
			if (!isdigit((unsigned char)*p))
				return err_new(EXIT_USAGE, "repository URL has a port that is not a number");
		u->port = xstrndup(colon + 1, (size_t)(end - colon - 1));
	}
	if (!*u->host)
		return err_new(EXIT_USAGE, "repository URL has no host");
	return NULL;
}

err_t *url_parse(const char *text, struct remote_url *u)
{
	memset(u, 0, sizeof *u);
	if (!text || !*text)
		return err_new(EXIT_USAGE, "the repository URL is empty");
	const char *sep = strstr(text, "://");
	const char *colon = strchr(text, ':');
	const char *slash = strchr(text, '/');
	if (!sep) {
		/* scp-like user@host:path (a colon before any slash), or a local path */
		if (colon && (!slash || colon < slash) && colon != text) {
			const char *at = memchr(text, '@', (size_t)(colon - text));
			u->scheme = xstrdup("ssh");
			if (at)
				u->user = xstrndup(text, (size_t)(at - text));
			u->host = xstrndup(at ? at + 1 : text, (size_t)(colon - (at ? at + 1 : text)));
			u->path = xstrdup(colon + 1);
			u->clean = xstrdup(text);
			return NULL;
		}
		u->scheme = xstrdup("file");
		u->clean = xstrdup(text);
		return NULL;
	}
	u->scheme = xstrndup(text, (size_t)(sep - text));
	for (char *p = u->scheme; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	const char *auth = sep + 3;
	const char *path = auth + strcspn(auth, "/?#");
	if (!strcmp(u->scheme, "file")) {
		u->clean = xstrdup(text);
		return NULL;
	}
	const char *at = NULL;
	for (const char *p = auth; p < path; p++)
		if (*p == '@')
			at = p; /* the last @ ends the userinfo */
	const char *hostpart = auth;
	if (at) {
		const char *pc = memchr(auth, ':', (size_t)(at - auth));
		u->user = percent_decode(auth, (size_t)((pc ? pc : at) - auth));
		if (pc) {
			u->password = percent_decode(pc + 1, (size_t)(at - pc - 1));
			if (strlen(u->password) >= LOG_SECRET_MIN)
				log_secret(u->password);
			/* the raw (encoded) form too, in case it is ever echoed */
			char *raw = xstrndup(pc + 1, (size_t)(at - pc - 1));
			if (strlen(raw) >= LOG_SECRET_MIN)
				log_secret(raw);
			free(raw);
		}
		if (u->user && !*u->user) {
			free(u->user);
			u->user = NULL;
		}
		hostpart = at + 1;
	}
	TRY(split_hostport(hostpart, path, u));
	u->path = xstrndup(path, strcspn(path, "?#"));
	bool is_http = !strcmp(u->scheme, "http") || !strcmp(u->scheme, "https");
	struct strbuf sb = STRBUF_INIT;
	sb_add(&sb, text, (size_t)(auth - text));
	if (u->user && !is_http)
		sb_addf(&sb, "%.*s@", (int)strcspn(auth, ":@"), auth);
	sb_add(&sb, hostpart, strlen(hostpart));
	u->clean = sb_detach(&sb);
	return NULL;
}

void url_free(struct remote_url *u)
{
	free(u->scheme);
	free(u->user);
	free(u->password);
	free(u->host);
	free(u->port);
	free(u->path);
	free(u->clean);
	memset(u, 0, sizeof *u);
}

int url_same_origin(const struct remote_url *a, const struct remote_url *b)
{
	if (!a->host || !b->host || strcasecmp(a->host, b->host) != 0)
		return 0;
	const char *pa = a->port ? a->port : url_default_port(a->scheme);
	const char *pb = b->port ? b->port : url_default_port(b->scheme);
	if (!pa || !pb)
		return pa == pb;
	return strcmp(pa, pb) == 0;
}
