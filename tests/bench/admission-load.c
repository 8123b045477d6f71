/* A load generator for image-admission's figures: AdmissionReviews POSTed
 * over TLS keep-alive connections, open loop at a fixed rate (each
 * request has a scheduled send time; its latency runs from that time, so
 * a stalled server is not hidden by a stalled client), or closed loop
 * (RATE 0: each connection sends its next request when the previous
 * answer is in).
 *
 *   admission-load HOST PORT CA_FILE RATE TOTAL CONNS PATH BODY_FILE...
 *
 * Bodies are sent round robin. Prints one line:
 *   sent N answered N allowed N denied N errors N p50 MS p99 MS max MS rate R/s
 * and exits non-zero when any request had no answer. */
#define _GNU_SOURCE
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *host, *port, *path;
static double rate;
static long total;
static int conns;
static char **bodies;
static size_t *body_lens;
static int nbodies;
static SSL_CTX *ctx;
static double *lat; /* ms, per request (-1: no answer) */
static atomic_long allowed, denied, errors, next_req;
static struct timespec t0;

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static SSL *dial(void)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	if (getaddrinfo(host, port, &hints, &ai))
		return NULL;
	int fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen)) {
		freeaddrinfo(ai);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	freeaddrinfo(ai);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	SSL *s = SSL_new(ctx);
	SSL_set_fd(s, fd);
	SSL_set_tlsext_host_name(s, host);
	SSL_set1_host(s, host);
	if (SSL_connect(s) != 1) {
		SSL_free(s);
		close(fd);
		return NULL;
	}
	return s;
}

static void hang_up(SSL **s)
{
	if (*s) {
		int fd = SSL_get_fd(*s);
		SSL_free(*s);
		close(fd);
		*s = NULL;
	}
}

/* one request on *s: 1 allowed, 0 denied, -1 no answer */
static int exchange(SSL **s, const char *body, size_t len)
{
	if (!*s && !(*s = dial()))
		return -1;
	static __thread char buf[1 << 16];
	/* one write, one TLS record: no Nagle wait between head and body */
	int hl = snprintf(buf, sizeof buf,
			  "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
			  path, host, len);
	if (hl < 0 || (size_t)hl + len > sizeof buf)
		goto bad;
	memcpy(buf + hl, body, len);
	if (SSL_write(*s, buf, hl + (int)len) != hl + (int)len)
		goto bad;
	size_t have = 0;
	long want = -1;
	char *hend = NULL;
	for (;;) {
		int n = SSL_read(*s, buf + have, (int)(sizeof buf - 1 - have));
		if (n <= 0)
			goto bad;
		have += (size_t)n;
		buf[have] = 0;
		if (!hend && (hend = strstr(buf, "\r\n\r\n"))) {
			char *cl = strcasestr(buf, "Content-Length:");
			if (!cl || cl > hend)
				goto bad;
			want = atol(cl + 15);
		}
		if (hend && (long)(have - (size_t)(hend + 4 - buf)) >= want)
			break;
		if (have >= sizeof buf - 1)
			goto bad;
	}
	if (strncmp(buf, "HTTP/1.1 200", 12))
		goto bad;
	return strstr(hend, "\"allowed\":true") != NULL;
bad:
	hang_up(s);
	return -1;
}

static void *worker(void *arg)
{
	(void)arg;
	SSL *s = NULL;
	for (;;) {
		long i = atomic_fetch_add(&next_req, 1);
		if (i >= total)
			break;
		double start;
		if (rate > 0) {
			double at = (double)i / rate;
			struct timespec ts = { t0.tv_sec + (time_t)at, t0.tv_nsec + (long)((at - (long)at) * 1e9) };
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
			start = (double)ts.tv_sec + ts.tv_nsec / 1e9;
		} else {
			start = now_s();
		}
		int b = (int)(i % nbodies);
		int r = exchange(&s, bodies[b], body_lens[b]);
		lat[i] = r < 0 ? -1 : (now_s() - start) * 1000.0;
		atomic_fetch_add(r < 0 ? &errors : r ? &allowed : &denied, 1);
	}
	hang_up(&s);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc < 9) {
		fprintf(stderr, "usage: admission-load HOST PORT CA_FILE RATE TOTAL CONNS PATH BODY_FILE...\n");
		return 2;
	}
	host = argv[1], port = argv[2], rate = atof(argv[4]), total = atol(argv[5]), conns = atoi(argv[6]);
	path = argv[7];
	nbodies = argc - 8;
	bodies = calloc((size_t)nbodies, sizeof *bodies);
	body_lens = calloc((size_t)nbodies, sizeof *body_lens);
	for (int i = 0; i < nbodies; i++) {
		FILE *f = fopen(argv[8 + i], "rb");
		if (!f) {
			perror(argv[8 + i]);
			return 2;
		}
		bodies[i] = malloc(1 << 20);
		body_lens[i] = fread(bodies[i], 1, 1 << 20, f);
		fclose(f);
	}
	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, argv[3], NULL) != 1) {
		fprintf(stderr, "cannot load %s\n", argv[3]);
		return 2;
	}
	lat = calloc((size_t)total, sizeof *lat);
	pthread_t *t = calloc((size_t)conns, sizeof *t);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	double start = now_s();
	for (int i = 0; i < conns; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < conns; i++)
		pthread_join(t[i], NULL);
	double took = now_s() - start;
	size_t n = 0;
	for (long i = 0; i < total; i++)
		if (lat[i] >= 0)
			lat[n++] = lat[i];
	qsort(lat, n, sizeof *lat, cmp);
	double p50 = n ? lat[(n - 1) / 2] : 0, p99 = n ? lat[(size_t)((double)(n - 1) * 0.99)] : 0,
	       mx = n ? lat[n - 1] : 0;
	printf("sent %ld answered %zu allowed %ld denied %ld errors %ld p50 %.3f ms p99 %.3f ms max %.3f ms rate %.1f/s\n",
	       total, n, atomic_load(&allowed), atomic_load(&denied), atomic_load(&errors), p50, p99, mx,
	       took > 0 ? (double)n / took : 0);
	return atomic_load(&errors) ? 1 : 0;
}
