#include "notary.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "digest.h"
#include "jsonutil.h"
#include "log.h"
#include "tuf.h"
#include "xalloc.h"

struct notary {
	struct http_client *http;
	char *base; /* https://host:port/v2/<gun>/_trust/tuf/ */
	char *gun;
	/* a file asked for ahead (notary_prefetch): in flight, then its
	 * answer kept until it is asked for */
	char *ahead_file, *ahead_url;
	struct http_request ahead_req;
	struct http_call *ahead_call;
	struct http_response ahead_resp;
	err_t *ahead_err;
};

err_t *notary_open(const struct notary_options *opts, const char *gun, struct notary **out)
{
	if (!opts->url || strncmp(opts->url, "https://", 8))
		return err_new(EXIT_USAGE, "notary server URL must be https://HOST[:PORT] (got '%s')",
			       opts->url ? opts->url : "");
	if (!gun || !*gun || strstr(gun, "..") || strchr(gun, '?') || strchr(gun, '#'))
		return err_new(EXIT_USAGE, "'%s' is not a valid GUN", gun ? gun : "");
	struct http_options ho = {
		.connect_timeout_ms = 5000,
		.total_timeout_ms = 60000,
		.retries = opts->retries,
		.backoff_initial_ms = 200,
		.backoff_max_ms = 2000,
		.ca_file = opts->ca_file,
		.client_cert = opts->client_cert,
		.client_key = opts->client_key,
		.tls_session_dir = opts->tls_session_dir,
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

/* The request ahead finished (its answer kept): the connection is free. */
static void settle_ahead(struct notary *n)
{
	if (n->ahead_call) {
		n->ahead_err = http_finish(n->ahead_call);
		n->ahead_call = NULL;
	}
}

/* Forget the request ahead, answered or not (not waited for). */
static void drop_ahead(struct notary *n)
{
	http_cancel(n->ahead_call);
	n->ahead_call = NULL;
	err_free(n->ahead_err);
	n->ahead_err = NULL;
	http_response_release(&n->ahead_resp);
	free(n->ahead_file);
	free(n->ahead_url);
	n->ahead_file = n->ahead_url = NULL;
}

void notary_prefetch(struct notary *n, const char *role)
{
	drop_ahead(n);
	n->ahead_file = xasprintf("%s.json", role);
	n->ahead_url = xasprintf("%s%s", n->base, n->ahead_file);
	n->ahead_req = (struct http_request){ .method = "GET", .url = n->ahead_url, .max_body = TUF_METADATA_MAX };
	n->ahead_resp = (struct http_response)HTTP_RESPONSE_INIT;
	n->ahead_call = http_start(n->http, &n->ahead_req, &n->ahead_resp);
}

void notary_close(struct notary *n)
{
	if (!n)
		return;
	drop_ahead(n);
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
	settle_ahead(n);
	if (n->ahead_file && !strcmp(file, n->ahead_file)) {
		http_response_release(resp);
		*resp = n->ahead_resp;
		n->ahead_resp = (struct http_response)HTTP_RESPONSE_INIT;
		err_t *e = n->ahead_err;
		n->ahead_err = NULL;
		drop_ahead(n);
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
	settle_ahead(n);
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
	settle_ahead(n);
	err_t *e = err_context(http_do(n->http, &req, &resp), "notary %s: delete", n->gun);
	if (!e && (resp.status < 200 || resp.status > 299)) {
		_cleanup_free_ char *what = xasprintf("notary %s: delete", n->gun);
		e = http_status_error(&resp, what);
	}
	http_response_release(&resp);
	return e;
}
