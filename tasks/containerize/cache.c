/* The layer cache (see cache.h). */
#include "cache.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "manifest.h"
#include "statedir.h"
#include "strbuf.h"
#include "xalloc.h"

struct cache {
	char *keys_dir; /* NULL: no local cache (none, or not safe: statedir.h) */
	int keys_fd;    /* keys_dir, open */
	struct oci_layout *store;
	struct registry *repo; /* NULL: no remote cache */
};

void cache_chain(const char *prev, const char *text, size_t len, char out[DIGEST_SIZE])
{
	struct sha256 h;
	sha256_init(&h);
	sha256_update(&h, prev, strlen(prev));
	sha256_update(&h, "\n", 1);
	sha256_update(&h, text, len);
	sha256_final(&h, out);
}

err_t *cache_open(const char *dir, const char *repo, const struct registry_options *ro, struct oci_layout *store,
		  struct cache **out)
{
	struct cache *c = xcalloc(1, sizeof *c);
	c->store = store;
	c->keys_fd = -1;
	if (dir && *dir) {
		/* a cache entry names the layer an instruction made: one planted
		 * by someone else would put their files in the image */
		_cleanup_free_ char *keys = xasprintf("%s/keys", dir);
		_cleanup_close_ int dfd = statedir_open(dir, "cache-dir", true);
		c->keys_fd = statedir_open_sub(dfd, "keys", keys, "cache-dir", true);
		if (c->keys_fd >= 0)
			c->keys_dir = steal_ptr(keys);
	}
	if (repo && *repo) {
		struct image_ref ref = { 0 };
		err_t *e = imageref_parse(repo, &ref);
		if (!e)
			e = registry_open_ref(&ref, ro, &c->repo);
		imageref_free(&ref);
		if (e) {
			cache_close(c);
			return err_wrap(e, "cache-repo");
		}
	}
	*out = c;
	return NULL;
}

void cache_close(struct cache *c)
{
	if (!c)
		return;
	if (c->keys_dir)
		close(c->keys_fd);
	free(c->keys_dir);
	registry_close(c->repo);
	free(c);
}

err_t *cache_entry_parse(const char *text, size_t len, bool *empty, struct layer_ref *out)
{
	json_error_t jerr;
	json_t *j = json_loadb(text, len, 0, &jerr);
	if (!json_is_object(j)) {
		json_decref(j);
		return err_new(EXIT_FAILED, "bad cache entry");
	}
	*empty = json_is_true(json_object_get(j, "empty"));
	err_t *e = NULL;
	if (!*empty) {
		const char *d = json_string_value(json_object_get(j, "digest"));
		const char *id = json_string_value(json_object_get(j, "diff_id"));
		const char *mt = json_string_value(json_object_get(j, "mediaType"));
		json_t *sz = json_object_get(j, "size");
		if (!d || !id || !mt || !json_is_integer(sz) || json_integer_value(sz) < 0 || !digest_valid(d) ||
		    !digest_valid(id)) {
			e = err_new(EXIT_FAILED, "bad cache entry");
		} else {
			memcpy(out->digest, d, DIGEST_SIZE);
			memcpy(out->diff_id, id, DIGEST_SIZE);
			out->size = json_integer_value(sz);
			out->media_type = xstrdup(mt);
		}
	}
	json_decref(j);
	return e;
}

static char *entry_json(const struct layer_ref *l)
{
	json_t *j = json_object();
	if (!l) {
		json_object_set_new(j, "empty", json_true());
	} else {
		json_object_set_new(j, "digest", json_string(l->digest));
		json_object_set_new(j, "diff_id", json_string(l->diff_id));
		json_object_set_new(j, "size", json_integer(l->size));
		json_object_set_new(j, "mediaType", json_string(l->media_type));
	}
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

static const char *tag_for(const char *key, char buf[96])
{
	snprintf(buf, 96, "cache-%s", digest_hex(key));
	return buf;
}

#define MT_CACHE_CONFIG "application/vnd.secure-pipeline.containerize.cache.v1+json"

err_t *cache_entry_from_manifest(const char *body, size_t len, const char *media_type, const char *tag, bool *empty,
				 struct layer_ref *out)
{
	struct manifest m = { 0 };
	err_t *e = manifest_parse(body, len, media_type, &m);
	if (!e && m.kind != MANIFEST_IMAGE)
		e = err_new(EXIT_FAILED, "cache entry %s is not an image manifest", tag);
	if (!e) {
		/* the entry itself travels as the manifest's annotation */
		json_t *ann = json_object_get(m.json, "annotations");
		const char *entry = json_string_value(json_object_get(ann, "containerize.cache.entry"));
		if (!entry)
			e = err_new(EXIT_FAILED, "cache entry %s has no record", tag);
		else
			e = cache_entry_parse(entry, strlen(entry), empty, out);
	}
	manifest_release(&m);
	return e;
}

static err_t *remote_get(struct cache *c, const char *key, bool *hit, bool *empty, struct layer_ref *out)
{
	char tag[96];
	struct registry_manifest rm = { 0 };
	bool exists = false;
	TRY(registry_head_manifest(c->repo, tag_for(key, tag), &exists, NULL, NULL));
	if (!exists)
		return NULL;
	TRY(registry_get_manifest(c->repo, tag, &rm));
	err_t *e = cache_entry_from_manifest(rm.body.buf, rm.body.len, rm.media_type, tag, empty, out);
	if (!e && !*empty && !oci_layout_has_blob(c->store, out->digest)) {
		int fd = -1;
		char *tmp = NULL;
		e = store_file_begin(c->store, &fd, &tmp);
		if (!e) {
			e = registry_get_blob_fd(c->repo, out->digest, out->size, fd);
			if (!e)
				e = store_file_commit(c->store, fd, tmp, out->digest);
			else
				store_file_abort(fd, tmp);
		}
	}
	if (!e)
		*hit = true;
	else if (!*empty)
		layer_ref_release(out);
	registry_manifest_release(&rm);
	return e;
}

err_t *cache_get(struct cache *c, const char *key, bool *hit, bool *empty, struct layer_ref *out)
{
	*hit = false;
	*empty = false;
	if (!c)
		return NULL;
	if (c->keys_dir) {
		_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
		if (statedir_read(c->keys_fd, c->keys_dir, digest_hex(key), 1 << 16, &sb)) {
			err_t *e = cache_entry_parse(sb.buf, sb.len, empty, out);
			if (e) {
				log_warn("cache entry %s/%s unreadable, ignored", c->keys_dir, digest_hex(key));
				err_free(e);
			} else if (*empty || oci_layout_has_blob(c->store, out->digest)) {
				*hit = true;
				return NULL;
			} else {
				layer_ref_release(out);
			}
		}
	}
	if (c->repo) {
		err_t *e = remote_get(c, key, hit, empty, out);
		if (e) {
			_cleanup_free_ char *msg = err_describe(e);
			log_warn("cache-repo lookup failed (building instead): %s", msg);
			err_free(e);
			*hit = false;
		}
	}
	return NULL;
}

static err_t *remote_put(struct cache *c, const char *key, const struct layer_ref *l, const char *entry)
{
	static const char cfg[] = "{}";
	struct descriptor config = { 0 };
	config.media_type = (char *)MT_CACHE_CONFIG;
	config.size = (int64_t)strlen(cfg);
	TRY(registry_put_blob_buffer(c->repo, cfg, strlen(cfg), config.digest));
	struct descriptor layer = { 0 };
	if (l) {
		int fd = -1;
		int64_t size = 0;
		TRY(oci_layout_open_blob(c->store, l->digest, &fd, &size));
		err_t *e = registry_put_blob_fd(c->repo, l->digest, size, fd);
		close(fd);
		TRY(e);
		layer.media_type = l->media_type;
		memcpy(layer.digest, l->digest, DIGEST_SIZE);
		layer.size = l->size;
	}
	json_t *ann = json_object();
	json_object_set_new(ann, "containerize.cache.entry", json_string(entry));
	json_t *doc = manifest_build_image(MT_OCI_MANIFEST, &config, &layer, l ? 1 : 0, ann);
	struct strbuf body = STRBUF_INIT;
	manifest_dump(doc, &body);
	json_decref(doc);
	char tag[96];
	err_t *e = registry_put_manifest(c->repo, tag_for(key, tag), MT_OCI_MANIFEST, body.buf, body.len, NULL);
	sb_release(&body);
	return e;
}

err_t *cache_put(struct cache *c, const char *key, const struct layer_ref *layer)
{
	if (!c)
		return NULL;
	_cleanup_free_ char *entry = entry_json(layer);
	if (c->keys_dir) {
		err_t *e = statedir_write(c->keys_fd, c->keys_dir, digest_hex(key), entry, strlen(entry), false);
		if (e) {
			_cleanup_free_ char *msg = err_describe(e);
			log_warn("cannot record a cache entry: %s", msg);
			err_free(e);
		}
	}
	if (c->repo) {
		err_t *e = remote_put(c, key, layer, entry);
		if (e) {
			_cleanup_free_ char *msg = err_describe(e);
			log_warn("cannot push a cache entry to cache-repo: %s", msg);
			err_free(e);
		}
	}
	return NULL;
}
