/* The TUF metadata model Notary v1 (Docker Content Trust) uses: key objects
 * and key IDs, signed envelopes {"signed":..,"signatures":[..]} over
 * canonical JSON, roles with thresholds, delegations, target and meta
 * entries, expiry and version rules. Parsing and verification never trust
 * their input: every field is checked; failures name the role and the rule
 * (EXIT_POLICY for a verdict, EXIT_USAGE for malformed metadata). */
#ifndef COMMON_TUF_H
#define COMMON_TUF_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "error.h"
#include "strbuf.h"

#define TUF_METADATA_MAX (4 * 1024 * 1024)
/* Tolerated clock difference for "not valid before" (seconds). */
#define TUF_CLOCK_SKEW 300

/* {"keytype":"ecdsa","keyval":{"private":null,"public":"<b64 SPKI DER>"}} */
json_t *tuf_key_json(EVP_PKEY *pub);
/* Hex sha256 of the key object's canonical JSON (hex[65]). */
err_t *tuf_key_id(const json_t *key, char hex[65]);
/* The public key of a key object: "ecdsa" (SPKI) or "ecdsa-x509" (PEM cert). */
err_t *tuf_key_public(const json_t *key, EVP_PKEY **out);

/* The key of a role that id names: a key listed in keyids, present in
 * keys and hashing to its listed ID, whose listed ID is id or whose public
 * key's own "ecdsa" key ID is id (what `notary key list` shows for a
 * certificate key; a key's signatures carry the ID the role lists). The
 * listed ID goes to listed, the public key to *pub (if pub; caller frees).
 * false if the role lists no such key. */
bool tuf_find_key(const json_t *keys, const json_t *keyids, const char *id, char listed[65], EVP_PKEY **pub);

/* For an "ecdsa-x509" key: its certificate must name gun as CN and be
 * valid at now (what Notary requires of root keys). Two steps, so what a
 * certificate says can be remembered: read it (is_cert false for other
 * key types, which pass), then check it. */
struct tuf_key_cert {
	bool is_cert;
	char cn[256];
	time_t not_before, not_after;
};
err_t *tuf_key_cert_read(const json_t *key, struct tuf_key_cert *out);
err_t *tuf_key_cert_check(const struct tuf_key_cert *c, const char *gun, time_t now);

/* A parsed metadata file. */
struct tuf_meta {
	json_t *doc;       /* whole document */
	json_t *signed_;   /* doc.signed (borrowed) */
	const char *type;  /* "Root", "Targets", "Snapshot", "Timestamp" */
	json_int_t version;
	time_t expires;
	unsigned char sha256[32]; /* of the bytes as served */
	size_t length;
};

/* Parse bytes as role's metadata (role: "root", "targets/build", ...). */
err_t *tuf_meta_parse(const char *role, const char *data, size_t len, struct tuf_meta *out);
void tuf_meta_release(struct tuf_meta *m);

/* Check that at least threshold distinct keys among keyids (all present in
 * keys, an object of key objects) made valid signatures over the canonical
 * signed part. */
err_t *tuf_verify_threshold(const char *role, const struct tuf_meta *m, const json_t *keys, const json_t *keyids,
			    json_int_t threshold);
/* Checks that the signature by keyid verifies. */
err_t *tuf_verify_key(const char *role, const struct tuf_meta *m, const char *keyid, EVP_PKEY *pub);

/* Signature verifications attempted so far in this process (tests). */
unsigned long tuf_signature_checks(void);

/* "2036-11-22T17:22:54.617858648Z" <-> time_t (UTC, fraction ignored). */
err_t *tuf_parse_time(const char *s, time_t *out);
void tuf_format_time(time_t t, char buf[32]);

/* Fresh skeletons for signed parts. */
json_t *tuf_new_targets(json_int_t version, time_t expires);

/* Sign signed (canonical JSON) and write the envelope's compact bytes.
 * sign is called once per key. */
typedef err_t *(*tuf_sign_fn)(void *ctx, const void *data, size_t len, struct strbuf *raw_sig);
struct tuf_signer {
	const char *keyid;
	tuf_sign_fn sign;
	void *ctx;
};
err_t *tuf_sign(const json_t *signed_, const struct tuf_signer *signers, size_t n, struct strbuf *out);

/* A target entry for an image manifest: hashes.sha256 = b64(raw digest). */
json_t *tuf_target_entry(const unsigned char sha256[32], json_int_t length);
/* Whether entry names exactly this sha256 digest. */
bool tuf_target_matches(const json_t *entry, const unsigned char sha256[32]);
/* Check a meta entry ({"hashes":{...},"length":N}) against bytes. */
err_t *tuf_check_meta(const char *role, const json_t *entry, const char *data, size_t len);
/* A meta entry for bytes (sha256 and sha512, length). */
json_t *tuf_meta_entry(const char *data, size_t len);

/* Whether role name's delegation "paths" allow target name. */
bool tuf_path_allowed(const json_t *delegation_role, const char *target);

#endif
