#include "attest.h"

#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cosign.h"
#include "dsse.h"
#include "xalloc.h"

#define MARK_HEX 16
#define MAX_ROUNDS 50

char *attest_tag(const char *digest)
{
	return xasprintf("sha256-%s.att", digest_hex(digest));
}

/* The layers of the manifest at tag (an empty array when there is none). */
static err_t *get_layers(struct registry *r, const char *tag, json_t **layers)
{
	json_t *doc = NULL;
	bool exists = false;
	err_t *e = cosign_get_manifest(r, tag, &doc, &exists, NULL);
	*layers = !e && exists ? json_incref(json_object_get(doc, "layers")) : NULL;
	if (!e && !*layers)
		*layers = json_array();
	json_decref(doc);
	return e;
}

static bool has_layer(const json_t *layers, const char *hexprefix, size_t n)
{
	size_t i;
	json_t *l;
	json_array_foreach(layers, i, l) {
		const char *d = json_string_value(json_object_get(l, "digest"));
		if (d && !strncmp(digest_hex(d), hexprefix, n))
			return true;
	}
	return false;
}

struct marks {
	const char *prefix; /* "<att tag>." */
	size_t prefix_len;
	json_t *tags; /* array of mark suffixes */
};

static err_t *collect_mark(const char *tag, void *ctx)
{
	struct marks *m = ctx;
	if (!strncmp(tag, m->prefix, m->prefix_len) && strlen(tag + m->prefix_len) == MARK_HEX)
		json_array_append_new(m->tags, json_string(tag + m->prefix_len));
	return NULL;
}

/* Add to layers the marked layers it lacks (known: suffix -> layer, a
 * cache of marks already read); *added says how many. */
static err_t *merge_marks(struct registry *r, const char *tag, json_t *layers, json_t *known, size_t *added)
{
	*added = 0;
	_cleanup_free_ char *prefix = xasprintf("%s.", tag);
	struct marks m = { prefix, strlen(prefix), json_array() };
	err_t *e = registry_list_tags(r, collect_mark, &m);
	size_t i;
	json_t *s;
	json_array_foreach(m.tags, i, s) {
		if (e)
			break;
		const char *suffix = json_string_value(s);
		if (has_layer(layers, suffix, MARK_HEX))
			continue;
		json_t *l = json_object_get(known, suffix);
		if (!l) {
			_cleanup_free_ char *mtag = xasprintf("%s%s", prefix, suffix);
			json_t *ml = NULL;
			e = get_layers(r, mtag, &ml);
			l = json_array_get(ml, 0);
			if (!e && l)
				json_object_set(known, suffix, l);
			json_decref(ml);
			l = json_object_get(known, suffix);
		}
		if (!e && l) {
			json_array_append(layers, l);
			(*added)++;
		}
	}
	json_decref(m.tags);
	return e;
}

/* Read the .att manifest and the marks, PUT it with the marked layers it
 * lacks and ours, and again until a read lacks nothing marked. Our mark
 * and our first PUT of the .att manifest go side by side (with their
 * blobs uploaded side by side before): every read that can end the loop
 * comes after both, which is all the marks need (a writer whose PUT
 * dropped our layer reads after its PUT, so after our mark, and puts it
 * back). Our own mark's layer is known (never read back). */
err_t *attest_put(struct registry *r, const char *digest, const void *envelope, size_t len,
		  const char *predicate_type, char layer_digest[DIGEST_SIZE])
{
	char d[DIGEST_SIZE];
	digest_buffer(envelope, len, d);
	_cleanup_free_ char *tag = attest_tag(digest);
	_cleanup_free_ char *mark = xasprintf("%s.%.*s", tag, MARK_HEX, digest_hex(d));
	json_t *layer = json_pack("{s:s, s:I, s:s, s:{s:s, s:s}}", "mediaType", DSSE_MEDIA_TYPE, "size", (json_int_t)len,
				  "digest", d, "annotations", COSIGN_SIG_ANNOTATION, "", ATTEST_PREDICATE_ANNOTATION,
				  predicate_type);
	json_t *mine = json_pack("[O]", layer);
	json_t *known = json_pack("{s:o}", mark + strlen(tag) + 1, layer);
	json_t *layers = NULL;
	size_t added = 0;
	err_t *e = get_layers(r, tag, &layers);
	if (!e)
		e = merge_marks(r, tag, layers, known, &added);
	if (err_is(e, ERR_KIND_NOT_FOUND)) { /* a new repository: no tags yet */
		err_free(e);
		e = NULL;
	}
	if (!e) {
		if (!has_layer(layers, digest_hex(d), MARK_HEX))
			json_array_append(layers, layer);
		const struct strbuf blob = { .buf = (char *)envelope, .len = len };
		const char *tags[] = { mark, tag };
		json_t *const all[] = { mine, layers };
		e = cosign_put_manifests(r, tags, all, 2, &blob);
	}
	json_decref(layers);
	int round = 0;
	for (; !e && round < MAX_ROUNDS; round++) {
		layers = NULL;
		e = get_layers(r, tag, &layers);
		if (!e)
			e = merge_marks(r, tag, layers, known, &added);
		if (!e && added)
			e = cosign_put_manifest(r, tag, layers, NULL, false, NULL);
		json_decref(layers);
		if (!e && !added)
			break;
	}
	if (!e && round == MAX_ROUNDS)
		e = err_new(EXIT_FAILED, "%s: still missing records after %d rounds of concurrent writers", tag,
			    MAX_ROUNDS);
	json_decref(mine);
	json_decref(known);
	if (!e && layer_digest)
		memcpy(layer_digest, d, DIGEST_SIZE);
	return e ? err_wrap(e, "attestation for %s not published in %s/%s", digest, registry_host(r),
			    registry_repository(r))
		 : NULL;
}

static err_t *sink(const void *data, size_t len, void *ctx)
{
	struct strbuf *sb = ctx;
	if (sb->len + len > DSSE_ENVELOPE_MAX)
		return err_new(EXIT_POLICY, "envelope larger than %d bytes", DSSE_ENVELOPE_MAX);
	sb_add(sb, data, len);
	return NULL;
}

err_t *attest_read(struct registry *r, const char *digest, struct evidence *ev)
{
	_cleanup_free_ char *tag = attest_tag(digest);
	json_t *layers = NULL;
	TRY(get_layers(r, tag, &layers));
	size_t i;
	json_t *l;
	err_t *e = NULL;
	json_array_foreach(layers, i, l) {
		const char *mt = json_string_value(json_object_get(l, "mediaType"));
		const char *d = json_string_value(json_object_get(l, "digest"));
		json_int_t size = json_integer_value(json_object_get(l, "size"));
		if (!mt || strcmp(mt, DSSE_MEDIA_TYPE))
			continue;
		_cleanup_free_ char *src = xasprintf("registry:%s@%s", tag, d ? d : "?");
		if (!d || !digest_valid(d) || size < 0 || size > DSSE_ENVELOPE_MAX) {
			evidence_add(ev, src, "", 0, "layer without a valid digest and size");
			continue;
		}
		struct strbuf sb = STRBUF_INIT;
		err_t *be = registry_get_blob(r, d, size, sink, &sb);
		if (be && (be->code == EXIT_UNREACHABLE || be->code == EXIT_AUTH)) {
			e = be;
			sb_release(&sb);
			break;
		}
		_cleanup_free_ char *why = be ? err_describe(be) : NULL;
		err_free(be);
		evidence_add(ev, src, sb.buf ? sb.buf : "", sb.len, why);
		sb_release(&sb);
	}
	json_decref(layers);
	return e;
}
