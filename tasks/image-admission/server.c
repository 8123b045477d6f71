/* The HTTPS server (see server.h). */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "strbuf.h"
#include "xalloc.h"

/* one per connection: a connection has one request at a time */
struct server_call {
	struct server *s;
	struct conn *c;
	struct server_response resp;
	struct server_call *next; /* in s->answered */
};

struct conn {
	int fd;
	SSL *ssl;
	bool handshaken;
	bool busy; /* queued, with a worker or deferred (else the loop owns it) */
	bool keep; /* the deferred request's connection stays open after it */
	size_t consumed; /* the deferred request's bytes in `in` */
	struct strbuf in;
	int64_t deadline_ms;
	char remote[64];
	struct server_call call;
	struct conn *prev, *next;
};

struct server {
	struct server_options o;
	int listen_fd, epoll_fd, signal_fd, port;
	pthread_mutex_t lock; /* conns, busy flags, queue, ctx */
	pthread_cond_t work;
	SSL_CTX *ctx;
	struct conn *conns;
	size_t nconns;
	struct conn **queue;
	size_t qhead, qlen;
	bool quit;            /* workers leave */
	atomic_bool stopping; /* no new connections, no keep-alive */
	pthread_t *threads;
	size_t nthreads;
	size_t busy_workers;
	size_t deferred; /* calls not yet written back */
	struct server_call *answered, **answered_tail; /* answered, to write */
};

static err_t *tls_error(const char *what, const char *file)
{
	unsigned long code = ERR_get_error();
	char buf[256] = "";
	if (code)
		ERR_error_string_n(code, buf, sizeof buf);
	ERR_clear_error();
	return err_new(EXIT_USAGE, "%s %s: %s", what, file, code ? buf : "unknown TLS error");
}

static err_t *load_ctx(const struct server_options *o, SSL_CTX **out)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx)
		return tls_error("TLS context for", o->cert);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	err_t *e = NULL;
	if (SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1)
		e = tls_error("serving certificate", o->cert);
	else if (SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1)
		e = tls_error("serving key", o->key);
	else if (SSL_CTX_check_private_key(ctx) != 1)
		e = tls_error("serving key does not match the certificate", o->cert);
	if (e) {
		SSL_CTX_free(ctx);
		return e;
	}
	*out = ctx;
	return NULL;
}

void server_block_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static err_t *bind_listen(const char *listen_addr, int *fd_out, int *port_out)
{
	const char *colon = strrchr(listen_addr, ':');
	if (!colon)
		return err_new(EXIT_USAGE, "--listen: '%s' is not HOST:PORT", listen_addr);
	char *host = xstrndup(listen_addr, (size_t)(colon - listen_addr));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(*host ? host : NULL, colon + 1, &hints, &ai);
	free(host);
	if (rc)
		return err_new(EXIT_USAGE, "--listen %s: %s", listen_addr, gai_strerror(rc));
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	err_t *e = NULL;
	if (fd < 0)
		e = err_errno(EXIT_FAILED, "socket for %s", listen_addr);
	else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) || bind(fd, ai->ai_addr, ai->ai_addrlen) ||
		 listen(fd, 1024))
		e = err_errno(EXIT_FAILED, "listening on %s", listen_addr);
	freeaddrinfo(ai);
	if (e) {
		if (fd >= 0)
			close(fd);
		return e;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	*port_out = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						    : ((struct sockaddr_in *)&ss)->sin_port);
	*fd_out = fd;
	return NULL;
}

err_t *server_new(const struct server_options *o, struct server **out)
{
	struct server *s = xcalloc(1, sizeof *s);
	s->o = *o;
	s->listen_fd = s->epoll_fd = s->signal_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->work, NULL);
	s->queue = xcalloc(o->queue ? o->queue : 1, sizeof *s->queue);
	s->answered_tail = &s->answered;
	err_t *e = load_ctx(o, &s->ctx);
	if (!e)
		e = bind_listen(o->listen, &s->listen_fd, &s->port);
	if (e) {
		server_free(s);
		return e;
	}
	*out = s;
	return NULL;
}

int server_port(const struct server *s)
{
	return s->port;
}

bool server_accepting(const struct server *s)
{
	return !atomic_load(&s->stopping);
}

err_t *server_reload_tls(struct server *s)
{
	SSL_CTX *ctx;
	TRY(load_ctx(&s->o, &ctx));
	pthread_mutex_lock(&s->lock);
	SSL_CTX *old = s->ctx;
	s->ctx = ctx;
	pthread_mutex_unlock(&s->lock);
	SSL_CTX_free(old); /* open connections hold their own reference */
	return NULL;
}

/* under s->lock */
static void conn_unlink_close(struct server *s, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	SSL_free(c->ssl);
	close(c->fd);
	sb_release(&c->in);
	free(c);
}

/* hand c back to the loop, waiting for bytes (or room to write) */
static void conn_rearm(struct server *s, struct conn *c, bool want_write)
{
	struct epoll_event ev = { .events = (want_write ? EPOLLOUT : EPOLLIN) | EPOLLONESHOT | EPOLLRDHUP, .data.ptr = c };
	pthread_mutex_lock(&s->lock);
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev)) {
		conn_unlink_close(s, c);
	} else {
		c->busy = false;
	}
	pthread_mutex_unlock(&s->lock);
}

static void conn_close(struct server *s, struct conn *c)
{
	pthread_mutex_lock(&s->lock);
	conn_unlink_close(s, c);
	pthread_mutex_unlock(&s->lock);
}

static const char *status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

/* Write all of data, waiting (at most the header timeout) when the
 * socket is full; false when the client is gone. */
static bool conn_write(struct server *s, struct conn *c, const char *data, size_t len)
{
	int64_t until = clock_monotonic_ms() + s->o.header_timeout_ms;
	while (len) {
		size_t n = 0;
		if (SSL_write_ex(c->ssl, data, len, &n) == 1) {
			data += n;
			len -= n;
			continue;
		}
		int err = SSL_get_error(c->ssl, 0);
		ERR_clear_error();
		int64_t left = until - clock_monotonic_ms();
		if ((err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ) || left <= 0)
			return false;
		struct pollfd p = { c->fd, err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, 0 };
		poll(&p, 1, (int)left);
	}
	return true;
}

static bool respond(struct server *s, struct conn *c, struct server_response *r, bool keep_alive)
{
	const char *body = r->body ? r->body : "";
	struct strbuf out = STRBUF_INIT;
	sb_addf(&out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: %s\r\n\r\n%s", r->status,
		status_text(r->status), r->content_type ? r->content_type : "application/json", strlen(body),
		keep_alive ? "keep-alive" : "close", body);
	bool ok = conn_write(s, c, out.buf, out.len);
	sb_release(&out);
	free(r->body);
	r->body = NULL;
	return ok;
}

/* Close after refusing a request whose body may still be arriving: the
 * answer first, then what the client still sends is read and dropped
 * (at most 250 ms and 1 MiB), so that closing with unread bytes does not
 * reset the connection before the client reads the answer. */
static void linger_close(struct server *s, struct conn *c)
{
	SSL_shutdown(c->ssl);
	ERR_clear_error();
	shutdown(c->fd, SHUT_WR);
	int64_t until = clock_monotonic_ms() + 250;
	size_t drained = 0;
	char buf[16384];
	for (int64_t left; drained < (1u << 20) && (left = until - clock_monotonic_ms()) > 0;) {
		struct pollfd p = { c->fd, POLLIN, 0 };
		if (poll(&p, 1, (int)left) <= 0)
			break;
		ssize_t n = recv(c->fd, buf, sizeof buf, 0);
		if (n <= 0)
			break;
		drained += (size_t)n;
	}
	conn_close(s, c);
}

static void log_bad(const struct conn *c, const struct httpreq *req)
{
	json_t *f = json_pack("{s:s, s:i, s:s}", "remote", c->remote, "status", req->status, "reason", req->why);
	log_fields(LOG_WARN, "refused request", f);
	json_decref(f);
}

/* Write the answer to c's current request and drop the request's bytes;
 * false when c is closed (gone, or not kept open). */
static bool conn_answered(struct server *s, struct conn *c, struct server_response *resp)
{
	bool keep = c->keep && !atomic_load(&s->stopping);
	if (!respond(s, c, resp, keep) || !keep) {
		conn_close(s, c);
		return false;
	}
	/* the next request on this connection */
	memmove(c->in.buf, c->in.buf + c->consumed, c->in.len - c->consumed);
	c->in.len -= c->consumed;
	c->in.buf[c->in.len] = 0;
	c->deadline_ms = clock_monotonic_ms() + (c->in.len ? s->o.header_timeout_ms : s->o.idle_timeout_ms);
	return true;
}

/* Advance c as far as its bytes go; it ends closed, handed back or
 * deferred. */
static void conn_serve(struct server *s, struct conn *c)
{
	if (!c->handshaken) {
		int rc = SSL_accept(c->ssl);
		if (rc != 1) {
			int err = SSL_get_error(c->ssl, rc);
			ERR_clear_error();
			if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
				conn_rearm(s, c, err == SSL_ERROR_WANT_WRITE);
			else
				conn_close(s, c);
			return;
		}
		c->handshaken = true;
		/* a client may open its connection ahead of its first request
		 * (as the API server's pool does): idle until the first byte */
		c->deadline_ms = clock_monotonic_ms() + s->o.idle_timeout_ms;
	}
	size_t cap = HTTPREQ_MAX_HEAD + s->o.max_body + 1;
	for (;;) {
		/* read what is there */
		bool eof = false;
		while (c->in.len < cap) {
			char buf[16384];
			size_t want = cap - c->in.len < sizeof buf ? cap - c->in.len : sizeof buf;
			size_t n = 0;
			if (SSL_read_ex(c->ssl, buf, want, &n) == 1) {
				if (c->in.len == 0) /* a request starts: it has header_timeout to arrive */
					c->deadline_ms = clock_monotonic_ms() + s->o.header_timeout_ms;
				sb_add(&c->in, buf, n);
				continue;
			}
			int err = SSL_get_error(c->ssl, 0);
			ERR_clear_error();
			if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
				eof = true;
			break;
		}
		if (c->in.len == 0) {
			if (eof)
				conn_close(s, c);
			else
				conn_rearm(s, c, false);
			return;
		}
		struct httpreq req;
		enum httpreq_state st = httpreq_parse(c->in.buf, c->in.len, s->o.max_body, &req);
		if (st == HTTPREQ_MORE && c->in.len >= cap) {
			st = HTTPREQ_BAD;
			req.status = 413;
			req.why = "request too large";
		}
		if (st == HTTPREQ_MORE) {
			if (eof)
				conn_close(s, c);
			else
				conn_rearm(s, c, false);
			return;
		}
		struct server_response resp = { 0 };
		if (st == HTTPREQ_BAD) {
			log_bad(c, &req);
			resp.status = req.status;
			json_t *b = json_pack("{s:s}", "error", req.why);
			resp.body = json_dumps(b, JSON_COMPACT);
			json_decref(b);
			respond(s, c, &resp, false);
			linger_close(s, c);
			return;
		}
		c->keep = req.keep_alive && !eof;
		c->consumed = req.consumed;
		c->call.s = s;
		c->call.c = c;
		if (s->o.handler(s->o.ctx, &req, c->remote, &c->call, &resp))
			return; /* deferred: c waits for its answer holding no worker, and is not ours now */
		if (!conn_answered(s, c, &resp))
			return;
		if (!c->in.len && !SSL_pending(c->ssl)) {
			conn_rearm(s, c, false);
			return;
		}
	}
}

void server_defer(struct server_call *call)
{
	pthread_mutex_lock(&call->s->lock);
	call->s->deferred++;
	pthread_mutex_unlock(&call->s->lock);
}

void server_answer(struct server_call *call, struct server_response *resp)
{
	struct server *s = call->s;
	call->resp = *resp;
	resp->body = NULL;
	pthread_mutex_lock(&s->lock);
	call->next = NULL;
	*s->answered_tail = call;
	s->answered_tail = &call->next;
	pthread_cond_broadcast(&s->work); /* server_run may wait on it too */
	pthread_mutex_unlock(&s->lock);
}

/* a worker writes a deferred answer, then serves what follows on c */
static void conn_resume(struct server *s, struct server_call *call)
{
	struct conn *c = call->c;
	struct server_response resp = call->resp;
	call->resp.body = NULL;
	if (conn_answered(s, c, &resp))
		conn_serve(s, c);
}

/* Answers first (their requests waited already), then connections with
 * bytes. */
static void *worker(void *arg)
{
	struct server *s = arg;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->quit && !s->qlen && !s->answered)
			pthread_cond_wait(&s->work, &s->lock);
		if (s->quit)
			break;
		if (s->answered) {
			struct server_call *call = s->answered;
			s->answered = call->next;
			if (!s->answered)
				s->answered_tail = &s->answered;
			s->busy_workers++;
			pthread_mutex_unlock(&s->lock);
			conn_resume(s, call);
			pthread_mutex_lock(&s->lock);
			s->busy_workers--;
			s->deferred--;
			pthread_cond_broadcast(&s->work);
			continue;
		}
		struct conn *c = s->queue[s->qhead];
		s->qhead = (s->qhead + 1) % s->o.queue;
		s->qlen--;
		s->busy_workers++;
		pthread_mutex_unlock(&s->lock);
		conn_serve(s, c);
		pthread_mutex_lock(&s->lock);
		s->busy_workers--;
		pthread_cond_broadcast(&s->work);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static void accept_all(struct server *s)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int fd = accept4(s->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		pthread_mutex_lock(&s->lock);
		if (s->nconns >= s->o.max_conns) {
			pthread_mutex_unlock(&s->lock);
			close(fd);
			log_warn("connection refused: %zu connections open, the most allowed", s->o.max_conns);
			continue;
		}
		struct conn *c = xcalloc(1, sizeof *c);
		c->fd = fd;
		c->ssl = SSL_new(s->ctx);
		c->deadline_ms = clock_monotonic_ms() + s->o.header_timeout_ms;
		char host[INET6_ADDRSTRLEN] = "?";
		int port = 0;
		if (ss.ss_family == AF_INET) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof host);
			port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof host);
			port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		}
		snprintf(c->remote, sizeof c->remote, "%s:%d", host, port);
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT | EPOLLRDHUP, .data.ptr = c };
		if (!c->ssl || !SSL_set_fd(c->ssl, fd) || epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev)) {
			SSL_free(c->ssl);
			close(fd);
			free(c);
		} else {
			c->next = s->conns;
			if (s->conns)
				s->conns->prev = c;
			s->conns = c;
			s->nconns++;
		}
		pthread_mutex_unlock(&s->lock);
	}
}

/* a connection has bytes: to a worker, or closed when the queue is full */
static void dispatch(struct server *s, struct conn *c)
{
	pthread_mutex_lock(&s->lock);
	if (s->qlen == s->o.queue) {
		log_warn("connection from %s closed: %zu connections wait for a worker already", c->remote, s->qlen);
		conn_unlink_close(s, c);
	} else {
		c->busy = true;
		s->queue[(s->qhead + s->qlen) % s->o.queue] = c;
		s->qlen++;
		pthread_cond_signal(&s->work);
	}
	pthread_mutex_unlock(&s->lock);
}

/* close idle connections past their deadline (all idle ones when stopping) */
static void expire(struct server *s, bool all_idle)
{
	int64_t now = clock_monotonic_ms();
	pthread_mutex_lock(&s->lock);
	for (struct conn *c = s->conns, *next; c; c = next) {
		next = c->next;
		if (!c->busy && (now >= c->deadline_ms || all_idle))
			conn_unlink_close(s, c);
	}
	pthread_mutex_unlock(&s->lock);
}

static void stop_workers(struct server *s)
{
	pthread_mutex_lock(&s->lock);
	s->quit = true;
	pthread_cond_broadcast(&s->work);
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < s->nthreads; i++)
		pthread_join(s->threads[i], NULL);
	s->nthreads = 0;
}

err_t *server_run(struct server *s)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	s->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (s->signal_fd < 0 || s->epoll_fd < 0)
		return err_errno(EXIT_FAILED, "event loop");
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &s->listen_fd };
	epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->listen_fd, &ev);
	ev.data.ptr = &s->signal_fd;
	epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->signal_fd, &ev);
	s->threads = xcalloc(s->o.workers, sizeof *s->threads);
	for (size_t i = 0; i < s->o.workers; i++) {
		int rc = pthread_create(&s->threads[i], NULL, worker, s);
		if (rc) {
			stop_workers(s);
			return err_new(EXIT_FAILED, "starting worker threads: %s", strerror(rc));
		}
		s->nthreads++;
	}
	int64_t stop_by = 0;
	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(s->epoll_fd, evs, 64, 100);
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == &s->listen_fd) {
				accept_all(s);
			} else if (p == &s->signal_fd) {
				struct signalfd_siginfo si;
				while (read(s->signal_fd, &si, sizeof si) == (ssize_t)sizeof si) {
					if (si.ssi_signo == SIGHUP) {
						if (s->o.on_reload)
							s->o.on_reload(s->o.reload_ctx);
					} else if (!atomic_load(&s->stopping)) {
						log_info("signal %u: stopping: no new connections, finishing the requests in progress",
							 si.ssi_signo);
						atomic_store(&s->stopping, true);
						epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, s->listen_fd, NULL);
						close(s->listen_fd);
						s->listen_fd = -1;
						stop_by = clock_monotonic_ms() + s->o.grace_ms;
					}
				}
			} else {
				dispatch(s, p);
			}
		}
		bool stopping = atomic_load(&s->stopping);
		expire(s, stopping);
		if (stopping) {
			pthread_mutex_lock(&s->lock);
			bool idle = !s->qlen && !s->busy_workers && !s->deferred;
			pthread_mutex_unlock(&s->lock);
			if (idle || clock_monotonic_ms() >= stop_by)
				break;
		}
	}
	/* every deferred call is answered by its handler's deadline: wait for
	 * them (their handlers still hold the connections) */
	pthread_mutex_lock(&s->lock);
	while (s->deferred)
		pthread_cond_wait(&s->work, &s->lock);
	pthread_mutex_unlock(&s->lock);
	stop_workers(s);
	return NULL;
}

void server_free(struct server *s)
{
	if (!s)
		return;
	stop_workers(s);
	while (s->conns)
		conn_unlink_close(s, s->conns);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	if (s->signal_fd >= 0)
		close(s->signal_fd);
	SSL_CTX_free(s->ctx);
	free(s->queue);
	free(s->threads);
	pthread_cond_destroy(&s->work);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
