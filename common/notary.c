#include "notary.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "cleanup.h"
#include "digest.h"
#include "jsonutil.h"
#include "log.h"
#include "tuf.h"
#include "xalloc.h"

/* A file asked for ahead (notary_prefetch): in flight, then its answer
 * kept until it is asked for. */
struct ahead {
	char *file, *url;
	struct http_request req;
	struct http_call *call;
	struct http_response resp;
	err_t *err;
};

struct notary {
	struct http_client *http;
	char *base; /* https://host:port/v2/<gun>/_trust/tuf/ */
	char *gun;
	struct ahead *ahead[NOTARY_AHEAD_MAX];
	size_t n_ahead;
};

err_t *notary_open(const struct notary_options *opts, const char *gun, struct notary **out)
{
	TRY(http_check_url(opts->url, "https", "notary server URL"));
	if (!gun || !*gun || strstr(gun, "..") || strchr(gun, '?') || strchr(gun, '#'))
		return err_new(EXIT_USAGE, "'%s' is not a valid GUN", gun ? gun : "");
	struct http_options ho = {
		.connect_timeout_ms = opts->timeout_ms > 0 && opts->timeout_ms < 5000 ? opts->timeout_ms : 5000,
		.total_timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 60000,
		.retries = opts->retries,
		.backoff_initial_ms = 200,
		.backoff_max_ms = 2000,
		.ca_file = opts->ca_file,
		.client_cert = opts->client_cert,
		.client_key = opts->client_key,
		.tls_session_dir = opts->tls_session_dir,
		/* one connection, one handshake: the TUF roles asked for at
		 * once go one after the other on it (0.2-0.7 ms each on a kept-
		 * alive connection; a full handshake with the notary server costs
		 * both sides 4-14 ms of two shared cores) */
		.max_host_connections = 1,
	};
	struct notary *n = xcalloc(1, sizeof *n);
	err_t *e = http_client_new(&ho, &n->http);
	if (e) {
		free(n);
		return e;
	}
	size_t ulen = strlen(opts->url);
	while (ulen && opts->url[ulen - 1] == '/')
		ulen--;
	n->base = xasprintf("%.*s/v2/%s/_trust/tuf/", (int)ulen, opts->url, gun);
	n->gun = xstrdup(gun);
	*out = n;
	return NULL;
}

/* A request ahead: answered (kept) once this returns. */
static void settle(struct ahead *a)
{
	if (a->call) {
		a->err = http_finish(a->call);
		a->call = NULL;
	}
}

/* Forget request ahead i, answered or not (not waited for). */
static void drop_ahead(struct notary *n, size_t i)
{
	struct ahead *a = n->ahead[i];
	http_cancel(a->call);
	err_free(a->err);
	http_response_release(&a->resp);
	free(a->file);
	free(a->url);
	free(a);
	n->ahead[i] = n->ahead[--n->n_ahead];
}

static ssize_t find_ahead(const struct notary *n, const char *file)
{
	for (size_t i = 0; i < n->n_ahead; i++)
		if (!strcmp(n->ahead[i]->file, file))
			return (ssize_t)i;
	return -1;
}

static void ask_ahead(struct notary *n, const char *role, bool wait)
{
	_cleanup_free_ char *file = xasprintf("%s.json", role);
	ssize_t old = find_ahead(n, file);
	if (old >= 0)
		drop_ahead(n, (size_t)old); /* asked again: a fresh answer */
	if (n->n_ahead == NOTARY_AHEAD_MAX)
		return; /* fetched when asked for */
	struct ahead *a = xcalloc(1, sizeof *a);
	a->file = xstrdup(file);
	a->url = xasprintf("%s%s", n->base, a->file);
	a->req = (struct http_request){ .method = "GET", .url = a->url, .max_body = TUF_METADATA_MAX };
	a->resp = (struct http_response)HTTP_RESPONSE_INIT;
	n->ahead[n->n_ahead++] = a;
	a->call = wait ? http_start(n->http, &a->req, &a->resp) : http_queue(n->http, &a->req, &a->resp);
}

void notary_prefetch(struct notary *n, const char *role)
{
	ask_ahead(n, role, true);
}

void notary_prefetch_roles(struct notary *n, const char *const *roles, size_t count)
{
	for (size_t i = 0; i < count; i++)
		ask_ahead(n, roles[i], false);
}

void notary_close(struct notary *n)
{
	if (!n)
		return;
	while (n->n_ahead)
		drop_ahead(n, n->n_ahead - 1);
	http_client_free(n->http);
	free(n->base);
	free(n->gun);
	free(n);
}

const char *notary_gun(const struct notary *n)
{
	return n->gun;
}

static err_t *get(struct notary *n, const char *file, struct http_response *resp)
{
	ssize_t i = find_ahead(n, file);
	if (i >= 0) {
		struct ahead *a = n->ahead[i];
		settle(a);
		http_response_release(resp);
		*resp = a->resp;
		a->resp = (struct http_response)HTTP_RESPONSE_INIT;
		err_t *e = a->err;
		a->err = NULL;
		drop_ahead(n, (size_t)i);
		return err_context(e, "notary %s", n->gun);
	}
	_cleanup_free_ char *url = xasprintf("%s%s", n->base, file);
	struct http_request req = { .method = "GET", .url = url, .max_body = TUF_METADATA_MAX };
	return err_context(http_do(n->http, &req, resp), "notary %s", n->gun);
}

err_t *notary_get_role(struct notary *n, const char *role, struct strbuf *out, bool *found)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	_cleanup_free_ char *file = xasprintf("%s.json", role);
	err_t *e = get(n, file, &resp);
	*found = false;
	if (!e && resp.status == 404) {
		http_response_release(&resp);
		return NULL;
	}
	if (!e && resp.status != 200) {
		_cleanup_free_ char *what = xasprintf("notary %s: GET %s", n->gun, file);
		e = http_status_error(&resp, what);
	}
	if (!e) {
		sb_add(out, resp.body.buf, resp.body.len);
		*found = true;
	}
	http_response_release(&resp);
	return e;
}

err_t *notary_fetch(void *ctx, const char *role, struct strbuf *out, bool *found)
{
	return notary_get_role(ctx, role, out, found);
}

err_t *notary_get_key(struct notary *n, const char *role, json_t **key)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	_cleanup_free_ char *file = xasprintf("%s.key", role);
	err_t *e = get(n, file, &resp);
	if (!e && resp.status != 200) {
		_cleanup_free_ char *what = xasprintf("notary %s: GET %s", n->gun, file);
		e = http_status_error(&resp, what);
	}
	if (!e)
		e = json_parse(resp.body.buf ? resp.body.buf : "", resp.body.len, file, key);
	http_response_release(&resp);
	return e;
}

err_t *notary_publish(struct notary *n, const struct notary_file *files, size_t count, bool *conflict)
{
	unsigned char rnd[12];
	char boundary[3 + 2 * sizeof rnd + 1] = "tuf";
	RAND_bytes(rnd, sizeof rnd);
	hex_encode(rnd, sizeof rnd, boundary + 3);
	struct strbuf body = STRBUF_INIT;
	for (size_t i = 0; i < count; i++) {
		sb_addf(&body,
			"--%s\r\nContent-Disposition: form-data; name=\"files\"; filename=\"%s\"\r\n"
			"Content-Type: application/octet-stream\r\n\r\n",
			boundary, files[i].role);
		sb_add(&body, files[i].data, files[i].len);
		sb_adds(&body, "\r\n");
	}
	sb_addf(&body, "--%s--\r\n", boundary);
	_cleanup_free_ char *ctype = xasprintf("Content-Type: multipart/form-data; boundary=%s", boundary);
	const char *headers[] = { ctype, NULL };
	struct http_request req = {
		.method = "POST", .url = n->base, .headers = headers, .body = body.buf, .body_len = body.len,
	};
	struct http_response resp = HTTP_RESPONSE_INIT;
	err_t *e = err_context(http_do(n->http, &req, &resp), "notary %s: publish", n->gun);
	if (conflict)
		*conflict = false;
	if (!e && (resp.status < 200 || resp.status > 299)) {
		const char *b = sb_str(&resp.body);
		/* a stale version or a snapshot/targets mismatch from a concurrent writer */
		if (conflict && resp.status == 400 &&
		    (strstr(b, "OLD_VERSION") || strstr(b, "METADATA_VERSION") || strstr(b, "BAD_HIERARCHY") ||
		     strstr(b, "version") || strstr(b, "BAD_TARGETS")))
			*conflict = true;
		_cleanup_free_ char *what = xasprintf("notary %s: publish", n->gun);
		e = http_status_error(&resp, what);
		if (resp.status == 400 && strstr(b, "INVALID_UPDATE")) /* notary's error code */
			err_set_kind(e, ERR_KIND_REJECTED);
	}
	http_response_release(&resp);
	sb_release(&body);
	return e;
}

err_t *notary_delete(struct notary *n)
{
	struct http_request req = { .method = "DELETE", .url = n->base };
	struct http_response resp = HTTP_RESPONSE_INIT;
	err_t *e = err_context(http_do(n->http, &req, &resp), "notary %s: delete", n->gun);
	if (!e && (resp.status < 200 || resp.status > 299)) {
		_cleanup_free_ char *what = xasprintf("notary %s: delete", n->gun);
		e = http_status_error(&resp, what);
	}
	http_response_release(&resp);
	return e;
}
