/* HTTP client on libcurl that every task shares: connect and total
 * timeouts, retries with exponential backoff + jitter on connection errors,
 * resets, 429 and 5xx (Retry-After honoured), resumable GETs (Range on
 * retry, transparent to the body sink), CA bundle and client certificate,
 * per-host "insecure" (no TLS verification), proxies from the environment
 * (http_proxy, https_proxy, no_proxy as libcurl reads them), streaming
 * request and response bodies, and response header access.
 *
 * At debug level every request is logged ("GET url -> 200, n bytes"), and
 * libcurl's verbose trace goes through common/log: Authorization and
 * Proxy-Authorization header values are replaced by "***", and every value
 * passed in an Authorization header is registered with log_secret so it is
 * redacted from every later line too.
 *
 * Error model: http_do returns NULL whenever the server gave a final
 * answer, whatever its status (the caller decides what a 404 means; see
 * http_status_error). It returns an error only when
 *   - the server stayed unreachable, kept resetting, or kept answering
 *     429/5xx through every retry: EXIT_UNREACHABLE;
 *   - a TLS verification failure or a bad option: EXIT_FAILED (not retried);
 *   - a client certificate or key file libcurl cannot use: EXIT_USAGE,
 *     naming the file and what is wrong with it;
 *   - the server's TLS alert refusing our client certificate (or its
 *     absence): EXIT_AUTH (not retried);
 *   - a body callback returned an error: that error, unchanged. */
#ifndef COMMON_HTTP_H
#define COMMON_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "error.h"
#include "strbuf.h"

struct http_options {
	long connect_timeout_ms; /* 0: 15000 */
	long total_timeout_ms;   /* per attempt; 0: none (big blobs), stalls are
				  * caught by low_speed_time_s instead */
	long low_speed_time_s;   /* abort an attempt that moves < 1 byte/s for this
				  * long; 0: 60 */
	int retries;             /* extra attempts after the first; <0: 0; default
				  * (zeroed struct) 0, tasks pass their `retries` param */
	long backoff_initial_ms; /* 0: 500; doubles each retry, full jitter */
	long backoff_max_ms;     /* 0: 20000; also caps Retry-After */
	const char *ca_file;     /* PEM bundle to trust instead of the system one */
	const char *ca_path;     /* directory of hashed CA certs */
	const char *client_cert; /* PEM client certificate (mutual TLS) */
	const char *client_key;  /* PEM key for client_cert */
	const char *user_agent;  /* NULL: "secure-pipeline/<version>" */
	/* Directory where TLS sessions are kept between processes, so the next
	 * run to the same endpoint (with the same trust settings) resumes
	 * instead of a full handshake (common/tlsresume); NULL: none. */
	const char *tls_session_dir;
	/* Hosts ("host" or "host:port") whose TLS certificate is not verified.
	 * Plain http:// works for any host: choosing the scheme is the caller's
	 * job (registry_options.insecure does it for registries). */
	const char *const *insecure_hosts;
	size_t n_insecure_hosts;
	/* connections to one host that concurrent requests (http_start) may
	 * open; more wait for one to be free (keep-alive). 0: the default */
	long max_host_connections;
};

struct http_client;

err_t *http_client_new(const struct http_options *opts, struct http_client **out);
void http_client_free(struct http_client *c);
/* Add a host to the client's insecure list after creation. */
void http_client_add_insecure_host(struct http_client *c, const char *host);

/* Response body sink: called with each chunk, in order. Return an error to
 * abort the transfer (http_do returns it unchanged). */
typedef err_t *(*http_write_fn)(const void *data, size_t len, void *ctx);
/* Request body source: fill up to `cap` bytes, set *got (0 = end). */
typedef err_t *(*http_read_fn)(void *buf, size_t cap, size_t *got, void *ctx);
/* Restart the request body from byte 0 for a retry; NULL = not rewindable
 * (then a request whose body was partly sent is not retried). */
typedef err_t *(*http_rewind_fn)(void *ctx);

struct http_request {
	const char *method; /* NULL: "GET" (or "PUT" ... , "HEAD", "PATCH", "DELETE") */
	const char *url;
	/* Extra headers, "Name: value", NULL-terminated; may be NULL. */
	const char *const *headers;

	/* Request body: a buffer, or a reader (size -1 = unknown: chunked). */
	const void *body;
	size_t body_len;
	http_read_fn body_read;
	http_rewind_fn body_rewind;
	void *body_ctx;
	int64_t body_size;

	/* Response body: streamed to on_body, or (when NULL) collected into
	 * http_response.body up to max_body bytes (0: 4 MiB); a longer body is
	 * an EXIT_FAILED error. Only 2xx bodies go to on_body; other statuses'
	 * bodies are always collected (for error messages). */
	http_write_fn on_body;
	void *body_ctx_out;
	size_t max_body;

	bool no_retry;         /* one attempt only */
	bool follow_redirects; /* 3xx followed (Authorization is never sent to
				* another host) */
	/* GET with on_body: after a partial transfer, retry with
	 * "Range: bytes=N-"; if the server ignores Range (200), the first N
	 * bytes are skipped, so on_body sees one continuous stream. */
	bool resumable;
};

struct http_response {
	long status;          /* final HTTP status */
	struct strbuf body;   /* collected body (see http_request.on_body) */
	char *effective_url;  /* after redirects */
	/* Headers of the final response, "Name: value" without CRLF. */
	char **headers;
	size_t n_headers;
	int attempts;         /* how many tries it took */
};

#define HTTP_RESPONSE_INIT { 0, STRBUF_INIT, NULL, NULL, 0, 0 }

/* Perform req; resp is filled (resetting what it held). */
err_t *http_do(struct http_client *c, const struct http_request *req, struct http_response *resp);
/* The same in two steps, so the caller's own work overlaps the server's:
 * http_start connects, shakes hands and sends the request (waiting for
 * the network as needed), http_finish waits for the answer and returns
 * what http_do would (retries included). req and resp must stay valid
 * until http_finish, which frees the call. Several calls may be in flight
 * on one client (used by one thread at a time): they run side by side on
 * up to 4 connections per host, which resume the first one's TLS session
 * (in memory, this client only); waiting for one lets the others
 * progress. Freeing the client cancels the calls still in flight. */
struct http_call;
struct http_call *http_start(struct http_client *c, const struct http_request *req, struct http_response *resp);
/* http_start without the wait: the request goes out while any call of the
 * client is waited for (for a batch of requests sent side by side). */
struct http_call *http_queue(struct http_client *c, const struct http_request *req, struct http_response *resp);
err_t *http_finish(struct http_call *call);
/* Give up on the call without waiting for its answer (or retrying it). */
void http_cancel(struct http_call *call);
/* Value of the last header called name (case-insensitive), or NULL. */
const char *http_response_header(const struct http_response *resp, const char *name);
void http_response_release(struct http_response *resp);

/* An error for a non-success status: 401/403 -> EXIT_AUTH, 429/5xx ->
 * EXIT_UNREACHABLE, anything else EXIT_FAILED. The message is
 * "<what>: HTTP <status>: <first 200 bytes of the body, redacted>". */
err_t *http_status_error(const struct http_response *resp, const char *what);

/* Header values a server sends, read as the client reads them:
 * Retry-After (delta-seconds or an HTTP date, against now) in ms, at most a
 * day (RETRY_AFTER_MAX_S), -1 when absent (NULL) or unreadable; and the
 * first byte of a 206's "Content-Range: bytes <first>-<last>/<length|*>",
 * false unless the value is exactly that with first <= last < length. */
#define RETRY_AFTER_MAX_S 86400
long http_retry_after_ms(const char *value, time_t now);
bool http_content_range_start(const char *value, uint64_t *start);

/* "Authorization: Basic base64(user:pass)" (caller frees); the encoded
 * value and the password are registered with log_secret. */
char *http_basic_auth_header(const char *user, const char *password);

/* Whether two absolute http(s) URLs have the same origin: scheme, host
 * (case-insensitive) and port (the scheme's default when absent). An
 * unparsable URL is nobody's origin. Credentials go to one origin only. */
bool http_same_origin(const char *a, const char *b);

/* The one check of a server URL a user gives (--notary-server, --url,
 * --endpoint, a kubeconfig's server): "<scheme>://HOST[:PORT][/path]" with
 * a scheme of `schemes` ("https" or "http,https"), a host that is not
 * empty and a port, when given, of 1-65535. Otherwise EXIT_USAGE naming
 * `what` (the param) and the URL. */
err_t *http_check_url(const char *url, const char *schemes, const char *what);

/* URL-encode a query component (caller frees). */
char *http_urlencode(const char *s);

#endif
