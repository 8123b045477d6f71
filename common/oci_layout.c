/* OCI image layout directories and oci-archive tarballs (see oci_layout.h). */
#define _XOPEN_SOURCE 700
#include "oci_layout.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "jsonutil.h"
#include "log.h"
#include "xalloc.h"

#define INDEX_MAX (16u << 20)
#define LAYOUT_FILE "{\"imageLayoutVersion\":\"1.0.0\"}"

struct oci_layout {
	char *dir;          /* layout root */
	char *archive;      /* oci-archive file, or NULL */
	bool temp_dir;      /* dir is ours to remove */
	enum oci_layout_mode mode;
	bool dirty;         /* archive needs writing */
	json_t *index;
};

struct oci_blob_writer {
	struct oci_layout *l;
	char *tmp_path;
	int fd;
	struct sha256 h;
};

static char *blob_path(const struct oci_layout *l, const char *digest)
{
	return xasprintf("%s/blobs/sha256/%s", l->dir, digest_hex(digest));
}

static err_t *load_index(struct oci_layout *l)
{
	_cleanup_free_ char *path = xasprintf("%s/index.json", l->dir);
	if (access(path, F_OK) != 0) {
		if (l->mode == OCI_LAYOUT_READ)
			return err_new(EXIT_FAILED, "%s is not an OCI layout (no index.json)", l->archive ? l->archive : l->dir);
		l->index = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType", MT_OCI_INDEX, "manifests");
		return NULL;
	}
	err_t *e = json_parse_file(path, INDEX_MAX, &l->index);
	if (e)
		return err_set_code(e, EXIT_FAILED);
	if (!json_is_object(l->index) || !json_is_array(json_object_get(l->index, "manifests")))
		return err_new(EXIT_FAILED, "%s: no \"manifests\" array", path);
	return NULL;
}

static err_t *prepare_dir(struct oci_layout *l)
{
	_cleanup_free_ char *blobs = xasprintf("%s/blobs/sha256", l->dir);
	if (l->mode == OCI_LAYOUT_WRITE) {
		TRY(fs_mkdir_p(blobs, 0755));
		_cleanup_free_ char *lf = xasprintf("%s/oci-layout", l->dir);
		if (access(lf, F_OK) != 0)
			TRY(fs_write_atomic(l->dir, "oci-layout", LAYOUT_FILE, strlen(LAYOUT_FILE), 0644));
	} else {
		_cleanup_free_ char *lf = xasprintf("%s/oci-layout", l->dir);
		if (access(lf, F_OK) != 0)
			return err_new(EXIT_FAILED, "%s is not an OCI layout (no oci-layout file)",
				       l->archive ? l->archive : l->dir);
	}
	return load_index(l);
}

err_t *oci_layout_open(const char *dir, enum oci_layout_mode mode, struct oci_layout **out)
{
	struct oci_layout *l = xcalloc(1, sizeof *l);
	l->dir = xstrdup(dir);
	l->mode = mode;
	err_t *e = prepare_dir(l);
	if (e) {
		oci_layout_close(l);
		return err_wrap(e, "oci layout %s", dir);
	}
	*out = l;
	return NULL;
}

/* Only the layout's own names are taken from an archive. */
static bool archive_name_ok(const char *name, bool *is_dir)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	*is_dir = false;
	if (!strcmp(name, "oci-layout") || !strcmp(name, "index.json"))
		return true;
	if (!strcmp(name, "blobs") || !strcmp(name, "blobs/") || !strcmp(name, "blobs/sha256") ||
	    !strcmp(name, "blobs/sha256/") || !strcmp(name, ".") || !strcmp(name, "./") || !*name) {
		*is_dir = true;
		return true;
	}
	if (strncmp(name, "blobs/sha256/", 13))
		return false;
	_cleanup_free_ char *d = xasprintf("sha256:%s", name + 13);
	return digest_valid(d);
}

static err_t *unpack_archive(const char *file, const char *dir)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	_cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		archive_read_free(a);
		return err_errno(EXIT_FAILED, "cannot open oci-archive %s", file);
	}
	if (archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK) {
		err_t *e = err_new(EXIT_FAILED, "oci-archive %s: %s", file, archive_error_string(a));
		archive_read_free(a);
		return e;
	}
	_cleanup_free_ char *blobs = xasprintf("%s/blobs/sha256", dir);
	err_t *e = fs_mkdir_p(blobs, 0755);
	struct archive_entry *ent;
	_cleanup_free_ char *buf = xmalloc(1 << 16);
	while (!e) {
		int rc = archive_read_next_header(a, &ent);
		if (rc == ARCHIVE_EOF)
			break;
		if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
			e = err_new(EXIT_FAILED, "oci-archive %s: %s", file, archive_error_string(a));
			break;
		}
		const char *name = archive_entry_pathname(ent);
		bool is_dir;
		if (!name || !archive_name_ok(name, &is_dir)) {
			log_warn("oci-archive %s: ignoring entry %.200s", file, name ? name : "(no name)");
			continue;
		}
		if (is_dir)
			continue;
		if (archive_entry_filetype(ent) != AE_IFREG) {
			e = err_new(EXIT_FAILED, "oci-archive %s: %.200s is not a regular file", file, name);
			break;
		}
		while (name[0] == '.' && name[1] == '/')
			name += 2;
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
		_cleanup_close_ int out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (out < 0) {
			e = err_errno(EXIT_FAILED, "oci-archive %s: cannot create %s", file, name);
			break;
		}
		for (;;) {
			la_ssize_t n = archive_read_data(a, buf, 1 << 16);
			if (n == 0)
				break;
			if (n < 0) {
				e = err_new(EXIT_FAILED, "oci-archive %s: %s", file, archive_error_string(a));
				break;
			}
			if (write(out, buf, (size_t)n) != n) {
				e = err_errno(EXIT_FAILED, "cannot write %s", path);
				break;
			}
		}
	}
	archive_read_free(a);
	return e;
}

static char *temp_dir_near(const char *file)
{
	_cleanup_free_ char *copy = xstrdup(file);
	char *parent = dirname(copy);
	char *tmpl = xasprintf("%s/.oci-archive-XXXXXX", parent);
	if (!mkdtemp(tmpl)) {
		free(tmpl);
		const char *t = getenv("TMPDIR");
		tmpl = xasprintf("%s/oci-archive-XXXXXX", t && *t ? t : "/tmp");
		if (!mkdtemp(tmpl)) {
			free(tmpl);
			return NULL;
		}
	}
	return tmpl;
}

err_t *oci_archive_open(const char *file, enum oci_layout_mode mode, struct oci_layout **out)
{
	_cleanup_free_ char *tmp = temp_dir_near(file);
	if (!tmp)
		return err_errno(EXIT_FAILED, "cannot create a temporary directory for %s", file);
	struct oci_layout *l = xcalloc(1, sizeof *l);
	l->dir = steal_ptr(tmp);
	l->archive = xstrdup(file);
	l->temp_dir = true;
	l->mode = mode;
	err_t *e = NULL;
	if (mode == OCI_LAYOUT_READ) {
		e = unpack_archive(file, l->dir);
	} else {
		l->dirty = true; /* written on commit, even if nothing is added */
	}
	if (!e)
		e = prepare_dir(l);
	if (e) {
		oci_layout_close(l);
		return err_wrap(e, "oci-archive %s", file);
	}
	*out = l;
	return NULL;
}

err_t *oci_layout_parse_ref(const char *ref, bool *is_archive, char **path, char **tag)
{
	*path = *tag = NULL;
	const char *rest;
	if (!strncmp(ref, "oci-archive:", 12)) {
		*is_archive = true;
		rest = ref + 12;
	} else if (!strncmp(ref, "oci:", 4)) {
		*is_archive = false;
		rest = ref + 4;
	} else {
		return err_new(EXIT_USAGE, "\"%.200s\" is not an oci: or oci-archive: reference", ref);
	}
	const char *colon = strrchr(rest, ':');
	/* a colon inside the path (no tag) is kept when what follows has a '/' */
	if (colon && !strchr(colon, '/')) {
		*path = xstrndup(rest, (size_t)(colon - rest));
		if (colon[1])
			*tag = xstrdup(colon + 1);
	} else {
		*path = xstrdup(rest);
	}
	if (!**path) {
		free(*path);
		free(*tag);
		*path = *tag = NULL;
		return err_new(EXIT_USAGE, "\"%.200s\": no path", ref);
	}
	return NULL;
}

const char *oci_layout_dir(const struct oci_layout *l)
{
	return l->dir;
}

/* ---- blobs ---- */

bool oci_layout_has_blob(struct oci_layout *l, const char *digest)
{
	if (!digest_valid(digest))
		return false;
	_cleanup_free_ char *p = blob_path(l, digest);
	struct stat st;
	return lstat(p, &st) == 0 && S_ISREG(st.st_mode);
}

err_t *oci_layout_open_blob(struct oci_layout *l, const char *digest, int *fd, int64_t *size)
{
	*fd = -1;
	TRY(digest_check(digest, "blob"));
	_cleanup_free_ char *p = blob_path(l, digest);
	int f = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (f < 0)
		return err_errno(EXIT_FAILED, "blob %s in %s", digest, l->archive ? l->archive : l->dir);
	struct stat st;
	if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(f);
		return err_new(EXIT_FAILED, "blob %s in %s is not a regular file", digest, l->dir);
	}
	if (size)
		*size = st.st_size;
	*fd = f;
	return NULL;
}

err_t *oci_layout_read_blob(struct oci_layout *l, const char *digest, size_t max, struct strbuf *out)
{
	int fd;
	TRY(oci_layout_open_blob(l, digest, &fd, NULL));
	err_t *e = fs_read_fd(fd, max, digest, out);
	close(fd);
	if (e)
		return err_set_code(e, EXIT_FAILED);
	char actual[DIGEST_SIZE];
	digest_buffer(out->buf ? out->buf : "", out->len, actual);
	if (!digest_equal(actual, digest))
		return err_new(EXIT_FAILED, "blob %s in %s: content has digest %s", digest,
			       l->archive ? l->archive : l->dir, actual);
	return NULL;
}

err_t *oci_blob_writer_begin(struct oci_layout *l, struct oci_blob_writer **out)
{
	struct oci_blob_writer *w = xcalloc(1, sizeof *w);
	w->l = l;
	w->tmp_path = xasprintf("%s/blobs/sha256/.tmp-XXXXXX", l->dir);
	w->fd = mkostemp(w->tmp_path, O_CLOEXEC);
	if (w->fd < 0) {
		err_t *e = err_errno(EXIT_FAILED, "cannot create a blob in %s", l->dir);
		free(w->tmp_path);
		free(w);
		return e;
	}
	fchmod(w->fd, 0644);
	sha256_init(&w->h);
	*out = w;
	return NULL;
}

err_t *oci_blob_writer_write(struct oci_blob_writer *w, const void *data, size_t len)
{
	sha256_update(&w->h, data, len);
	return fs_write_all(w->fd, data, len, "a blob in the OCI layout");
}

void oci_blob_writer_abort(struct oci_blob_writer *w)
{
	if (!w)
		return;
	sha256_discard(&w->h);
	if (w->fd >= 0)
		close(w->fd);
	unlink(w->tmp_path);
	free(w->tmp_path);
	free(w);
}

err_t *oci_blob_writer_commit(struct oci_blob_writer *w, const char *expected, char digest_out[DIGEST_SIZE],
			      int64_t *size_out)
{
	char actual[DIGEST_SIZE];
	int64_t size = (int64_t)w->h.bytes;
	sha256_final(&w->h, actual);
	err_t *e = NULL;
	if (expected && !digest_equal(expected, actual))
		e = err_new(EXIT_FAILED, "blob content has digest %s, expected %s", actual, expected);
	if (!e && fsync(w->fd) != 0)
		e = err_errno(EXIT_FAILED, "cannot sync blob in %s", w->l->dir);
	if (!e) {
		_cleanup_free_ char *final = blob_path(w->l, actual);
		if (rename(w->tmp_path, final) != 0)
			e = err_errno(EXIT_FAILED, "cannot store blob %s", actual);
	}
	if (!e) {
		if (digest_out)
			memcpy(digest_out, actual, DIGEST_SIZE);
		if (size_out)
			*size_out = size;
		w->l->dirty = w->l->archive != NULL;
	}
	close(w->fd);
	w->fd = -1;
	if (e)
		unlink(w->tmp_path);
	free(w->tmp_path);
	free(w);
	return e;
}

err_t *oci_layout_put_blob(struct oci_layout *l, const void *data, size_t len, char digest_out[DIGEST_SIZE])
{
	char d[DIGEST_SIZE];
	digest_buffer(data, len, d);
	if (digest_out)
		memcpy(digest_out, d, DIGEST_SIZE);
	if (oci_layout_has_blob(l, d))
		return NULL;
	struct oci_blob_writer *w;
	TRY(oci_blob_writer_begin(l, &w));
	err_t *e = oci_blob_writer_write(w, data, len);
	if (e) {
		oci_blob_writer_abort(w);
		return e;
	}
	return oci_blob_writer_commit(w, d, NULL, NULL);
}

err_t *oci_layout_import_file(struct oci_layout *l, const char *path, const char *digest)
{
	TRY(digest_check(digest, "blob"));
	if (oci_layout_has_blob(l, digest))
		return NULL;
	char actual[DIGEST_SIZE];
	TRY(digest_file(path, actual, NULL));
	if (!digest_equal(actual, digest))
		return err_new(EXIT_FAILED, "%s has digest %s, expected %s", path, actual, digest);
	_cleanup_free_ char *final = blob_path(l, digest);
	if (rename(path, final) == 0) {
		l->dirty = l->archive != NULL;
		return NULL;
	}
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(EXIT_FAILED, "cannot open %s", path);
	struct oci_blob_writer *w;
	TRY(oci_blob_writer_begin(l, &w));
	_cleanup_free_ char *buf = xmalloc(1 << 16);
	for (;;) {
		ssize_t n = read(fd, buf, 1 << 16);
		if (n < 0 && errno == EINTR)
			continue;
		err_t *e = n < 0 ? err_errno(EXIT_FAILED, "cannot read %s", path) : NULL;
		if (!e && n > 0)
			e = oci_blob_writer_write(w, buf, (size_t)n);
		if (e) {
			oci_blob_writer_abort(w);
			return e;
		}
		if (n == 0)
			break;
	}
	return oci_blob_writer_commit(w, digest, NULL, NULL);
}

/* ---- index ---- */

static const char *entry_ref_name(const json_t *entry)
{
	return json_string_value(json_object_get(json_object_get(entry, "annotations"), OCI_REF_NAME_ANNOTATION));
}

err_t *oci_layout_resolve(struct oci_layout *l, const char *tag, struct descriptor *out)
{
	memset(out, 0, sizeof *out);
	json_t *arr = json_object_get(l->index, "manifests");
	const json_t *found = NULL;
	size_t n = json_array_size(arr);
	const char *where = l->archive ? l->archive : l->dir;
	if (!tag) {
		if (n != 1)
			return err_new(EXIT_FAILED, "%s holds %zu images; name one with :<tag>", where, n);
		found = json_array_get(arr, 0);
	} else {
		for (size_t i = 0; i < n && !found; i++) {
			const char *name = entry_ref_name(json_array_get(arr, i));
			if (name && !strcmp(name, tag))
				found = json_array_get(arr, i);
		}
		if (!found)
			return err_new(EXIT_FAILED, "no image tagged \"%s\" in %s", tag, where);
	}
	err_t *e = NULL;
	{
		/* reuse the manifest parser's descriptor checks on a one-entry index */
		json_t *doc = json_pack("{s:i, s:s, s:[O]}", "schemaVersion", 2, "mediaType", MT_OCI_INDEX, "manifests",
					found);
		char *text = json_dumps(doc, JSON_COMPACT);
		json_decref(doc);
		struct manifest m;
		e = manifest_parse(text, strlen(text), MT_OCI_INDEX, &m);
		free(text);
		if (!e) {
			descriptor_copy(out, &m.manifests[0]);
			manifest_release(&m);
		}
	}
	return e ? err_wrap(e, "%s: index.json", where) : NULL;
}

err_t *oci_layout_set_ref(struct oci_layout *l, const struct descriptor *desc, const char *tag)
{
	json_t *arr = json_object_get(l->index, "manifests");
	json_t *keep = json_array();
	size_t i;
	json_t *entry;
	json_array_foreach(arr, i, entry)
	{
		const char *name = entry_ref_name(entry);
		const char *d = json_string_value(json_object_get(entry, "digest"));
		bool same_tag = tag && name && !strcmp(name, tag);
		bool same_untagged = !tag && !name && d && !strcmp(d, desc->digest);
		if (!same_tag && !same_untagged)
			json_array_append(keep, entry);
	}
	json_t *e = descriptor_json(desc);
	if (tag) {
		json_t *ann = json_object_get(e, "annotations");
		if (!ann) {
			ann = json_object();
			json_object_set_new(e, "annotations", ann);
		} else {
			ann = json_deep_copy(ann);
			json_object_set_new(e, "annotations", ann);
		}
		json_object_set_new(ann, OCI_REF_NAME_ANNOTATION, json_string(tag));
	}
	json_array_append_new(keep, e);
	json_object_set_new(l->index, "manifests", keep);
	struct strbuf sb = STRBUF_INIT;
	manifest_dump(l->index, &sb);
	err_t *err = fs_write_atomic(l->dir, "index.json", sb.buf, sb.len, 0644);
	sb_release(&sb);
	if (!err && l->archive)
		l->dirty = true;
	return err;
}

/* ---- archive output ---- */

static err_t *tar_add_file(struct archive *a, const char *root, const char *name, const char *file)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", root, name);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_errno(EXIT_FAILED, "cannot open %s", path);
	struct stat st;
	if (fstat(fd, &st) != 0)
		return err_errno(EXIT_FAILED, "cannot stat %s", path);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, st.st_size);
	archive_entry_set_mtime(e, 0, 0);
	err_t *err = NULL;
	if (archive_write_header(a, e) != ARCHIVE_OK)
		err = err_new(EXIT_FAILED, "%s: %s", file, archive_error_string(a));
	archive_entry_free(e);
	_cleanup_free_ char *buf = xmalloc(1 << 16);
	while (!err) {
		ssize_t n = read(fd, buf, 1 << 16);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = err_errno(EXIT_FAILED, "cannot read %s", path);
		if (n <= 0)
			break;
		if (archive_write_data(a, buf, (size_t)n) != n)
			err = err_new(EXIT_FAILED, "%s: %s", file, archive_error_string(a));
	}
	return err;
}

static err_t *tar_add_dir(struct archive *a, const char *name, const char *file)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFDIR);
	archive_entry_set_perm(e, 0755);
	archive_entry_set_mtime(e, 0, 0);
	err_t *err = NULL;
	if (archive_write_header(a, e) != ARCHIVE_OK)
		err = err_new(EXIT_FAILED, "%s: %s", file, archive_error_string(a));
	archive_entry_free(e);
	return err;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static err_t *write_archive(struct oci_layout *l)
{
	_cleanup_free_ char *tmp = xasprintf("%s.tmp", l->archive);
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_errno(EXIT_FAILED, "cannot create %s", tmp);
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_in_last_block(a, 1);
	err_t *e = NULL;
	if (archive_write_open_fd(a, fd) != ARCHIVE_OK)
		e = err_new(EXIT_FAILED, "%s: %s", tmp, archive_error_string(a));
	/* blobs first, index.json last: a streaming reader sees complete blobs */
	if (!e)
		e = tar_add_file(a, l->dir, "oci-layout", l->archive);
	if (!e)
		e = tar_add_dir(a, "blobs/", l->archive);
	if (!e)
		e = tar_add_dir(a, "blobs/sha256/", l->archive);
	_cleanup_free_ char *bdir = xasprintf("%s/blobs/sha256", l->dir);
	DIR *d = e ? NULL : opendir(bdir);
	if (!e && !d)
		e = err_errno(EXIT_FAILED, "cannot list %s", bdir);
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		names = xrealloc(names, (n + 1) * sizeof *names);
		names[n++] = xasprintf("blobs/sha256/%s", de->d_name);
	}
	if (d)
		closedir(d);
	if (n)
		qsort(names, n, sizeof *names, cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (!e)
			e = tar_add_file(a, l->dir, names[i], l->archive);
		free(names[i]);
	}
	free(names);
	if (!e)
		e = tar_add_file(a, l->dir, "index.json", l->archive);
	if (!e && archive_write_close(a) != ARCHIVE_OK)
		e = err_new(EXIT_FAILED, "%s: %s", tmp, archive_error_string(a));
	archive_write_free(a);
	if (!e && fsync(fd) != 0)
		e = err_errno(EXIT_FAILED, "cannot sync %s", tmp);
	if (!e && rename(tmp, l->archive) != 0)
		e = err_errno(EXIT_FAILED, "cannot rename %s to %s", tmp, l->archive);
	if (e)
		unlink(tmp);
	return e;
}

err_t *oci_layout_commit(struct oci_layout *l)
{
	if (!l->archive || l->mode != OCI_LAYOUT_WRITE || !l->dirty)
		return NULL;
	TRY(write_archive(l));
	l->dirty = false;
	return NULL;
}

void oci_layout_close(struct oci_layout *l)
{
	if (!l)
		return;
	if (l->temp_dir)
		fs_remove_tree(l->dir);
	json_decref(l->index);
	free(l->dir);
	free(l->archive);
	free(l);
}
