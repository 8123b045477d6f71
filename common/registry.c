/* OCI distribution API client (see registry.h). */
#include "registry.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "jsonutil.h"
#include "log.h"
#include "manifest.h"
#include "xalloc.h"

#define MONOLITHIC_MAX (64ll << 20)
#define DEFAULT_CHUNK (16u << 20)

struct registry {
	char *host;       /* as named by the user */
	char *api_host;   /* where requests go */
	char *repository;
	char *scheme;     /* "https" or "http", decided on first use */
	bool insecure;
	size_t chunk_size;
	size_t tags_page_size;
	int retries;
	long backoff_ms;
	struct http_client *http;
	struct regauth *auth;
	char *pull_scope, *push_scope;
	struct ahead_uploads *ahead; /* registry_upload_ahead */
};

static void ahead_drop(struct registry *r);

err_t *registry_open(const char *host, const char *repository, const struct registry_options *opts,
		     struct registry **out)
{
	struct registry_options none = { 0 };
	if (!opts)
		opts = &none;
	if (!imageref_valid_repository(repository))
		return err_new(EXIT_USAGE, "invalid repository name \"%.200s\"", repository);
	struct registry *r = xcalloc(1, sizeof *r);
	r->host = xstrdup(host);
	r->api_host = xstrdup(!strcmp(host, "docker.io") ? "registry-1.docker.io" : host);
	r->repository = xstrdup(repository);
	r->insecure = opts->insecure;
	r->chunk_size = opts->chunk_size;
	r->tags_page_size = opts->tags_page_size ? opts->tags_page_size : 1000;
	r->retries = opts->http.retries > 0 ? opts->http.retries : 0;
	r->backoff_ms = opts->http.backoff_initial_ms ? opts->http.backoff_initial_ms : 500;
	r->pull_scope = xasprintf("repository:%s:pull", repository);
	r->push_scope = xasprintf("repository:%s:pull,push", repository);
	err_t *e = http_client_new(&opts->http, &r->http);
	if (e) {
		registry_close(r);
		return e;
	}
	if (r->insecure)
		http_client_add_insecure_host(r->http, r->api_host);
	struct regauth_creds creds = { 0 };
	if (opts->creds && *opts->creds)
		e = regauth_creds_parse(opts->creds, &creds);
	else
		e = regauth_creds_lookup(opts->authfile, host, &creds);
	if (e) {
		registry_close(r);
		return e;
	}
	r->auth = regauth_new(r->http, &creds);
	regauth_creds_free(&creds);
	*out = r;
	return NULL;
}

err_t *registry_open_ref(const struct image_ref *ref, const struct registry_options *opts, struct registry **out)
{
	return registry_open(ref->registry, ref->repository, opts, out);
}

void registry_close(struct registry *r)
{
	if (!r)
		return;
	ahead_drop(r);
	regauth_free(r->auth);
	http_client_free(r->http);
	free(r->host);
	free(r->api_host);
	free(r->repository);
	free(r->scheme);
	free(r->pull_scope);
	free(r->push_scope);
	free(r);
}

const char *registry_host(const struct registry *r)
{
	return r->host;
}

const char *registry_repository(const struct registry *r)
{
	return r->repository;
}

/* https, or for an insecure registry that does not speak TLS, http */
static err_t *ensure_scheme(struct registry *r)
{
	if (r->scheme)
		return NULL;
	if (!r->insecure) {
		r->scheme = xstrdup("https");
		return NULL;
	}
	_cleanup_free_ char *url = xasprintf("https://%s/v2/", r->api_host);
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct http_request req = { .url = url, .no_retry = true };
	err_t *e = http_do(r->http, &req, &resp);
	http_response_release(&resp);
	if (e) {
		log_debug("%s: no TLS (%s); using plain http (insecure)", r->host, e->msg);
		err_free(e);
		r->scheme = xstrdup("http");
	} else {
		r->scheme = xstrdup("https");
	}
	return NULL;
}

static char *url_for(struct registry *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *url_for(struct registry *r, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	sb_addf(&sb, "%s://%s", r->scheme, r->api_host);
	va_list ap;
	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	return sb_detach(&sb);
}

/* A Location header made absolute. */
static char *resolve_location(struct registry *r, const char *loc)
{
	if (!strncasecmp(loc, "http://", 7) || !strncasecmp(loc, "https://", 8))
		return xstrdup(loc);
	return url_for(r, "%s%s", loc[0] == '/' ? "" : "/", loc);
}

/* Perform req with auth: on 401, answer the challenge once and resend.
 * Credentials go to the registry's origin only: a URL the server gave
 * (Link: rel="next", an upload Location) on another origin is requested
 * without them, as docker's and go-containerregistry's clients do (their
 * transports add Authorization only for the registry's host): storage
 * and CDNs the registry hands off to authorise by the signed URL. */
static err_t *send_authed(struct registry *r, struct http_request *req, const char *scopes,
			  struct http_response *resp)
{
	_cleanup_free_ char *origin = url_for(r, "/");
	bool ours = http_same_origin(req->url, origin);
	if (!ours)
		log_debug("%s is not on %s: requested without credentials", req->url, origin);
	const char *const *extra = req->headers;
	size_t n = 0;
	while (extra && extra[n])
		n++;
	_cleanup_free_ const char **hdrs = xcalloc(n + 2, sizeof *hdrs);
	for (size_t i = 0; i < n; i++)
		hdrs[i] = extra[i];
	for (int round = 0; round < 2; round++) {
		hdrs[n] = ours ? regauth_header(r->auth, scopes) : NULL;
		req->headers = hdrs;
		err_t *e = http_do(r->http, req, resp);
		req->headers = extra;
		if (e)
			return err_wrap(e, "registry %s", r->host);
		if (resp->status != 401)
			return NULL;
		if (!ours) {
			e = http_status_error(resp, "request");
			e->code = EXIT_AUTH;
			return err_wrap(e, "%s (not the registry's origin %s) asks for credentials; they are only "
					   "sent to the registry", req->url, origin);
		}
		if (round == 1)
			break;
		e = regauth_challenge(r->auth, resp, scopes);
		if (e)
			return err_wrap(e, "registry %s, repository %s", r->host, r->repository);
	}
	err_t *e = regauth_rejected(r->auth);
	if (e)
		return err_wrap(e, "registry %s, repository %s", r->host, r->repository);
	e = http_status_error(resp, "request"); /* 401: EXIT_AUTH */
	return err_wrap(e, "registry %s denied access to %s (check the credentials and that they may %s it)",
			r->host, r->repository, strstr(scopes ? scopes : "", "push") ? "push to" : "pull from");
}

/* Requests sent side by side (up to the client's connections per host),
 * each with the credentials already known for scopes: sbs_send queues
 * them, sbs_wait waits for their answers. again[i] true: request i must
 * take the ordinary path (send_authed: a 401 to answer, or a URL on
 * another origin), so every outcome is what one request after the other
 * would give; else errs[i] and resps[i] are its answer. reqs, resps,
 * errs and again stay the caller's until sbs_wait. */
struct side_by_side {
	size_t n;
	struct http_request *sent; /* reqs with the credentials */
	struct http_call **calls;
	const char ***hdrs;
	struct http_response *resps;
	err_t **errs;
	bool *again;
};

static void sbs_send(struct registry *r, struct side_by_side *s, const struct http_request *reqs,
		     struct http_response *resps, err_t **errs, bool *again, size_t n, const char *scopes)
{
	_cleanup_free_ char *origin = url_for(r, "/");
	const char *auth = regauth_header(r->auth, scopes);
	*s = (struct side_by_side){ n, xcalloc(n, sizeof *s->sent), xcalloc(n, sizeof *s->calls),
				    xcalloc(n, sizeof *s->hdrs), resps, errs, again };
	for (size_t i = 0; i < n; i++) {
		errs[i] = NULL;
		again[i] = !http_same_origin(reqs[i].url, origin);
		if (again[i])
			continue;
		size_t k = 0;
		while (reqs[i].headers && reqs[i].headers[k])
			k++;
		s->hdrs[i] = xcalloc(k + 2, sizeof *s->hdrs[i]);
		for (size_t j = 0; j < k; j++)
			s->hdrs[i][j] = reqs[i].headers[j];
		s->hdrs[i][k] = auth;
		s->sent[i] = reqs[i];
		s->sent[i].headers = s->hdrs[i];
		s->calls[i] = http_queue(r->http, &s->sent[i], &resps[i]);
	}
}

static void sbs_wait(struct registry *r, struct side_by_side *s)
{
	for (size_t i = 0; i < s->n; i++) {
		if (!s->calls[i])
			continue;
		s->errs[i] = http_finish(s->calls[i]);
		if (s->errs[i]) {
			s->errs[i] = err_wrap(s->errs[i], "registry %s", r->host);
		} else if (s->resps[i].status == 401) {
			s->again[i] = true;
			http_response_release(&s->resps[i]);
		}
		free(s->hdrs[i]);
	}
	free(s->hdrs);
	free(s->calls);
	free(s->sent);
	memset(s, 0, sizeof *s);
}

/* Give up on requests still in flight (not waited for). */
static void sbs_cancel(struct side_by_side *s)
{
	for (size_t i = 0; i < s->n; i++) {
		http_cancel(s->calls[i]);
		free(s->hdrs[i]);
	}
	free(s->hdrs);
	free(s->calls);
	free(s->sent);
	memset(s, 0, sizeof *s);
}

static void send_side_by_side(struct registry *r, const struct http_request *reqs, struct http_response *resps,
			      err_t **errs, bool *again, size_t n, const char *scopes)
{
	struct side_by_side s;
	sbs_send(r, &s, reqs, resps, errs, again, n, scopes);
	sbs_wait(r, &s);
}

/* The distribution spec's error codes for a blob or manifest the registry
 * does not know: "not found" whatever the status (a manifest PUT naming a
 * blob it cannot see yet answers 400 MANIFEST_BLOB_UNKNOWN). */
static bool names_unknown(const struct http_response *resp)
{
	json_t *doc = NULL;
	err_t *e = json_parse(resp->body.buf ? resp->body.buf : "", resp->body.len, "error body", &doc);
	err_free(e);
	bool unknown = false;
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(doc, "errors"), i, x) {
		const char *c = json_string_value(json_object_get(x, "code"));
		unknown = unknown || (c && (!strcmp(c, "BLOB_UNKNOWN") || !strcmp(c, "MANIFEST_BLOB_UNKNOWN") ||
					    !strcmp(c, "MANIFEST_UNKNOWN")));
	}
	json_decref(doc);
	return unknown;
}

static err_t *status_error(struct registry *r, const struct http_response *resp, const char *what)
{
	err_t *e = http_status_error(resp, what);
	if (names_unknown(resp))
		err_set_kind(e, ERR_KIND_NOT_FOUND);
	return err_wrap(e, "%s/%s", r->host, r->repository);
}

err_t *registry_ping(struct registry *r)
{
	TRY(ensure_scheme(r));
	_cleanup_free_ char *url = url_for(r, "/v2/");
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct http_request req = { .url = url };
	err_t *e = send_authed(r, &req, r->pull_scope, &resp);
	if (!e && resp.status != 200)
		e = resp.status == 404 ? err_new(EXIT_FAILED, "%s does not serve the registry API (/v2/ is 404)", r->host)
				       : status_error(r, &resp, "ping");
	http_response_release(&resp);
	return e;
}

/* ---- manifests ---- */

void registry_manifest_release(struct registry_manifest *m)
{
	free(m->media_type);
	m->media_type = NULL;
	sb_release(&m->body);
}

static err_t *manifest_answer(struct registry *r, const char *reference, struct http_response *resp,
			      struct registry_manifest *out);

static void manifest_request(struct registry *r, const char *url, struct http_request *req)
{
	static const char *const hdrs[] = { "Accept: " MT_ACCEPT_ALL, NULL };
	(void)r;
	*req = (struct http_request){ .url = url, .headers = hdrs, .max_body = MANIFEST_MAX_SIZE,
				      .follow_redirects = true };
}

err_t *registry_get_manifest(struct registry *r, const char *reference, struct registry_manifest *out)
{
	memset(out, 0, sizeof *out);
	TRY(ensure_scheme(r));
	_cleanup_free_ char *url = url_for(r, "/v2/%s/manifests/%s", r->repository, reference);
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct http_request req;
	manifest_request(r, url, &req);
	err_t *e = send_authed(r, &req, r->pull_scope, &resp);
	if (e) {
		http_response_release(&resp);
		return e;
	}
	return manifest_answer(r, reference, &resp, out);
}

/* What a manifest GET of reference answered (resp released). */
static err_t *manifest_answer(struct registry *r, const char *reference, struct http_response *resp_,
			      struct registry_manifest *out)
{
	struct http_response resp = *resp_;
	*resp_ = (struct http_response)HTTP_RESPONSE_INIT;
	err_t *e = NULL;
	if (resp.status == 404)
		e = err_kind_new(EXIT_FAILED, ERR_KIND_NOT_FOUND, "manifest %s not found in %s/%s", reference, r->host,
				 r->repository);
	else if (resp.status != 200)
		e = status_error(r, &resp, "manifest");
	if (e) {
		http_response_release(&resp);
		return e;
	}
	digest_buffer(resp.body.buf ? resp.body.buf : "", resp.body.len, out->digest);
	const char *want = digest_valid(reference) ? reference : NULL;
	const char *hdr = http_response_header(&resp, "Docker-Content-Digest");
	if (!want && hdr && digest_valid(hdr))
		want = hdr;
	if (want && !digest_equal(want, out->digest)) {
		e = err_new(EXIT_FAILED, "manifest %s from %s/%s: content has digest %s, expected %s", reference,
			    r->host, r->repository, out->digest, want);
		http_response_release(&resp);
		return e;
	}
	const char *ct = http_response_header(&resp, "Content-Type");
	out->media_type = ct ? xstrndup(ct, strcspn(ct, "; ")) : NULL;
	out->body = resp.body;
	resp.body = (struct strbuf)STRBUF_INIT;
	http_response_release(&resp);
	return NULL;
}

static char *with_query(const char *url, const char *q);

/* Blob uploads started ahead (registry_upload_ahead): every POST, then
 * every PUT, in flight beside whatever the caller sends meanwhile (the
 * client drives all its requests while any one is waited for). Holds
 * copies of the blobs: the caller's buffers may go. */
#define AHEAD_MAX 4
struct ahead_uploads {
	size_t n, m;
	int phase; /* 1 POSTs in flight, 2 PUTs in flight */
	struct strbuf data[AHEAD_MAX];
	char digest[AHEAD_MAX][DIGEST_SIZE];
	char *post, *urls[AHEAD_MAX];
	bool failed[AHEAD_MAX];
	size_t which[AHEAD_MAX]; /* PUT j uploads blob which[j] */
	struct http_request reqs[AHEAD_MAX];
	struct http_response resps[AHEAD_MAX];
	err_t *errs[AHEAD_MAX];
	bool again[AHEAD_MAX];
	struct side_by_side s;
};

static void ahead_drop(struct registry *r)
{
	struct ahead_uploads *a = r->ahead;
	if (!a)
		return;
	if (a->phase)
		sbs_cancel(&a->s);
	for (size_t i = 0; i < AHEAD_MAX; i++) {
		sb_release(&a->data[i]);
		free(a->urls[i]);
		http_response_release(&a->resps[i]);
		err_free(a->errs[i]);
	}
	free(a->post);
	free(a);
	r->ahead = NULL;
}

void registry_upload_ahead(struct registry *r, const void *const *datas, const size_t *lens, size_t n)
{
	ahead_drop(r);
	err_t *e = n <= AHEAD_MAX ? ensure_scheme(r) : err_new(EXIT_FAILED, "too many uploads ahead");
	if (e) { /* nothing ahead: the caller's own requests say why */
		err_free(e);
		return;
	}
	struct ahead_uploads *a = xcalloc(1, sizeof *a);
	a->n = n;
	a->post = url_for(r, "/v2/%s/blobs/uploads/", r->repository);
	for (size_t i = 0; i < n; i++) {
		sb_add(&a->data[i], datas[i], lens[i]);
		digest_buffer(datas[i], lens[i], a->digest[i]);
		/* best effort: nothing retried, the caller uploads what failed */
		a->reqs[i] = (struct http_request){ .method = "POST", .url = a->post, .no_retry = true };
		a->resps[i] = (struct http_response)HTTP_RESPONSE_INIT;
	}
	sbs_send(r, &a->s, a->reqs, a->resps, a->errs, a->again, n, r->push_scope);
	a->phase = 1;
	r->ahead = a;
}

/* The POSTs answered (waited for): the PUTs of those that got an upload
 * URL go out; any other answer fails that upload. */
static void ahead_advance(struct registry *r)
{
	struct ahead_uploads *a = r->ahead;
	if (!a || a->phase != 1)
		return;
	sbs_wait(r, &a->s);
	static const char *const hdrs[] = { "Content-Type: application/octet-stream", NULL };
	a->m = 0;
	for (size_t i = 0; i < a->n; i++) {
		const char *loc = a->errs[i] || a->again[i] ? NULL : http_response_header(&a->resps[i], "Location");
		a->failed[i] = !loc || !*loc || a->resps[i].status != 202;
		if (!a->failed[i]) {
			_cleanup_free_ char *abs = resolve_location(r, loc);
			_cleanup_free_ char *dq = xasprintf("digest=%s", a->digest[i]);
			a->urls[i] = with_query(abs, dq);
			a->which[a->m++] = i;
		}
		err_free(a->errs[i]);
		a->errs[i] = NULL;
		http_response_release(&a->resps[i]);
	}
	for (size_t j = 0; j < a->m; j++) {
		size_t i = a->which[j];
		a->reqs[j] = (struct http_request){ .method = "PUT", .url = a->urls[i], .headers = hdrs, .no_retry = true,
						    .body = a->data[i].len ? a->data[i].buf : "", .body_len = a->data[i].len };
		a->resps[j] = (struct http_response)HTTP_RESPONSE_INIT;
	}
	sbs_send(r, &a->s, a->reqs, a->resps, a->errs, a->again, a->m, r->push_scope);
	a->phase = 2;
}

err_t *registry_upload_ahead_wait(struct registry *r)
{
	struct ahead_uploads *a = r->ahead;
	if (!a)
		return err_new(EXIT_FAILED, "no uploads ahead");
	ahead_advance(r);
	sbs_wait(r, &a->s);
	a->phase = 0;
	for (size_t j = 0; j < a->m; j++) {
		long st = a->resps[j].status;
		size_t i = a->which[j];
		a->failed[i] = a->errs[j] || a->again[j] || (st != 201 && st != 204 && st != 200);
		if (!a->failed[i])
			log_debug("uploaded blob %s (%zu bytes) to %s/%s", a->digest[i], a->data[i].len, r->host,
				  r->repository);
	}
	err_t *e = NULL;
	for (size_t i = 0; i < a->n && !e; i++)
		if (a->failed[i])
			e = err_new(EXIT_FAILED, "blob %s: the upload ahead did not complete", a->digest[i]);
	ahead_drop(r);
	return e;
}

void registry_get_manifests(struct registry *r, const char *const *refs, struct registry_manifest *outs,
			    err_t **errs, size_t n)
{
	err_t *e = ensure_scheme(r);
	char **urls = xcalloc(n, sizeof *urls);
	struct http_request *reqs = xcalloc(n, sizeof *reqs);
	struct http_response *resps = xcalloc(n, sizeof *resps);
	bool *again = xcalloc(n, sizeof *again);
	for (size_t i = 0; i < n; i++) {
		memset(&outs[i], 0, sizeof outs[i]);
		resps[i] = (struct http_response)HTTP_RESPONSE_INIT;
		urls[i] = e ? NULL : url_for(r, "/v2/%s/manifests/%s", r->repository, refs[i]);
		if (!e)
			manifest_request(r, urls[i], &reqs[i]);
	}
	if (!e) {
		send_side_by_side(r, reqs, resps, errs, again, n, r->pull_scope);
		ahead_advance(r); /* uploads ahead: their PUTs go out now */
	}
	for (size_t i = 0; i < n; i++) {
		if (e || again[i]) /* (no scheme: the ordinary path says why) */
			errs[i] = registry_get_manifest(r, refs[i], &outs[i]);
		else if (!errs[i])
			errs[i] = manifest_answer(r, refs[i], &resps[i], &outs[i]);
		http_response_release(&resps[i]);
		free(urls[i]);
	}
	err_free(e);
	free(again);
	free(resps);
	free(reqs);
	free(urls);
}

err_t *registry_head_manifest(struct registry *r, const char *reference, bool *exists, char digest_out[DIGEST_SIZE],
			      char **media_type)
{
	*exists = false;
	if (media_type)
		*media_type = NULL;
	TRY(ensure_scheme(r));
	_cleanup_free_ char *url = url_for(r, "/v2/%s/manifests/%s", r->repository, reference);
	const char *hdrs[] = { "Accept: " MT_ACCEPT_ALL, NULL };
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct http_request req = { .method = "HEAD", .url = url, .headers = hdrs, .follow_redirects = true };
	err_t *e = send_authed(r, &req, r->pull_scope, &resp);
	if (!e && resp.status == 200) {
		*exists = true;
		const char *d = http_response_header(&resp, "Docker-Content-Digest");
		if (digest_out) {
			if (d && digest_valid(d))
				memcpy(digest_out, d, DIGEST_SIZE);
			else
				digest_out[0] = '\0';
		}
		const char *ct = http_response_header(&resp, "Content-Type");
		if (media_type && ct)
			*media_type = xstrndup(ct, strcspn(ct, "; "));
	} else if (!e && resp.status != 404) {
		e = status_error(r, &resp, "manifest HEAD");
	}
	http_response_release(&resp);
	return e;
}

/* What a manifest PUT of body (digest) under reference answered. */
static err_t *put_manifest_answer(struct registry *r, const char *reference, const char *digest,
				  const struct http_response *resp)
{
	if (resp->status != 201 && resp->status != 200)
		return status_error(r, resp, "manifest upload");
	const char *d = http_response_header(resp, "Docker-Content-Digest");
	if (d && digest_valid(d) && !digest_equal(d, digest))
		return err_new(EXIT_FAILED, "%s/%s stored the manifest as %s, but its content has digest %s", r->host,
			       r->repository, d, digest);
	log_debug("pushed manifest %s to %s/%s:%s", digest, r->host, r->repository, reference);
	return NULL;
}

static err_t *put_manifest_check(const char *reference, const void *body, size_t len, char digest[DIGEST_SIZE])
{
	digest_buffer(body, len, digest);
	if (digest_valid(reference) && !digest_equal(reference, digest))
		return err_new(EXIT_FAILED, "manifest to push as %s has digest %s", reference, digest);
	return NULL;
}

err_t *registry_put_manifest(struct registry *r, const char *reference, const char *media_type, const void *body,
			     size_t len, char digest_out[DIGEST_SIZE])
{
	TRY(ensure_scheme(r));
	char digest[DIGEST_SIZE];
	TRY(put_manifest_check(reference, body, len, digest));
	_cleanup_free_ char *url = url_for(r, "/v2/%s/manifests/%s", r->repository, reference);
	_cleanup_free_ char *ct = xasprintf("Content-Type: %s", media_type);
	const char *hdrs[] = { ct, NULL };
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct http_request req = { .method = "PUT", .url = url, .headers = hdrs, .body = body, .body_len = len };
	err_t *e = send_authed(r, &req, r->push_scope, &resp);
	if (!e)
		e = put_manifest_answer(r, reference, digest, &resp);
	http_response_release(&resp);
	if (!e && digest_out)
		memcpy(digest_out, digest, DIGEST_SIZE);
	return e;
}

void registry_put_manifests(struct registry *r, const char *const *refs, const char *media_type,
			    const struct strbuf *bodies, err_t **errs, size_t n)
{
	err_t *e = ensure_scheme(r);
	char **urls = xcalloc(n, sizeof *urls);
	char (*digests)[DIGEST_SIZE] = xcalloc(n, sizeof *digests);
	struct http_request *reqs = xcalloc(n, sizeof *reqs);
	struct http_response *resps = xcalloc(n, sizeof *resps);
	bool *again = xcalloc(n, sizeof *again);
	_cleanup_free_ char *ct = xasprintf("Content-Type: %s", media_type);
	const char *hdrs[] = { ct, NULL };
	size_t m = 0; /* the PUTs to send, packed in front */
	size_t *which = xcalloc(n, sizeof *which);
	for (size_t i = 0; i < n; i++) {
		resps[i] = (struct http_response)HTTP_RESPONSE_INIT;
		errs[i] = e ? NULL : put_manifest_check(refs[i], bodies[i].buf ? bodies[i].buf : "", bodies[i].len, digests[i]);
		if (e || errs[i])
			continue;
		urls[i] = url_for(r, "/v2/%s/manifests/%s", r->repository, refs[i]);
		reqs[m] = (struct http_request){ .method = "PUT", .url = urls[i], .headers = hdrs,
						 .body = bodies[i].buf ? bodies[i].buf : "", .body_len = bodies[i].len };
		which[m++] = i;
	}
	err_t **errs2 = xcalloc(n, sizeof *errs2);
	if (!e)
		send_side_by_side(r, reqs, resps, errs2, again, m, r->push_scope);
	for (size_t j = 0; j < m; j++) {
		size_t i = which[j];
		/* a credentials challenge (or another origin): the ordinary path */
		if (again[j])
			errs[i] = registry_put_manifest(r, refs[i], media_type, bodies[i].buf ? bodies[i].buf : "",
							bodies[i].len, NULL);
		else
			errs[i] = errs2[j] ? errs2[j] : put_manifest_answer(r, refs[i], digests[i], &resps[j]);
		http_response_release(&resps[j]);
	}
	for (size_t i = 0; e && i < n; i++)
		errs[i] = err_new(e->code, "%s", e->msg);
	err_free(e);
	for (size_t i = 0; i < n; i++)
		free(urls[i]);
	free(errs2);
	free(which);
	free(again);
	free(resps);
	free(reqs);
	free(digests);
	free(urls);
}

err_t *registry_delete_manifest(struct registry *r, const char *digest)
{
	TRY(ensure_scheme(r));
	TRY(digest_check(digest, "manifest to delete"));
	_cleanup_free_ char *url = url_for(r, "/v2/%s/manifests/%s", r->repository, digest);
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct http_request req = { .method = "DELETE", .url = url };
	err_t *e = send_authed(r, &req, r->push_scope, &resp);
	if (!e && resp.status != 202 && resp.status != 200)
		e = status_error(r, &resp, "manifest delete");
	http_response_release(&resp);
	return e;
}

/* ---- blobs ---- */

err_t *registry_blob_exists(struct registry *r, const char *digest, bool *exists, int64_t *size)
{
	*exists = false;
	TRY(ensure_scheme(r));
	_cleanup_free_ char *url = url_for(r, "/v2/%s/blobs/%s", r->repository, digest);
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct http_request req = { .method = "HEAD", .url = url, .follow_redirects = true };
	err_t *e = send_authed(r, &req, r->pull_scope, &resp);
	if (!e && resp.status == 200) {
		*exists = true;
		const char *cl = http_response_header(&resp, "Content-Length");
		if (size)
			*size = cl ? strtoll(cl, NULL, 10) : -1;
	} else if (!e && resp.status != 404) {
		e = status_error(r, &resp, "blob HEAD");
	}
	http_response_release(&resp);
	return e;
}

struct verify_sink {
	struct sha256 h;
	int64_t expected;
	http_write_fn sink;
	void *ctx;
	const char *digest;
};

static err_t *verify_write(const void *data, size_t len, void *ctx)
{
	struct verify_sink *v = ctx;
	if (v->expected >= 0 && (int64_t)(v->h.bytes + len) > v->expected)
		return err_new(EXIT_FAILED, "blob %s is larger than its declared %lld bytes", v->digest,
			       (long long)v->expected);
	sha256_update(&v->h, data, len);
	return v->sink(data, len, v->ctx);
}

err_t *registry_get_blob(struct registry *r, const char *digest, int64_t expected_size, http_write_fn sink, void *ctx)
{
	TRY(digest_check(digest, "blob"));
	TRY(ensure_scheme(r));
	_cleanup_free_ char *url = url_for(r, "/v2/%s/blobs/%s", r->repository, digest);
	struct verify_sink v = { .expected = expected_size, .sink = sink, .ctx = ctx, .digest = digest };
	sha256_init(&v.h);
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct http_request req = { .url = url, .on_body = verify_write, .body_ctx_out = &v,
				    .follow_redirects = true, .resumable = true };
	err_t *e = send_authed(r, &req, r->pull_scope, &resp);
	if (!e && resp.status == 404)
		e = err_kind_new(EXIT_FAILED, ERR_KIND_NOT_FOUND, "blob %s not found in %s/%s", digest, r->host,
				 r->repository);
	else if (!e && resp.status != 200 && resp.status != 206)
		e = status_error(r, &resp, "blob download");
	http_response_release(&resp);
	uint64_t got = v.h.bytes;
	char actual[DIGEST_SIZE];
	sha256_final(&v.h, actual);
	if (e)
		return e;
	if (expected_size >= 0 && (int64_t)got != expected_size)
		return err_new(EXIT_FAILED, "blob %s from %s/%s: got %llu bytes, expected %lld", digest, r->host,
			       r->repository, (unsigned long long)got, (long long)expected_size);
	if (!digest_equal(actual, digest))
		return err_new(EXIT_FAILED, "blob %s from %s/%s: content has digest %s, expected %s", digest, r->host,
			       r->repository, actual, digest);
	return NULL;
}

static err_t *fd_write(const void *data, size_t len, void *ctx)
{
	return fs_write_all(*(int *)ctx, data, len, "the blob file");
}

err_t *registry_get_blob_fd(struct registry *r, const char *digest, int64_t expected_size, int fd)
{
	return registry_get_blob(r, digest, expected_size, fd_write, &fd);
}

struct buffer_sink {
	struct strbuf *sb;
	size_t max;
	const char *digest;
};

static err_t *buffer_write(const void *data, size_t len, void *ctx)
{
	struct buffer_sink *b = ctx;
	if (b->sb->len + len > b->max)
		return err_new(EXIT_FAILED, "blob %s is larger than %zu bytes", b->digest, b->max);
	sb_add(b->sb, data, len);
	return NULL;
}

err_t *registry_get_blob_buffer(struct registry *r, const char *digest, int64_t expected_size, size_t max,
				struct strbuf *out)
{
	if (expected_size > (int64_t)max)
		return err_new(EXIT_FAILED, "blob %s is %lld bytes, more than %zu", digest, (long long)expected_size,
			       max);
	struct buffer_sink b = { out, max, digest };
	return registry_get_blob(r, digest, expected_size, buffer_write, &b);
}

/* the body of an upload: a window [start, start+len) of fd */
struct fd_window {
	int fd;
	off_t start, pos, end;
};

static err_t *window_read(void *buf, size_t cap, size_t *got, void *ctx)
{
	struct fd_window *w = ctx;
	size_t want = (size_t)(w->end - w->pos) < cap ? (size_t)(w->end - w->pos) : cap;
	*got = 0;
	while (want) {
		ssize_t n = pread(w->fd, buf, want, w->pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_errno(EXIT_FAILED, "cannot read blob to upload");
		if (n == 0)
			return err_new(EXIT_FAILED, "blob file shrank while uploading");
		w->pos += n;
		*got = (size_t)n;
		break;
	}
	return NULL;
}

static err_t *window_rewind(void *ctx)
{
	struct fd_window *w = ctx;
	w->pos = w->start;
	return NULL;
}

/* POST /blobs/uploads/ -> absolute upload URL */
static err_t *start_upload(struct registry *r, const char *query, struct http_response *resp, char **location)
{
	*location = NULL;
	_cleanup_free_ char *url = url_for(r, "/v2/%s/blobs/uploads/%s", r->repository, query ? query : "");
	struct http_request req = { .method = "POST", .url = url };
	TRY(send_authed(r, &req, r->push_scope, resp));
	if (resp->status != 202 && resp->status != 201)
		return status_error(r, resp, "blob upload start");
	const char *loc = http_response_header(resp, "Location");
	if (!loc || !*loc) {
		if (resp->status == 201)
			return NULL;
		return err_new(EXIT_FAILED, "%s: upload started without a Location", r->host);
	}
	*location = resolve_location(r, loc);
	return NULL;
}

static char *with_query(const char *url, const char *q)
{
	return xasprintf("%s%s%s", url, strchr(url, '?') ? "&" : "?", q);
}

static err_t *upload_once(struct registry *r, const char *digest, int64_t size, int fd, const void *buf)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	_cleanup_free_ char *loc = NULL;
	err_t *e = start_upload(r, NULL, &resp, &loc);
	http_response_release(&resp);
	if (e)
		return e;
	size_t chunk = r->chunk_size ? r->chunk_size : DEFAULT_CHUNK;
	bool monolithic = buf || (r->chunk_size == 0 && size <= MONOLITHIC_MAX) || size <= (int64_t)chunk;
	_cleanup_free_ char *dq = xasprintf("digest=%s", digest);
	const char *octet = "Content-Type: application/octet-stream";
	if (monolithic) {
		_cleanup_free_ char *url = with_query(loc, dq);
		const char *hdrs[] = { octet, NULL };
		struct fd_window w = { fd, 0, 0, (off_t)size };
		struct http_request req = { .method = "PUT", .url = url, .headers = hdrs, .no_retry = true };
		if (buf) {
			req.body = buf;
			req.body_len = (size_t)size;
		} else {
			req.body_read = window_read;
			req.body_rewind = window_rewind;
			req.body_ctx = &w;
			req.body_size = size;
		}
		e = send_authed(r, &req, r->push_scope, &resp);
	} else {
		for (int64_t off = 0; off < size && !e;) {
			int64_t n = size - off < (int64_t)chunk ? size - off : (int64_t)chunk;
			_cleanup_free_ char *range = xasprintf("Content-Range: %lld-%lld", (long long)off,
							       (long long)(off + n - 1));
			const char *hdrs[] = { octet, range, NULL };
			struct fd_window w = { fd, (off_t)off, (off_t)off, (off_t)(off + n) };
			struct http_request req = { .method = "PATCH", .url = loc, .headers = hdrs, .no_retry = true,
						    .body_read = window_read, .body_rewind = window_rewind,
						    .body_ctx = &w, .body_size = n };
			e = send_authed(r, &req, r->push_scope, &resp);
			if (!e && resp.status != 202)
				e = status_error(r, &resp, "blob chunk upload");
			if (!e) {
				const char *l = http_response_header(&resp, "Location");
				if (l && *l) {
					free(loc);
					loc = resolve_location(r, l);
				}
			}
			http_response_release(&resp);
			off += n;
		}
		if (!e) {
			_cleanup_free_ char *url = with_query(loc, dq);
			struct http_request req = { .method = "PUT", .url = url, .no_retry = true, .body = "",
						    .body_len = 0 };
			e = send_authed(r, &req, r->push_scope, &resp);
		}
	}
	if (!e && resp.status != 201 && resp.status != 204 && resp.status != 200)
		e = status_error(r, &resp, "blob upload");
	http_response_release(&resp);
	return e;
}

/* Uploads are restarted from the POST when an attempt fails in transit:
 * a half-written upload session cannot be resumed reliably everywhere. */
static err_t *upload_with_retries(struct registry *r, const char *digest, int64_t size, int fd, const void *buf)
{
	long delay = r->backoff_ms;
	for (int attempt = 0;; attempt++) {
		err_t *e = upload_once(r, digest, size, fd, buf);
		if (!e) {
			log_debug("uploaded blob %s (%lld bytes) to %s/%s", digest, (long long)size, r->host,
				  r->repository);
			return NULL;
		}
		if (e->code != EXIT_UNREACHABLE || attempt >= r->retries)
			return err_wrap(e, "uploading blob %s", digest);
		log_warn("uploading blob %s to %s failed (%s); restarting the upload", digest, r->host, e->msg);
		err_free(e);
		struct timespec ts = { delay / 1000, (delay % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		if (delay < 10000)
			delay *= 2;
	}
}

err_t *registry_put_blob_fd(struct registry *r, const char *digest, int64_t size, int fd)
{
	TRY(digest_check(digest, "blob"));
	bool exists = false;
	TRY(registry_blob_exists(r, digest, &exists, NULL));
	if (exists) {
		log_debug("blob %s already in %s/%s", digest, r->host, r->repository);
		return NULL;
	}
	return upload_with_retries(r, digest, size, fd, NULL);
}

err_t *registry_upload_blob_buffer(struct registry *r, const void *data, size_t len)
{
	TRY(ensure_scheme(r)); /* as every other entry point: it may be a connection's first request */
	char digest[DIGEST_SIZE];
	digest_buffer(data, len, digest);
	return upload_with_retries(r, digest, (int64_t)len, -1, len ? data : "");
}

err_t *registry_upload_blob_buffers(struct registry *r, const void *const *datas, const size_t *lens, size_t n)
{
	TRY(ensure_scheme(r));
	struct http_request *reqs = xcalloc(n, sizeof *reqs);
	struct http_response *resps = xcalloc(n, sizeof *resps);
	err_t **errs = xcalloc(n, sizeof *errs);
	bool *again = xcalloc(n, sizeof *again);
	char **urls = xcalloc(n, sizeof *urls);
	char (*digests)[DIGEST_SIZE] = xcalloc(n, sizeof *digests);
	_cleanup_free_ char *post = url_for(r, "/v2/%s/blobs/uploads/", r->repository);
	for (size_t i = 0; i < n; i++) {
		digest_buffer(datas[i], lens[i], digests[i]);
		reqs[i] = (struct http_request){ .method = "POST", .url = post };
		resps[i] = (struct http_response)HTTP_RESPONSE_INIT;
	}
	/* every upload's POST side by side, then every PUT */
	send_side_by_side(r, reqs, resps, errs, again, n, r->push_scope);
	const char *hdrs[] = { "Content-Type: application/octet-stream", NULL };
	for (size_t i = 0; i < n; i++) {
		/* any error: the ordinary path (its restarts included) decides */
		again[i] = again[i] || errs[i];
		err_free(errs[i]);
		errs[i] = NULL;
		const char *loc = again[i] ? NULL : http_response_header(&resps[i], "Location");
		again[i] = again[i] || resps[i].status != 202 || !loc || !*loc;
		if (loc && *loc && !again[i]) {
			_cleanup_free_ char *abs = resolve_location(r, loc);
			_cleanup_free_ char *dq = xasprintf("digest=%s", digests[i]);
			urls[i] = with_query(abs, dq);
			reqs[i] = (struct http_request){ .method = "PUT", .url = urls[i], .headers = hdrs, .no_retry = true,
							 .body = lens[i] ? datas[i] : "", .body_len = lens[i] };
		} else {
			reqs[i] = (struct http_request){ .method = "PUT", .url = post }; /* not sent */
		}
		http_response_release(&resps[i]);
	}
	struct http_response *resps2 = xcalloc(n, sizeof *resps2);
	err_t **errs2 = xcalloc(n, sizeof *errs2);
	bool *again2 = xcalloc(n, sizeof *again2);
	size_t m = 0; /* the PUTs to send, packed in front */
	size_t *which = xcalloc(n, sizeof *which);
	for (size_t i = 0; i < n; i++) {
		if (!again[i]) {
			reqs[m] = reqs[i];
			which[m++] = i;
		}
	}
	for (size_t j = 0; j < m; j++)
		resps2[j] = (struct http_response)HTTP_RESPONSE_INIT;
	send_side_by_side(r, reqs, resps2, errs2, again2, m, r->push_scope);
	for (size_t j = 0; j < m; j++) {
		size_t i = which[j];
		long st = resps2[j].status;
		/* an error or anything but a stored blob: the upload starts over
		 * the ordinary way */
		again[i] = again2[j] || errs2[j] || (st != 201 && st != 204 && st != 200);
		err_free(errs2[j]);
		if (!again[i])
			log_debug("uploaded blob %s (%zu bytes) to %s/%s", digests[i], lens[i], r->host, r->repository);
		http_response_release(&resps2[j]);
	}
	err_t *e = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!e && again[i])
			e = registry_upload_blob_buffer(r, datas[i], lens[i]);
		free(urls[i]);
	}
	free(which);
	free(again2);
	free(errs2);
	free(resps2);
	free(digests);
	free(urls);
	free(again);
	free(errs);
	free(resps);
	free(reqs);
	return e;
}

err_t *registry_put_blob_buffer(struct registry *r, const void *data, size_t len, char digest_out[DIGEST_SIZE])
{
	char digest[DIGEST_SIZE];
	digest_buffer(data, len, digest);
	if (digest_out)
		memcpy(digest_out, digest, DIGEST_SIZE);
	bool exists = false;
	TRY(registry_blob_exists(r, digest, &exists, NULL));
	if (exists)
		return NULL;
	return upload_with_retries(r, digest, (int64_t)len, -1, len ? data : "");
}

err_t *registry_mount_blob(struct registry *r, const char *digest, const char *from_repository, bool *mounted)
{
	*mounted = false;
	TRY(digest_check(digest, "blob"));
	TRY(ensure_scheme(r));
	_cleanup_free_ char *from = http_urlencode(from_repository);
	_cleanup_free_ char *query = xasprintf("?mount=%s&from=%s", digest, from);
	_cleanup_free_ char *url = url_for(r, "/v2/%s/blobs/uploads/%s", r->repository, query);
	_cleanup_free_ char *scopes = xasprintf("%s repository:%s:pull", r->push_scope, from_repository);
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct http_request req = { .method = "POST", .url = url };
	err_t *e = send_authed(r, &req, scopes, &resp);
	if (!e && resp.status == 201) {
		*mounted = true;
	} else if (!e && resp.status == 202) {
		/* not mounted: an upload session was opened; cancel it */
		const char *loc = http_response_header(&resp, "Location");
		if (loc) {
			_cleanup_free_ char *abs = resolve_location(r, loc);
			struct http_response r2 = HTTP_RESPONSE_INIT;
			struct http_request del = { .method = "DELETE", .url = abs, .no_retry = true };
			err_t *de = send_authed(r, &del, r->push_scope, &r2);
			err_free(de);
			http_response_release(&r2);
		}
	} else if (!e) {
		e = status_error(r, &resp, "blob mount");
	}
	http_response_release(&resp);
	return e;
}

/* ---- tags ---- */

/* Link: </v2/x/tags/list?last=a&n=100>; rel="next" */
static const char *skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Whether a rel value (space-separated relation types) holds "next". */
static bool rel_has_next(const char *v, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && v[j] != ' ')
			j++;
		if (j - i == 4 && !strncasecmp(v + i, "next", 4))
			return true;
		i = j + 1;
	}
	return false;
}

char *registry_link_next(const char *link)
{
	const char *p = link;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p != '<')
			return NULL;
		const char *uri = p + 1, *gt = strchr(uri, '>');
		if (!gt)
			return NULL;
		p = skip_ows(gt + 1);
		bool next = false;
		while (*p == ';') {
			/* link-param: token [ "=" ( token / quoted-string ) ] */
			const char *name = p = skip_ows(p + 1);
			while (*p && !strchr("=;, \t\"", *p))
				p++;
			size_t nlen = (size_t)(p - name);
			p = skip_ows(p);
			struct strbuf val = STRBUF_INIT;
			if (*p == '=') {
				p = skip_ows(p + 1);
				if (*p == '"') {
					for (p++; *p && *p != '"'; p++) {
						if (*p == '\\' && p[1])
							p++;
						sb_add(&val, p, 1);
					}
					if (*p != '"') {
						sb_release(&val);
						return NULL;
					}
					p++;
				} else {
					const char *t = p;
					while (*p && !strchr(";, \t\"", *p))
						p++;
					sb_add(&val, t, (size_t)(p - t));
				}
			}
			if (nlen == 3 && !strncasecmp(name, "rel", 3) && rel_has_next(sb_str(&val), val.len))
				next = true;
			sb_release(&val);
			p = skip_ows(p);
		}
		if (*p && *p != ',')
			return NULL;
		if (next)
			return xstrndup(uri, (size_t)(gt - uri));
		if (!*p)
			return NULL;
	}
}

static char *next_link(struct registry *r, const struct http_response *resp)
{
	const char *l = http_response_header(resp, "Link");
	_cleanup_free_ char *path = l ? registry_link_next(l) : NULL;
	return path ? resolve_location(r, path) : NULL;
}

err_t *registry_list_tags(struct registry *r, registry_tag_fn fn, void *ctx)
{
	TRY(ensure_scheme(r));
	char *url = url_for(r, "/v2/%s/tags/list?n=%zu", r->repository, r->tags_page_size);
	for (int page = 0; url && page < 10000; page++) {
		struct http_response resp = HTTP_RESPONSE_INIT;
		struct http_request req = { .url = url, .follow_redirects = true };
		err_t *e = send_authed(r, &req, r->pull_scope, &resp);
		free(url);
		url = NULL;
		if (!e && resp.status != 200)
			e = status_error(r, &resp, "tag list");
		json_t *doc = NULL;
		if (!e)
			e = json_parse(sb_str(&resp.body), resp.body.len, "tag list", &doc);
		if (!e) {
			json_t *tags = json_object_get(doc, "tags");
			size_t i;
			json_t *t;
			json_array_foreach(tags, i, t)
			{
				if (json_is_string(t) && !e)
					e = fn(json_string_value(t), ctx);
			}
			url = e ? NULL : next_link(r, &resp);
		}
		json_decref(doc);
		http_response_release(&resp);
		if (e) {
			free(url);
			return e;
		}
	}
	free(url);
	return NULL;
}
