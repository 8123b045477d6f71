/* Trust anchors from a PEM file (one CA, or a whole system bundle) that
 * OpenSSL looks up when it needs an issuer, instead of decoding them all up
 * front. OpenSSL 3 decodes every certificate's public key through its
 * provider decoders (~0.4 ms each): loading the 140-certificate system
 * bundle the usual way costs every process ~60 ms before its first
 * handshake. Here only the subject names are read when the file is loaded;
 * a certificate is decoded the first time a chain asks for that subject,
 * and verification itself (signatures, validity, purpose) stays OpenSSL's. */
#ifndef COMMON_CASTORE_H
#define COMMON_CASTORE_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct castore;

/* Read path: every "CERTIFICATE" block, by subject. EXIT_USAGE when the
 * file cannot be read or holds no certificate. A directory stands for its
 * CA files (castore_is_ca_name), as buildah's --cert-dir. */
err_t *castore_load(const char *path, struct castore **out);
/* Whether a file in a CA directory is a CA bundle: "*.crt" (containers'
 * certs.d rule; "*.cert" + "*.key" there are client pairs, not CAs). */
bool castore_is_ca_name(const char *name);
/* The same over PEM text in memory. */
err_t *castore_parse(const char *pem, size_t len, struct castore **out);
void castore_free(struct castore *s);
size_t castore_count(const struct castore *s);

/* Let store find its trust anchors in s (which must outlive store). */
err_t *castore_attach(struct castore *s, X509_STORE *store);

#endif
