#include "dsse.h"

#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "xalloc.h"
#include "digest.h"
#include "jsonutil.h"
#include "keys.h"

void dsse_pae(const char *type, const void *body, size_t len, struct strbuf *out)
{
	sb_addf(out, "DSSEv1 %zu %s %zu ", strlen(type), type, len);
	sb_add(out, body, len);
}

err_t *dsse_sign(const json_t *statement, const struct signer_key *key, struct strbuf *envelope)
{
	char *payload = json_dumps(statement, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!payload)
		return err_new(EXIT_FAILED, "statement cannot be serialized");
	size_t plen = strlen(payload);
	struct strbuf pae = STRBUF_INIT, sig = STRBUF_INIT, spki = STRBUF_INIT, p64 = STRBUF_INIT, s64 = STRBUF_INIT;
	dsse_pae(DSSE_PAYLOAD_TYPE, payload, plen, &pae);
	err_t *e = signer_key_sign(key, pae.buf, pae.len, SIG_DER, &sig);
	if (!e) {
		char keyid[65];
		key_public_spki(signer_key_public(key), &spki);
		key_sha256_hex(spki.buf, spki.len, keyid, NULL);
		b64_encode(payload, plen, &p64);
		b64_encode(sig.buf, sig.len, &s64);
		json_t *env = json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "payloadType", DSSE_PAYLOAD_TYPE, "payload",
					sb_str(&p64), "signatures", "keyid", keyid, "sig", sb_str(&s64));
		char *s = json_dumps(env, JSON_COMPACT | JSON_PRESERVE_ORDER);
		sb_adds(envelope, s);
		free(s);
		json_decref(env);
	}
	free(payload);
	sb_release(&pae);
	sb_release(&sig);
	sb_release(&spki);
	sb_release(&p64);
	sb_release(&s64);
	return e;
}

void dsse_keys_release(struct dsse_keys *k)
{
	for (size_t i = 0; i < k->n; i++) {
		EVP_PKEY_free(k->keys[i]);
		free(k->names[i]);
	}
	free(k->keys);
	free(k->names);
	memset(k, 0, sizeof(*k));
}

void dsse_opened_release(struct dsse_opened *o)
{
	json_decref(o->statement);
	free(o->signer);
	memset(o, 0, sizeof(*o));
}

/* The name of the first trusted key with a valid signature over pae, or NULL. */
static const char *trusted_signer(const json_t *sigs, const struct strbuf *pae, const struct dsse_keys *keys)
{
	size_t i;
	json_t *s;
	json_array_foreach(sigs, i, s) {
		const char *sig64 = json_string_value(json_object_get(s, "sig"));
		if (!sig64)
			continue;
		struct strbuf sig = STRBUF_INIT;
		err_t *e = b64_decode(sig64, strlen(sig64), "signature", &sig);
		for (size_t k = 0; !e && k < keys->n; k++) {
			err_t *ve = key_verify(keys->keys[k], pae->buf, pae->len, sig.buf, sig.len, SIG_DER);
			if (!ve) {
				sb_release(&sig);
				return keys->names[k];
			}
			err_free(ve);
		}
		err_free(e);
		sb_release(&sig);
	}
	return NULL;
}

/* One subject of st names digest ("sha256:<hex>"). */
static bool subject_names(const json_t *st, const char *digest)
{
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(st, "subject"), i, s) {
		const char *h = json_string_value(json_object_get(json_object_get(s, "digest"), "sha256"));
		if (h && !strcmp(h, digest_hex(digest)))
			return true;
	}
	return false;
}

void dsse_parsed_release(struct dsse_parsed *p)
{
	json_decref(p->signatures);
	json_decref(p->statement);
	free(p->statement_err);
	sb_release(&p->payload);
	memset(p, 0, sizeof(*p));
}

err_t *dsse_parse(const char *envelope, size_t len, const char *what, struct dsse_parsed *out)
{
	memset(out, 0, sizeof(*out));
	json_t *env = NULL;
	err_t *e = json_parse(envelope, len, what, &env);
	if (e)
		return err_set_code(e, EXIT_POLICY);
	const char *type = json_string_value(json_object_get(env, "payloadType"));
	const char *p64 = json_string_value(json_object_get(env, "payload"));
	json_t *sigs = json_object_get(env, "signatures");
	if (!json_is_object(env) || !type || !p64 || !json_is_array(sigs) || !json_array_size(sigs))
		e = err_new(EXIT_POLICY, "%s: not a DSSE envelope (payloadType, payload and signatures)", what);
	else if (strcmp(type, DSSE_PAYLOAD_TYPE))
		e = err_new(EXIT_POLICY, "%s: payloadType is %s, not %s", what, type, DSSE_PAYLOAD_TYPE);
	if (!e)
		e = err_set_code(b64_decode(p64, strlen(p64), "payload", &out->payload), EXIT_POLICY);
	if (!e) {
		out->signatures = json_incref(sigs);
		/* not trusted yet: its errors are reported after the signature's.
		 * No \u0000 in its strings (json_parse allows them): C reads
		 * "PASSED\u0000..." or "<hex>\u0000..." as "PASSED" or "<hex>",
		 * a verifier comparing whole strings does not */
		json_error_t je;
		out->statement = json_loadb(out->payload.buf, out->payload.len, JSON_REJECT_DUPLICATES, &je);
		if (!out->statement)
			out->statement_err = xasprintf("%s: invalid JSON at line %d, column %d: %s", what, je.line,
			                               je.column, je.text);
	} else {
		sb_release(&out->payload);
	}
	json_decref(env);
	return e;
}

err_t *dsse_verify(const struct dsse_parsed *p, const char *what, const struct dsse_keys *keys, const char *digest,
		   struct dsse_opened *out)
{
	memset(out, 0, sizeof(*out));
	struct strbuf pae = STRBUF_INIT;
	err_t *e = NULL;
	dsse_pae(DSSE_PAYLOAD_TYPE, p->payload.buf, p->payload.len, &pae);
	const char *who = trusted_signer(p->signatures, &pae, keys);
	sb_release(&pae);
	if (!who)
		return err_new(EXIT_POLICY, "%s: no signature by a trusted key over the envelope", what);
	if (p->statement_err)
		return err_new(EXIT_POLICY, "%s", p->statement_err);
	const json_t *st = p->statement;
	const char *t = json_string_value(json_object_get(st, "_type"));
	const char *pt = json_string_value(json_object_get(st, "predicateType"));
	if (!t || strcmp(t, INTOTO_STATEMENT_V1))
		e = err_new(EXIT_POLICY, "%s: statement _type is not %s", what, INTOTO_STATEMENT_V1);
	else if (!subject_names(st, digest))
		e = err_new(EXIT_POLICY, "%s: no subject of the statement is %s", what, digest);
	else if (!pt || !json_is_object(json_object_get(st, "predicate")))
		e = err_new(EXIT_POLICY, "%s: statement has no predicateType and predicate object", what);
	if (e)
		return e;
	out->statement = json_incref(p->statement);
	out->predicate_type = pt;
	out->predicate = json_object_get(st, "predicate");
	out->signer = xstrdup(who);
	return NULL;
}

err_t *dsse_open(const char *envelope, size_t len, const char *what, const struct dsse_keys *keys, const char *digest,
		 struct dsse_opened *out)
{
	struct dsse_parsed p;
	memset(out, 0, sizeof(*out));
	TRY(dsse_parse(envelope, len, what, &p));
	err_t *e = dsse_verify(&p, what, keys, digest, out);
	dsse_parsed_release(&p);
	return e;
}
