/* Fuzz cosign verification over what a registry serves: the .sig manifest's
 * layer walk and the simple-signing payload check (common/cosign).
 *
 * Input: the .sig manifest JSON, then "\n--\n"-separated blobs (sections.h)
 * that the fake registry serves by digest and size. So the fuzzer gets past
 * digests and signatures, a layer's "digest":"blob:N" becomes blob N's
 * digest and size, and a signature annotation "sign:N" a valid signature
 * over blob N by the key verified with. Whatever the input, a pass must
 * come from a payload this key signed that names exactly the image digest
 * and repository; anything else is a bug (abort). */
#include <openssl/err.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "cosign.h"
#include "digest.h"
#include "jsonutil.h"
#include "keys.h"
#include "log.h"
#include "sections.h"

#define REPO "registry.example:5000/team/app"
#define DIGEST "sha256:4d2b9a0c87a4e7a8b6a0f1d3c5b7e9f10213243546576879a0b1c2d3e4f5a6b7"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *key;

struct served {
	const struct sections *s;
	const char *last; /* payload served last */
	size_t last_len;
};

static err_t *serve(void *ctx, const char *digest, int64_t size, struct strbuf *out)
{
	struct served *sv = ctx;
	for (size_t i = 1; i < sv->s->n; i++) {
		char d[DIGEST_SIZE];
		digest_buffer(sv->s->part[i], sv->s->len[i], d);
		if (!strcmp(d, digest) && (size < 0 || (uint64_t)size == sv->s->len[i])) {
			sb_add(out, sv->s->part[i], sv->s->len[i]);
			sv->last = sv->s->part[i];
			sv->last_len = sv->s->len[i];
			return NULL;
		}
	}
	return err_new(EXIT_FAILED, "blob %s not found", digest);
}

/* "blob:N" / "sign:N" -> N when it names a blob, else 0 */
static size_t blob_ref(const char *v, const char *prefix, const struct sections *s)
{
	size_t pl = strlen(prefix);
	if (!v || strncmp(v, prefix, pl) || v[pl] < '1' || v[pl] > '9' || v[pl + 1])
		return 0;
	size_t n = (size_t)(v[pl] - '0');
	return n < s->n ? n : 0;
}

/* What verification must have found in a payload it accepts, checked
 * without the code under test. */
static bool names_image(const char *payload, size_t len)
{
	json_error_t je;
	json_t *p = json_loadb(payload, len, 0, &je);
	json_t *crit = json_object_get(p, "critical");
	const char *d = json_string_value(json_object_get(json_object_get(crit, "image"), "docker-manifest-digest"));
	const char *t = json_string_value(json_object_get(crit, "type"));
	const char *r = json_string_value(json_object_get(json_object_get(crit, "identity"), "docker-reference"));
	size_t rl = strlen(REPO);
	bool ok = d && !strcmp(d, DIGEST) && t && !strcmp(t, "cosign container image signature") && r &&
		  !strncmp(r, REPO, rl) && (!r[rl] || r[rl] == ':' || r[rl] == '@');
	json_decref(p);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!key) {
		log_setup("fuzz_cosign", LOG_HUMAN, LOG_ERROR);
		err_t *e = key_generate_p256(&key);
		if (e)
			abort();
	}
	struct sections s;
	sections_split(data, size, &s);
	bool signed_blob[SECTIONS_MAX] = { false };

	for (size_t i = 1; i < s.n; i++) {
		err_t *e = cosign_check_payload(s.part[i], s.len[i], REPO, DIGEST);
		if (!e && !names_image(s.part[i], s.len[i]))
			abort();
		err_free(e);
	}

	json_error_t je;
	json_t *doc = json_loadb(s.part[0], s.len[0], 0, &je);
	size_t i;
	json_t *l;
	json_array_foreach(json_object_get(doc, "layers"), i, l) {
		size_t n = blob_ref(json_string_value(json_object_get(l, "digest")), "blob:", &s);
		if (n) {
			char d[DIGEST_SIZE];
			digest_buffer(s.part[n], s.len[n], d);
			json_object_set_new(l, "digest", json_string(d));
			json_object_set_new(l, "size", json_integer((json_int_t)s.len[n]));
		}
		json_t *ann = json_object_get(l, "annotations");
		n = blob_ref(json_string_value(json_object_get(ann, COSIGN_SIG_ANNOTATION)), "sign:", &s);
		if (n) {
			struct strbuf sig = STRBUF_INIT, sig64 = STRBUF_INIT;
			if (key_sign(key, s.part[n], s.len[n], SIG_DER, &sig))
				abort();
			b64_encode(sig.buf, sig.len, &sig64);
			json_object_set_new(ann, COSIGN_SIG_ANNOTATION, json_string(sb_str(&sig64)));
			signed_blob[n] = true;
			sb_release(&sig);
			sb_release(&sig64);
		}
	}
	if (doc) {
		struct served sv = { &s, NULL, 0 };
		err_t *e = cosign_verify_manifest(doc, serve, &sv, REPO, DIGEST, "sha256-x.sig", key);
		if (!e) {
			/* the pass is the payload served last: signed by us, naming the image */
			bool ours = false;
			for (size_t k = 1; k < s.n; k++)
				ours |= signed_blob[k] && sv.last_len == s.len[k] && !memcmp(sv.last, s.part[k], s.len[k]);
			if (!ours || !names_image(sv.last, sv.last_len))
				abort();
		}
		err_free(e);
	}
	json_decref(doc);
	sections_release(&s);
	ERR_clear_error();
	return 0;
}
