/* TLS session resumption across processes (see tlsresume.h).
 *
 * libcurl creates one SSL_CTX per connection and hands it to the caller's
 * set-up callback before making the SSL object, so the saved session is
 * kept on the SSL_CTX (ex_data) and put on the SSL object when OpenSSL
 * starts the handshake (info callback, SSL_CB_HANDSHAKE_START), before the
 * ClientHello is built. A session libcurl already set from its own
 * in-process cache is left alone. New sessions go through libcurl's
 * new-session callback, which is wrapped, not replaced: a new session is
 * only held there, and written by tls_resume_commit once libcurl has
 * accepted the connection (with TLS 1.2 the session exists before libcurl
 * checks the host name).
 *
 * File: a magic line, the key line, "not-after <unix time>" (the earliest
 * end of validity of the chain verified, server certificate to anchor), then the session's DER without the
 * server certificate: decoding a certificate costs OpenSSL 3 more than the
 * rest of a resumed handshake, and what it was checked for is in the key
 * (libcurl accepts a resumed session without certificate only when
 * OpenSSL reports it verified: mk/patches/curl-7.88-*). */
#include "tlsresume.h"

#include <openssl/asn1.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "der.h"
#include "log.h"
#include "statedir.h"
#include "strbuf.h"
#include "xalloc.h"

#define MAGIC "secure-pipeline tls session v2\n"
#define SESSION_FILE_MAX (64 * 1024)

struct resume {
	char *dir, *name, *key;
	SSL_SESSION *offered;
	SSL_SESSION *fresh; /* issued by the server, kept once accepted */
	time_t fresh_not_after; /* earliest end of validity of its verified chain */
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
	SSL_SESSION_free(r->fresh);
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

/* The next line of data from *pos (without its newline), or NULL. */
static char *next_line(const char *data, size_t len, size_t *pos)
{
	const char *start = data + *pos, *nl = memchr(start, '\n', len - *pos);
	if (!nl)
		return NULL;
	*pos += (size_t)(nl - start) + 1;
	return xstrndup(start, (size_t)(nl - start));
}

SSL_SESSION *tls_resume_parse(const char *data, size_t len, const char *key, time_t now)
{
	size_t mlen = strlen(MAGIC), pos = mlen;
	if (len < mlen || memcmp(data, MAGIC, mlen))
		return NULL;
	_cleanup_free_ char *k = next_line(data, len, &pos);
	_cleanup_free_ char *until = next_line(data, len, &pos);
	long long not_after = 0;
	char end;
	if (!k || strcmp(k, key) || !until || sscanf(until, "not-after %lld%c", &not_after, &end) != 1 ||
	    not_after <= (long long)now)
		return NULL;
	const unsigned char *der = (const unsigned char *)data + pos;
	SSL_SESSION *s = d2i_SSL_SESSION(NULL, &der, (long)(len - pos));
	if (s && (der != (const unsigned char *)data + len || !SSL_SESSION_is_resumable(s) ||
		  (time_t)(SSL_SESSION_get_time(s) + SSL_SESSION_get_timeout(s)) <= now)) {
		SSL_SESSION_free(s);
		s = NULL;
	}
	return s;
}

/* The session dir, open, if it and the dir holding it are safe to use
 * (statedir.h: a session file planted by someone else would let whoever
 * knows its secret stand in for the server without a certificate). */
static int open_dir(const char *dir, bool create)
{
	_cleanup_free_ char *parent = xstrdup(dir);
	char *slash = strrchr(parent, '/');
	const char *base = slash ? slash + 1 : dir;
	if (slash)
		*slash = '\0';
	_cleanup_close_ int pfd = statedir_open(slash ? (*parent ? parent : "/") : ".", "trust state dir", create);
	return statedir_open_sub(pfd, base, dir, "TLS session dir", create);
}

static SSL_SESSION *load(const char *dir, const char *name, const char *key)
{
	_cleanup_close_ int dfd = open_dir(dir, false);
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	if (!statedir_read(dfd, dir, name, SESSION_FILE_MAX, &sb))
		return NULL;
	return tls_resume_parse(sb.buf ? sb.buf : "", sb.len, key, time(NULL));
}

/* The session's DER without its server certificate: OpenSSL's
 * SSL_SESSION_ASN1 is a SEQUENCE whose optional [3] is the peer. */
static bool der_without_peer(const unsigned char *der, long len, struct strbuf *out)
{
	const unsigned char *p = der;
	long left = len, clen;
	int tag, cls;
	if (der_next(&p, &left, &tag, &cls, &clen) != V_ASN1_CONSTRUCTED || tag != V_ASN1_SEQUENCE ||
	    cls != V_ASN1_UNIVERSAL || clen != left)
		return false;
	_cleanup_strbuf_ struct strbuf body = STRBUF_INIT;
	while (left > 0) {
		const unsigned char *start = p;
		long elen;
		int r = der_next(&p, &left, &tag, &cls, &elen);
		if (r < 0 || r == (V_ASN1_CONSTRUCTED | 1))
			return false;
		p += elen;
		left -= elen;
		if (cls != V_ASN1_CONTEXT_SPECIFIC || tag != 3)
			sb_add(&body, start, (size_t)(p - start));
	}
	unsigned char head[16], *h = head;
	ASN1_put_object(&h, V_ASN1_CONSTRUCTED, (int)body.len, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
	sb_add(out, head, (size_t)(h - head));
	sb_add(out, body.buf, body.len);
	return true;
}

/* The earliest end of validity of the chain ssl verified (0: none): a
 * session outliving any certificate of it would skip a check that
 * certificate fails now. */
static time_t chain_not_after(const SSL *ssl)
{
	STACK_OF(X509) *chain = SSL_get0_verified_chain(ssl);
	time_t earliest = 0;
	for (int i = 0; i < sk_X509_num(chain); i++) {
		const ASN1_TIME *na = X509_get0_notAfter(sk_X509_value(chain, i));
		struct tm tm;
		if (!na || !ASN1_TIME_to_tm(na, &tm))
			return 0;
		time_t t = timegm(&tm);
		if (!earliest || t < earliest)
			earliest = t;
	}
	return earliest;
}

static void save(const struct resume *r, SSL_SESSION *s)
{
	if (!r->fresh_not_after)
		return;
	unsigned char *der = NULL;
	int len = i2d_SSL_SESSION(s, &der);
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	sb_addf(&sb, "%s%s\nnot-after %lld\n", MAGIC, r->key, (long long)r->fresh_not_after);
	bool ok = len > 0 && der_without_peer(der, len, &sb);
	OPENSSL_free(der);
	_cleanup_close_ int dfd = ok ? open_dir(r->dir, true) : -1;
	if (dfd >= 0) /* a cache: failing to keep it costs the next run a full handshake */
		err_free(statedir_write(dfd, r->dir, r->name, sb.buf, sb.len, false));
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
	/* only what was verified is kept; a resumed session's ticket would
	 * not outlive the one it came from, so the saved one stays */
	if ((SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) && SSL_get_verify_result(ssl) == X509_V_OK &&
	    !SSL_session_reused(ssl) && SSL_SESSION_get0_peer(s) && SSL_SESSION_up_ref(s)) {
		SSL_SESSION_free(r->fresh);
		r->fresh = s;
		r->fresh_not_after = chain_not_after(ssl);
	}
	return r->next_new_cb ? r->next_new_cb(ssl, s) : 0;
}

void tls_resume_commit(SSL *ssl)
{
	struct resume *r = ssl && ex_index >= 0 ? SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ex_index) : NULL;
	if (!r || !r->fresh || SSL_get_verify_result(ssl) != X509_V_OK)
		return;
	save(r, r->fresh);
	SSL_SESSION_free(r->fresh);
	r->fresh = NULL;
}

void tls_resume_attach(SSL_CTX *ctx, const char *dir, const char *key)
{
	pthread_once(&ex_once, ex_init);
	if (ex_index < 0 || !dir || !*dir || !key || strchr(key, '\n') || SSL_CTX_get_ex_data(ctx, ex_index))
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
