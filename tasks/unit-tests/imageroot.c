/* Unpack an OCI image into a temporary root filesystem (see imageroot.h). */
#include "imageroot.h"

#include <fcntl.h>
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

static err_t *read_config(struct oci_layout *l, const struct descriptor *d, struct image_root *out)
{
	struct strbuf body = STRBUF_INIT;
	TRY(oci_layout_read_blob(l, d->digest, CONFIG_MAX, &body));
	err_t *e = image_root_parse_config(sb_str(&body), body.len, d->digest, out);
	sb_release(&body);
	return e;
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
	json_decref(j);
	return NULL;
}

err_t *image_root_unpack(const char *ref, const char *parent_dir, struct image_root *out)
{
	memset(out, 0, sizeof *out);
	bool is_archive = false;
	char *path = NULL, *tag = NULL;
	TRY(oci_layout_parse_ref(ref, &is_archive, &path, &tag));
	struct oci_layout *l = NULL;
	err_t *e = is_archive ? oci_archive_open(path, OCI_LAYOUT_READ, &l) : oci_layout_open(path, OCI_LAYOUT_READ, &l);
	struct descriptor desc = { 0 };
	struct manifest m = { 0 }, img = { 0 };
	const struct manifest *use = NULL;
	if (!e)
		e = oci_layout_resolve(l, tag, &desc);
	if (!e)
		e = read_manifest(l, &desc, &m);
	if (!e && m.kind == MANIFEST_INDEX) {
		const struct descriptor *pick = NULL;
		e = manifest_select_platform(&m, NULL, &pick);
		if (!e)
			e = read_manifest(l, pick, &img);
		use = &img;
	} else {
		use = &m;
	}
	if (!e && use->kind != MANIFEST_IMAGE)
		e = err_new(EXIT_FAILED, "%s: not an image manifest", ref);
	if (!e)
		e = read_config(l, &use->config, out);
	if (!e) {
		const char *tmp = parent_dir ? parent_dir : getenv("TMPDIR");
		char *tmpl = xasprintf("%s/unit-tests-root-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(tmpl)) {
			e = err_errno(EXIT_FAILED, "cannot create a directory for the image's root filesystem");
			free(tmpl);
		} else {
			out->root = tmpl;
		}
	}
	for (size_t i = 0; !e && i < use->n_layers; i++) {
		int fd = -1;
		e = oci_layout_open_blob(l, use->layers[i].digest, &fd, NULL);
		if (e)
			break;
		struct layer_apply_options opts = { .devices = LAYER_DEVICES_SKIP };
		e = layer_apply(out->root, fd, &opts, NULL);
		close(fd);
		if (e)
			e = err_wrap(e, "layer %zu (%s)", i + 1, use->layers[i].digest);
	}
	if (!e)
		log_info("image %s unpacked (%zu layers) into %s", ref, use->n_layers, out->root);
	manifest_release(&img);
	manifest_release(&m);
	descriptor_release(&desc);
	oci_layout_close(l);
	free(path);
	free(tag);
	if (e)
		image_root_remove(out);
	return e;
}

void image_root_remove(struct image_root *r)
{
	if (r->root) {
		fs_remove_tree(r->root);
		free(r->root);
	}
	for (char **e = r->env; e && *e; e++)
		free(*e);
	free(r->env);
	free(r->workdir);
	memset(r, 0, sizeof *r);
}
