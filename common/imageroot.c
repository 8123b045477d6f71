/* Unpack an OCI image into a root filesystem (see imageroot.h). */
#include "imageroot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "layer.h"
#include "log.h"
#include "manifest.h"
#include "oci_layout.h"
#include "statedir.h"
#include "strbuf.h"
#include "xalloc.h"

#define CONFIG_MAX (8u << 20)

static err_t *read_manifest(struct oci_layout *l, const struct descriptor *d, struct manifest *m)
{
	struct strbuf body = STRBUF_INIT;
	err_t *e = oci_layout_read_blob(l, d->digest, MANIFEST_MAX_SIZE, &body);
	if (!e)
		e = manifest_parse(body.buf, body.len, d->media_type, m);
	sb_release(&body);
	return e;
}

static err_t *read_config(struct oci_layout *l, const struct descriptor *d, struct strbuf *body,
			  struct image_root *out)
{
	TRY(oci_layout_read_blob(l, d->digest, CONFIG_MAX, body));
	return image_root_parse_config(sb_str(body), body->len, d->digest, out);
}

/* A JSON array of strings as a NULL-terminated list; NULL when it is not one. */
static char **strings(const json_t *a)
{
	if (!json_is_array(a))
		return NULL;
	size_t n = json_array_size(a), k = 0;
	char **v = xcalloc(n + 1, sizeof *v);
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(a, i));
		if (s)
			v[k++] = xstrdup(s);
	}
	return v;
}

static void strings_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

err_t *image_root_parse_config(const char *text, size_t len, const char *what, struct image_root *out)
{
	json_error_t je;
	json_t *j = json_loadb(text, len, 0, &je);
	if (!j)
		return err_new(EXIT_FAILED, "image config %s: invalid JSON: %s", what, je.text);
	json_t *cfg = json_object_get(j, "config");
	json_t *env = json_object_get(cfg, "Env");
	size_t n = json_is_array(env) ? json_array_size(env) : 0, k = 0;
	out->env = xcalloc(n + 1, sizeof *out->env);
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(env, i));
		if (s && strchr(s, '='))
			out->env[k++] = xstrdup(s);
	}
	const char *wd = json_string_value(json_object_get(cfg, "WorkingDir"));
	out->workdir = xstrdup(wd && *wd ? wd : "/");
	const char *user = json_string_value(json_object_get(cfg, "User"));
	out->user = xstrdup(user ? user : "");
	out->entrypoint = strings(json_object_get(cfg, "Entrypoint"));
	out->cmd = strings(json_object_get(cfg, "Cmd"));
	json_decref(j);
	return NULL;
}

/* The image a layout reference names: its manifest (an index resolved to
 * this platform's), config read into out. */
struct opened {
	struct oci_layout *l;
	struct descriptor desc;
	struct manifest m, img;
	const struct manifest *use;
	struct strbuf config; /* the config blob */
};

static void opened_close(struct opened *o)
{
	manifest_release(&o->img);
	manifest_release(&o->m);
	descriptor_release(&o->desc);
	oci_layout_close(o->l);
	sb_release(&o->config);
}

static err_t *open_image(const char *ref, struct opened *o, struct image_root *out)
{
	bool is_archive = false;
	char *path = NULL, *tag = NULL;
	TRY(oci_layout_parse_ref(ref, &is_archive, &path, &tag));
	err_t *e = is_archive ? oci_archive_open(path, OCI_LAYOUT_READ, &o->l) : oci_layout_open(path, OCI_LAYOUT_READ, &o->l);
	const char *digest = NULL;
	if (!e)
		e = oci_layout_resolve(o->l, tag, &o->desc);
	if (!e)
		e = read_manifest(o->l, &o->desc, &o->m);
	if (!e && o->m.kind == MANIFEST_INDEX) {
		const struct descriptor *pick = NULL;
		e = manifest_select_platform(&o->m, NULL, &pick);
		if (!e)
			e = read_manifest(o->l, pick, &o->img);
		o->use = &o->img;
		digest = pick ? pick->digest : NULL;
	} else {
		o->use = &o->m;
		digest = o->desc.digest;
	}
	if (!e && o->use->kind != MANIFEST_IMAGE)
		e = err_new(EXIT_FAILED, "%s: not an image manifest", ref);
	if (!e)
		snprintf(out->digest, sizeof out->digest, "%s", digest);
	if (!e)
		e = read_config(o->l, &o->use->config, &o->config, out);
	free(path);
	free(tag);
	return e;
}

static err_t *apply_layers(const char *ref, struct opened *o, const char *root)
{
	for (size_t i = 0; i < o->use->n_layers; i++) {
		int fd = -1;
		TRY(oci_layout_open_blob(o->l, o->use->layers[i].digest, &fd, NULL));
		struct layer_apply_options opts = { .devices = LAYER_DEVICES_SKIP };
		err_t *e = layer_apply(root, fd, &opts, NULL);
		close(fd);
		if (e)
			return err_wrap(e, "layer %zu (%s)", i + 1, o->use->layers[i].digest);
	}
	log_info("image %s unpacked (%zu layers) into %s", ref, o->use->n_layers, root);
	return NULL;
}

static char *temp_dir(const char *parent, const char *prefix)
{
	const char *tmp = parent ? parent : getenv("TMPDIR");
	char *tmpl = xasprintf("%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
	if (!mkdtemp(tmpl)) {
		free(tmpl);
		return NULL;
	}
	return tmpl;
}

err_t *image_root_unpack(const char *ref, const char *parent_dir, struct image_root *out)
{
	memset(out, 0, sizeof *out);
	struct opened o = { 0 };
	err_t *e = open_image(ref, &o, out);
	if (!e && !(out->root = temp_dir(parent_dir, "image-root")))
		e = err_errno(EXIT_FAILED, "cannot create a directory for the image's root filesystem");
	/* an image's "/" is 0755 (mkdtemp made it 0700): its user may not be root */
	if (!e && chmod(out->root, 0755) < 0)
		e = err_errno(EXIT_FAILED, "chmod %s", out->root);
	if (!e)
		e = apply_layers(ref, &o, out->root);
	opened_close(&o);
	if (e)
		image_root_remove(out);
	return e;
}

/* <cache>/<hex>/{rootfs,config.json}: used when <hex> is a safe state
 * directory of ours (a planted tree would run as the image). */
static bool cache_hit(int cfd, const char *cache_dir, const char *hex, struct image_root *out)
{
	char *path = xasprintf("%s/%s", cache_dir, hex);
	struct stat st;
	struct strbuf cfg = STRBUF_INIT;
	bool hit = false;
	int fd = fstatat(cfd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0
			 ? statedir_open_sub(cfd, hex, path, "image cache entry", false)
			 : -1;
	if (fd >= 0 && statedir_read(fd, path, "config.json", CONFIG_MAX, &cfg)) {
		struct image_root r = { 0 };
		err_t *e = image_root_parse_config(sb_str(&cfg), cfg.len, path, &r);
		if (!e) {
			r.root = xasprintf("%s/rootfs", path);
			r.cached = hit = true;
			snprintf(r.digest, sizeof r.digest, "sha256:%s", hex);
			image_root_remove(out);
			*out = r;
		}
		err_free(e);
	}
	if (fd >= 0)
		close(fd);
	sb_release(&cfg);
	free(path);
	return hit;
}

bool image_root_from_cache(const char *cache_dir, const char *digest, struct image_root *out)
{
	memset(out, 0, sizeof *out);
	if (strncmp(digest, "sha256:", 7) || !digest_valid(digest))
		return false;
	int cfd = statedir_open(cache_dir, "image cache", false);
	bool hit = cfd >= 0 && cache_hit(cfd, cache_dir, digest_hex(digest), out);
	if (cfd >= 0)
		close(cfd);
	return hit;
}

err_t *image_root_cached(const char *ref, const char *cache_dir, struct image_root *out)
{
	memset(out, 0, sizeof *out);
	int cfd = statedir_open(cache_dir, "image cache", true);
	if (cfd < 0)
		return image_root_unpack(ref, NULL, out);
	struct opened o = { 0 };
	err_t *e = open_image(ref, &o, out);
	const char *hex = e ? NULL : digest_hex(out->digest);
	if (!e && !cache_hit(cfd, cache_dir, hex, out)) {
		/* unpacked beside the entry, renamed into place when whole */
		char *tmp = temp_dir(cache_dir, ".unpack");
		char *root = tmp ? xasprintf("%s/rootfs", tmp) : NULL;
		if (!tmp || mkdir(root, 0755) < 0)
			e = err_errno(EXIT_FAILED, "cannot create a directory in the image cache %s", cache_dir);
		if (!e)
			e = apply_layers(ref, &o, root);
		if (!e)
			e = fs_write_atomic(tmp, "config.json", o.config.buf, o.config.len, 0600);
		if (!e && renameat(cfd, tmp + strlen(cache_dir) + 1, cfd, hex) < 0 && errno != EEXIST &&
		    errno != ENOTEMPTY)
			e = err_errno(EXIT_FAILED, "cannot move the unpacked image into the cache %s", cache_dir);
		if (tmp)
			fs_remove_tree(tmp); /* gone already when renamed; another run's entry won a race */
		free(tmp);
		free(root);
		if (!e)
			cache_hit(cfd, cache_dir, hex, out);
	}
	bool fallback = !e && !out->cached; /* an entry there that is not safe to use (warned) */
	close(cfd);
	opened_close(&o);
	if (e)
		image_root_remove(out);
	if (fallback) {
		image_root_remove(out);
		return image_root_unpack(ref, NULL, out);
	}
	return e;
}

void image_root_remove(struct image_root *r)
{
	if (r->root && !r->cached)
		fs_remove_tree(r->root);
	free(r->root);
	strings_free(r->env);
	strings_free(r->entrypoint);
	strings_free(r->cmd);
	free(r->workdir);
	free(r->user);
	memset(r, 0, sizeof *r);
}
