/* The github and gitlab interceptors of a trigger (see interceptor.h). */
#include "interceptor.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cleanup.h"
#include "digest.h"
#include "strbuf.h"
#include "taskdef.h"
#include "xalloc.h"

const char *event_header(const struct trigger_event *ev, const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < ev->nheaders; i++) {
		const char *h = ev->headers[i];
		if (!strncasecmp(h, name, len) && (h[len] == '=' || h[len] == ':')) {
			h += len + 1;
			while (*h == ' ')
				h++;
			return h;
		}
	}
	return NULL;
}

/* The interceptor's param `name` (its value node), or NULL. */
static const struct ydoc_node *param(const struct ydoc_node *ic, const char *name)
{
	const struct ydoc_node *ps = ydoc_deref(ydoc_get(ic, "params"));
	for (size_t i = 0; i < ydoc_count(ps); i++) {
		const struct ydoc_node *p = ydoc_deref(ydoc_item(ps, i));
		const char *pn = ydoc_str(ydoc_get(p, "name"));
		if (pn && !strcmp(pn, name))
			return ydoc_deref(ydoc_get(p, "value"));
	}
	return NULL;
}

/* eventTypes: the event's type (header hdr) must be listed; no eventTypes:
 * every type */
static bool type_listed(const struct ydoc_node *ic, const struct trigger_event *ev, const char *hdr)
{
	const struct ydoc_node *types = param(ic, "eventTypes");
	if (!types)
		return true;
	const char *got = event_header(ev, hdr);
	for (size_t i = 0; got && i < ydoc_count(types); i++) {
		const char *t = ydoc_str(ydoc_item(types, i));
		if (t && !strcmp(t, got))
			return true;
	}
	return false;
}

/* The shortest webhook secret taken, in bytes. */
#define WEBHOOK_SECRET_MIN 16

/* Only white space (or nothing): what `echo "$UNSET" >token` leaves. */
static bool blank(const struct strbuf *sb)
{
	for (size_t i = 0; i < sb->len; i++)
		if (!isspace((unsigned char)sb->buf[i]))
			return false;
	return true;
}

/* The value of the secretRef's key, registered for redaction. */
static err_t *secret_of(const char *file, const struct ydoc_node *ref, const struct trigger_event *ev,
			   const char *what, struct strbuf *out)
{
	const char *name = ydoc_str(ydoc_get(ref, "secretName")), *key = ydoc_str(ydoc_get(ref, "secretKey"));
	if (!name || !*name || !key || !*key)
		return taskdef_bad(file, ref, "interceptor %s: secretRef needs secretName and secretKey", what);
	bool given = false;
	err_t *e = secret_value(ev->secrets, ev->nsecrets, name, key, out, &given);
	if (!e && !given)
		e = err_new(EXIT_USAGE,
			    "interceptor %s checks the event with Secret %s (key %s): give it with --secret %s=DIR "
			    "(DIR/%s holding the webhook secret)",
			    what, name, key, name, key);
	/* an empty secret checks nothing: anyone computes the HMAC under an
	 * empty key (or a newline), or sends an empty X-Gitlab-Token */
	if (!e && blank(out))
		e = err_new(EXIT_USAGE,
			    "the %s interceptor: Secret %s key %s is empty (or only white space): such a webhook secret "
			    "would accept an event anyone signed; put the webhook secret in that key",
			    what, name, key);
	/* one signed delivery lets anyone try short secrets offline */
	if (!e && out->len < WEBHOOK_SECRET_MIN)
		e = err_new(EXIT_USAGE,
			    "the %s interceptor: Secret %s key %s holds %zu bytes: a webhook secret needs at least %d "
			    "(a short one is guessed offline from any delivery it signed); make a random one, e.g. "
			    "openssl rand -hex 32",
			    what, name, key, out->len, WEBHOOK_SECRET_MIN);
	return e;
}

static bool equal_ct(const char *a, size_t la, const char *b, size_t lb)
{
	return la == lb && CRYPTO_memcmp(a, b, la) == 0;
}

/* X-Hub-Signature-256 (else X-Hub-Signature): "sha256=<hex>" or
 * "sha1=<hex>", the HMAC of the payload under the secret */
static err_t *github_signature(const struct trigger_event *ev, const struct strbuf *secret, const char *what)
{
	const char *hdr = event_header(ev, "X-Hub-Signature-256") ? "X-Hub-Signature-256" : "X-Hub-Signature";
	const char *sig = event_header(ev, hdr);
	if (!sig)
		return err_kind_new(EXIT_AUTH, ERR_KIND_AUTH, "the %s interceptor: the event has no X-Hub-Signature-256 (or X-Hub-Signature) header: "
				 "its github interceptor refuses an unsigned payload", what);
	const EVP_MD *md = !strncmp(sig, "sha256=", 7) ? EVP_sha256() : !strncmp(sig, "sha1=", 5) ? EVP_sha1() : NULL;
	if (!md)
		return err_kind_new(EXIT_AUTH, ERR_KIND_AUTH, "the %s interceptor: %s is not \"sha256=<hex>\" or \"sha1=<hex>\"", what, hdr);
	const char *hex = strchr(sig, '=') + 1;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (!HMAC(md, secret->buf ? secret->buf : "", (int)secret->len, (const unsigned char *)ev->body, ev->body_len,
		  mac, &n))
		return err_new(EXIT_FAILED, "the %s interceptor: cannot compute the payload's HMAC", what);
	char want[2 * EVP_MAX_MD_SIZE + 1];
	hex_encode(mac, n, want);
	_cleanup_free_ char *got = xstrdup(hex);
	for (char *c = got; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (!equal_ct(got, strlen(got), want, 2 * (size_t)n))
		return err_kind_new(EXIT_AUTH, ERR_KIND_AUTH, "the %s interceptor: %s does not match the payload: it was not signed with the webhook "
				 "secret (or the payload was changed)", what, hdr);
	return NULL;
}

static err_t *gitlab_token(const struct trigger_event *ev, const struct strbuf *secret, const char *what)
{
	const char *tok = event_header(ev, "X-Gitlab-Token");
	if (!tok)
		return err_kind_new(EXIT_AUTH, ERR_KIND_AUTH, "the %s interceptor: the event has no X-Gitlab-Token header: its gitlab interceptor "
				 "refuses it", what);
	if (!equal_ct(tok, strlen(tok), secret->buf ? secret->buf : "", secret->len))
		return err_kind_new(EXIT_AUTH, ERR_KIND_AUTH, "the %s interceptor: X-Gitlab-Token is not the webhook secret", what);
	return NULL;
}

err_t *interceptor_run(const char *file, const struct ydoc_node *ic, const struct trigger_event *ev, bool *fires)
{
	const char *name = ydoc_str(ydoc_path(ic, "ref.name"));
	bool github = name && !strcmp(name, "github"), gitlab = name && !strcmp(name, "gitlab");
	*fires = false;
	if (!github && !gitlab)
		return taskdef_bad(file, ic, "interceptor '%s': pipeline-run replays the github and gitlab interceptors only",
				   name ? name : "");
	/* Triggers checks the event type first, then the secret */
	if (!type_listed(ic, ev, github ? "X-GitHub-Event" : "X-Gitlab-Event"))
		return NULL;
	const struct ydoc_node *ref = param(ic, "secretRef");
	if (ref) {
		struct strbuf secret = STRBUF_INIT;
		err_t *e = secret_of(file, ref, ev, name, &secret);
		if (!e)
			e = github ? github_signature(ev, &secret, name) : gitlab_token(ev, &secret, name);
		if (secret.buf)
			explicit_bzero(secret.buf, secret.cap);
		sb_release(&secret);
		TRY(e);
	}
	*fires = true;
	return NULL;
}
