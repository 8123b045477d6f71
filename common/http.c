/* libcurl wrapper with retries, resumable downloads and redacted tracing
 * (see http.h). */
#include "http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "castore.h"
#include "clock.h"
#include "cleanup.h"
#include "log.h"
#include "tlsresume.h"
#include "xalloc.h"

#define DEFAULT_MAX_BODY (4u << 20)
/* connections per host of one client, for concurrent requests */
#define HTTP_MAX_HOST_CONNECTIONS 4
/* libcurl's default bundle (mk/curl.mk), the one task images carry */
#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

struct http_client {
	CURLM *multi; /* every request runs through it: connections are reused */
	/* TLS sessions shared by this client's transfers (memory only): a
	 * second connection to a host resumes the first one's session, which
	 * was verified under these same trust settings (one client, one
	 * trust configuration); the on-disk sessions are tlsresume's */
	CURLSH *share;
	CURL *spare;             /* an easy handle a finished call left for the next */
	struct http_call **calls; /* the requests in flight */
	size_t n_calls;
	struct http_options o;
	char *ca_file, *ca_path, *client_cert, *client_key, *user_agent;
	struct castore *cas; /* ca_file's anchors, read on the first request */
	char *tls_session_dir;
	char *trust_id; /* the trust settings a resumed session was verified under */
	char **insecure;
	size_t n_insecure;
	size_t max_conns;  /* requests in flight to one origin (http_call) */
	size_t n_waiting;  /* calls waiting for one of them to finish */
	uint64_t next_seq; /* of the next http_call */
};

/* OpenSSL's process-wide set-up, before anything touches it (a
 * constructor: key loading and digests may come before the first client).
 * What is left out costs every process ~1 ms and serves nothing here:
 *   - openssl.cnf: a task image carries none, and a host's file (which
 *     only names providers and engines) must not change what a static
 *     binary trusts or uses;
 *   - crypto error strings, built for every library at the first error
 *     mark: nothing here prints them (client_files_problem says in its own
 *     words what libcurl's message would have taken from them; libssl's
 *     strings, which the TLS alert checks read, are still loaded);
 *   - most of the legacy cipher table: OpenSSL 3 copies every legacy name
 *     into its name map on the first fetch (170 ciphers, a tenth of a
 *     warm verify's instructions). The ciphers a fetched cipher's NID or a
 *     lookup by name is still taken from are registered: those of TLS
 *     (1.2 and 1.3), PKCS#8 and traditional PEM key encryption. Every
 *     legacy digest stays: a certificate signature's strength is read
 *     through them (without them RSA chains fail as 'digest too weak'). */
static const EVP_CIPHER *(*const legacy_ciphers[])(void) = {
	EVP_aes_128_cbc, EVP_aes_192_cbc, EVP_aes_256_cbc, EVP_aes_128_gcm, EVP_aes_192_gcm, EVP_aes_256_gcm,
	EVP_aes_128_ccm, EVP_aes_192_ccm, EVP_aes_256_ccm, EVP_aes_128_ctr, EVP_aes_192_ctr, EVP_aes_256_ctr,
	EVP_aes_128_ecb, EVP_aes_192_ecb, EVP_aes_256_ecb, EVP_aes_128_ofb, EVP_aes_192_ofb, EVP_aes_256_ofb,
	EVP_aes_128_cfb128, EVP_aes_192_cfb128, EVP_aes_256_cfb128, EVP_chacha20, EVP_chacha20_poly1305,
	EVP_des_ede3_cbc, EVP_des_cbc, EVP_camellia_128_cbc, EVP_camellia_256_cbc,
};

/* when the process started (near enough: before main), for the debug
 * line's "ends at": the order of requests side by side */
static int64_t process_start_us;

__attribute__((constructor)) static void openssl_setup(void)
{
	process_start_us = clock_monotonic_us();
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS |
				    OPENSSL_INIT_NO_ADD_ALL_CIPHERS,
			    NULL);
	for (size_t i = 0; i < sizeof legacy_ciphers / sizeof *legacy_ciphers; i++)
		EVP_add_cipher(legacy_ciphers[i]());
	/* The random generator: Hash_DRBG with SHA-256 rather than OpenSSL's
	 * default CTR_DRBG with AES-256, both SP 800-90A generators of 256-bit
	 * strength seeded from the kernel. The AES one fetches a cipher, and
	 * the first cipher fetched makes OpenSSL 3 build every cipher of the
	 * default provider (1 ms measured): an ECDSA signature (its nonce)
	 * paid that in a process that needs no cipher otherwise (publish-doi
	 * signing a record); SHA-256 is fetched anyway. */
	RAND_set_DRBG_type(NULL, "HASH-DRBG", NULL, NULL, "SHA256");
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;
static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static char *dup_or_null(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

/* Proxy URLs from the environment may carry user:password; libcurl's
 * trace prints the URL, so the password is registered as a secret. */
static void register_proxy_secrets(void)
{
	static const char *const vars[] = { "http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" };
	for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
		const char *v = getenv(vars[i]);
		const char *scheme = v ? strstr(v, "://") : NULL;
		const char *start = scheme ? scheme + 3 : v;
		if (!start)
			continue;
		size_t auth_len = strcspn(start, "/");
		const char *at = memchr(start, '@', auth_len);
		if (!at)
			continue;
		const char *colon = memchr(start, ':', (size_t)(at - start));
		if (colon && at > colon + 1) {
			_cleanup_free_ char *pw = xstrndup(colon + 1, (size_t)(at - colon - 1));
			log_secret(pw);
		}
	}
}

err_t *http_client_new(const struct http_options *opts, struct http_client **out)
{
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return err_new(EXIT_FAILED, "cannot initialise libcurl: %s", curl_easy_strerror(global_rc));
	register_proxy_secrets();
	struct http_client *c = xcalloc(1, sizeof *c);
	if (opts)
		c->o = *opts;
	c->multi = curl_multi_init();
	c->share = curl_share_init();
	if (!c->multi || !c->share ||
	    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
		curl_share_cleanup(c->share);
		curl_multi_cleanup(c->multi);
		free(c);
		return err_new(EXIT_FAILED, "cannot initialise libcurl");
	}
	/* concurrent requests (http_start) to one origin share at most this
	 * many connections; more wait for one to be free (keep-alive) */
	c->max_conns = c->o.max_host_connections > 0 ? (size_t)c->o.max_host_connections : HTTP_MAX_HOST_CONNECTIONS;
	if (!c->o.connect_timeout_ms)
		c->o.connect_timeout_ms = 15000;
	if (!c->o.low_speed_time_s)
		c->o.low_speed_time_s = 60;
	if (!c->o.backoff_initial_ms)
		c->o.backoff_initial_ms = 500;
	if (!c->o.backoff_max_ms)
		c->o.backoff_max_ms = 20000;
	if (c->o.retries < 0)
		c->o.retries = 0;
	const char *ca_env = getenv("SSL_CERT_FILE");
	c->ca_file = dup_or_null(opts && opts->ca_file ? opts->ca_file : ca_env);
	if (!c->ca_file && access(SYSTEM_CA_BUNDLE, R_OK) == 0)
		c->ca_file = xstrdup(SYSTEM_CA_BUNDLE);
	c->ca_path = dup_or_null(opts ? opts->ca_path : NULL);
	c->client_cert = dup_or_null(opts ? opts->client_cert : NULL);
	c->client_key = dup_or_null(opts ? opts->client_key : NULL);
	c->tls_session_dir = dup_or_null(opts ? opts->tls_session_dir : NULL);
	c->o.tls_session_dir = NULL;
	c->user_agent = opts && opts->user_agent ? xstrdup(opts->user_agent)
						 : xasprintf("secure-pipeline/%s", PIPELINE_VERSION);
	for (size_t i = 0; opts && i < opts->n_insecure_hosts; i++)
		http_client_add_insecure_host(c, opts->insecure_hosts[i]);
	c->o.insecure_hosts = NULL;
	c->o.n_insecure_hosts = 0;
	*out = c;
	return NULL;
}

void http_client_add_insecure_host(struct http_client *c, const char *host)
{
	c->insecure = xrealloc(c->insecure, (c->n_insecure + 1) * sizeof *c->insecure);
	c->insecure[c->n_insecure++] = xstrdup(host);
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	while (c->n_calls)
		http_cancel(c->calls[c->n_calls - 1]);
	free(c->calls);
	curl_easy_cleanup(c->spare);
	curl_multi_cleanup(c->multi);
	curl_share_cleanup(c->share);
	castore_free(c->cas);
	free(c->ca_file);
	free(c->ca_path);
	free(c->client_cert);
	free(c->client_key);
	free(c->user_agent);
	free(c->tls_session_dir);
	free(c->trust_id);
	for (size_t i = 0; i < c->n_insecure; i++)
		free(c->insecure[i]);
	free(c->insecure);
	free(c);
}

/* host and host:port of a URL's authority */
static void url_host(const char *url, char **host, char **hostport)
{
	*host = *hostport = NULL;
	CURLU *u = curl_url();
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
		char *h = NULL, *p = NULL;
		curl_url_get(u, CURLUPART_HOST, &h, 0);
		curl_url_get(u, CURLUPART_PORT, &p, 0);
		if (h) {
			*host = xstrdup(h);
			*hostport = p ? xasprintf("%s:%s", h, p) : xstrdup(h);
		}
		curl_free(h);
		curl_free(p);
	}
	curl_url_cleanup(u);
}

/* scheme://host:port of an absolute URL, lower-cased (caller frees), or NULL */
static char *url_origin(const char *url)
{
	char *origin = NULL;
	CURLU *u = curl_url();
	char *s = NULL, *h = NULL, *p = NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &s, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK) {
		origin = xasprintf("%s://%s:%s", s, h, p);
		for (char *c = origin; *c; c++)
			*c = (char)tolower((unsigned char)*c);
	}
	curl_free(s);
	curl_free(h);
	curl_free(p);
	curl_url_cleanup(u);
	return origin;
}

bool http_same_origin(const char *a, const char *b)
{
	_cleanup_free_ char *oa = url_origin(a), *ob = url_origin(b);
	return oa && ob && !strcmp(oa, ob);
}

err_t *http_check_url(const char *url, const char *schemes, const char *what)
{
	const char *want = strstr(schemes, "http,") ? "http(s)://HOST[:PORT]" : "https://HOST[:PORT]";
	if (!url || !*url)
		return err_new(EXIT_USAGE, "%s: no URL (give %s)", what, want);
	const char *sep = strstr(url, "://");
	size_t slen = sep ? (size_t)(sep - url) : 0;
	bool scheme_ok = false;
	for (const char *s = schemes; sep && *s;) {
		size_t n = strcspn(s, ",");
		if (n == slen && !strncasecmp(s, url, n))
			scheme_ok = true;
		s += n + (s[n] == ',');
	}
	if (!scheme_ok)
		return err_new(EXIT_USAGE, "%s: '%s' is not a URL of the form %s", what, url, want);
	/* the authority: after "://", up to the path, query or fragment;
	 * without user info, the host (bracketed IPv6 or up to ':') */
	const char *auth = sep + 3;
	size_t alen = strcspn(auth, "/?#");
	const char *at = memchr(auth, '@', alen);
	if (at) {
		alen -= (size_t)(at + 1 - auth);
		auth = at + 1;
	}
	size_t hlen = strcspn(auth, ":/?#");
	if (auth[0] == '[') {
		const char *close = memchr(auth, ']', alen);
		hlen = close && close - auth > 1 ? (size_t)(close - auth) + 1 : 0;
	}
	bool host_ok = hlen > 0 && hlen <= alen;
	bool port_ok = true;
	if (host_ok && hlen < alen) {
		/* ":" then 1-5 digits, 1-65535 */
		size_t plen = alen - hlen - 1;
		port_ok = auth[hlen] == ':' && plen >= 1 && plen <= 5 && strspn(auth + hlen + 1, "0123456789") == plen;
		if (port_ok) {
			long port = strtol(auth + hlen + 1, NULL, 10);
			port_ok = port >= 1 && port <= 65535;
		}
	}
	if (!host_ok)
		return err_new(EXIT_USAGE, "%s: '%s' has no host (give %s)", what, url, want);
	if (!port_ok)
		return err_new(EXIT_USAGE, "%s: '%s' has no valid port (give %s)", what, url, want);
	/* what libcurl will make of it: the same host, not another reading */
	CURLU *u = curl_url();
	char *h = NULL;
	bool parsed = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
		      curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK && h && *h;
	curl_free(h);
	curl_url_cleanup(u);
	if (!parsed)
		return err_new(EXIT_USAGE, "%s: '%s' is not a valid URL (give %s)", what, url, want);
	return NULL;
}

static bool host_insecure(const struct http_client *c, const char *url)
{
	if (!c->n_insecure)
		return false;
	_cleanup_free_ char *host = NULL, *hostport = NULL;
	url_host(url, &host, &hostport);
	if (!host)
		return false;
	for (size_t i = 0; i < c->n_insecure; i++)
		if (!strcasecmp(c->insecure[i], host) || !strcasecmp(c->insecure[i], hostport))
			return true;
	return false;
}

/* ---- one transfer ---- */

struct transfer {
	struct http_client *c;
	CURL *curl; /* this transfer's easy handle */
	const struct http_request *req;
	struct http_response *resp;
	err_t *cb_err;        /* error from a callback: returned as is */
	/* request body */
	size_t body_pos;
	uint64_t body_sent;
	/* response */
	uint64_t delivered;   /* bytes given to on_body over all attempts */
	uint64_t skip;        /* bytes to drop (server ignored Range) */
	uint64_t received;    /* body bytes this attempt */
	bool status_known;
	long status;
	bool tls_committed; /* tlsresume told the connection was accepted */
};

static void headers_reset(struct http_response *r)
{
	for (size_t i = 0; i < r->n_headers; i++)
		free(r->headers[i]);
	free(r->headers);
	r->headers = NULL;
	r->n_headers = 0;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
	struct transfer *t = ud;
	if (t->c->tls_session_dir && !t->tls_committed) {
		/* libcurl accepted the connection: its TLS session may be kept */
		struct curl_tlssessioninfo *ti = NULL;
		if (curl_easy_getinfo(t->curl, CURLINFO_TLS_SSL_PTR, &ti) == CURLE_OK && ti &&
		    ti->backend == CURLSSLBACKEND_OPENSSL && ti->internals)
			tls_resume_commit(ti->internals);
		t->tls_committed = true;
	}
	size_t len = size * n;
	size_t l = len;
	while (l && (data[l - 1] == '\n' || data[l - 1] == '\r'))
		l--;
	if (l >= 5 && !strncmp(data, "HTTP/", 5)) {
		headers_reset(t->resp);
		t->status_known = false;
		return len;
	}
	if (l == 0)
		return len;
	if (t->resp->n_headers >= 1000)
		return len; /* bounded */
	struct http_response *r = t->resp;
	r->headers = xrealloc(r->headers, (r->n_headers + 1) * sizeof *r->headers);
	r->headers[r->n_headers++] = xstrndup(data, l);
	return len;
}

static size_t on_write(char *data, size_t size, size_t n, void *ud)
{
	struct transfer *t = ud;
	size_t len = size * n;
	if (!t->status_known) {
		curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->status);
		t->status_known = true;
		if (t->req->on_body && t->status == 200 && t->delivered > 0)
			t->skip = t->delivered; /* Range ignored: replay from 0, drop what we have */
		if (t->req->on_body && t->status == 206) {
			/* the part must start exactly where we stopped */
			const char *cr = http_response_header(t->resp, "Content-Range");
			uint64_t start = 0;
			if (!cr || !http_content_range_start(cr, &start) || start != t->delivered) {
				t->cb_err = err_new(EXIT_FAILED, "%s: resumed at byte %llu but the server sent %s",
						    t->req->url, (unsigned long long)t->delivered,
						    cr ? cr : "no Content-Range");
				return 0;
			}
		}
	}
	t->received += len;
	bool to_sink = t->req->on_body && t->status >= 200 && t->status < 300;
	if (!to_sink) {
		size_t max = t->req->max_body ? t->req->max_body : DEFAULT_MAX_BODY;
		if (!t->req->on_body && t->status >= 200 && t->status < 300 && t->resp->body.len + len > max) {
			t->cb_err = err_new(EXIT_FAILED, "%s: response body larger than %zu bytes", t->req->url, max);
			return 0;
		}
		/* error bodies: keep the first 64 KiB for messages */
		size_t room = t->resp->body.len < 65536 ? 65536 - t->resp->body.len : 0;
		if (t->status >= 200 && t->status < 300)
			room = len;
		sb_add(&t->resp->body, data, len < room ? len : room);
		return len;
	}
	const char *p = data;
	size_t left = len;
	if (t->skip) {
		size_t drop = left < t->skip ? left : (size_t)t->skip;
		t->skip -= drop;
		p += drop;
		left -= drop;
	}
	if (left) {
		err_t *e = t->req->on_body(p, left, t->req->body_ctx_out);
		if (e) {
			t->cb_err = e;
			return 0;
		}
		t->delivered += left;
	}
	return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
	struct transfer *t = ud;
	size_t cap = size * n;
	const struct http_request *req = t->req;
	if (req->body_read) {
		size_t got = 0;
		err_t *e = req->body_read(buf, cap, &got, req->body_ctx);
		if (e) {
			t->cb_err = e;
			return CURL_READFUNC_ABORT;
		}
		t->body_sent += got;
		return got;
	}
	size_t left = req->body_len - t->body_pos;
	size_t m = left < cap ? left : cap;
	if (m)
		memcpy(buf, (const char *)req->body + t->body_pos, m);
	t->body_pos += m;
	t->body_sent += m;
	return m;
}

static err_t *rewind_body(struct transfer *t)
{
	t->body_pos = 0;
	t->body_sent = 0;
	if (t->req->body_read && t->req->body_rewind)
		return t->req->body_rewind(t->req->body_ctx);
	return NULL;
}

static int on_seek(void *ud, curl_off_t offset, int origin)
{
	struct transfer *t = ud;
	if (offset != 0 || origin != SEEK_SET)
		return CURL_SEEKFUNC_CANTSEEK;
	if (t->req->body_read && !t->req->body_rewind)
		return CURL_SEEKFUNC_CANTSEEK;
	err_t *e = rewind_body(t);
	if (e) {
		t->cb_err = e;
		return CURL_SEEKFUNC_FAIL;
	}
	return CURL_SEEKFUNC_OK;
}

/* libcurl's verbose trace, into the debug log with credentials redacted */
static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *ud)
{
	(void)h;
	(void)ud;
	if (type != CURLINFO_TEXT && type != CURLINFO_HEADER_IN && type != CURLINFO_HEADER_OUT)
		return 0;
	const char *tag = type == CURLINFO_TEXT ? "*" : type == CURLINFO_HEADER_IN ? "<" : ">";
	const char *p = data, *end = data + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		size_t printable = l;
		while (printable && (p[printable - 1] == '\r'))
			printable--;
		if (printable) {
			if ((printable > 14 && !strncasecmp(p, "authorization:", 14)) ||
			    (printable > 20 && !strncasecmp(p, "proxy-authorization:", 20))) {
				const char *colon = memchr(p, ':', printable);
				log_debug("curl %s %.*s: " LOG_REDACTED, tag, (int)(colon - p), p);
			} else {
				log_debug("curl %s %.*s", tag, (int)(printable > 2000 ? 2000 : printable), p);
			}
		}
		p += l + 1;
	}
	return 0;
}

static bool retryable_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_AGAIN:
		return true;
	default:
		return false;
	}
}

/* TLS alerts a server sends when it wants a client certificate or does
 * not accept ours: an authentication failure, not a network one */
static bool client_cert_refused(CURLcode rc, const char *errbuf)
{
	if (rc != CURLE_SSL_CONNECT_ERROR && rc != CURLE_RECV_ERROR && rc != CURLE_SEND_ERROR)
		return false;
	return strstr(errbuf, "alert certificate required") || strstr(errbuf, "alert bad certificate") ||
	       strstr(errbuf, "alert unknown ca") || strstr(errbuf, "alert certificate unknown");
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1; /* an encrypted key is reported as such, never prompted for */
}

/* libcurl could not use the client certificate or key: say which file and
 * what is wrong with it (OpenSSL's own reason strings are not loaded, see
 * openssl_setup). NULL when both load and match. */
static char *client_files_problem(const struct http_client *c)
{
	const char *keyfile = c->client_key ? c->client_key : c->client_cert;
	BIO *b = BIO_new_file(c->client_cert, "r");
	if (!b)
		return xasprintf("cannot read the client certificate %s: %s", c->client_cert, strerror(errno));
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	char *why = NULL;
	EVP_PKEY *k = NULL;
	if (!x) {
		why = xasprintf("the client certificate %s holds no PEM certificate", c->client_cert);
	} else if (!(b = BIO_new_file(keyfile, "r"))) {
		why = xasprintf("cannot read the client key %s: %s", keyfile, strerror(errno));
	} else {
		k = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
		BIO_free(b);
		if (!k)
			why = xasprintf("the client key %s holds no unencrypted PEM private key", keyfile);
		else if (X509_check_private_key(x, k) != 1)
			why = xasprintf("the client key %s does not belong to the certificate %s", keyfile,
					c->client_cert);
	}
	EVP_PKEY_free(k);
	X509_free(x);
	ERR_clear_error();
	return why;
}

static bool retryable_status(long s)
{
	return s == 429 || s == 408 || s == 500 || s == 502 || s == 503 || s == 504;
}

static long jitter_ms(long cap)
{
	unsigned int r = 0;
	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != sizeof r)
		r = (unsigned int)time(NULL) * 2654435761u;
	return cap > 0 ? (long)(r % (unsigned long)(cap + 1)) : 0;
}

long http_retry_after_ms(const char *v, time_t now)
{
	if (!v)
		return -1;
	while (*v == ' ')
		v++;
	if (isdigit((unsigned char)*v)) {
		char *end;
		long s = strtol(v, &end, 10);
		return s < 0 ? -1 : (s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S * 1000L : s * 1000);
	}
	time_t when = curl_getdate(v, NULL);
	if (when < 0)
		return -1;
	if (when <= now)
		return 0;
	/* a date far ahead is a day, as delta-seconds are */
	return when - now > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S * 1000L : (long)(when - now) * 1000;
}

/* Decimal digits (at least one) into *out; false on overflow. */
static bool read_u64(const char **p, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	if (!isdigit((unsigned char)*s))
		return false;
	for (; isdigit((unsigned char)*s); s++) {
		uint64_t d = (uint64_t)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*p = s;
	*out = v;
	return true;
}

/* Strictly "bytes <first>-<last>/<complete length or *>" (RFC 9110 14.4). */
bool http_content_range_start(const char *v, uint64_t *start)
{
	uint64_t first, last, len;
	if (strncmp(v, "bytes ", 6))
		return false;
	const char *p = v + 6;
	if (!read_u64(&p, &first) || *p++ != '-' || !read_u64(&p, &last) || *p++ != '/' || first > last)
		return false;
	if (!(p[0] == '*' && !p[1]) && (!read_u64(&p, &len) || *p || last >= len))
		return false;
	*start = first;
	return true;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void register_auth_secrets(const char *const *headers)
{
	for (size_t i = 0; headers && headers[i]; i++) {
		const char *h = headers[i];
		if (strncasecmp(h, "authorization:", 14) && strncasecmp(h, "proxy-authorization:", 20))
			continue;
		const char *v = strchr(h, ':') + 1;
		while (*v == ' ')
			v++;
		log_secret(v);
		const char *sp = strchr(v, ' ');
		if (sp)
			log_secret(sp + 1);
	}
}

/* A file's identity for the resumption key: a session verified against
 * one CA file is not resumed once that file changed. */
static void add_file_id(struct strbuf *sb, const char *what, const char *path)
{
	struct stat st;
	if (!path)
		return;
	if (stat(path, &st))
		sb_addf(sb, "|%s=%s", what, path);
	else
		sb_addf(sb, "|%s=%s@%llu:%llu:%lld:%lld.%09ld", what, path, (unsigned long long)st.st_dev,
			(unsigned long long)st.st_ino, (long long)st.st_size, (long long)st.st_mtim.tv_sec,
			(long)st.st_mtim.tv_nsec);
	if (stat(path, &st) || !S_ISDIR(st.st_mode))
		return;
	/* a CA directory (common/castore): each of its *.crt files, which
	 * can change without the directory's own times changing */
	struct dirent **names = NULL;
	int n = scandir(path, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		if (castore_is_ca_name(names[i]->d_name)) {
			_cleanup_free_ char *file = xasprintf("%s/%s", path, names[i]->d_name);
			add_file_id(sb, what, file);
		}
		free(names[i]);
	}
	free(names);
}

static const char *trust_id(struct http_client *c)
{
	if (!c->trust_id) {
		struct strbuf sb = STRBUF_INIT;
		add_file_id(&sb, "ca", c->ca_file);
		add_file_id(&sb, "capath", c->ca_path);
		add_file_id(&sb, "cert", c->client_cert);
		c->trust_id = sb_detach(&sb);
	}
	return c->trust_id;
}

/* libcurl's set-up of each connection's SSL_CTX: our trust anchors, and
 * the TLS session saved by an earlier process. */
static CURLcode setup_ssl_ctx(CURL *curl, void *ssl_ctx, void *client)
{
	struct http_client *c = client;
	if (c->cas) {
		err_t *e = castore_attach(c->cas, SSL_CTX_get_cert_store(ssl_ctx));
		bool ok = !e;
		err_free(e);
		if (!ok)
			return CURLE_SSL_CACERT_BADFILE;
	}
	char *url = NULL;
	if (c->tls_session_dir && curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK && url) {
		_cleanup_free_ char *host = NULL, *hostport = NULL;
		url_host(url, &host, &hostport);
		if (hostport) {
			_cleanup_free_ char *key = xasprintf("%s%s", hostport, trust_id(c));
			tls_resume_attach(ssl_ctx, c->tls_session_dir, key);
		}
	}
	return CURLE_OK;
}

static err_t *setup(struct transfer *t, struct curl_slist **hdrs, char **range_hdr)
{
	struct http_client *c = t->c;
	const struct http_request *req = t->req;
	CURL *h = t->curl;
	const char *method = req->method ? req->method : "GET";
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_SHARE, c->share);
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->o.connect_timeout_ms);
	if (c->o.total_timeout_ms > 0)
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->o.total_timeout_ms);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->o.low_speed_time_s);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	if (c->cas) /* anchors looked up as the chain needs them (common/castore),
		     * not all decoded by libcurl up front */
		curl_easy_setopt(h, CURLOPT_CAINFO, NULL);
	if (c->cas || c->tls_session_dir) {
		curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, setup_ssl_ctx);
		curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, c);
	}
	if (c->ca_path)
		curl_easy_setopt(h, CURLOPT_CAPATH, c->ca_path);
	if (c->client_cert)
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->client_cert);
	if (c->client_key)
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->client_key);
	if (host_insecure(c, req->url)) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (req->follow_redirects) {
		curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
	}
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
	if (log_enabled(LOG_DEBUG)) {
		curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
		curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
	}

	for (size_t i = 0; req->headers && req->headers[i]; i++)
		*hdrs = curl_slist_append(*hdrs, req->headers[i]);
	if (t->delivered > 0 && req->resumable) {
		*range_hdr = xasprintf("Range: bytes=%llu-", (unsigned long long)t->delivered);
		*hdrs = curl_slist_append(*hdrs, *range_hdr);
	}

	bool has_body = req->body || req->body_read;
	if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(method, "GET") && !has_body) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else if (!strcmp(method, "POST") && !has_body) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	} else if (!strcmp(method, "DELETE") && !has_body) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
	} else {
		/* PUT, PATCH, POST with a body: streamed from on_read */
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, t);
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, t);
		curl_off_t size = req->body_read ? (curl_off_t)req->body_size : (curl_off_t)req->body_len;
		if (!has_body)
			size = 0;
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, size);
		if (strcmp(method, "PUT"))
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		*hdrs = curl_slist_append(*hdrs, "Expect:");
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
	return NULL;
}

/* ---- a request in flight: attempts, retries ---- */

struct http_call {
	struct transfer t;
	struct curl_slist *hdrs;
	char *range_hdr;
	char errbuf[CURL_ERROR_SIZE];
	struct strbuf last; /* what went wrong in the last attempt */
	int attempt, max_attempts;
	bool running;       /* the attempt is under way (in the multi handle, or
			     * waiting for a connection), not finished */
	bool waiting;       /* started, but not in the multi handle yet: its
			     * origin has max_conns requests in flight */
	char *origin;       /* scheme://host:port of the URL (NULL: unparsable) */
	uint64_t seq;       /* started in this order: who waited first goes first */
	CURLcode rc;        /* the finished attempt's result */
	err_t *err;         /* an attempt that could not start */
};

/* Requests in the multi handle to one origin at most max_conns: the
 * others wait here, in order, and go in as one finishes, onto its kept-
 * alive connection. libcurl's own limit (CURLMOPT_MAX_HOST_CONNECTIONS)
 * is not used: 7.88 left a transfer it had queued as pending unstarted
 * until our 1 s poll timeout ran out (seen once in ~40 signings with one
 * connection per host: a notary GET "1005 ms, first byte 0.9"). */
static size_t in_flight(const struct http_client *c, const char *origin)
{
	size_t n = 0;
	for (size_t i = 0; origin && i < c->n_calls; i++) {
		const struct http_call *o = c->calls[i];
		n += o->running && !o->waiting && o->origin && !strcmp(o->origin, origin);
	}
	return n;
}

static err_t *enter_multi(struct http_call *k)
{
	CURLMcode mc = curl_multi_add_handle(k->t.c->multi, k->t.curl);
	if (k->waiting)
		k->t.c->n_waiting--;
	k->waiting = false;
	if (mc != CURLM_OK)
		return err_new(EXIT_FAILED, "cannot start a transfer: %s", curl_multi_strerror(mc));
	return NULL;
}

/* The waiting requests that may go in now (a request left the multi
 * handle), first come first. */
static void admit_waiting(struct http_client *c)
{
	while (c->n_waiting) {
		struct http_call *next = NULL;
		for (size_t i = 0; i < c->n_calls; i++) {
			struct http_call *o = c->calls[i];
			if (o->waiting && (!next || o->seq < next->seq) && in_flight(c, o->origin) < c->max_conns)
				next = o;
		}
		if (!next)
			return;
		err_t *e = enter_multi(next);
		if (e) { /* the call's answer: it ends with this error */
			next->running = false;
			next->t.cb_err = e;
		}
	}
}

static err_t *begin_attempt(struct http_call *k)
{
	struct transfer *t = &k->t;
	struct http_client *c = t->c;
	struct http_response *resp = t->resp;
	k->attempt++;
	headers_reset(resp);
	sb_reset(&resp->body);
	free(resp->effective_url);
	resp->effective_url = NULL;
	resp->status = 0;
	t->status_known = false;
	t->tls_committed = false;
	t->received = 0;
	t->skip = 0;
	curl_slist_free_all(k->hdrs);
	k->hdrs = NULL;
	free(k->range_hdr);
	k->range_hdr = NULL;
	TRY(rewind_body(t));
	setup(t, &k->hdrs, &k->range_hdr);
	k->errbuf[0] = '\0';
	curl_easy_setopt(t->curl, CURLOPT_ERRORBUFFER, k->errbuf);
	curl_easy_setopt(t->curl, CURLOPT_PRIVATE, (void *)k); /* for pump */
	if (in_flight(c, k->origin) >= c->max_conns) {
		k->waiting = true;
		k->running = true;
		c->n_waiting++;
		return NULL;
	}
	TRY(enter_multi(k));
	k->running = true;
	return NULL;
}

/* Let the attempt progress: what can be done now, then, with wait_ms,
 * wait that long at most for the network and do what became possible. */
static void pump(struct http_call *k, int wait_ms)
{
	struct http_client *c = k->t.c;
	int still = 0;
	curl_multi_perform(c->multi, &still);
	if (still && wait_ms > 0) {
		curl_multi_poll(c->multi, NULL, 0, wait_ms, NULL);
		curl_multi_perform(c->multi, &still);
	}
	/* any of the client's calls may have finished meanwhile */
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(c->multi, &left))) {
		struct http_call *done = NULL;
		if (m->msg != CURLMSG_DONE || curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&done) != CURLE_OK ||
		    !done)
			continue;
		done->rc = m->data.result;
		done->running = false;
		curl_multi_remove_handle(c->multi, m->easy_handle);
		admit_waiting(c);
	}
}

/* The finished attempt: true when it is the answer (*result: its error or
 * NULL), false when it is to be retried after *delay ms. */
static bool end_attempt(struct http_call *k, err_t **result, long *delay)
{
	struct transfer *t = &k->t;
	struct http_client *c = t->c;
	const struct http_request *req = t->req;
	struct http_response *resp = t->resp;
	const char *method = req->method ? req->method : "GET";
	CURLcode rc = k->rc;
	resp->attempts = k->attempt;
	if (t->cb_err) {
		*result = t->cb_err;
		t->cb_err = NULL;
		return true;
	}
	char *eff = NULL;
	curl_easy_getinfo(t->curl, CURLINFO_EFFECTIVE_URL, &eff);
	resp->effective_url = xstrdup(eff ? eff : req->url);

	long wait = -1;
	bool again = false;
	sb_reset(&k->last);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &resp->status);
		if (log_enabled(LOG_DEBUG)) {
			/* where the time went: a new connection's TCP and TLS set-up,
			 * then the server's answer (loopback profiles read these) */
			curl_off_t conn = 0, tls = 0, first = 0, total = 0;
			curl_easy_getinfo(t->curl, CURLINFO_CONNECT_TIME_T, &conn);
			curl_easy_getinfo(t->curl, CURLINFO_APPCONNECT_TIME_T, &tls);
			curl_easy_getinfo(t->curl, CURLINFO_STARTTRANSFER_TIME_T, &first);
			curl_easy_getinfo(t->curl, CURLINFO_TOTAL_TIME_T, &total);
			log_debug("%s %s -> %ld (%llu bytes%s; %.1f ms: connect %.1f, tls %.1f, first byte %.1f; ends at "
				  "%.1f ms)",
				  method, req->url, resp->status, (unsigned long long)t->received,
				  k->attempt > 1 ? ", retried" : "", total / 1e3, conn / 1e3, tls / 1e3, first / 1e3,
				  (double)(clock_monotonic_us() - process_start_us) / 1e3);
		}
		if (retryable_status(resp->status)) {
			again = true;
			wait = http_retry_after_ms(http_response_header(resp, "Retry-After"), time(NULL));
			sb_addf(&k->last, "HTTP %ld", resp->status);
		}
	} else {
		const char *errbuf = k->errbuf;
		log_debug("%s %s -> %s%s%s", method, req->url, curl_easy_strerror(rc), errbuf[0] ? ": " : "", errbuf);
		sb_addf(&k->last, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
		if (client_cert_refused(rc, errbuf)) {
			*result = err_kind_new(EXIT_AUTH, ERR_KIND_AUTH,
					       "%s %s: the server refused the TLS client certificate (or wants one): %s",
					  method, req->url, sb_str(&k->last));
			return true;
		}
		_cleanup_free_ char *files = rc == CURLE_SSL_CERTPROBLEM && c->client_cert ? client_files_problem(c)
										    : NULL;
		if (files) {
			*result = err_kind_new(EXIT_USAGE, ERR_KIND_NETWORK, "%s %s: %s", method, req->url, files);
			return true;
		}
		if (rc == CURLE_PEER_FAILED_VERIFICATION) {
			/* the server failed to prove who it is: an authentication
			 * failure (exit 4, as git-clone's), never retried */
			*result = err_kind_new(EXIT_AUTH, ERR_KIND_NETWORK,
					       "%s %s: the TLS certificate of the server is not trusted (give the CA "
					       "that signed it, or turn verification off for this host): %s",
					       method, req->url, sb_str(&k->last));
			return true;
		}
		if (!retryable_curl(rc)) {
			*result = err_kind_new(EXIT_FAILED, ERR_KIND_NETWORK, "%s %s: %s", method, req->url, sb_str(&k->last));
			return true;
		}
		again = true;
	}
	*result = NULL;
	if (!again)
		return true;
	/* a streamed request body that cannot be rewound is not resent */
	bool body_gone = req->body_read && !req->body_rewind && t->body_sent > 0;
	if (k->attempt >= k->max_attempts || body_gone) {
		if (rc == CURLE_OK && !body_gone && k->attempt == 1 && k->max_attempts == 1)
			return true; /* no retries asked: the caller sees the status */
		*result = err_kind_new(EXIT_UNREACHABLE, ERR_KIND_NETWORK, "%s %s: %s (after %d attempt%s)", method, req->url,
				       sb_str(&k->last), k->attempt, k->attempt == 1 ? "" : "s");
		return true;
	}
	long cap = c->o.backoff_initial_ms;
	for (int i = 1; i < k->attempt && cap < c->o.backoff_max_ms; i++)
		cap *= 2;
	if (cap > c->o.backoff_max_ms)
		cap = c->o.backoff_max_ms;
	*delay = wait >= 0 ? (wait > c->o.backoff_max_ms ? c->o.backoff_max_ms : wait) : cap / 2 + jitter_ms(cap / 2);
	log_warn("%s %s: %s; retrying in %ld ms (attempt %d of %d)", method, req->url, sb_str(&k->last), *delay,
		 k->attempt + 1, k->max_attempts);
	return false;
}

/* Whether the request has gone out (the rest is the server's answer). */
static bool request_sent(const struct http_call *k)
{
	long sent = 0;
	if (k->waiting)
		return false;
	return !k->running || (curl_easy_getinfo(k->t.curl, CURLINFO_REQUEST_SIZE, &sent) == CURLE_OK && sent > 0);
}

struct http_call *http_queue(struct http_client *c, const struct http_request *req, struct http_response *resp)
{
	struct http_call *k = xcalloc(1, sizeof *k);
	CURL *h = c->spare ? c->spare : curl_easy_init();
	c->spare = NULL;
	k->t = (struct transfer){ .c = c, .curl = h, .req = req, .resp = resp };
	k->max_attempts = req->no_retry ? 1 : c->o.retries + 1;
	k->origin = url_origin(req->url);
	k->seq = c->next_seq++;
	c->calls = xrealloc(c->calls, (c->n_calls + 1) * sizeof *c->calls);
	c->calls[c->n_calls++] = k;
	if (!h)
		k->err = err_new(EXIT_FAILED, "cannot initialise libcurl");
	http_response_release(resp);
	register_auth_secrets(req->headers);
	/* the trust anchors only when TLS may be spoken: a plain http:// probe
	 * does not pay for reading the CA bundle (a redirect may lead to https) */
	if (!k->err && c->ca_file && !c->cas && (req->follow_redirects || !strncasecmp(req->url, "https://", 8)))
		k->err = castore_load(c->ca_file, &c->cas);
	if (!k->err)
		k->err = begin_attempt(k);
	if (!k->err)
		pump(k, 0);
	return k;
}

struct http_call *http_start(struct http_client *c, const struct http_request *req, struct http_response *resp)
{
	struct http_call *k = http_queue(c, req, resp);
	/* connect, handshake and send: what is left is the server's work */
	while (!k->err && !request_sent(k))
		pump(k, 1000);
	return k;
}

/* Whatever state the call is in: out of the multi handle, freed. */
static void call_free(struct http_call *k)
{
	struct http_client *c = k->t.c;
	if (k->running && !k->waiting)
		curl_multi_remove_handle(c->multi, k->t.curl);
	if (k->running && k->waiting)
		c->n_waiting--;
	bool freed_slot = k->running && !k->waiting;
	free(k->origin);
	if (k->t.curl && !c->spare)
		c->spare = k->t.curl; /* its connection stays in the multi's cache */
	else
		curl_easy_cleanup(k->t.curl);
	curl_slist_free_all(k->hdrs);
	free(k->range_hdr);
	sb_release(&k->last);
	err_free(k->t.cb_err);
	for (size_t i = 0; i < c->n_calls; i++) {
		if (c->calls[i] == k) {
			c->calls[i] = c->calls[--c->n_calls];
			break;
		}
	}
	free(k);
	if (freed_slot) /* a request cancelled in flight: the next goes in */
		admit_waiting(c);
}

err_t *http_finish(struct http_call *k)
{
	err_t *result = k->err;
	while (!result) {
		while (k->running)
			pump(k, 1000);
		long delay = 0;
		if (end_attempt(k, &result, &delay))
			break;
		sleep_ms(delay);
		result = begin_attempt(k);
	}
	call_free(k);
	return result;
}

void http_cancel(struct http_call *k)
{
	if (k) {
		err_free(k->err);
		call_free(k);
	}
}

err_t *http_do(struct http_client *c, const struct http_request *req, struct http_response *resp)
{
	return http_finish(http_start(c, req, resp));
}

const char *http_response_header(const struct http_response *resp, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = resp->n_headers; i-- > 0;) {
		const char *h = resp->headers[i];
		if (!strncasecmp(h, name, n) && h[n] == ':') {
			const char *v = h + n + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			return v;
		}
	}
	return NULL;
}

void http_response_release(struct http_response *resp)
{
	headers_reset(resp);
	sb_release(&resp->body);
	free(resp->effective_url);
	resp->effective_url = NULL;
	resp->status = 0;
	resp->attempts = 0;
}

err_t *http_status_error(const struct http_response *resp, const char *what)
{
	int code = EXIT_FAILED;
	enum err_kind kind = ERR_KIND_REMOTE;
	if (resp->status == 401 || resp->status == 403)
		code = EXIT_AUTH, kind = ERR_KIND_AUTH;
	else if (resp->status == 404)
		kind = ERR_KIND_NOT_FOUND;
	else if (retryable_status(resp->status))
		code = EXIT_UNREACHABLE, kind = ERR_KIND_NETWORK;
	struct strbuf msg = STRBUF_INIT;
	const char *b = sb_str(&resp->body);
	size_t n = resp->body.len > 200 ? 200 : resp->body.len;
	for (size_t i = 0; i < n; i++)
		sb_addc(&msg, (b[i] == '\n' || b[i] == '\r' || (unsigned char)b[i] < 0x20) ? ' ' : b[i]);
	while (msg.len && msg.buf[msg.len - 1] == ' ')
		msg.len--, msg.buf[msg.len] = '\0';
	_cleanup_free_ char *safe = log_redact(sb_str(&msg));
	sb_release(&msg);
	if (*safe)
		return err_kind_new(code, kind, "%s: HTTP %ld: %s", what, resp->status, safe);
	return err_kind_new(code, kind, "%s: HTTP %ld", what, resp->status);
}

char *http_basic_auth_header(const char *user, const char *password)
{
	_cleanup_free_ char *plain = xasprintf("%s:%s", user ? user : "", password ? password : "");
	size_t n = strlen(plain);
	_cleanup_free_ char *enc = xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)enc, (const unsigned char *)plain, (int)n);
	log_secret(password);
	log_secret(enc);
	return xasprintf("Authorization: Basic %s", enc);
}

char *http_urlencode(const char *s)
{
	struct strbuf sb = STRBUF_INIT;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~')
			sb_addc(&sb, (char)*p);
		else
			sb_addf(&sb, "%%%02X", *p);
	}
	return sb_detach(&sb);
}
