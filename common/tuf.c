#include "tuf.h"

#include <openssl/pem.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "cleanup.h"
#include "jsonutil.h"
#include "keys.h"
#include "xalloc.h"

json_t *tuf_key_json(EVP_PKEY *pub)
{
	struct strbuf der = STRBUF_INIT, b = STRBUF_INIT;
	key_public_spki(pub, &der);
	b64_encode(der.buf, der.len, &b);
	json_t *k = json_pack("{s:s, s:{s:n, s:s}}", "keytype", "ecdsa", "keyval", "private", "public", sb_str(&b));
	sb_release(&der);
	sb_release(&b);
	return k;
}

err_t *tuf_key_id(const json_t *key, char hex[65])
{
	struct strbuf c = STRBUF_INIT;
	err_t *e = json_canonical(key, &c);
	if (!e)
		key_sha256_hex(c.buf, c.len, hex, NULL);
	sb_release(&c);
	return e;
}

err_t *tuf_key_public(const json_t *key, EVP_PKEY **out)
{
	const char *type = NULL, *pub = NULL;
	json_t *val = NULL;
	TRY(json_get_string(key, "keytype", "key", &type));
	TRY(json_get_object(key, "keyval", "key", &val));
	TRY(json_get_string(val, "public", "key.keyval", &pub));
	struct strbuf der = STRBUF_INIT;
	err_t *e = b64_decode(pub, strlen(pub), "key.keyval.public", &der);
	if (!e) {
		if (!strcmp(type, "ecdsa"))
			e = key_public_from_spki(der.buf, der.len, out);
		else if (!strcmp(type, "ecdsa-x509"))
			e = key_public_from_pem(sb_str(&der), der.len, out);
		else
			e = err_new(EXIT_USAGE, "key type '%s' is not supported (ecdsa, ecdsa-x509)", type);
	}
	sb_release(&der);
	if (!e && !key_is_p256(*out)) {
		EVP_PKEY_free(*out);
		*out = NULL;
		e = err_new(EXIT_USAGE, "key is not ECDSA P-256");
	}
	return e;
}

bool tuf_find_key(const json_t *keys, const json_t *keyids, const char *id, char listed[65], EVP_PKEY **pub)
{
	size_t i;
	json_t *l;
	json_array_foreach(keyids, i, l) {
		const char *lid = json_string_value(l);
		json_t *key = json_object_get(keys, lid ? lid : "");
		char h[65];
		EVP_PKEY *p = NULL;
		err_t *e = key ? tuf_key_id(key, h) : NULL;
		if (!key || e || strcmp(h, lid)) {
			err_free(e);
			continue; /* a key object that is not what its ID names */
		}
		e = tuf_key_public(key, &p);
		bool match = !e && !strcmp(lid, id);
		if (!e && !match) {
			json_t *own = tuf_key_json(p);
			e = tuf_key_id(own, h);
			json_decref(own);
			match = !e && !strcmp(h, id);
		}
		err_free(e);
		if (match) {
			memcpy(listed, lid, 65);
			if (pub)
				*pub = p;
			else
				EVP_PKEY_free(p);
			return true;
		}
		EVP_PKEY_free(p);
	}
	return false;
}

static time_t asn1_time(const ASN1_TIME *t)
{
	struct tm tm;
	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return 0;
	return timegm(&tm);
}

err_t *tuf_key_cert_read(const json_t *key, struct tuf_key_cert *out)
{
	memset(out, 0, sizeof *out);
	const char *type = json_string_value(json_object_get(key, "keytype"));
	if (!type || strcmp(type, "ecdsa-x509"))
		return NULL;
	out->is_cert = true;
	const char *pub = json_string_value(json_object_get(json_object_get(key, "keyval"), "public"));
	if (!pub)
		return err_new(EXIT_USAGE, "ecdsa-x509 key without a public value");
	struct strbuf pem = STRBUF_INIT;
	TRY(b64_decode(pub, strlen(pub), "certificate", &pem));
	BIO *bio = BIO_new_mem_buf(pem.buf ? pem.buf : "", (int)pem.len);
	X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	sb_release(&pem);
	err_t *e = NULL;
	if (!cert)
		e = err_new(EXIT_POLICY, "root key certificate does not parse");
	else if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, out->cn, sizeof out->cn) < 0)
		out->cn[0] = '\0';
	if (cert) {
		out->not_before = asn1_time(X509_get0_notBefore(cert));
		out->not_after = asn1_time(X509_get0_notAfter(cert));
	}
	X509_free(cert);
	ERR_clear_error();
	return e;
}

err_t *tuf_key_cert_check(const struct tuf_key_cert *c, const char *gun, time_t now)
{
	if (!c->is_cert)
		return NULL;
	if (strcmp(c->cn, gun))
		return err_new(EXIT_POLICY, "root key certificate is for '%s', not '%s'", c->cn, gun);
	if (c->not_after <= now)
		return err_kind_new(EXIT_POLICY, ERR_KIND_EXPIRED, "root key certificate for '%s' has expired", gun);
	if (c->not_before > now + TUF_CLOCK_SKEW)
		return err_new(EXIT_POLICY, "root key certificate for '%s' is not valid yet", gun);
	return NULL;
}

static const char *expected_type(const char *role)
{
	if (!strcmp(role, "root"))
		return "Root";
	if (!strcmp(role, "snapshot"))
		return "Snapshot";
	if (!strcmp(role, "timestamp"))
		return "Timestamp";
	if (!strcmp(role, "targets") || !strncmp(role, "targets/", 8))
		return "Targets";
	return NULL;
}

err_t *tuf_parse_time(const char *s, time_t *out)
{
	struct tm tm = { 0 };
	int n = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
		   &tm.tm_sec, &n) != 6 || n != 19)
		return err_new(EXIT_USAGE, "'%.40s' is not an RFC 3339 time", s);
	const char *p = s + n;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return err_new(EXIT_USAGE, "'%.40s' is not an RFC 3339 time", s);
		while (*p >= '0' && *p <= '9')
			p++;
	}
	long offset = 0;
	if (*p == 'Z' && p[1] == '\0') {
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int hh = 0, mm = 0;
		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
			return err_new(EXIT_USAGE, "'%.40s' is not an RFC 3339 time", s);
		offset = (hh * 60L + mm) * 60 * (*p == '+' ? 1 : -1);
	} else {
		return err_new(EXIT_USAGE, "'%.40s' is not an RFC 3339 time", s);
	}
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || tm.tm_sec > 60)
		return err_new(EXIT_USAGE, "'%.40s' is not a valid time", s);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = timegm(&tm) - offset;
	return NULL;
}

void tuf_format_time(time_t t, char buf[32])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

err_t *tuf_meta_parse(const char *role, const char *data, size_t len, struct tuf_meta *out)
{
	memset(out, 0, sizeof *out);
	const char *want = expected_type(role);
	if (!want)
		return err_new(EXIT_USAGE, "'%s' is not a TUF role", role);
	if (len > TUF_METADATA_MAX)
		return err_new(EXIT_USAGE, "%s.json: larger than %d bytes", role, TUF_METADATA_MAX);
	_cleanup_free_ char *what = xasprintf("%s.json", role);
	json_t *doc = NULL;
	TRY(json_parse(data, len, what, &doc));
	out->doc = doc;
	json_t *sigs = NULL;
	const char *type = NULL, *expires = NULL;
	err_t *e = NULL;
	if (!json_is_object(doc))
		e = err_new(EXIT_USAGE, "%s: not a JSON object", what);
	if (!e)
		e = json_get_object(doc, "signed", what, &out->signed_);
	if (!e)
		e = json_get_array(doc, "signatures", what, &sigs);
	if (!e)
		e = json_get_string(out->signed_, "_type", what, &type);
	if (!e && strcmp(type, want))
		e = err_new(EXIT_POLICY, "%s: _type is '%s', expected '%s'", what, type, want);
	if (!e)
		e = json_get_int(out->signed_, "version", what, &out->version);
	if (!e && out->version < 0)
		e = err_new(EXIT_USAGE, "%s: negative version", what);
	if (!e)
		e = json_get_string(out->signed_, "expires", what, &expires);
	if (!e)
		e = err_context(tuf_parse_time(expires, &out->expires), "%s: expires", what);
	if (e) {
		tuf_meta_release(out);
		return e;
	}
	out->type = type;
	SHA256((const unsigned char *)data, len, out->sha256);
	out->length = len;
	return NULL;
}

void tuf_meta_release(struct tuf_meta *m)
{
	json_decref(m->doc);
	memset(m, 0, sizeof *m);
}

static unsigned long signature_checks;

unsigned long tuf_signature_checks(void)
{
	return signature_checks;
}

static err_t *verify_one(const char *role, const struct strbuf *canon, const json_t *sig, const char *keyid,
			 EVP_PKEY *pub)
{
	signature_checks++;
	const char *method = NULL, *b = NULL;
	TRY(json_get_string(sig, "method", "signature", &method));
	TRY(json_get_string(sig, "sig", "signature", &b));
	if (strcmp(method, "ecdsa"))
		return err_new(EXIT_POLICY, "%s: signature by key %.8s uses method '%s' (only ecdsa is accepted)", role,
			       keyid, method);
	struct strbuf raw = STRBUF_INIT;
	err_t *e = b64_decode(b, strlen(b), "signature", &raw);
	if (!e)
		e = key_verify(pub, canon->buf, canon->len, raw.buf, raw.len, SIG_RAW_RS);
	sb_release(&raw);
	if (e) {
		err_free(e);
		return err_kind_new(EXIT_POLICY, ERR_KIND_SIGNATURE, "%s: signature by key %.8s does not verify (forged or tampered)", role,
			       keyid);
	}
	return NULL;
}

err_t *tuf_verify_key(const char *role, const struct tuf_meta *m, const char *keyid, EVP_PKEY *pub)
{
	struct strbuf canon = STRBUF_INIT;
	TRY(json_canonical(m->signed_, &canon));
	json_t *sigs = json_object_get(m->doc, "signatures");
	size_t i;
	json_t *sig;
	err_t *e = err_kind_new(EXIT_POLICY, ERR_KIND_SIGNATURE, "%s: no signature by key %.8s", role, keyid);
	json_array_foreach(sigs, i, sig) {
		const char *id = json_string_value(json_object_get(sig, "keyid"));
		if (!id || strcmp(id, keyid))
			continue;
		err_free(e);
		e = verify_one(role, &canon, sig, keyid, pub);
		if (!e)
			break;
	}
	sb_release(&canon);
	return e;
}

err_t *tuf_verify_threshold(const char *role, const struct tuf_meta *m, const json_t *keys, const json_t *keyids,
			    json_int_t threshold)
{
	if (threshold < 1)
		return err_new(EXIT_POLICY, "%s: threshold %lld is below 1", role, (long long)threshold);
	if (!json_is_array(keyids) || !json_is_object(keys))
		return err_new(EXIT_USAGE, "%s: role has no keyids", role);
	struct strbuf canon = STRBUF_INIT;
	TRY(json_canonical(m->signed_, &canon));
	json_t *sigs = json_object_get(m->doc, "signatures");
	size_t nsig = json_array_size(sigs);
	size_t nkeys = json_array_size(keyids);
	json_int_t valid = 0;
	err_t *last = NULL;
	/* keys whose signature counted: a key listed under two IDs (two key
	 * objects for one key, e.g. bare and in a certificate) is one key */
	EVP_PKEY **counted = xcalloc(nkeys ? nkeys : 1, sizeof *counted);
	/* count each listed key at most once (an ID listed twice names the same
	 * key: the counted-already check below refuses it) */
	for (size_t k = 0; k < nkeys && valid < threshold; k++) {
		const char *keyid = json_string_value(json_array_get(keyids, k));
		if (!keyid)
			continue;
		json_t *key = json_object_get(keys, keyid);
		if (!key)
			continue;
		char id[65];
		err_t *e = tuf_key_id(key, id);
		if (e || strcmp(id, keyid)) {
			err_free(e);
			err_free(last);
			last = err_new(EXIT_POLICY, "%s: key %.8s does not hash to its key ID", role, keyid);
			continue;
		}
		EVP_PKEY *pub = NULL;
		e = tuf_key_public(key, &pub);
		if (e) {
			err_free(last);
			last = err_wrap(e, "%s: key %.8s", role, keyid);
			continue;
		}
		bool again = false;
		for (json_int_t c = 0; c < valid && !again; c++)
			again = key_same_public(counted[c], pub);
		if (again) {
			err_free(last);
			last = err_new(EXIT_POLICY, "%s: key %.8s is a key counted already under another ID", role, keyid);
		}
		for (size_t s = 0; s < nsig && !again; s++) {
			json_t *sig = json_array_get(sigs, s);
			const char *sid = json_string_value(json_object_get(sig, "keyid"));
			if (!sid || strcmp(sid, keyid))
				continue;
			e = verify_one(role, &canon, sig, keyid, pub);
			if (!e) {
				counted[valid++] = pub;
				pub = NULL;
				break;
			}
			err_free(last);
			last = e;
		}
		EVP_PKEY_free(pub);
	}
	for (json_int_t c = 0; c < valid; c++)
		EVP_PKEY_free(counted[c]);
	free(counted);
	sb_release(&canon);
	if (valid >= threshold) {
		err_free(last);
		return NULL;
	}
	err_t *e = err_kind_new(EXIT_POLICY, ERR_KIND_SIGNATURE, "%s: %lld of %lld required signatures are valid", role, (long long)valid,
			   (long long)threshold);
	if (last)
		e->cause = last;
	return e;
}

json_t *tuf_new_targets(json_int_t version, time_t expires)
{
	char t[32];
	tuf_format_time(expires, t);
	return json_pack("{s:s, s:{s:{}, s:[]}, s:s, s:{}, s:I}", "_type", "Targets", "delegations", "keys", "roles",
			 "expires", t, "targets", "version", version);
}

err_t *tuf_sign(const json_t *signed_, const struct tuf_signer *signers, size_t n, struct strbuf *out)
{
	struct strbuf canon = STRBUF_INIT;
	TRY(json_canonical(signed_, &canon));
	json_t *sigs = json_array();
	err_t *e = NULL;
	for (size_t i = 0; i < n && !e; i++) {
		struct strbuf raw = STRBUF_INIT, b = STRBUF_INIT;
		e = signers[i].sign(signers[i].ctx, canon.buf, canon.len, &raw);
		if (!e && raw.len != 64)
			e = err_new(EXIT_FAILED, "signer returned %zu bytes, not a raw r||s", raw.len);
		if (!e) {
			b64_encode(raw.buf, raw.len, &b);
			json_array_append_new(sigs, json_pack("{s:s, s:s, s:s}", "keyid", signers[i].keyid, "method",
							      "ecdsa", "sig", sb_str(&b)));
		}
		sb_release(&raw);
		sb_release(&b);
	}
	if (!e) {
		sb_adds(out, "{\"signed\":");
		sb_add(out, canon.buf, canon.len);
		sb_adds(out, ",\"signatures\":");
		e = json_canonical(sigs, out);
		sb_addc(out, '}');
	}
	json_decref(sigs);
	sb_release(&canon);
	return e;
}

json_t *tuf_target_entry(const unsigned char sha256[32], json_int_t length)
{
	struct strbuf b = STRBUF_INIT;
	b64_encode(sha256, 32, &b);
	json_t *t = json_pack("{s:{s:s}, s:I}", "hashes", "sha256", sb_str(&b), "length", length);
	sb_release(&b);
	return t;
}

bool tuf_target_matches(const json_t *entry, const unsigned char sha256[32])
{
	const char *h = json_string_value(json_object_get(json_object_get(entry, "hashes"), "sha256"));
	if (!h)
		return false;
	struct strbuf raw = STRBUF_INIT;
	err_t *e = b64_decode(h, strlen(h), "sha256", &raw);
	bool ok = !e && raw.len == 32 && !memcmp(raw.buf, sha256, 32);
	err_free(e);
	sb_release(&raw);
	return ok;
}

json_t *tuf_meta_entry(const char *data, size_t len)
{
	unsigned char d256[32], d512[64];
	SHA256((const unsigned char *)data, len, d256);
	SHA512((const unsigned char *)data, len, d512);
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	b64_encode(d256, 32, &a);
	b64_encode(d512, 64, &b);
	json_t *m = json_pack("{s:{s:s, s:s}, s:I}", "hashes", "sha256", sb_str(&a), "sha512", sb_str(&b), "length",
			      (json_int_t)len);
	sb_release(&a);
	sb_release(&b);
	return m;
}

err_t *tuf_check_meta(const char *role, const json_t *entry, const char *data, size_t len)
{
	json_t *hashes = json_object_get(entry, "hashes");
	json_t *length = json_object_get(entry, "length");
	if (!json_is_object(hashes) || !json_is_integer(length))
		return err_new(EXIT_USAGE, "%s: meta entry has no hashes or length", role);
	if (json_integer_value(length) != (json_int_t)len)
		return err_kind_new(EXIT_POLICY, ERR_KIND_INCONSISTENT,
				    "%s: %zu bytes, but the snapshot/timestamp says %lld (tampered or inconsistent)",
			       role, len, (long long)json_integer_value(length));
	int checked = 0;
	static const struct {
		const char *name;
		size_t size;
	} algs[] = { { "sha256", 32 }, { "sha512", 64 } };
	for (size_t i = 0; i < 2; i++) {
		const char *h = json_string_value(json_object_get(hashes, algs[i].name));
		if (!h)
			continue;
		unsigned char d[64];
		if (i == 0)
			SHA256((const unsigned char *)data, len, d);
		else
			SHA512((const unsigned char *)data, len, d);
		struct strbuf raw = STRBUF_INIT;
		err_t *e = b64_decode(h, strlen(h), "hash", &raw);
		bool ok = !e && raw.len == algs[i].size && !memcmp(raw.buf, d, algs[i].size);
		err_free(e);
		sb_release(&raw);
		if (!ok)
			return err_kind_new(EXIT_POLICY, ERR_KIND_INCONSISTENT,
					    "%s: %s does not match the snapshot/timestamp (tampered or inconsistent)",
				       role, algs[i].name);
		checked++;
	}
	if (!checked)
		return err_new(EXIT_POLICY, "%s: meta entry has no sha256 or sha512 hash", role);
	return NULL;
}

bool tuf_path_allowed(const json_t *delegation_role, const char *target)
{
	json_t *paths = json_object_get(delegation_role, "paths");
	json_t *prefixes = json_object_get(delegation_role, "path_hash_prefixes");
	size_t i;
	json_t *p;
	json_array_foreach(paths, i, p) {
		const char *s = json_string_value(p);
		if (s && !strncmp(target, s, strlen(s)))
			return true;
	}
	if (json_array_size(prefixes)) {
		char hex[65];
		key_sha256_hex(target, strlen(target), hex, NULL);
		json_array_foreach(prefixes, i, p) {
			const char *s = json_string_value(p);
			if (s && !strncmp(hex, s, strlen(s)))
				return true;
		}
	}
	return false;
}
