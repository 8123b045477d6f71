/* DSSE envelopes (github.com/secure-systems-lab/dsse, envelope.md and
 * protocol.md) carrying in-toto Statements v1
 * (github.com/in-toto/attestation, spec/v1/statement.md):
 *
 *   {"payloadType":"application/vnd.in-toto+json",
 *    "payload":"<base64 of the statement>",
 *    "signatures":[{"keyid":"<sha256 of the key's SPKI>","sig":"<base64>"}]}
 *
 * Each signature is ECDSA-SHA256 (ASN.1 DER, as cosign writes it) over the
 * pre-authentication encoding
 *   PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
 * (LEN: ASCII decimal byte count), never over the payload alone.
 *
 * Opening an envelope (dsse_open) checks, in this order: the envelope's
 * shape, one signature by a trusted key over the PAE, the statement's
 * _type, that one subject names the expected image digest, and that the
 * predicate is an object under a predicateType. Any failure is EXIT_POLICY
 * with the reason: such evidence never counts. */
#ifndef PUBLISH_DOI_DSSE_H
#define PUBLISH_DOI_DSSE_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>

#include "error.h"
#include "strbuf.h"
#include "vault.h"

#define DSSE_PAYLOAD_TYPE "application/vnd.in-toto+json"
#define DSSE_MEDIA_TYPE "application/vnd.dsse.envelope.v1+json"
#define INTOTO_STATEMENT_V1 "https://in-toto.io/Statement/v1"
/* an envelope is read only up to this size (stores and registry alike) */
#define DSSE_ENVELOPE_MAX (4 * 1024 * 1024)

/* PAE(type, body) into out (appended). */
void dsse_pae(const char *type, const void *body, size_t len, struct strbuf *out);

/* The envelope (compact JSON) of statement, signed by key. */
err_t *dsse_sign(const json_t *statement, const struct signer_key *key, struct strbuf *envelope);

/* Keys whose signatures count. */
struct dsse_keys {
	EVP_PKEY **keys;
	char **names; /* what each key is called in listings */
	size_t n;
};
void dsse_keys_release(struct dsse_keys *k);

struct dsse_opened {
	json_t *statement;         /* the verified statement */
	const char *predicate_type; /* inside statement */
	const json_t *predicate;    /* inside statement */
	char *signer;               /* name of the key that verified (owned) */
};
void dsse_opened_release(struct dsse_opened *o);

/* An envelope split into its parts, nothing verified yet: the payload
 * (decoded), its signatures and, when the payload is JSON, the statement
 * (else why not, reported by dsse_verify after the signature check). Lets a
 * reader look at a statement's kind and time to choose which envelopes to
 * verify; nothing in it counts before dsse_verify says so. */
struct dsse_parsed {
	json_t *signatures;
	struct strbuf payload;
	json_t *statement;   /* unverified; NULL when the payload is not JSON */
	char *statement_err; /* why it is NULL */
};
void dsse_parsed_release(struct dsse_parsed *p);
/* The envelope's shape and payloadType, its payload decoded. */
err_t *dsse_parse(const char *envelope, size_t len, const char *what, struct dsse_parsed *out);
/* The rest of dsse_open's checks, in its order, on a parsed envelope; on
 * success out->statement is p's statement (a new reference). */
err_t *dsse_verify(const struct dsse_parsed *p, const char *what, const struct dsse_keys *keys, const char *digest,
		   struct dsse_opened *out);

/* dsse_parse then dsse_verify: verify envelope (what: where it came from, for messages) for the image
 * digest ("sha256:<hex>"). */
err_t *dsse_open(const char *envelope, size_t len, const char *what, const struct dsse_keys *keys, const char *digest,
		 struct dsse_opened *out);

#endif
