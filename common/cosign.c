#include "cosign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "cleanup.h"
#include "digest.h"
#include "jsonutil.h"
#include "keys.h"
#include "log.h"
#include "manifest.h"
#include "trust_verify.h"
#include "xalloc.h"

#define PAYLOAD_MAX (64 * 1024)

char *cosign_sig_tag(const char *digest)
{
	return xasprintf("sha256-%s.sig", digest_hex(digest));
}

void cosign_payload(const char *repo, const char *digest, struct strbuf *out)
{
	json_t *p = json_pack("{s:{s:{s:s}, s:{s:s}, s:s}, s:n}", "critical", "identity", "docker-reference", repo,
			      "image", "docker-manifest-digest", digest, "type", "cosign container image signature",
			      "optional");
	err_t *e = json_canonical(p, out);
	err_free(e); /* only strings: cannot fail */
	json_decref(p);
}

static err_t *sig_manifest_of(const char *tag, struct registry_manifest *mp, err_t *e, json_t **doc, bool *exists,
			       char digest_out[DIGEST_SIZE]);

err_t *cosign_get_manifest(struct registry *r, const char *tag, json_t **doc, bool *exists,
			   char digest_out[DIGEST_SIZE])
{
	struct registry_manifest m = { 0 };
	err_t *e = registry_get_manifest(r, tag, &m);
	return sig_manifest_of(tag, &m, e, doc, exists, digest_out);
}

/* What the GET of the .sig manifest gave (m released), parsed. */
static err_t *sig_manifest_of(const char *tag, struct registry_manifest *mp, err_t *e, json_t **doc, bool *exists,
			       char digest_out[DIGEST_SIZE])
{
	*doc = NULL;
	*exists = false;
	struct registry_manifest m = *mp;
	memset(mp, 0, sizeof *mp);
	/* one GET, no HEAD first: a 404 is "no signatures yet" */
	if (err_is(e, ERR_KIND_NOT_FOUND)) {
		err_free(e);
		registry_manifest_release(&m);
		return NULL;
	}
	*exists = !e;
	if (!e && digest_out)
		memcpy(digest_out, m.digest, DIGEST_SIZE);
	if (!e)
		e = json_parse(m.body.buf ? m.body.buf : "", m.body.len, tag, doc);
	registry_manifest_release(&m);
	if (!e && !json_is_array(json_object_get(*doc, "layers")))
		e = err_new(EXIT_FAILED, "%s: not an image manifest with layers", tag);
	return e;
}

static err_t *get_blob(struct registry *r, const char *digest, int64_t size, struct strbuf *out);

static err_t *append_sink(const void *data, size_t len, void *ctx)
{
	struct strbuf *sb = ctx;
	if (sb->len + len > PAYLOAD_MAX)
		return err_new(EXIT_POLICY, "signature payload larger than %d bytes", PAYLOAD_MAX);
	sb_add(sb, data, len);
	return NULL;
}

static err_t *get_blob(struct registry *r, const char *digest, int64_t size, struct strbuf *out)
{
	if (size > PAYLOAD_MAX)
		return err_new(EXIT_POLICY, "signature payload %s is %lld bytes (at most %d)", digest, (long long)size,
			       PAYLOAD_MAX);
	return registry_get_blob(r, digest, size, append_sink, out);
}

static const char *layer_sig(const json_t *l)
{
	return json_string_value(json_object_get(json_object_get(l, "annotations"), COSIGN_SIG_ANNOTATION));
}

static bool layers_have(const json_t *layers, const char *sig64)
{
	size_t i;
	json_t *l;
	json_array_foreach(layers, i, l) {
		const char *s = layer_sig(l);
		if (s && !strcmp(s, sig64))
			return true;
	}
	return false;
}

/* Blobs known to be in the repository: those the current .sig manifest
 * names and those written since. */
struct known_blobs {
	char digest[16][DIGEST_SIZE];
	size_t n;
};

static bool blob_known(const struct known_blobs *k, const char *digest)
{
	for (size_t i = 0; i < k->n; i++)
		if (!strcmp(k->digest[i], digest))
			return true;
	return false;
}

static void blob_add(struct known_blobs *k, const char *digest)
{
	size_t len = digest ? strlen(digest) : 0;
	if (digest && len < DIGEST_SIZE && !blob_known(k, digest) && k->n < 16)
		memcpy(k->digest[k->n++], digest, len + 1);
}

static void blobs_of(const json_t *doc, struct known_blobs *k)
{
	k->n = 0;
	blob_add(k, json_string_value(json_object_get(json_object_get(doc, "config"), "digest")));
	size_t i;
	json_t *l;
	json_array_foreach(json_object_get(doc, "layers"), i, l) blob_add(k, json_string_value(json_object_get(l, "digest")));
}

/* Upload the blob unless known to be there (without asking: blobs not
 * named by the current manifest are new but for rare races, and an upload
 * of a blob that exists is harmless). */
static err_t *ensure_blob(struct registry *r, const void *data, size_t len, struct known_blobs *known)
{
	char d[DIGEST_SIZE];
	digest_buffer(data, len, d);
	if (blob_known(known, d))
		return NULL;
	TRY(registry_upload_blob_buffer(r, data, len));
	blob_add(known, d);
	return NULL;
}

/* cosign's config for layers: its rootfs names each layer's digest. */
static void sig_config(const json_t *layers, struct strbuf *cfgb, char cdigest[DIGEST_SIZE])
{
	json_t *diff_ids = json_array();
	size_t i;
	json_t *l;
	json_array_foreach(layers, i, l) json_array_append(diff_ids, json_object_get(l, "digest"));
	json_t *cfg = json_pack("{s:s, s:s, s:[{s:s}], s:s, s:{s:s, s:o}, s:{}}", "architecture", "", "created",
				"0001-01-01T00:00:00Z", "history", "created", "0001-01-01T00:00:00Z", "os", "", "rootfs",
				"type", "layers", "diff_ids", diff_ids, "config");
	manifest_dump(cfg, cfgb);
	json_decref(cfg);
	digest_buffer(cfgb->buf, cfgb->len, cdigest);
}

/* The blobs of a signature manifest: the payload and the config (cfgb,
 * from sig_config), each uploaded unless known. An upload publishes
 * nothing (no manifest names the blobs yet), so it may go before the gate
 * of cosign_sign_opts. */
static err_t *ensure_sig_blobs(struct registry *r, const struct strbuf *payload, const struct strbuf *cfgb,
			       struct known_blobs *known)
{
	if (!payload) /* the caller's layers: only the config here */
		return ensure_blob(r, cfgb->buf, cfgb->len, known);
	char pd[DIGEST_SIZE], cd[DIGEST_SIZE];
	digest_buffer(payload->buf, payload->len, pd);
	digest_buffer(cfgb->buf, cfgb->len, cd);
	if (blob_known(known, pd) || blob_known(known, cd)) {
		TRY(ensure_blob(r, payload->buf, payload->len, known));
		return ensure_blob(r, cfgb->buf, cfgb->len, known);
	}
	/* both new: uploaded side by side */
	const void *datas[] = { payload->buf ? payload->buf : "", cfgb->buf ? cfgb->buf : "" };
	size_t lens[] = { payload->len, cfgb->len };
	TRY(registry_upload_blob_buffers(r, datas, lens, 2));
	blob_add(known, pd);
	blob_add(known, cd);
	return NULL;
}

/* The manifest of layers (body) and cosign's config for it (cfgb). */
static void sig_manifest(const json_t *layers, struct strbuf *cfgb, struct strbuf *body)
{
	char cdigest[DIGEST_SIZE];
	sig_config(layers, cfgb, cdigest);
	json_t *m = json_pack("{s:i, s:s, s:{s:s, s:I, s:s}, s:O}", "schemaVersion", 2, "mediaType", MT_OCI_MANIFEST,
			      "config", "mediaType", MT_OCI_CONFIG, "size", (json_int_t)cfgb->len, "digest", cdigest,
			      "layers", (json_t *)layers);
	manifest_dump(m, body);
	json_decref(m);
}

/* PUT the manifest for layers (with cosign's config) under tag. With
 * known, the payload and config blobs not known to be there are uploaded
 * first; without, the PUT goes first (the blobs usually exist: the payload
 * is the same for every signer of a digest, and so is the config for a
 * given number of signatures) and they are uploaded only when the registry
 * says a blob is unknown. payload NULL: the layers' blobs are the caller's
 * (only the config is uploaded here). */
static err_t *put_sig_manifest(struct registry *r, const char *tag, const json_t *layers, const struct strbuf *payload,
			       struct known_blobs *known, char digest_out[DIGEST_SIZE])
{
	struct strbuf cfgb = STRBUF_INIT, body = STRBUF_INIT;
	sig_manifest(layers, &cfgb, &body);
	err_t *e = known ? ensure_sig_blobs(r, payload, &cfgb, known) : NULL;
	if (!e)
		e = registry_put_manifest(r, tag, MT_OCI_MANIFEST, body.buf, body.len, digest_out);
	/* concurrent uploads of the same blob can leave the registry briefly
	 * without it: upload again (after a short pause) and retry */
	for (int attempt = 0; e && attempt < 5 && err_is(e, ERR_KIND_NOT_FOUND); attempt++) {
		err_free(e);
		if (attempt)
			usleep((useconds_t)(10000 * attempt));
		e = payload ? registry_put_blob_buffer(r, payload->buf, payload->len, NULL) : NULL;
		if (!e)
			e = registry_put_blob_buffer(r, cfgb.buf, cfgb.len, NULL);
		if (!e)
			e = registry_put_manifest(r, tag, MT_OCI_MANIFEST, body.buf, body.len, digest_out);
	}
	sb_release(&cfgb);
	sb_release(&body);
	return e;
}

err_t *cosign_put_manifest(struct registry *r, const char *tag, const json_t *layers, const struct strbuf *blob,
			   bool config_exists, char digest_out[DIGEST_SIZE])
{
	struct known_blobs known = { .n = 0 };
	return put_sig_manifest(r, tag, layers, blob, blob || !config_exists ? &known : NULL, digest_out);
}

err_t *cosign_put_manifests(struct registry *r, const char *const *tags, json_t *const *layers, size_t n,
			    const struct strbuf *blob)
{
	struct strbuf *cfgs = xcalloc(n, sizeof *cfgs), *bodies = xcalloc(n, sizeof *bodies);
	const void **datas = xcalloc(n + 1, sizeof *datas);
	size_t *lens = xcalloc(n + 1, sizeof *lens), m = 0;
	struct known_blobs up = { .n = 0 };
	if (blob) {
		datas[m] = blob->buf ? blob->buf : "";
		lens[m++] = blob->len;
	}
	for (size_t i = 0; i < n; i++) {
		sig_manifest(layers[i], &cfgs[i], &bodies[i]);
		char cd[DIGEST_SIZE];
		digest_buffer(cfgs[i].buf, cfgs[i].len, cd);
		if (!blob_known(&up, cd)) { /* the same layers: one config */
			blob_add(&up, cd);
			datas[m] = cfgs[i].buf;
			lens[m++] = cfgs[i].len;
		}
	}
	err_t *e = registry_upload_blob_buffers(r, datas, lens, m);
	err_t **errs = xcalloc(n, sizeof *errs);
	if (!e)
		registry_put_manifests(r, tags, MT_OCI_MANIFEST, bodies, errs, n);
	for (size_t i = 0; i < n; i++) {
		/* a blob lost to a concurrent upload of the same blob: the
		 * single PUT's way (upload again, retry) */
		if (err_is(errs[i], ERR_KIND_NOT_FOUND)) {
			err_free(errs[i]);
			struct known_blobs known = { .n = 0 };
			errs[i] = put_sig_manifest(r, tags[i], layers[i], blob, &known, NULL);
		}
		if (!e)
			e = errs[i];
		else
			err_free(errs[i]);
		sb_release(&cfgs[i]);
		sb_release(&bodies[i]);
	}
	free(errs);
	free(lens);
	free(datas);
	free(bodies);
	free(cfgs);
	return e;
}

/* Signer marks. The registry has no compare-and-swap: a writer W that
 * read the shared .sig manifest before our PUT may overwrite it, its PUT
 * landing after ours. So every signer also has a mark, the tag
 * "<sig tag>.<key id>" (a one-layer signature manifest by its key), written
 * before its first PUT of the shared manifest (skipped when what it read
 * already holds a layer of its key: that layer's writer wrote the mark),
 * and every layer we write names its key in COSIGN_KEYID_ANNOTATION. After
 * each PUT a writer lists the tags: every marked key must have a layer in
 * what it wrote, else it reads the missing marks and merges again. W's
 * listing comes after its PUT, which came after ours, which came after our
 * mark: the last writer always sees every mark and puts a dropped
 * signature back. One re-read (the tag list), no waiting, no timing
 * assumption. */
#define COSIGN_KEYID_ANNOTATION "org.secure-pipeline.cosign/key-id"
#define MARK_KEYID_LEN 16

struct marks {
	const char *prefix; /* "<sig tag>." */
	size_t prefix_len;
	char **keyids;
	size_t n;
};

static err_t *collect_mark(const char *tag, void *ctx)
{
	struct marks *m = ctx;
	const char *id = tag + m->prefix_len;
	if (strncmp(tag, m->prefix, m->prefix_len) || strlen(id) != MARK_KEYID_LEN || m->n >= 1000)
		return NULL;
	m->keyids = xrealloc(m->keyids, (m->n + 1) * sizeof *m->keyids);
	m->keyids[m->n++] = xstrdup(id);
	return NULL;
}

static void marks_release(struct marks *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->keyids[i]);
	free(m->keyids);
	m->keyids = NULL;
	m->n = 0;
}

/* The key id a layer of ours names (COSIGN_KEYID_ANNOTATION), or NULL. */
static const char *layer_keyid(const json_t *l)
{
	return json_string_value(json_object_get(json_object_get(l, "annotations"), COSIGN_KEYID_ANNOTATION));
}

static bool layers_have_key(const json_t *layers, const char *keyid)
{
	size_t i;
	json_t *l;
	json_array_foreach(layers, i, l) {
		const char *k = layer_keyid(l);
		if (k && !strcmp(k, keyid) && layer_sig(l))
			return true;
	}
	return false;
}

/* The signature layer of the mark of keyid (appended to out). */
static err_t *read_mark(struct registry *r, const char *prefix, const char *keyid, json_t *out)
{
	_cleanup_free_ char *tag = xasprintf("%s%s", prefix, keyid);
	json_t *doc = NULL;
	bool exists = false;
	err_t *e = cosign_get_manifest(r, tag, &doc, &exists, NULL);
	size_t i;
	json_t *l;
	json_array_foreach(json_object_get(doc, "layers"), i, l) {
		const char *mt = json_string_value(json_object_get(l, "mediaType"));
		const char *k = layer_keyid(l);
		if (mt && !strcmp(mt, COSIGN_LAYER_TYPE) && layer_sig(l) && json_is_string(json_object_get(l, "digest")) &&
		    k && !strcmp(k, keyid))
			json_array_append(out, l);
	}
	json_decref(doc);
	if (e && e->code != EXIT_UNREACHABLE && e->code != EXIT_AUTH) {
		/* a tag that only looks like a mark: nothing to merge from it */
		log_warn("%s: not a signer mark, ignored: %s", tag, e->msg);
		err_free(e);
		e = NULL;
	}
	return e;
}

/* Whether layer l is a signature by pub over payload (digest pdigest). */
static bool layer_signed_by(const json_t *l, const char *pdigest, const struct strbuf *payload, EVP_PKEY *pub)
{
	const char *s = layer_sig(l);
	const char *d = json_string_value(json_object_get(l, "digest"));
	if (!s || !d || strcmp(d, pdigest))
		return false;
	struct strbuf der = STRBUF_INIT;
	err_t *e = b64_decode(s, strlen(s), "signature", &der);
	if (!e)
		e = key_verify(pub, payload->buf, payload->len, der.buf, der.len, SIG_DER);
	sb_release(&der);
	bool ok = !e;
	err_free(e);
	return ok;
}

static bool layers_signed_by(const json_t *layers, const char *pdigest, const struct strbuf *payload, EVP_PKEY *pub)
{
	size_t i;
	json_t *l;
	json_array_foreach(layers, i, l) {
		if (layer_signed_by(l, pdigest, payload, pub))
			return true;
	}
	return false;
}

/* Merge: current layers, minus an older signature by our key on the same
 * payload, plus ours, plus the marked signatures whose key has none. */
/* Each marked signature (read_mark) whose key has none in layers, appended. */
static void add_marked(json_t *layers, const json_t *marked)
{
	size_t i;
	json_t *l;
	json_array_foreach(marked, i, l) {
		const char *k = layer_keyid(l);
		if (k && !layers_have_key(layers, k))
			json_array_append(layers, l);
	}
}

static json_t *merge_layers(const json_t *current, const json_t *mine, const json_t *marked, const char *pdigest,
			    const struct strbuf *payload, const struct signer_key *key)
{
	json_t *layers = current ? json_deep_copy(current) : json_array();
	const char *own = layer_sig(mine);
	for (size_t i = json_array_size(layers); i-- > 0;) {
		json_t *l = json_array_get(layers, i);
		const char *s = layer_sig(l);
		if (s && strcmp(s, own) && layer_signed_by(l, pdigest, payload, signer_key_public(key)))
			json_array_remove(layers, i);
	}
	if (!layers_have(layers, own))
		json_array_append(layers, (json_t *)mine);
	add_marked(layers, marked);
	return layers;
}

static err_t *sign_into(struct registry *r, const char *repo, const char *digest, const struct signer_key *key,
			struct cosign_sign_opts *o, char sig_digest[DIGEST_SIZE])
{
	int conflict_retries = o->conflict_retries;
	bool gated = !o->before_write;
	o->wrote = false;
	TRY(digest_check(digest, "image digest"));
	struct strbuf payload = STRBUF_INIT, sig = STRBUF_INIT, sig64 = STRBUF_INIT;
	cosign_payload(repo, digest, &payload);
	char pdigest[DIGEST_SIZE], keyid[65] = "";
	digest_buffer(payload.buf, payload.len, pdigest);
	err_t *e = trust_key_id(signer_key_public(key), keyid);
	keyid[MARK_KEYID_LEN] = 0;
	json_t *mine = NULL, *marked = json_array();
	_cleanup_free_ char *tag = cosign_sig_tag(digest);
	_cleanup_free_ char *prefix = xasprintf("%s.", tag);
	_cleanup_free_ char *mark = xasprintf("%s%s", prefix, keyid);
	bool marked_once = false;
	/* the blobs of a first signature (the payload, and the config of a
	 * one-layer manifest, which names only the payload's digest): a new
	 * digest, the usual case, needs them before anything else, so their
	 * uploads go out beside the first read (an upload publishes nothing,
	 * and one of a blob that exists is harmless) */
	struct strbuf cfg1 = STRBUF_INIT;
	char cd1[DIGEST_SIZE] = "";
	bool ahead = !e;
	if (ahead) {
		json_t *one = json_pack("[{s:s}]", "digest", pdigest);
		sig_config(one, &cfg1, cd1);
		json_decref(one);
		const void *datas[] = { payload.buf, cfg1.buf };
		size_t lens[] = { payload.len, cfg1.len };
		registry_upload_ahead(r, datas, lens, 2);
	}
	bool ahead_stored = false;
	for (int attempt = 0; !e; attempt++) {
		json_t *doc = NULL;
		bool exists = false, retry = false;
		/* the first read; the caller's manifest beside it (also_get) */
		const char *refs[] = { tag, o->also_get };
		struct registry_manifest ms[2];
		err_t *errs[2];
		registry_get_manifests(r, refs, ms, errs, o->also_get ? 2 : 1);
		if (o->also_get) {
			o->also_get = NULL;
			o->also_got(o->also_ctx, &ms[1], errs[1]);
			registry_manifest_release(&ms[1]);
		}
		e = sig_manifest_of(tag, &ms[0], errs[0], &doc, &exists, sig_digest);
		struct known_blobs known;
		blobs_of(doc, &known);
		if (!e && ahead && !exists) {
			/* needed now: the uploads ahead done, or done here */
			err_t *ue = registry_upload_ahead_wait(r);
			if (ue)
				log_debug("%s: %s; uploading the ordinary way", tag, ue->msg);
			ahead_stored = !ue;
			ahead = false;
			err_free(ue);
		}
		if (ahead_stored) {
			blob_add(&known, pdigest);
			blob_add(&known, cd1);
		}
		json_t *layers = NULL;
		json_t *cur = exists ? json_object_get(doc, "layers") : NULL;
		/* already signed by this key on this payload (a re-run): nothing
		 * to write, as cosign's duplicate detection does; signatures still
		 * to be merged for others (marked) are never skipped */
		if (!e && exists && !json_array_size(marked) &&
		    layers_signed_by(cur, pdigest, &payload, signer_key_public(key))) {
			log_debug("%s already holds a signature by this key on this payload", tag);
			json_decref(doc);
			break;
		}
		if (!e && !mine) {
			e = signer_key_sign(key, payload.buf, payload.len, SIG_DER, &sig);
			if (!e) {
				b64_encode(sig.buf, sig.len, &sig64);
				mine = json_pack("{s:s, s:I, s:s, s:{s:s, s:s}}", "mediaType", COSIGN_LAYER_TYPE,
						 "size", (json_int_t)payload.len, "digest", pdigest, "annotations",
						 COSIGN_SIG_ANNOTATION, sb_str(&sig64), COSIGN_KEYID_ANNOTATION, keyid);
			}
		}
		/* our mark, before our PUT. A layer of our key in what we read
		 * means it was written before (by the writer of that layer) and
		 * holds a signature by this key on this same payload: enough for
		 * an overwriter to restore one, and a writer that read the layer
		 * keeps it anyway */
		if (!e && !gated) {
			/* a digest with no signatures yet: the mark's blobs (those
			 * of the one-layer manifest, which is also what the .sig
			 * will be) go up while the gate may still keep us waiting */
			if (!exists) {
				json_t *one = json_pack("[O]", mine);
				struct strbuf cfgb = STRBUF_INIT;
				char cdigest[DIGEST_SIZE];
				sig_config(one, &cfgb, cdigest);
				e = ensure_sig_blobs(r, &payload, &cfgb, &known);
				sb_release(&cfgb);
				json_decref(one);
			}
			gated = true;
			if (!e)
				e = o->before_write(o->before_write_ctx);
		}
		if (!e && !marked_once && !layers_have_key(cur, keyid)) {
			json_t *one = json_pack("[O]", mine);
			/* a one-layer manifest: its blobs exist unless this digest
			 * has no signatures at all */
			o->wrote = true; /* (a failed PUT may still have landed) */
			e = err_context(put_sig_manifest(r, mark, one, &payload, exists ? NULL : &known, NULL),
					"signer mark %s", mark);
			json_decref(one);
		}
		marked_once = true;
		if (!e) {
			layers = merge_layers(cur, mine, marked, pdigest, &payload, key);
			if (exists && json_equal(layers, cur)) {
				/* nothing to add: our PUT would change nothing, and
				 * sig_digest already names what we read */
			} else {
				o->wrote = true;
				e = put_sig_manifest(r, tag, layers, &payload, &known, sig_digest);
				/* concurrent uploads of the same config blob can leave the
				 * registry briefly without it: upload again and retry */
				if (e && attempt < conflict_retries && err_is(e, ERR_KIND_NOT_FOUND)) {
					log_warn("%s: the registry lost a blob during a concurrent upload; retrying", tag);
					err_free(e);
					e = NULL;
					retry = true;
				}
			}
		}
		if (!e && !retry) {
			/* the check after our PUT: every marked key has a layer in
			 * what we wrote. A writer that overwrote us after this writes
			 * last and makes the same check, so the manifest need not be
			 * read again. */
			const json_t *ours = layers;
			struct marks m = { prefix, strlen(prefix), NULL, 0 };
			e = registry_list_tags(r, collect_mark, &m);
			bool complete = true;
			for (size_t i = 0; !e && i < m.n; i++) {
				if (layers_have_key(ours, m.keyids[i]) || !strcmp(m.keyids[i], keyid))
					continue;
				size_t had = json_array_size(marked);
				e = read_mark(r, prefix, m.keyids[i], marked);
				if (!e && json_array_size(marked) > had)
					complete = false;
				else if (!e)
					log_debug("%s%s: not a signer mark (no signature by that key); ignored", prefix,
						  m.keyids[i]);
			}
			marks_release(&m);
			if (!e && !complete) {
				if (attempt < conflict_retries) {
					log_warn("%s: a concurrent signer dropped a signature; merging again", tag);
					retry = true;
				} else {
					e = err_new(EXIT_FAILED, "%s: signatures keep being overwritten by concurrent writers", tag);
				}
			}
		}
		json_decref(doc);
		json_decref(layers);
		if (!e && !retry)
			break;
	}
	if (ahead) /* not needed after all (a signed digest): left tidy */
		err_free(registry_upload_ahead_wait(r));
	json_decref(mine);
	json_decref(marked);
	sb_release(&cfg1);
	sb_release(&payload);
	sb_release(&sig);
	sb_release(&sig64);
	return e;
}

err_t *cosign_check_payload(const char *payload, size_t len, const char *repo, const char *digest)
{
	json_t *p = NULL;
	TRY(json_parse(payload ? payload : "", len, "signature payload", &p));
	json_t *crit = json_object_get(p, "critical");
	const char *type = json_string_value(json_object_get(crit, "type"));
	const char *ref = json_string_value(json_object_get(json_object_get(crit, "identity"), "docker-reference"));
	const char *d = json_string_value(json_object_get(json_object_get(crit, "image"), "docker-manifest-digest"));
	err_t *e = NULL;
	if (!type || strcmp(type, "cosign container image signature"))
		e = err_new(EXIT_POLICY, "signature payload is not a cosign container image signature");
	else if (!d || !digest_equal(d, digest))
		e = err_new(EXIT_POLICY, "signature is for digest %s, not %s (a signature on another image)",
			    d ? d : "(none)", digest);
	else if (!ref || (strcmp(ref, repo) && (strncmp(ref, repo, strlen(repo)) || (ref[strlen(repo)] != ':' &&
											 ref[strlen(repo)] != '@'))))
		e = err_new(EXIT_POLICY, "signature names identity %s, not %s", ref ? ref : "(none)", repo);
	json_decref(p);
	return e;
}

/* What a layer that did not verify says, least to most specific: its
 * signature is not by this key; it is malformed; it is by this key but
 * for another image or identity (a copied or misdirected signature); it
 * could not be checked (the registry failed). A verdict names the most
 * specific one over all layers, not whichever layer came last. */
enum layer_result { LAYER_OK, LAYER_SKIPPED, LF_OTHER_KEY, LF_MALFORMED, LF_OTHER_IMAGE, LF_UNCHECKED };

static enum layer_result check_layer(const json_t *l, cosign_blob_fn blob, void *ctx, const char *repo,
				     const char *digest, EVP_PKEY *pub, err_t **e)
{
	const char *mt = json_string_value(json_object_get(l, "mediaType"));
	const char *s = layer_sig(l);
	const char *d = json_string_value(json_object_get(l, "digest"));
	json_t *size = json_object_get(l, "size");
	*e = NULL;
	if (!mt || strcmp(mt, COSIGN_LAYER_TYPE) || !s || !d || !json_is_integer(size))
		return LAYER_SKIPPED; /* not a signature layer */
	struct strbuf der = STRBUF_INIT, payload = STRBUF_INIT;
	enum layer_result why = LF_MALFORMED;
	*e = b64_decode(s, strlen(s), "signature annotation", &der);
	if (!*e && der.len && der.buf[0] != 0x30) {
		/* raw r||s is not what cosign writes: refuse it */
		*e = err_new(EXIT_POLICY, "signature is not ASN.1 DER ECDSA");
	}
	if (!*e) {
		*e = blob(ctx, d, json_integer_value(size), &payload);
		if (*e && (*e)->code != EXIT_POLICY)
			why = LF_UNCHECKED;
	}
	if (!*e) {
		why = LF_OTHER_KEY;
		*e = key_verify(pub, payload.buf ? payload.buf : "", payload.len, der.buf, der.len, SIG_DER);
	}
	if (!*e) {
		why = LF_OTHER_IMAGE;
		*e = cosign_check_payload(payload.buf, payload.len, repo, digest);
	}
	sb_release(&der);
	sb_release(&payload);
	return *e ? why : LAYER_OK;
}

err_t *cosign_verify_manifest(const json_t *doc, cosign_blob_fn blob, void *ctx, const char *repo, const char *digest,
			      const char *tag, EVP_PKEY *pub)
{
	err_t *best = NULL;
	enum layer_result best_why = LAYER_SKIPPED;
	bool ok = false;
	size_t i;
	json_t *l;
	json_array_foreach(json_object_get(doc, "layers"), i, l) {
		err_t *e = NULL;
		enum layer_result why = check_layer(l, blob, ctx, repo, digest, pub, &e);
		if (why == LAYER_OK) {
			ok = true;
			break;
		}
		if (e && why > best_why) {
			err_free(best);
			best = e;
			best_why = why;
		} else {
			err_free(e);
		}
	}
	if (ok) {
		err_free(best);
		return NULL;
	}
	if (best_why == LF_OTHER_KEY) {
		err_free(best);
		return err_new(EXIT_POLICY, "no cosign signature by this key on %s (wrong key or forged signature)", digest);
	}
	if (best)
		return err_wrap(best, "cosign signature on %s", digest);
	return err_new(EXIT_POLICY, "no cosign signature layers in %s:%s", repo, tag);
}

static err_t *registry_blob(void *r, const char *digest, int64_t size, struct strbuf *out)
{
	return get_blob(r, digest, size, out);
}

err_t *cosign_verify(struct registry *r, const char *repo, const char *digest, EVP_PKEY *pub)
{
	TRY(digest_check(digest, "image digest"));
	_cleanup_free_ char *tag = cosign_sig_tag(digest);
	json_t *doc = NULL;
	bool exists = false;
	TRY(cosign_get_manifest(r, tag, &doc, &exists, NULL));
	if (!exists)
		return err_new(EXIT_POLICY, "no cosign signatures for %s (%s:%s missing)", digest, repo, tag);
	err_t *e = cosign_verify_manifest(doc, registry_blob, r, repo, digest, tag, pub);
	json_decref(doc);
	return e;
}

err_t *cosign_sign(struct registry *r, const char *repo, const char *digest, const struct signer_key *key,
		   struct cosign_sign_opts *opts, char sig_digest[DIGEST_SIZE])
{
	return sign_into(r, repo, digest, key, opts, sig_digest);
}

/* Make tag say nothing: delete its manifest (the tag goes with it), or
 * where the registry deletes nothing, put an empty signature manifest
 * (no layer: no signature, nothing for a signer to merge). */
static err_t *clear_sig_tag(struct registry *r, const char *tag, const char *digest, const struct strbuf *payload)
{
	err_t *e = registry_delete_manifest(r, digest);
	if (!e)
		return NULL;
	log_debug("%s: cannot delete %s (%s); emptying it", tag, digest, e->msg);
	err_free(e);
	json_t *none = json_array();
	struct known_blobs known = { .n = 0 };
	e = put_sig_manifest(r, tag, none, payload, &known, NULL);
	json_decref(none);
	return e;
}

/* layers without this key's signatures on this payload */
static json_t *without_own(const json_t *layers, const char *keyid, const char *pdigest, const struct strbuf *payload,
			   const struct signer_key *key)
{
	json_t *out = json_deep_copy(layers ? layers : json_array());
	for (size_t i = json_array_size(out); i-- > 0;) {
		json_t *l = json_array_get(out, i);
		const char *k = layer_keyid(l);
		if (k && !strcmp(k, keyid) && layer_signed_by(l, pdigest, payload, signer_key_public(key)))
			json_array_remove(out, i);
	}
	return out;
}

/* After a take-back wrote the .sig: a signer that wrote between our read
 * and our write (its mark is there, its layer is not in what we wrote) is
 * put back, and a layer of ours that came back with it is taken out
 * again, as sign_into's check after each PUT does for signers. */
static err_t *unsign_settle(struct registry *r, const char *tag, const char *keyid, const char *pdigest,
			    const struct strbuf *payload, const struct signer_key *key, json_t *written)
{
	_cleanup_free_ char *prefix = xasprintf("%s.", tag);
	err_t *e = NULL;
	for (int round = 0; !e && round < 4; round++) {
		struct marks m = { prefix, strlen(prefix), NULL, 0 };
		json_t *marked = json_array();
		e = registry_list_tags(r, collect_mark, &m);
		for (size_t i = 0; !e && i < m.n; i++)
			if (strcmp(m.keyids[i], keyid) && !layers_have_key(written, m.keyids[i]))
				e = read_mark(r, prefix, m.keyids[i], marked);
		marks_release(&m);
		bool missing = !e && json_array_size(marked);
		json_t *doc = NULL, *layers = NULL;
		bool exists = false;
		if (missing)
			e = cosign_get_manifest(r, tag, &doc, &exists, NULL);
		if (missing && !e) {
			layers = without_own(exists ? json_object_get(doc, "layers") : NULL, keyid, pdigest, payload, key);
			add_marked(layers, marked);
			log_warn("%s: a concurrent signer wrote during the take-back; putting its signature back", tag);
			struct known_blobs known;
			blobs_of(doc, &known);
			e = put_sig_manifest(r, tag, layers, payload, &known, NULL);
			json_decref(written);
			written = json_incref(layers);
		}
		json_decref(layers);
		json_decref(doc);
		json_decref(marked);
		if (!missing)
			break;
	}
	json_decref(written);
	return e;
}

err_t *cosign_unsign(struct registry *r, const char *repo, const char *digest, const struct signer_key *key)
{
	TRY(digest_check(digest, "image digest"));
	struct strbuf payload = STRBUF_INIT;
	cosign_payload(repo, digest, &payload);
	char pdigest[DIGEST_SIZE], keyid[65] = "", d[DIGEST_SIZE] = "";
	digest_buffer(payload.buf, payload.len, pdigest);
	err_t *e = trust_key_id(signer_key_public(key), keyid);
	keyid[MARK_KEYID_LEN] = 0;
	_cleanup_free_ char *tag = cosign_sig_tag(digest);
	_cleanup_free_ char *mark = xasprintf("%s.%s", tag, keyid);
	json_t *doc = NULL, *layers = NULL;
	bool exists = false;
	/* the mark first: once it is gone, no concurrent signer merges our
	 * signature back */
	if (!e)
		e = cosign_get_manifest(r, mark, &doc, &exists, d);
	if (!e && exists && json_array_size(json_object_get(doc, "layers")))
		e = err_context(clear_sig_tag(r, mark, d, &payload), "signer mark %s", mark);
	json_decref(doc);
	doc = NULL;
	if (!e)
		e = cosign_get_manifest(r, tag, &doc, &exists, d);
	if (!e && exists) {
		layers = without_own(json_object_get(doc, "layers"), keyid, pdigest, &payload, key);
		if (json_array_size(layers) == json_array_size(json_object_get(doc, "layers"))) {
			/* not there (anymore): nothing to take back */
		} else {
			if (!json_array_size(layers)) {
				e = clear_sig_tag(r, tag, d, &payload);
			} else {
				struct known_blobs known;
				blobs_of(doc, &known);
				e = put_sig_manifest(r, tag, layers, &payload, &known, NULL);
			}
			if (!e)
				e = unsign_settle(r, tag, keyid, pdigest, &payload, key, json_incref(layers));
		}
	}
	json_decref(doc);
	json_decref(layers);
	sb_release(&payload);
	return err_context(e, "take back the cosign signature on %s", digest);
}
