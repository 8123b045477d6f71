/* Where an inventory comes from (see inventory.h): a directory tree, or an
 * image whose layers are streamed (layer_read), never unpacked. For an
 * image, the files the parsers want are kept in memory per path, in layer
 * order: a later layer's file replaces an earlier one, a whiteout deletes
 * the path and everything under it, an opaque marker deletes what lower
 * layers put under its directory; what is left at the end is parsed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "imageref.h"
#include "inventory.h"
#include "layer.h"
#include "log.h"
#include "manifest.h"
#include "oci_layout.h"
#include "registry.h"
#include "strbuf.h"
#include "xalloc.h"

#define DB_MAX (64u << 20)      /* a dpkg status, a lockfile */
#define BINARY_MAX (64u << 20)  /* an executable we look into */
#define CONFIG_MAX (8u << 20)   /* an image config */
#define KEPT_MAX (256u << 20)   /* all of an image's package files held at once */
#define TREE_DEPTH 64

/* ---- a tree ---- */

struct tree_walk {
	struct inventory *inv;
	bool rootfs; /* the tree is a root filesystem: node_modules and binaries too */
	size_t files;
};

static bool is_elf_exec(int fd, const struct stat *st)
{
	unsigned char magic[4];
	return (st->st_mode & 0111) && st->st_size > 64 && pread(fd, magic, 4, 0) == 4 && !memcmp(magic, "\177ELF", 4);
}

static err_t *tree_file(struct tree_walk *w, int dirfd, const char *name, const char *rel)
{
	enum inv_file_kind kind = inventory_file_kind(rel, w->rootfs);
	if (kind == INV_FILE_NONE && !w->rootfs)
		return NULL;
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return err_errno(EXIT_FAILED, "cannot open %s", rel);
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return NULL;
	if (kind == INV_FILE_NONE && !is_elf_exec(fd, &st))
		return NULL;
	size_t max = kind == INV_FILE_NONE ? BINARY_MAX : DB_MAX;
	if ((uint64_t)st.st_size > max) {
		log_warn("%s: %lld bytes, more than we read (%zu MiB); skipped", rel, (long long)st.st_size, max >> 20);
		w->inv->warnings++;
		return NULL;
	}
	struct strbuf sb = STRBUF_INIT;
	err_t *e = fs_read_fd(fd, max, rel, &sb);
	if (!e) {
		w->files++;
		e = kind == INV_FILE_NONE ? inventory_parse_static_binary(w->inv, sb_str(&sb), sb.len, rel, NULL)
					  : inventory_parse_file(w->inv, kind, sb_str(&sb), sb.len, rel, NULL);
	}
	sb_release(&sb);
	return e;
}

static err_t *tree_dir(struct tree_walk *w, int fd, const char *rel, int depth)
{
	if (depth > TREE_DEPTH) {
		log_warn("%s: deeper than %d directories; not searched", rel, TREE_DEPTH);
		w->inv->warnings++;
		close(fd);
		return NULL;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return err_errno(EXIT_FAILED, "cannot list %s", *rel ? rel : ".");
	}
	err_t *e = NULL;
	struct dirent *de;
	while (!e && (de = readdir(d))) {
		const char *n = de->d_name;
		if (!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, ".git"))
			continue;
		_cleanup_free_ char *child = *rel ? xasprintf("%s/%s", rel, n) : xstrdup(n);
		struct stat st;
		if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue; /* gone meanwhile */
		if (S_ISDIR(st.st_mode)) {
			/* a source tree's lockfile is its truth; node_modules
			 * there is a build artefact (an image's is installed) */
			if (!w->rootfs && !strcmp(n, "node_modules"))
				continue;
			/* a rootfs's virtual file systems, if mounted */
			if (w->rootfs && depth == 0 && (!strcmp(n, "proc") || !strcmp(n, "sys") || !strcmp(n, "dev")))
				continue;
			int cfd = openat(dirfd(d), n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd < 0)
				continue;
			e = tree_dir(w, cfd, child, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			e = tree_file(w, dirfd(d), n, child);
		}
	}
	closedir(d);
	return e;
}

static err_t *from_tree(const char *dir, struct inventory *inv)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(EXIT_USAGE, "--source %s", dir);
	struct tree_walk w = { .inv = inv };
	/* a root filesystem has a package database or an os-release */
	static const char *const marks[] = { "var/lib/dpkg/status", "var/lib/dpkg/status.d", "lib/apk/db/installed",
					     "etc/os-release", "usr/lib/os-release" };
	for (size_t i = 0; i < sizeof marks / sizeof *marks; i++)
		w.rootfs |= faccessat(fd, marks[i], F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	inv->subject = xstrdup(dir);
	err_t *e = tree_dir(&w, fd, "", 0);
	if (!e)
		log_info("%s: %zu package files read (%s)", dir, w.files, w.rootfs ? "a root filesystem" : "a source tree");
	return e;
}

/* ---- an image ---- */

/* A kept file of an image: its bytes (or, for a binary, the lines of
 * embedded versions found in it), the layer it came from. */
struct kept {
	char *path;
	enum inv_file_kind kind; /* INV_FILE_NONE: a binary's embedded lines */
	size_t layer;            /* index */
	struct strbuf data;
	bool gone;
};

struct image_scan {
	struct inventory *inv;
	struct kept *k;
	size_t n, cap;
	json_t *index; /* path -> position in k (live entries) */
	json_t *dirs;  /* directory -> live entries under it: most entries
			* of a layer replace no kept file, and need no scan */
	size_t layer;
	const char *layer_digest;
	uint64_t bytes; /* held in k[].data, at most KEPT_MAX */
};

/* add delta to the count of every directory above path */
static void dirs_count(struct image_scan *s, const char *path, json_int_t delta)
{
	for (const char *p = path; (p = strchr(p, '/')); p++) {
		_cleanup_free_ char *dir = xstrndup(path, (size_t)(p - path));
		json_t *n = json_object_get(s->dirs, dir);
		json_int_t v = (n ? json_integer_value(n) : 0) + delta;
		if (v)
			json_object_set_new_nocheck(s->dirs, dir, json_integer(v));
		else
			json_object_del(s->dirs, dir);
	}
}

static void kept_drop(struct image_scan *s, size_t i)
{
	struct kept *k = &s->k[i];
	if (k->gone)
		return;
	json_object_del(s->index, k->path);
	dirs_count(s, k->path, -1);
	s->bytes -= k->data.len;
	k->gone = true;
	sb_release(&k->data);
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && path[n] == '/';
}

/* remove path itself (when self) and everything under it; opaque: only
 * what layers below the current one put there */
static void drop_tree(struct image_scan *s, const char *path, bool self, bool lower_only)
{
	if (self) {
		json_t *at = json_object_get(s->index, path);
		if (at)
			kept_drop(s, (size_t)json_integer_value(at));
	}
	if (!json_object_get(s->dirs, path))
		return; /* nothing kept under it */
	for (size_t i = 0; i < s->n; i++)
		if (!s->k[i].gone && under(s->k[i].path, path) && (!lower_only || s->k[i].layer < s->layer))
			kept_drop(s, i);
}

static struct kept *keep(struct image_scan *s, const char *path, enum inv_file_kind kind)
{
	drop_tree(s, path, true, false);
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->k = xrealloc(s->k, s->cap * sizeof *s->k);
	}
	struct kept *k = &s->k[s->n];
	*k = (struct kept){ .path = xstrdup(path), .kind = kind, .layer = s->layer, .data = STRBUF_INIT };
	json_object_set_new_nocheck(s->index, path, json_integer((json_int_t)s->n));
	dirs_count(s, path, 1);
	s->n++;
	return k;
}

/* Room for more bytes of package files: a layer of many large lockfiles,
 * or of hardlinks to one, must not take all the memory there is. */
static err_t *budget(struct image_scan *s, const char *path, uint64_t more)
{
	if (s->bytes + more > KEPT_MAX)
		return err_new(EXIT_FAILED, "%s: the image's package files would take more than %u MiB of memory; refused",
			       path, KEPT_MAX >> 20);
	s->bytes += more;
	return NULL;
}

static err_t *read_all(struct layer_reader *r, const char *path, size_t max, struct strbuf *out)
{
	char buf[65536];
	for (;;) {
		size_t got = 0;
		TRY(layer_read_data(r, buf, sizeof buf, &got));
		if (!got)
			return NULL;
		if (out->len + got > max)
			return err_new(EXIT_FAILED, "%s: more than %zu MiB", path, max >> 20);
		sb_add(out, buf, got);
	}
}

/* Keep only the lines of embedded versions: the binary is read in
 * windows that overlap by more than a line (a line seen in two windows is
 * kept twice; the inventory drops the duplicate). */
static err_t *scan_binary(struct layer_reader *r, struct strbuf *lines)
{
	enum { WINDOW = 1 << 16, OVERLAP = 2048 };
	char *buf = xmalloc(WINDOW + OVERLAP);
	size_t have = 0;
	err_t *e = NULL;
	for (;;) {
		size_t got = 0;
		if ((e = layer_read_data(r, buf + have, WINDOW, &got)) || !got)
			break;
		have += got;
		inventory_static_binary_lines(buf, have, lines);
		size_t keep_n = have < OVERLAP ? have : OVERLAP;
		memmove(buf, buf + have - keep_n, keep_n);
		have = keep_n;
	}
	free(buf);
	return e;
}

static err_t *image_entry(const struct layer_read_entry *ent, struct layer_reader *r, void *vctx)
{
	struct image_scan *s = vctx;
	switch (ent->kind) {
	case LAYER_READ_WHITEOUT:
		drop_tree(s, ent->path, true, false);
		return NULL;
	case LAYER_READ_OPAQUE:
		drop_tree(s, ent->path, false, true);
		return NULL;
	case LAYER_READ_DIR:
		/* a directory over a kept file replaces it */
		if (json_object_get(s->index, ent->path))
			drop_tree(s, ent->path, true, false);
		return NULL;
	case LAYER_READ_SYMLINK:
	case LAYER_READ_OTHER:
		drop_tree(s, ent->path, true, false);
		return NULL;
	case LAYER_READ_HARDLINK: {
		drop_tree(s, ent->path, true, false);
		json_t *at = json_object_get(s->index, ent->link);
		if (!at)
			return NULL;
		size_t i = (size_t)json_integer_value(at);
		enum inv_file_kind kind = inventory_file_kind(ent->path, true);
		if (kind == INV_FILE_NONE && s->k[i].kind != INV_FILE_NONE)
			return NULL;
		TRY(budget(s, ent->path, s->k[i].data.len));
		struct kept *k = keep(s, ent->path, kind);
		struct kept *src = &s->k[i]; /* after keep's realloc */
		sb_add(&k->data, src->data.buf ? src->data.buf : "", src->data.len);
		return NULL;
	}
	case LAYER_READ_FILE:
		break;
	}
	enum inv_file_kind kind = inventory_file_kind(ent->path, true);
	if (kind != INV_FILE_NONE) {
		if ((uint64_t)ent->size > DB_MAX) {
			log_warn("%s: %lld bytes, more than we read (%u MiB); skipped", ent->path, (long long)ent->size,
				 DB_MAX >> 20);
			s->inv->warnings++;
			drop_tree(s, ent->path, true, false);
			return NULL;
		}
		TRY(budget(s, ent->path, (uint64_t)ent->size));
		struct kept *k = keep(s, ent->path, kind);
		err_t *e = read_all(r, ent->path, DB_MAX, &k->data);
		s->bytes += k->data.len;
		s->bytes -= (uint64_t)ent->size; /* what was read, not what was announced */
		return e;
	}
	if (!(ent->mode & 0111) || ent->size <= 64) {
		drop_tree(s, ent->path, true, false);
		return NULL;
	}
	char magic[4];
	size_t got = 0;
	TRY(layer_read_data(r, magic, 4, &got));
	if (got != 4 || memcmp(magic, "\177ELF", 4)) {
		drop_tree(s, ent->path, true, false);
		return NULL;
	}
	struct strbuf lines = STRBUF_INIT;
	err_t *e = scan_binary(r, &lines);
	if (!e && lines.len)
		e = budget(s, ent->path, lines.len);
	if (!e && lines.len) {
		struct kept *k = keep(s, ent->path, INV_FILE_NONE);
		k->data = lines;
	} else {
		drop_tree(s, ent->path, true, false);
		sb_release(&lines);
	}
	return e;
}

struct image_source {
	struct oci_layout *layout;
	struct registry *reg;
	const char *what;
};

static err_t *open_blob(struct image_source *is, const struct descriptor *d, int *fd)
{
	if (is->layout)
		return oci_layout_open_blob(is->layout, d->digest, fd, NULL);
	const char *tmp = getenv("TMPDIR");
	int t = open(tmp && *tmp ? tmp : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (t < 0)
		return err_errno(EXIT_FAILED, "cannot create a temporary file for layer %s", d->digest);
	err_t *e = registry_get_blob_fd(is->reg, d->digest, d->size, t);
	if (!e && lseek(t, 0, SEEK_SET) != 0)
		e = err_errno(EXIT_FAILED, "layer %s", d->digest);
	if (e) {
		close(t);
		return e;
	}
	*fd = t;
	return NULL;
}

static err_t *read_manifest(struct image_source *is, const char *reference, const char *media_type,
			    struct manifest *m, char digest[DIGEST_SIZE])
{
	if (is->layout) {
		struct strbuf body = STRBUF_INIT;
		err_t *e = oci_layout_read_blob(is->layout, reference, MANIFEST_MAX_SIZE, &body);
		if (!e)
			e = manifest_parse(body.buf, body.len, media_type, m);
		if (!e)
			snprintf(digest, DIGEST_SIZE, "%s", reference);
		sb_release(&body);
		return e;
	}
	struct registry_manifest rm = { 0 };
	err_t *e = registry_get_manifest(is->reg, reference, &rm);
	if (!e)
		e = manifest_parse(rm.body.buf, rm.body.len, rm.media_type, m);
	if (!e)
		snprintf(digest, DIGEST_SIZE, "%s", rm.digest);
	registry_manifest_release(&rm);
	return e;
}

/* The image config's rootfs.diff_ids (the config is verified against its
 * digest by both readers): one per layer. */
static err_t *read_diff_ids(struct image_source *is, const struct manifest *img, json_t **out)
{
	struct strbuf body = STRBUF_INIT;
	err_t *e = is->layout ? oci_layout_read_blob(is->layout, img->config.digest, CONFIG_MAX, &body)
			      : registry_get_blob_buffer(is->reg, img->config.digest, img->config.size, CONFIG_MAX, &body);
	json_t *cfg = NULL;
	if (!e) {
		json_error_t je;
		cfg = json_loadb(body.buf ? body.buf : "", body.len, 0, &je);
		if (!cfg)
			e = err_new(EXIT_FAILED, "image config %s: %s (line %d)", img->config.digest, je.text, je.line);
	}
	json_t *ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
	if (!e && json_array_size(ids) != img->n_layers)
		e = err_new(EXIT_FAILED, "image config %s lists %zu diff_ids for %zu layers", img->config.digest,
			    json_array_size(ids), img->n_layers);
	if (!e)
		*out = json_incref(ids);
	json_decref(cfg);
	sb_release(&body);
	return e;
}

static err_t *scan_layers(struct image_source *is, const struct manifest *img, struct inventory *inv)
{
	json_t *diff_ids = NULL;
	TRY(read_diff_ids(is, img, &diff_ids));
	struct image_scan s = { .inv = inv, .index = json_object(), .dirs = json_object() };
	err_t *e = NULL;
	for (size_t i = 0; !e && i < img->n_layers; i++) {
		const struct descriptor *d = &img->layers[i];
		int fd = -1;
		s.layer = i;
		e = open_blob(is, d, &fd);
		struct layer_apply_stats st;
		if (!e) {
			e = layer_read(fd, image_entry, &s, &st);
			close(fd);
		}
		/* a layout's blobs are opened, not verified: the tar read must
		 * be the one the config names, or the BOM would describe
		 * something else under the image's digest */
		const char *want = json_string_value(json_array_get(diff_ids, i));
		if (!e && (!want || !digest_equal(st.diff_id, want)))
			e = err_new(EXIT_FAILED, "its content (diff_id %s) is not what the image config says (%s)",
				    st.diff_id, want ? want : "not a string");
		if (e)
			e = err_wrap(e, "%s: layer %zu (%s)", is->what, i + 1, d->digest);
		else
			log_debug("layer %zu (%s): %llu entries, %llu whiteouts", i + 1, d->digest,
				  (unsigned long long)st.entries, (unsigned long long)st.whiteouts);
	}
	json_decref(diff_ids);
	/* os-release first: the distro goes into the deb/apk purls */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; !e && i < s.n; i++) {
			struct kept *k = &s.k[i];
			if (k->gone || (pass == 0) != (k->kind == INV_FILE_OS_RELEASE))
				continue;
			const char *layer = img->layers[k->layer].digest;
			if (k->kind == INV_FILE_NONE)
				e = inventory_parse_static_binary(inv, sb_str(&k->data), k->data.len, k->path, layer);
			else
				e = inventory_parse_file(inv, k->kind, sb_str(&k->data), k->data.len, k->path, layer);
			/* a file in an image is not the user's input: a bad
			 * one is reported and the rest of the image kept */
			if (e && e->code == EXIT_USAGE) {
				char *msg = err_describe(e);
				log_warn("%s: %s; file skipped", is->what, msg);
				free(msg);
				err_free(e);
				e = NULL;
				inv->warnings++;
			}
		}
	for (size_t i = 0; i < s.n; i++) {
		free(s.k[i].path);
		sb_release(&s.k[i].data);
	}
	free(s.k);
	json_decref(s.index);
	json_decref(s.dirs);
	return e;
}

static err_t *from_image(struct image_source *is, const char *reference, const char *media_type,
			 const char *platform, struct inventory *inv)
{
	struct manifest m = { 0 }, img = { 0 };
	char digest[DIGEST_SIZE] = "";
	err_t *e = read_manifest(is, reference, media_type, &m, digest);
	const struct manifest *use = &m;
	if (!e && m.kind == MANIFEST_INDEX) {
		const struct descriptor *pick = NULL;
		e = manifest_select_platform(&m, platform, &pick);
		if (!e)
			e = read_manifest(is, pick->digest, pick->media_type, &img, digest);
		use = &img;
	}
	if (!e && use->kind != MANIFEST_IMAGE)
		e = err_new(EXIT_FAILED, "%s: not an image manifest", is->what);
	if (!e) {
		inv->subject_digest = xstrdup(digest);
		log_info("%s: image %s, %zu layers", is->what, digest, use->n_layers);
		e = scan_layers(is, use, inv);
	}
	manifest_release(&img);
	manifest_release(&m);
	return e;
}

static err_t *from_layout(const char *spec, const char *platform, struct inventory *inv)
{
	bool is_archive = false;
	_cleanup_free_ char *path = NULL, *tag = NULL;
	if (!strncmp(spec, "oci:", 4) || !strncmp(spec, "oci-archive:", 12))
		TRY(err_set_code(oci_layout_parse_ref(spec, &is_archive, &path, &tag), EXIT_USAGE));
	else
		path = xstrdup(spec);
	struct image_source is = { .what = spec };
	struct stat st;
	if (stat(path, &st) != 0)
		return err_errno(EXIT_USAGE, "--oci-layout %s", path);
	if (!strncmp(spec, "oci-archive:", 12) || S_ISREG(st.st_mode))
		is_archive = true;
	TRY(err_set_code(is_archive ? oci_archive_open(path, OCI_LAYOUT_READ, &is.layout)
				    : oci_layout_open(path, OCI_LAYOUT_READ, &is.layout),
			 EXIT_USAGE));
	struct descriptor d = { 0 };
	err_t *e = err_set_code(oci_layout_resolve(is.layout, tag, &d), EXIT_USAGE);
	inv->subject = xstrdup(spec);
	if (!e)
		e = from_image(&is, d.digest, d.media_type, platform, inv);
	descriptor_release(&d);
	oci_layout_close(is.layout);
	return e;
}

static err_t *from_registry(const char *ref, const struct inventory_source *src, struct inventory *inv)
{
	const char *r = !strncmp(ref, "docker://", 9) ? ref + 9 : ref;
	struct image_ref ir = { 0 };
	TRY(err_set_code(imageref_parse(r, &ir), EXIT_USAGE));
	struct image_source is = { .what = ref };
	err_t *e = registry_open_ref(&ir, &src->registry, &is.reg);
	inv->subject = imageref_name(&ir);
	if (!e)
		e = from_image(&is, ir.digest ? ir.digest : ir.tag, NULL, src->platform, inv);
	/* an image that does not exist is the user's reference that is wrong */
	if (e && err_is(e, ERR_KIND_NOT_FOUND))
		e = err_wrap_as(e, EXIT_USAGE, ERR_KIND_NOT_FOUND, "image %s not found", ref);
	registry_close(is.reg);
	imageref_free(&ir);
	return e;
}

err_t *inventory_build(const struct inventory_source *src, struct inventory *out)
{
	int given = !!src->source_dir + !!src->image + !!src->oci_layout;
	if (given != 1)
		return err_new(EXIT_USAGE, "give exactly one of --source, --image, --oci-layout");
	err_t *e = src->source_dir ? from_tree(src->source_dir, out)
		   : src->image    ? from_registry(src->image, src, out)
				   : from_layout(src->oci_layout, src->platform, out);
	/* a directory's name may be any bytes; the documents want UTF-8 */
	if (out->subject && !inventory_utf8(out->subject))
		for (char *p = out->subject; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
	if (!e)
		inventory_finish(out);
	return e;
}
