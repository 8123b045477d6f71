/* Kubernetes REST API client (see kubeapi.h). */
#include "kubeapi.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "http.h"
#include "jsonutil.h"
#include "log.h"
#include "strbuf.h"
#include "xalloc.h"

#define WATCH_LINE_MAX (8u << 20)
#define ANSWER_MAX (32u << 20)

struct kubeapi {
	struct http_options opts;
	struct http_client *http;
	char *server;
	char *auth;  /* "Authorization: ..." or NULL */
	char *insecure_host;
	char *ca_file, *client_cert, *client_key; /* what opts point at */
};

const char *kubeapi_server(const struct kubeapi *k)
{
	return k->server;
}

static char *url_host_of(const char *url)
{
	char *out = NULL, *h = NULL;
	CURLU *u = curl_url();
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK && curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK)
		out = xstrdup(h);
	curl_free(h);
	curl_url_cleanup(u);
	return out;
}

static err_t *new_client(const struct kubeapi *k, const struct http_options *o, struct http_client **out)
{
	TRY(http_client_new(o, out));
	if (k->insecure_host)
		http_client_add_insecure_host(*out, k->insecure_host);
	return NULL;
}

err_t *kubeapi_new(const struct kubeconfig *kc, const struct kubeapi_options *opts, struct kubeapi **out)
{
	struct kubeapi *k = xcalloc(1, sizeof *k);
	k->server = xstrdup(kc->server);
	k->opts.retries = opts ? opts->retries : 0;
	k->opts.total_timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms : 30000;
	k->opts.connect_timeout_ms = opts ? opts->connect_timeout_ms : 0;
	k->opts.backoff_initial_ms = opts ? opts->backoff_initial_ms : 0;
	k->opts.ca_file = k->ca_file = kc->ca_file ? xstrdup(kc->ca_file) : NULL;
	k->opts.client_cert = k->client_cert = kc->client_cert ? xstrdup(kc->client_cert) : NULL;
	k->opts.client_key = k->client_key = kc->client_key ? xstrdup(kc->client_key) : NULL;
	if (kc->token)
		k->auth = xasprintf("Authorization: Bearer %s", kc->token);
	else if (kc->username) {
		k->auth = http_basic_auth_header(kc->username, kc->password);
	}
	if (kc->insecure) {
		k->insecure_host = url_host_of(kc->server);
		if (!k->insecure_host) {
			kubeapi_free(k);
			return err_new(EXIT_USAGE, "server %s: cannot read its host", kc->server);
		}
	}
	err_t *e = new_client(k, &k->opts, &k->http);
	if (e) {
		kubeapi_free(k);
		return err_context(e, "Kubernetes API %s", kc->server);
	}
	*out = k;
	return NULL;
}

void kubeapi_free(struct kubeapi *k)
{
	if (!k)
		return;
	http_client_free(k->http);
	free(k->server);
	free(k->auth);
	free(k->insecure_host);
	free(k->ca_file);
	free(k->client_cert);
	free(k->client_key);
	free(k);
}

/* The Status message of an error answer, else its first bytes. */
err_t *kubeapi_status_error(long status, const char *body, size_t len, const char *what)
{
	int code = EXIT_FAILED;
	enum err_kind kind = ERR_KIND_REMOTE;
	if (status == 401 || status == 403)
		code = EXIT_AUTH, kind = ERR_KIND_AUTH;
	else if (status == 404)
		kind = ERR_KIND_NOT_FOUND;
	else if (status == 409 || status == 422)
		kind = ERR_KIND_REJECTED;
	else if (status == 429 || status >= 500)
		code = EXIT_UNREACHABLE, kind = ERR_KIND_NETWORK;
	json_t *j = body && len ? json_loadb(body, len, 0, NULL) : NULL;
	const char *m = json_string_value(json_object_get(j, "message"));
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	if (m)
		sb_adds(&sb, m);
	else
		for (size_t i = 0; i < len && i < 200; i++)
			sb_addc(&sb, (unsigned char)body[i] < 0x20 ? ' ' : body[i]);
	json_decref(j);
	_cleanup_free_ char *safe = log_redact(sb_str(&sb));
	const char *hint = status == 401 ? " (the kubeconfig's token or client certificate was refused)" : "";
	if (*safe)
		return err_kind_new(code, kind, "%s: HTTP %ld: %s%s", what, status, safe, hint);
	return err_kind_new(code, kind, "%s: HTTP %ld%s", what, status, hint);
}

/* Headers: auth, Accept and Content-Type */
static void headers(const struct kubeapi *k, const char *content_type, const char *h[4])
{
	size_t n = 0;
	if (k->auth)
		h[n++] = k->auth;
	h[n++] = "Accept: application/json";
	if (content_type)
		h[n++] = content_type;
	h[n] = NULL;
}

err_t *kubeapi_request(struct kubeapi *k, const char *method, const char *path, const char *content_type,
		       const char *body, size_t len, json_t **out)
{
	if (out)
		*out = NULL;
	_cleanup_free_ char *url = xasprintf("%s%s", k->server, path);
	_cleanup_free_ char *what = xasprintf("%s %s", method, path);
	_cleanup_free_ char *ct =
		body ? xasprintf("Content-Type: %s", content_type ? content_type : "application/json") : NULL;
	const char *h[4];
	headers(k, ct, h);
	struct http_request req = { .method = method, .url = url, .headers = h, .body = body, .body_len = len,
				    .max_body = ANSWER_MAX };
	struct http_response resp = HTTP_RESPONSE_INIT;
	err_t *e = http_do(k->http, &req, &resp);
	if (e) {
		http_response_release(&resp);
		return err_context(e, "Kubernetes API %s: %s", k->server, what);
	}
	if (resp.status < 200 || resp.status > 299) {
		e = kubeapi_status_error(resp.status, resp.body.buf, resp.body.len, what);
		http_response_release(&resp);
		return e;
	}
	if (out && resp.body.len)
		e = json_parse(resp.body.buf, resp.body.len, what, out);
	http_response_release(&resp);
	return e;
}

err_t *kubeapi_get(struct kubeapi *k, const char *path, json_t **out)
{
	return kubeapi_request(k, "GET", path, NULL, NULL, 0, out);
}

static err_t *send_json(struct kubeapi *k, const char *method, const char *path, const char *ct, const json_t *obj,
			json_t **out)
{
	_cleanup_free_ char *body = json_dumps(obj, JSON_COMPACT);
	if (!body)
		return err_new(EXIT_USAGE, "%s %s: the object cannot be written as JSON", method, path);
	return kubeapi_request(k, method, path, ct, body, strlen(body), out);
}

err_t *kubeapi_create(struct kubeapi *k, const char *collection, const json_t *obj, json_t **out)
{
	return send_json(k, "POST", collection, NULL, obj, out);
}

err_t *kubeapi_delete(struct kubeapi *k, const char *path)
{
	return kubeapi_request(k, "DELETE", path, NULL, NULL, 0, NULL);
}

err_t *kubeapi_patch(struct kubeapi *k, const char *path, const char *content_type, const json_t *patch, json_t **out)
{
	return send_json(k, "PATCH", path, content_type, patch, out);
}

err_t *kubeapi_apply(struct kubeapi *k, const char *path, const json_t *obj, const char *field_manager, bool force,
		     json_t **out)
{
	_cleanup_free_ char *fm = http_urlencode(field_manager);
	_cleanup_free_ char *p =
		xasprintf("%s%cfieldManager=%s&force=%s", path, strchr(path, '?') ? '&' : '?', fm, force ? "true" : "false");
	return send_json(k, "PATCH", p, "application/apply-patch+yaml", obj, out);
}

struct watch_ctx {
	kubeapi_watch_fn fn;
	void *ctx;
	struct strbuf line;
	bool stopped;
	const char *what;
};

static err_t *watch_event(struct watch_ctx *w, const char *text, size_t len)
{
	json_t *ev = NULL;
	TRY(json_parse(text, len, w->what, &ev));
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *obj = json_object_get(ev, "object");
	err_t *e = NULL;
	if (!type || !json_is_object(obj))
		e = err_new(EXIT_FAILED, "%s: a watch event without type or object", w->what);
	else if (!strcmp(type, "ERROR")) {
		_cleanup_free_ char *s = json_dumps(obj, JSON_COMPACT);
		json_int_t code = json_integer_value(json_object_get(obj, "code"));
		e = kubeapi_status_error(code ? (long)code : 500, s, s ? strlen(s) : 0, w->what);
	} else
		e = w->fn(type, obj, w->ctx, &w->stopped);
	json_decref(ev);
	return e;
}

static err_t *on_watch_body(const void *data, size_t len, void *ctx)
{
	struct watch_ctx *w = ctx;
	const char *p = data;
	while (len && !w->stopped) {
		const char *nl = memchr(p, '\n', len);
		size_t n = nl ? (size_t)(nl - p) : len;
		if (w->line.len + n > WATCH_LINE_MAX)
			return err_new(EXIT_FAILED, "%s: a watch event longer than %u bytes", w->what, WATCH_LINE_MAX);
		sb_add(&w->line, p, n);
		p += n, len -= n;
		if (!nl)
			break;
		p++, len--;
		if (w->line.len)
			TRY(watch_event(w, w->line.buf, w->line.len));
		sb_reset(&w->line);
	}
	/* a stopped watch ends the transfer: this error is dropped by kubeapi_watch */
	return w->stopped ? err_new(EXIT_OK, "watch stopped") : NULL;
}

err_t *kubeapi_watch(struct kubeapi *k, const char *path, const char *resource_version, long timeout_s,
		     kubeapi_watch_fn fn, void *ctx, bool *stopped)
{
	*stopped = false;
	if (timeout_s < 1)
		timeout_s = 1;
	_cleanup_strbuf_ struct strbuf p = STRBUF_INIT;
	sb_addf(&p, "%s%cwatch=true&allowWatchBookmarks=true&timeoutSeconds=%ld", path, strchr(path, '?') ? '&' : '?',
		timeout_s);
	if (resource_version) {
		_cleanup_free_ char *rv = http_urlencode(resource_version);
		sb_addf(&p, "&resourceVersion=%s", rv);
	}
	_cleanup_free_ char *url = xasprintf("%s%s", k->server, p.buf);
	_cleanup_free_ char *what = xasprintf("WATCH %s", p.buf);
	/* a watch is quiet for long stretches: no per-request timeout but the
	 * server's own, with a margin */
	struct http_client *c = NULL;
	struct http_options o = k->opts;
	o.total_timeout_ms = (timeout_s + 15) * 1000;
	o.low_speed_time_s = timeout_s + 15;
	TRY(new_client(k, &o, &c));
	const char *h[4];
	headers(k, NULL, h);
	struct watch_ctx w = { fn, ctx, STRBUF_INIT, false, what };
	struct http_request req = { .url = url, .headers = h, .on_body = on_watch_body, .body_ctx_out = &w };
	struct http_response resp = HTTP_RESPONSE_INIT;
	err_t *e = http_do(c, &req, &resp);
	if (e && w.stopped) {
		err_free(e);
		e = NULL;
	} else if (e)
		e = err_context(e, "Kubernetes API %s: %s", k->server, what);
	else if (resp.status < 200 || resp.status > 299)
		e = kubeapi_status_error(resp.status, resp.body.buf, resp.body.len, what);
	else if (w.line.len && !w.stopped)
		e = watch_event(&w, w.line.buf, w.line.len);
	*stopped = w.stopped;
	sb_release(&w.line);
	http_response_release(&resp);
	http_client_free(c);
	return e;
}
