/* Fuzz publish-doi's parsers of untrusted input: DSSE envelopes with their
 * in-toto statements (dsse_open), the reports a test record is made from
 * (record_test_predicate: JUnit XML, docker-lint / cis-check findings,
 * vulnerability reports, CycloneDX) and policy files (policy_parse), and
 * the gate over what was opened (policy_evaluate).
 *
 * Input: sections (sections.h). Part 0 names the parser: "envelope",
 * "policy" or a test record filetype (unittest, fvt, code, lint, cis,
 * vulnerabilityadvisor, bom); part 1 is its input. For "envelope", so the
 * fuzzer gets past base64 and signatures, a "payload" of "part:2" becomes
 * base64 of part 2 and a "sig" of "sign" a valid signature by the trusted
 * key over the envelope's PAE. Whatever the input, an opened envelope
 * must carry a signature by the key over the PAE (rebuilt here) of a
 * Statement v1 whose subject names the digest, and a policy with no
 * evidence must pass no rule; anything else is a bug (abort). */
#include <openssl/err.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "dsse.h"
#include "evidence.h"
#include "keys.h"
#include "log.h"
#include "policy.h"
#include "record.h"
#include "sections.h"

// fuzz-sources: tasks/publish-doi/dsse.c tasks/publish-doi/evidence.c tasks/publish-doi/policy.c tasks/publish-doi/record.c
// fuzz-libs: -Itasks/publish-doi

#define HEX "4d2b9a0c87a4e7a8b6a0f1d3c5b7e9f10213243546576879a0b1c2d3e4f5a6b7"
#define DIGEST "sha256:" HEX

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *key;

/* The oracle: PAE built here, as the DSSE protocol defines it. */
static bool signed_by_key(const json_t *env, const struct strbuf *payload)
{
	const char *type = json_string_value(json_object_get(env, "payloadType"));
	if (!type)
		return false;
	struct strbuf pae = STRBUF_INIT;
	sb_addf(&pae, "DSSEv1 %zu %s %zu ", strlen(type), type, payload->len);
	sb_add(&pae, payload->buf, payload->len);
	bool ok = false;
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(env, "signatures"), i, s) {
		const char *sig64 = json_string_value(json_object_get(s, "sig"));
		struct strbuf sig = STRBUF_INIT;
		err_t *e = sig64 ? b64_decode(sig64, strlen(sig64), "sig", &sig) : err_new(EXIT_FAILED, "no sig");
		if (!e)
			e = key_verify(key, pae.buf, pae.len, sig.buf, sig.len, SIG_DER);
		ok |= !e;
		err_free(e);
		sb_release(&sig);
	}
	sb_release(&pae);
	return ok;
}

static bool names_digest(const json_t *st)
{
	if (!json_is_object(st) ||
	    strcmp(json_string_value(json_object_get(st, "_type")) ?: "", "https://in-toto.io/Statement/v1"))
		return false;
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(st, "subject"), i, s) {
		const char *h = json_string_value(json_object_get(json_object_get(s, "digest"), "sha256"));
		if (h && !strcmp(h, HEX))
			return true;
	}
	return false;
}

static void fuzz_envelope(const struct sections *s, const struct dsse_keys *keys)
{
	json_error_t je;
	json_t *env = json_loadb(s->part[1], s->len[1], 0, &je);
	if (!json_is_object(env)) {
		json_decref(env);
		return;
	}
	const char *p = json_string_value(json_object_get(env, "payload"));
	if (p && !strcmp(p, "part:2") && s->n > 2) {
		struct strbuf p64 = STRBUF_INIT;
		b64_encode(s->part[2], s->len[2], &p64);
		json_object_set_new(env, "payload", json_string(sb_str(&p64)));
		sb_release(&p64);
	}
	struct strbuf payload = STRBUF_INIT;
	p = json_string_value(json_object_get(env, "payload"));
	err_t *be = p ? b64_decode(p, strlen(p), "payload", &payload) : err_new(EXIT_FAILED, "no payload");
	const char *type = json_string_value(json_object_get(env, "payloadType"));
	size_t i;
	json_t *sg;
	json_array_foreach(json_object_get(env, "signatures"), i, sg) {
		const char *v = json_string_value(json_object_get(sg, "sig"));
		if (!be && type && v && !strcmp(v, "sign")) {
			struct strbuf pae = STRBUF_INIT, sig = STRBUF_INIT, sig64 = STRBUF_INIT;
			dsse_pae(type, payload.buf, payload.len, &pae);
			if (key_sign(key, pae.buf, pae.len, SIG_DER, &sig))
				abort();
			b64_encode(sig.buf, sig.len, &sig64);
			json_object_set_new(sg, "sig", json_string(sb_str(&sig64)));
			sb_release(&pae);
			sb_release(&sig);
			sb_release(&sig64);
		}
	}
	char *text = json_dumps(env, JSON_COMPACT);
	struct evidence ev = { 0 };
	if (text)
		evidence_add(&ev, "fuzz", text, strlen(text), NULL);
	evidence_verify(&ev, keys, DIGEST);
	for (size_t k = 0; k < ev.n; k++) {
		if (ev.items[k].invalid)
			continue;
		json_t *st = json_loadb(payload.buf ? payload.buf : "", payload.len, 0, &je);
		if (be || !signed_by_key(env, &payload) || !names_digest(st) || !ev.items[k].opened.signer)
			abort();
		json_decref(st);
	}
	/* the gate over it: every rule kind reads the opened statement */
	struct policy pol = { 0 };
	static const char rules[] = "tests-passed unittest\nmax-findings lint error 0\nmax-vulnerabilities high 0\n"
				    "built-from-branch main\ndeployed-to prod\n";
	if (!policy_parse(rules, sizeof rules - 1, "rules", &pol)) {
		struct policy_verdict *v = NULL;
		policy_evaluate(&pol, &ev, &v);
		policy_verdicts_free(v, pol.n);
	}
	policy_release(&pol);
	FILE *devnull = fopen("/dev/null", "w");
	if (devnull) {
		evidence_print(&ev, true, devnull);
		evidence_print(&ev, false, devnull);
		fclose(devnull);
	}
	evidence_release(&ev);
	free(text);
	err_free(be);
	sb_release(&payload);
	json_decref(env);
}

static void fuzz_policy(const struct sections *s)
{
	struct policy pol = { 0 };
	err_t *e = policy_parse(s->part[1], s->len[1], "fuzz", &pol);
	if (!e) {
		struct evidence none = { 0 };
		struct policy_verdict *v = NULL;
		policy_evaluate(&pol, &none, &v);
		for (size_t i = 0; i < pol.n; i++)
			if (v[i].ok || !v[i].reason)
				abort(); /* no evidence meets no rule */
		policy_verdicts_free(v, pol.n);
	}
	err_free(e);
	policy_release(&pol);
}

static void fuzz_report(const struct sections *s)
{
	const char *pt = NULL;
	json_t *pred = NULL;
	err_t *e = record_test_predicate(s->part[0], s->part[1], s->len[1], "fuzz", "https://ci.example/1",
					 "2026-01-01T00:00:00Z", &pt, &pred);
	if (!e) {
		const char *r = json_string_value(json_object_get(pred, "result"));
		if (!json_is_object(pred) || !pt ||
		    (!strcmp(pt, PT_TEST_RESULT) && (!r || (strcmp(r, "PASSED") && strcmp(r, "WARNED") && strcmp(r, "FAILED")))))
			abort();
	}
	err_free(e);
	json_decref(pred);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dsse_keys keys;
	if (!key) {
		log_setup("fuzz_publish_doi", LOG_HUMAN, LOG_ERROR);
		if (key_generate_p256(&key))
			abort();
		static EVP_PKEY *k[1];
		static char *names[1] = { "fuzz" };
		k[0] = key;
		keys = (struct dsse_keys){ k, names, 1 };
	}
	struct sections s;
	sections_split(data, size, &s);
	if (s.n >= 2) {
		if (!strcmp(s.part[0], "envelope"))
			fuzz_envelope(&s, &keys);
		else if (!strcmp(s.part[0], "policy"))
			fuzz_policy(&s);
		else
			fuzz_report(&s);
	}
	sections_release(&s);
	ERR_clear_error();
	return 0;
}
