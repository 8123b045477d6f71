#include "sshconfig.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "strbuf.h"
#include "xalloc.h"

#define SSH_CONFIG_MAX (1 << 20)

/* Whether a Host line's patterns match host: some positive pattern does
 * and no negated one does. */
static bool host_matches(char **pats, size_t n, const char *host)
{
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		bool neg = pats[i][0] == '!';
		if (fnmatch(pats[i] + neg, host, FNM_CASEFOLD | FNM_NOESCAPE) == 0) {
			if (neg)
				return false;
			any = true;
		}
	}
	return any;
}

/* The words of a line after its keyword: split on blanks, "quoted" words
 * kept whole. NULL (and *err) on an unterminated quote. */
static char **split_words(const char *s, size_t *n, bool *bad)
{
	char **v = NULL;
	*n = 0;
	*bad = false;
	while (*s) {
		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		const char *w = s, *end;
		if (*s == '"') {
			w = ++s;
			end = strchr(s, '"');
			if (!end) {
				*bad = true;
				break;
			}
			s = end + 1;
		} else {
			while (*s && !isspace((unsigned char)*s))
				s++;
			end = s;
		}
		v = xrealloc(v, (*n + 1) * sizeof *v);
		v[(*n)++] = xstrndup(w, (size_t)(end - w));
	}
	return v;
}

static void free_words(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ~ and %d, %h, %% in a path */
static err_t *expand_path(const char *in, const char *home, const char *host, char **out)
{
	struct strbuf sb = STRBUF_INIT;
	const char *s = in;
	if (s[0] == '~' && (s[1] == '/' || !s[1])) {
		sb_addf(&sb, "%s", home);
		s++;
	}
	for (; *s; s++) {
		if (*s != '%') {
			sb_addc(&sb, *s);
			continue;
		}
		switch (s[1]) {
		case '%': sb_addc(&sb, '%'); break;
		case 'd': sb_addf(&sb, "%s", home); break;
		case 'h': sb_addf(&sb, "%s", host); break;
		default:
			sb_release(&sb);
			return err_new(EXIT_USAGE, "the token %%%c in a path is not supported (only %%d %%h %%%%)",
				       s[1] ? s[1] : ' ');
		}
		s++;
	}
	*out = sb_detach(&sb);
	return NULL;
}

static void set_once(char **slot, const char *v)
{
	if (!*slot)
		*slot = xstrdup(v);
}

static err_t *apply(struct ssh_host_config *c, const char *key, char **w, size_t n, const char *host,
		    const char *home)
{
	if (!strcasecmp(key, "HostName")) {
		set_once(&c->hostname, w[0]);
	} else if (!strcasecmp(key, "Port")) {
		for (const char *p = w[0]; *p; p++)
			if (!isdigit((unsigned char)*p))
				return err_new(EXIT_USAGE, "Port %s is not a number", w[0]);
		set_once(&c->port, w[0]);
	} else if (!strcasecmp(key, "User")) {
		set_once(&c->user, w[0]);
	} else if (!strcasecmp(key, "IdentityFile")) {
		char *p;
		TRY(expand_path(w[0], home, c->hostname ? c->hostname : host, &p));
		c->identity_files = xrealloc(c->identity_files, (c->nidentity + 1) * sizeof *c->identity_files);
		c->identity_files[c->nidentity++] = p;
	} else if (!strcasecmp(key, "UserKnownHostsFile")) {
		if (c->nknown_hosts)
			return NULL;
		for (size_t i = 0; i < n; i++) {
			if (!strcasecmp(w[i], "none"))
				continue;
			char *p;
			TRY(expand_path(w[i], home, c->hostname ? c->hostname : host, &p));
			c->known_hosts_files = xrealloc(c->known_hosts_files,
							(c->nknown_hosts + 1) * sizeof *c->known_hosts_files);
			c->known_hosts_files[c->nknown_hosts++] = p;
		}
	} else if (!strcasecmp(key, "StrictHostKeyChecking")) {
		if (c->strict != SSH_STRICT_UNSET)
			return NULL;
		if (!strcasecmp(w[0], "yes") || !strcasecmp(w[0], "ask"))
			c->strict = SSH_STRICT_YES; /* nobody to ask: as yes */
		else if (!strcasecmp(w[0], "accept-new"))
			c->strict = SSH_STRICT_ACCEPT_NEW;
		else if (!strcasecmp(w[0], "no") || !strcasecmp(w[0], "off"))
			c->strict = SSH_STRICT_NO;
		else
			return err_new(EXIT_USAGE, "StrictHostKeyChecking %s is not yes, accept-new or no", w[0]);
	}
	return NULL;
}

err_t *sshconfig_parse(const char *text, size_t len, const char *what, const char *host, const char *home,
		       struct ssh_host_config *out)
{
	memset(out, 0, sizeof *out);
	bool active = true; /* options before the first Host apply to every host */
	int lineno = 0;
	const char *end = text + len;
	for (const char *p = text; p < end;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t ln = (size_t)((eol ? eol : end) - p);
		_cleanup_free_ char *line = xstrndup(p, ln);
		p += ln + (eol ? 1 : 0);
		lineno++;
		char *s = line;
		while (isspace((unsigned char)*s))
			s++;
		if (!*s || *s == '#')
			continue;
		/* "Keyword value", "Keyword=value", "Keyword = value" */
		char *k = s;
		while (*s && !isspace((unsigned char)*s) && *s != '=')
			s++;
		char *kend = s;
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '=')
			s++;
		*kend = '\0';
		size_t n;
		bool bad;
		char **w = split_words(s, &n, &bad);
		err_t *e = NULL;
		if (bad || !n) {
			e = err_new(EXIT_USAGE, "ssh config %s:%d: %s %s", what, lineno, k,
				    bad ? "has an unterminated quote" : "has no value");
		} else if (!strcasecmp(k, "Host")) {
			active = host_matches(w, n, host);
		} else if (!strcasecmp(k, "Match")) {
			log_warn("ssh config %s:%d: Match blocks are not supported; its options are ignored", what, lineno);
			active = false;
		} else if (!strcasecmp(k, "Include")) {
			log_warn("ssh config %s:%d: Include is not supported; ignored", what, lineno);
		} else if (active) {
			e = apply(out, k, w, n, host, home);
			if (e)
				e = err_wrap(e, "ssh config %s:%d", what, lineno);
		}
		free_words(w, n);
		if (e) {
			sshconfig_free(out);
			return e;
		}
	}
	return NULL;
}

err_t *sshconfig_read(const char *path, const char *host, const char *home, struct ssh_host_config *out)
{
	memset(out, 0, sizeof *out);
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return NULL;
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	TRY(fs_read_file(path, SSH_CONFIG_MAX, &sb));
	return sshconfig_parse(sb_str(&sb), sb.len, path, host, home, out);
}

void sshconfig_free(struct ssh_host_config *c)
{
	free(c->hostname);
	free(c->port);
	free(c->user);
	for (size_t i = 0; i < c->nidentity; i++)
		free(c->identity_files[i]);
	free(c->identity_files);
	for (size_t i = 0; i < c->nknown_hosts; i++)
		free(c->known_hosts_files[i]);
	free(c->known_hosts_files);
	memset(c, 0, sizeof *c);
}
