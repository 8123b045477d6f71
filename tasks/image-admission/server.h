/* image-admission's HTTPS server: an epoll loop that owns idle
 * connections and a bounded pool of worker threads that take a
 * connection when it has bytes to read, advance its TLS handshake or its
 * request as far as the bytes go (never blocking on a client), answer a
 * complete request through the handler, and hand it back. Limits: at most
 * max_conns connections (more are closed on accept), a bounded queue of
 * ready connections (full: the connection is closed), a request must
 * arrive whole within header_timeout_ms of its first byte (slowloris), an
 * idle keep-alive connection is closed after idle_timeout_ms, bodies
 * above max_body are refused with 413.
 *
 * A handler that cannot answer at once (an admission review waiting for a
 * verification) defers: it calls server_defer, returns true, and answers
 * the call later from any thread with server_answer. Meanwhile the connection
 * holds no worker, so no request ever waits behind another's
 * verification; answers are written by the workers before new requests.
 *
 * SIGHUP calls on_reload (policy and certificate, server_reload_tls) while
 * connections go on; SIGTERM or SIGINT stop accepting, let the requests
 * in progress finish (at most grace_ms) and return. */
#ifndef IMAGE_ADMISSION_SERVER_H
#define IMAGE_ADMISSION_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "httpreq.h"

struct server_response {
	int status;
	const char *content_type; /* NULL: application/json */
	char *body;               /* owned: freed by the server */
};

/* A request whose answer comes later (see server_answer). */
struct server_call;

/* Fill resp and return false; or call server_defer(call) and return true
 * (resp unused; req and call's connection are not touched after). */
typedef bool (*server_handler_fn)(void *ctx, const struct httpreq *req, const char *remote,
				  struct server_call *call, struct server_response *resp);
typedef void (*server_reload_fn)(void *ctx);

struct server_options {
	const char *listen;      /* host:port (port 0: any free one) */
	const char *cert, *key;  /* PEM files */
	size_t workers, queue, max_conns, max_body;
	int64_t header_timeout_ms, idle_timeout_ms, grace_ms;
	server_handler_fn handler;
	server_reload_fn on_reload;
	void *ctx;        /* the handler's */
	void *reload_ctx; /* on_reload's */
};

struct server;

/* Bind and load the certificate (errors name the file or address). */
err_t *server_new(const struct server_options *o, struct server **out);
/* The port bound. */
int server_port(const struct server *s);
/* Load cert and key again; new connections use them, open ones keep theirs. */
err_t *server_reload_tls(struct server *s);
/* From the handler, before anything may answer call: it is answered later.
 * The server waits for every deferred call before server_run returns, so
 * each must be answered (by the handler's deadline). */
void server_defer(struct server_call *call);
/* Answer a deferred call, exactly once, from any thread (possibly before
 * the handler returned); takes resp->body. */
void server_answer(struct server_call *call, struct server_response *resp);
/* Serve until SIGTERM/SIGINT (blocked in every thread by then: call
 * server_block_signals before starting any thread). */
err_t *server_run(struct server *s);
void server_free(struct server *s);
/* Block the signals server_run takes (in the calling thread, inherited by
 * threads created later). */
void server_block_signals(void);
/* false once shutting down. */
bool server_accepting(const struct server *s);

#endif
