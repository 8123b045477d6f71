/* TLS session resumption across processes. Each task is a fresh process,
 * so without this every run pays a full handshake: decoding the server's
 * certificate, verifying its chain and its CertificateVerify signature.
 * With a session directory, the session ticket a server issues is kept in
 * a file and offered by the next process to the same endpoint; the server
 * then proves it knows the session's secret instead of signing again.
 *
 * What is reused is what was verified: a ticket is saved only after a
 * connection whose certificate and host name were verified, under a key
 * naming the endpoint and the trust settings it was verified with (the
 * caller's key string, e.g. host:port plus CA file identity); another key
 * never finds it. The file
 * holds a resumption secret, so it is written 0600 in a 0700 directory,
 * like the trust state it sits beside. An expired, unreadable or foreign
 * file is ignored (a full handshake follows), never an error.
 *
 * Whoever knows a session's secret can stand in for the server without a
 * certificate, so a session is only ever read from a directory (and the
 * directory holding it) that is safe as statedir.h defines it, from a file
 * owned by us that nobody else can write: a session file planted by
 * another user is ignored with a warning. A session we saved is never
 * used past the moment a check of the certificate it was made with would
 * fail: the key holds the host, port and trust anchors (CA file or
 * directory identity: device, inode, size, mtime) and client certificate;
 * the file the earliest end of validity of the whole verified chain; and
 * the session its lifetime as the server issued it. */
#ifndef COMMON_TLSRESUME_H
#define COMMON_TLSRESUME_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <time.h>

/* From an SSL_CTX set-up callback, before the handshake: offer the session
 * saved in dir under key (if any, and neither it nor the server's
 * certificate expired), and hold the session the server issues after a
 * full, verified handshake. Nothing is kept when resumption cannot be
 * arranged. */
void tls_resume_attach(SSL_CTX *ctx, const char *dir, const char *key);
/* The connection of ssl was accepted (libcurl checked the certificate and
 * the host name, and a response is arriving): save the session held for
 * it, if any. */
void tls_resume_commit(SSL *ssl);
/* A saved file's text: its session if it was saved under key and neither
 * it nor the server's certificate has expired at now, else NULL. */
SSL_SESSION *tls_resume_parse(const char *data, size_t len, const char *key, time_t now);
/* Handshakes in this process that resumed a saved session (also logged at
 * debug level): for tests and traces. */
unsigned long tls_resume_count(void);

#endif
