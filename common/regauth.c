/* Registry credentials (Docker config.json / containers auth.json) and the
 * Basic / Bearer token challenge flow (see regauth.h). */
#include "regauth.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "jsonutil.h"
#include "log.h"
#include "xalloc.h"

#define AUTHFILE_MAX (1u << 20)

void regauth_creds_free(struct regauth_creds *c)
{
	if (!c)
		return;
	free(c->username);
	free(c->password);
	free(c->identity_token);
	memset(c, 0, sizeof *c);
}

err_t *regauth_creds_parse(const char *s, struct regauth_creds *out)
{
	memset(out, 0, sizeof *out);
	const char *colon = s ? strchr(s, ':') : NULL;
	if (!colon || colon == s)
		return err_new(EXIT_USAGE, "credentials must be given as user:password");
	out->username = xstrndup(s, (size_t)(colon - s));
	out->password = xstrdup(colon + 1);
	log_secret(out->password);
	return NULL;
}

/* "https://index.docker.io/v1/" -> "index.docker.io"; docker hub aliases
 * -> "docker.io" */
static char *normalise_host(const char *key)
{
	const char *p = key;
	if (!strncasecmp(p, "https://", 8))
		p += 8;
	else if (!strncasecmp(p, "http://", 7))
		p += 7;
	size_t n = strcspn(p, "/");
	char *h = xstrndup(p, n);
	for (char *q = h; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	if (!strcmp(h, "index.docker.io") || !strcmp(h, "registry-1.docker.io") || !strcmp(h, "registry.hub.docker.com")) {
		free(h);
		h = xstrdup("docker.io");
	}
	return h;
}

static err_t *decode_auth(const char *b64, const char *what, struct regauth_creds *out)
{
	size_t n = strlen(b64);
	if (n == 0 || n % 4 || n > 8192)
		return err_new(EXIT_USAGE, "%s: \"auth\" is not valid base64", what);
	_cleanup_free_ unsigned char *buf = xmalloc(n / 4 * 3 + 1);
	int len = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)n);
	if (len < 0)
		return err_new(EXIT_USAGE, "%s: \"auth\" is not valid base64", what);
	if (n >= 1 && b64[n - 1] == '=')
		len--;
	if (n >= 2 && b64[n - 2] == '=')
		len--;
	buf[len] = '\0';
	if (memchr(buf, '\0', (size_t)len))
		return err_new(EXIT_USAGE, "%s: \"auth\" decodes to binary data", what);
	char *colon = strchr((char *)buf, ':');
	if (!colon)
		return err_new(EXIT_USAGE, "%s: \"auth\" does not decode to user:password", what);
	out->username = xstrndup((char *)buf, (size_t)(colon - (char *)buf));
	out->password = xstrdup(colon + 1);
	return NULL;
}

static char *default_authfile(void)
{
	const char *e = getenv("REGISTRY_AUTH_FILE");
	if (e && *e)
		return xstrdup(e);
	char *candidates[3] = { NULL, NULL, NULL };
	if ((e = getenv("XDG_RUNTIME_DIR")) && *e)
		candidates[0] = xasprintf("%s/containers/auth.json", e);
	if ((e = getenv("DOCKER_CONFIG")) && *e)
		candidates[1] = xasprintf("%s/config.json", e);
	if ((e = getenv("HOME")) && *e)
		candidates[2] = xasprintf("%s/.docker/config.json", e);
	char *found = NULL;
	for (int i = 0; i < 3; i++) {
		if (!found && candidates[i] && access(candidates[i], R_OK) == 0)
			found = candidates[i];
		else
			free(candidates[i]);
	}
	return found;
}

err_t *regauth_creds_lookup(const char *authfile, const char *host, struct regauth_creds *out)
{
	memset(out, 0, sizeof *out);
	_cleanup_free_ char *path = authfile && *authfile ? xstrdup(authfile) : default_authfile();
	if (!path)
		return NULL;
	if (access(path, F_OK) != 0) {
		if (authfile && *authfile)
			return err_errno(EXIT_USAGE, "auth file %s", path);
		return NULL;
	}
	json_t *doc = NULL;
	err_t *pe = json_parse_file(path, AUTHFILE_MAX, &doc);
	if (pe) {
		/* the parser's message quotes the text near the error: credentials */
		err_free(pe);
		return err_new(EXIT_USAGE, "auth file %s is not valid JSON (its content is not shown: it holds credentials)",
			       path);
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		return err_new(EXIT_USAGE, "auth file %s is not a JSON object", path);
	}
	_cleanup_free_ char *want = normalise_host(host);
	err_t *e = NULL;
	json_t *auths = json_object_get(doc, "auths");
	bool found = false;
	if (auths && json_is_object(auths)) {
		const char *key;
		json_t *entry;
		json_object_foreach(auths, key, entry) {
			_cleanup_free_ char *k = normalise_host(key);
			if (strcmp(k, want) || !json_is_object(entry))
				continue;
			_cleanup_free_ char *what = xasprintf("%s: auths.%s", path, key);
			const char *a = json_string_value(json_object_get(entry, "auth"));
			const char *u = json_string_value(json_object_get(entry, "username"));
			const char *pw = json_string_value(json_object_get(entry, "password"));
			const char *it = json_string_value(json_object_get(entry, "identitytoken"));
			if (a && *a) {
				e = decode_auth(a, what, out);
			} else if (u && pw) {
				out->username = xstrdup(u);
				out->password = xstrdup(pw);
			}
			if (!e && it && *it)
				out->identity_token = xstrdup(it);
			found = true;
			break;
		}
	}
	if (!found) {
		json_t *helpers = json_object_get(doc, "credHelpers");
		if (helpers && json_object_get(helpers, host))
			log_debug("%s: credential helper for %s ignored (helpers are not run); anonymous", path, host);
		else if (json_object_get(doc, "credsStore"))
			log_debug("%s: credsStore ignored (helpers are not run)", path);
	}
	json_decref(doc);
	if (e) {
		regauth_creds_free(out);
		return e;
	}
	log_secret(out->password);
	log_secret(out->identity_token);
	if (out->username)
		log_debug("credentials for %s from %s (user %s)", host, path, out->username);
	return NULL;
}

/* ---- challenges ---- */

void regauth_challenge_free(struct regauth_challenge *c)
{
	free(c->scheme);
	free(c->realm);
	free(c->service);
	free(c->scope);
	memset(c, 0, sizeof *c);
}

err_t *regauth_parse_challenge(const char *v, struct regauth_challenge *out)
{
	memset(out, 0, sizeof *out);
	if (!v)
		return err_new(EXIT_AUTH, "the server asked for authentication without a WWW-Authenticate challenge");
	const char *p = v;
	while (*p == ' ')
		p++;
	size_t n = 0;
	while (p[n] && p[n] != ' ' && p[n] != ',')
		n++;
	if (n == 0 || n > 32)
		return err_new(EXIT_AUTH, "unreadable WWW-Authenticate challenge");
	out->scheme = xstrndup(p, n);
	p += n;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		size_t kn = 0;
		while (p[kn] && p[kn] != '=' && p[kn] != ',' && p[kn] != ' ')
			kn++;
		const char *key = p;
		p += kn;
		while (*p == ' ')
			p++;
		if (*p != '=') {
			/* token68 or a second challenge: stop here */
			break;
		}
		p++;
		while (*p == ' ')
			p++;
		struct strbuf val = STRBUF_INIT;
		if (*p == '"') {
			p++;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1])
					p++;
				sb_addc(&val, *p++);
			}
			if (*p != '"') {
				sb_release(&val);
				regauth_challenge_free(out);
				return err_new(EXIT_AUTH, "unterminated quoted value in WWW-Authenticate challenge");
			}
			p++;
		} else {
			while (*p && *p != ',' && *p != ' ')
				sb_addc(&val, *p++);
		}
		char **slot = NULL;
		if (kn == 5 && !strncasecmp(key, "realm", 5))
			slot = &out->realm;
		else if (kn == 7 && !strncasecmp(key, "service", 7))
			slot = &out->service;
		else if (kn == 5 && !strncasecmp(key, "scope", 5))
			slot = &out->scope;
		if (slot) {
			free(*slot);
			*slot = sb_detach(&val);
		}
		sb_release(&val);
	}
	return NULL;
}

/* ---- auth state ---- */

struct token {
	char *scopes;
	char *header; /* "Authorization: Bearer ..." */
	time_t expires;
};

struct regauth {
	struct http_client *http;
	struct regauth_creds creds;
	bool basic;          /* the server asked for Basic */
	char *basic_header;
	struct regauth_challenge bearer; /* last Bearer challenge (realm, service) */
	struct token *tokens;
	size_t n_tokens;
};

struct regauth *regauth_new(struct http_client *http, const struct regauth_creds *creds)
{
	struct regauth *a = xcalloc(1, sizeof *a);
	a->http = http;
	if (creds) {
		a->creds.username = creds->username ? xstrdup(creds->username) : NULL;
		a->creds.password = creds->password ? xstrdup(creds->password) : NULL;
		a->creds.identity_token = creds->identity_token ? xstrdup(creds->identity_token) : NULL;
	}
	return a;
}

void regauth_free(struct regauth *a)
{
	if (!a)
		return;
	regauth_creds_free(&a->creds);
	free(a->basic_header);
	regauth_challenge_free(&a->bearer);
	for (size_t i = 0; i < a->n_tokens; i++) {
		free(a->tokens[i].scopes);
		free(a->tokens[i].header);
	}
	free(a->tokens);
	free(a);
}

const char *regauth_header(struct regauth *a, const char *scopes)
{
	if (a->basic)
		return a->basic_header;
	time_t now = time(NULL);
	for (size_t i = 0; i < a->n_tokens; i++)
		if (!strcmp(a->tokens[i].scopes, scopes ? scopes : "") && a->tokens[i].expires > now)
			return a->tokens[i].header;
	return NULL;
}

static void add_scope_param(struct strbuf *q, const char *scope, size_t n)
{
	_cleanup_free_ char *s = xstrndup(scope, n);
	_cleanup_free_ char *enc = http_urlencode(s);
	sb_addf(q, "%sscope=%s", q->len ? "&" : "", enc);
}

/* every space-separated scope of ours, plus the challenge's if different */
static void scope_params(struct strbuf *q, const char *ours, const char *theirs)
{
	for (const char *p = ours ? ours : ""; *p;) {
		while (*p == ' ')
			p++;
		size_t n = strcspn(p, " ");
		if (n)
			add_scope_param(q, p, n);
		p += n;
	}
	if (theirs && *theirs) {
		for (const char *p = theirs; *p;) {
			while (*p == ' ')
				p++;
			size_t n = strcspn(p, " ");
			bool dup = false;
			for (const char *o = ours ? ours : ""; n && *o;) {
				while (*o == ' ')
					o++;
				size_t m = strcspn(o, " ");
				dup |= m == n && !strncmp(o, p, n);
				o += m;
			}
			if (n && !dup)
				add_scope_param(q, p, n);
			p += n;
		}
	}
}

static err_t *fetch_token(struct regauth *a, const char *scopes)
{
	const struct regauth_challenge *ch = &a->bearer;
	if (!ch->realm || strncasecmp(ch->realm, "http", 4))
		return err_new(EXIT_AUTH, "Bearer challenge without a usable realm");
	struct strbuf q = STRBUF_INIT;
	if (ch->service) {
		_cleanup_free_ char *svc = http_urlencode(ch->service);
		sb_addf(&q, "service=%s", svc);
	}
	scope_params(&q, scopes, ch->scope);
	struct http_response resp = HTTP_RESPONSE_INIT;
	err_t *e = NULL;
	_cleanup_free_ char *url = NULL;
	_cleanup_free_ char *basic = NULL;
	if (a->creds.identity_token) {
		/* OAuth2 refresh-token grant */
		url = xstrdup(ch->realm);
		_cleanup_free_ char *rt = http_urlencode(a->creds.identity_token);
		sb_addf(&q, "%sgrant_type=refresh_token&client_id=secure-pipeline&refresh_token=%s", q.len ? "&" : "",
			rt);
		const char *hdrs[] = { "Content-Type: application/x-www-form-urlencoded", NULL };
		struct http_request req = { .method = "POST", .url = url, .headers = hdrs, .body = q.buf,
					    .body_len = q.len };
		e = http_do(a->http, &req, &resp);
	} else {
		url = xasprintf("%s%s%s", ch->realm, strchr(ch->realm, '?') ? "&" : "?", sb_str(&q));
		const char *hdrs[2] = { NULL, NULL };
		if (a->creds.username) {
			basic = http_basic_auth_header(a->creds.username, a->creds.password);
			hdrs[0] = basic;
		}
		struct http_request req = { .url = url, .headers = hdrs };
		e = http_do(a->http, &req, &resp);
	}
	sb_release(&q);
	if (e) {
		http_response_release(&resp);
		return err_wrap(e, "token request to %s", ch->realm);
	}
	if (resp.status != 200) {
		e = http_status_error(&resp, "token request");
		/* a token service refusing (even with 400) is an auth answer */
		bool refused = resp.status == 401 || resp.status == 403 || resp.status == 400;
		http_response_release(&resp);
		const char *who = a->creds.username || a->creds.identity_token ? "credentials" : "anonymous request";
		if (refused)
			return err_wrap_as(e, EXIT_AUTH, ERR_KIND_AUTH, "%s rejected the %s", ch->realm, who);
		return err_wrap(e, "%s rejected the %s", ch->realm, who);
	}
	json_t *doc = NULL;
	e = json_parse(sb_str(&resp.body), resp.body.len, "token response", &doc);
	http_response_release(&resp);
	if (e)
		return err_wrap_as(e, EXIT_AUTH, ERR_KIND_AUTH, "token service %s", ch->realm);
	const char *tok = json_string_value(json_object_get(doc, "token"));
	if (!tok || !*tok)
		tok = json_string_value(json_object_get(doc, "access_token"));
	if (!tok || !*tok || strpbrk(tok, "\r\n")) {
		json_decref(doc);
		return err_new(EXIT_AUTH, "token response from %s has no usable token", ch->realm);
	}
	json_int_t expires_in = 60;
	json_t *ei = json_object_get(doc, "expires_in");
	if (json_is_integer(ei) && json_integer_value(ei) > 0)
		expires_in = json_integer_value(ei);
	if (expires_in > 86400)
		expires_in = 86400;
	log_secret(tok);
	const char *rt = json_string_value(json_object_get(doc, "refresh_token"));
	log_secret(rt);
	struct token t = { xstrdup(scopes ? scopes : ""), xasprintf("Authorization: Bearer %s", tok),
			   time(NULL) + (time_t)expires_in - (expires_in > 20 ? 10 : 0) };
	json_decref(doc);
	for (size_t i = 0; i < a->n_tokens; i++) {
		if (!strcmp(a->tokens[i].scopes, t.scopes)) {
			free(a->tokens[i].scopes);
			free(a->tokens[i].header);
			a->tokens[i] = t;
			return NULL;
		}
	}
	a->tokens = xrealloc(a->tokens, (a->n_tokens + 1) * sizeof *a->tokens);
	a->tokens[a->n_tokens++] = t;
	log_debug("token obtained from %s for %s", a->bearer.realm, scopes ? scopes : "(no scope)");
	return NULL;
}

err_t *regauth_rejected(const struct regauth *a)
{
	if (!a->basic || !a->creds.username)
		return NULL;
	return err_kind_new(EXIT_AUTH, ERR_KIND_AUTH, "the registry rejected the credentials for user %s",
			    a->creds.username);
}

err_t *regauth_challenge(struct regauth *a, const struct http_response *resp, const char *scopes)
{
	struct regauth_challenge ch;
	TRY(regauth_parse_challenge(http_response_header(resp, "WWW-Authenticate"), &ch));
	if (!strcasecmp(ch.scheme, "Basic")) {
		regauth_challenge_free(&ch);
		if (!a->creds.username)
			return err_new(EXIT_AUTH, "the registry requires credentials and none were given "
						  "(creds param or an auth file entry)");
		if (a->basic)
			return regauth_rejected(a);
		a->basic = true;
		free(a->basic_header);
		a->basic_header = http_basic_auth_header(a->creds.username, a->creds.password);
		return NULL;
	}
	if (strcasecmp(ch.scheme, "Bearer")) {
		err_t *e = err_new(EXIT_AUTH, "unsupported authentication scheme \"%.32s\"", ch.scheme);
		regauth_challenge_free(&ch);
		return e;
	}
	/* a fresh token each time we are challenged (the one we held may have
	 * expired early); callers challenge at most once per request */
	regauth_challenge_free(&a->bearer);
	a->bearer = ch;
	return fetch_token(a, scopes);
}
