/* TLS session resumption across processes (see tlsresume.h).
 *
 * libcurl creates one SSL_CTX per connection and hands it to the caller's
 * set-up callback before making the SSL object, so the saved session is
 * kept on the SSL_CTX (ex_data) and put on the SSL object when OpenSSL
 * starts the handshake (info callback, SSL_CB_HANDSHAKE_START), before the
 * ClientHello is built. A session libcurl already set from its own
 * in-process cache is left alone. New sessions go through libcurl's
 * new-session callback, which is wrapped, not replaced. */
#include "tlsresume.h"

#include <openssl/x509.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "strbuf.h"
#include "xalloc.h"

#define MAGIC "secure-pipeline tls session v1\n"
#define SESSION_FILE_MAX (64 * 1024)

struct resume {
	char *dir, *name, *key;
	SSL_SESSION *offered;
	int (*next_new_cb)(SSL *, SSL_SESSION *);
};

static int ex_index = -1;
static pthread_once_t ex_once = PTHREAD_ONCE_INIT;

static void resume_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	struct resume *r = ptr;
	if (!r)
		return;
	SSL_SESSION_free(r->offered);
	free(r->dir);
	free(r->name);
	free(r->key);
	free(r);
}

static void ex_init(void)
{
	ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, resume_free);
}

/* File name for key: its FNV-1a hash. The key itself is stored in the file
 * and compared, so a collision only means a full handshake. */
static char *file_name(const char *key)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	return xasprintf("%016llx.tls", (unsigned long long)h);
}

static bool usable(SSL_SESSION *s, time_t now)
{
	if (!SSL_SESSION_is_resumable(s))
		return false;
	if ((time_t)(SSL_SESSION_get_time(s) + SSL_SESSION_get_timeout(s)) <= now)
		return false;
	X509 *peer = SSL_SESSION_get0_peer(s);
	return peer && X509_cmp_time(X509_get0_notAfter(peer), &now) > 0 &&
	       X509_cmp_time(X509_get0_notBefore(peer), &now) < 0;
}

static SSL_SESSION *load(const char *dir, const char *name, const char *key)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	SSL_SESSION *s = NULL;
	err_t *e = fs_read_file(path, SESSION_FILE_MAX, &sb);
	size_t mlen = strlen(MAGIC), klen = strlen(key);
	if (!e && sb.len > mlen + klen + 1 && !memcmp(sb.buf, MAGIC, mlen) &&
	    !memcmp(sb.buf + mlen, key, klen) && sb.buf[mlen + klen] == '\n') {
		const unsigned char *der = (const unsigned char *)sb.buf + mlen + klen + 1;
		long len = (long)(sb.len - mlen - klen - 1);
		s = d2i_SSL_SESSION(NULL, &der, len);
		if (s && (der != (const unsigned char *)sb.buf + sb.len || !usable(s, time(NULL)))) {
			SSL_SESSION_free(s);
			s = NULL;
		}
	}
	err_free(e);
	return s;
}

static void save(const struct resume *r, SSL_SESSION *s)
{
	unsigned char *der = NULL;
	int len = i2d_SSL_SESSION(s, &der);
	if (len <= 0)
		return;
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	sb_addf(&sb, "%s%s\n", MAGIC, r->key);
	sb_add(&sb, der, (size_t)len);
	OPENSSL_free(der);
	err_t *e = fs_mkdir_p(r->dir, 0700);
	if (!e)
		e = fs_write_atomic(r->dir, r->name, sb.buf, sb.len, 0600);
	err_free(e); /* a cache: failing to keep it costs the next run a full handshake */
}

static unsigned long resumed;

unsigned long tls_resume_count(void)
{
	return __atomic_load_n(&resumed, __ATOMIC_RELAXED);
}

static void on_info(const SSL *ssl, int where, int ret)
{
	(void)ret;
	struct resume *r = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ex_index);
	if (!r)
		return;
	if ((where & SSL_CB_HANDSHAKE_START) && !SSL_get_session(ssl) && r->offered)
		SSL_set_session((SSL *)ssl, r->offered);
	if ((where & SSL_CB_HANDSHAKE_DONE) && r->offered && SSL_session_reused(ssl)) {
		__atomic_fetch_add(&resumed, 1, __ATOMIC_RELAXED);
		log_debug("TLS: resumed the session saved for %s", r->key);
	}
}

static int on_new_session(SSL *ssl, SSL_SESSION *s)
{
	struct resume *r = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ex_index);
	if (!r)
		return 0;
	/* Only what was verified is kept; a resumed session's ticket would
	 * not outlive the one it came from, so the saved one stays. */
	if ((SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) && SSL_get_verify_result(ssl) == X509_V_OK &&
	    !SSL_session_reused(ssl))
		save(r, s);
	return r->next_new_cb ? r->next_new_cb(ssl, s) : 0;
}

void tls_resume_attach(SSL_CTX *ctx, const char *dir, const char *key)
{
	pthread_once(&ex_once, ex_init);
	if (ex_index < 0 || !dir || !*dir || !key || strchr(key, '\n') ||
	    SSL_CTX_get_ex_data(ctx, ex_index))
		return;
	struct resume *r = xcalloc(1, sizeof *r);
	r->dir = xstrdup(dir);
	r->key = xstrdup(key);
	r->name = file_name(key);
	r->offered = load(dir, r->name, key);
	r->next_new_cb = SSL_CTX_sess_get_new_cb(ctx);
	if (!SSL_CTX_set_ex_data(ctx, ex_index, r)) {
		resume_free(NULL, r, NULL, 0, 0, NULL);
		return;
	}
	/* libcurl asks for client-side caching; make sure it is on */
	SSL_CTX_set_session_cache_mode(ctx, SSL_CTX_get_session_cache_mode(ctx) | SSL_SESS_CACHE_CLIENT);
	SSL_CTX_sess_set_new_cb(ctx, on_new_session);
	SSL_CTX_set_info_callback(ctx, on_info);
}
