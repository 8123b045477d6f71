/* Layer apply (safe extraction into a rootfs) and deterministic layer
 * writing (see layer.h). */
#include "layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "compress.h"
#include "log.h"
#include "manifest.h"
#include "strbuf.h"
#include "xalloc.h"

#define MAX_SYMLINKS 40
#define MAX_DEPTH 256
#define WHITEOUT_PREFIX ".wh."
#define OPAQUE_MARKER ".wh..wh..opq"

const char *layer_media_type(enum layer_compression c)
{
	switch (c) {
	case LAYER_GZIP:
		return MT_OCI_LAYER_GZIP;
	case LAYER_ZSTD:
		return MT_OCI_LAYER_ZSTD;
	default:
		return MT_OCI_LAYER;
	}
}

err_t *layer_compression_from_media_type(const char *mt, enum layer_compression *out)
{
	if (!mt)
		return err_new(EXIT_FAILED, "layer without a media type");
	if (!strcmp(mt, MT_OCI_LAYER_GZIP) || !strcmp(mt, MT_DOCKER_LAYER_GZIP) ||
	    !strcmp(mt, "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip") ||
	    !strcmp(mt, "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"))
		*out = LAYER_GZIP;
	else if (!strcmp(mt, MT_OCI_LAYER_ZSTD) || !strcmp(mt, "application/vnd.docker.image.rootfs.diff.tar.zstd"))
		*out = LAYER_ZSTD;
	else if (!strcmp(mt, MT_OCI_LAYER) || !strcmp(mt, "application/vnd.docker.image.rootfs.diff.tar"))
		*out = LAYER_PLAIN;
	else
		return err_new(EXIT_FAILED, "unsupported layer media type %.100s", mt);
	return NULL;
}

/* ---- a set of paths (written by this layer) ---- */

struct pathset {
	char **slots;
	size_t cap, n;
};

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static bool pathset_has(const struct pathset *ps, const char *p)
{
	if (!ps->cap)
		return false;
	for (size_t i = fnv(p) & (ps->cap - 1);; i = (i + 1) & (ps->cap - 1)) {
		if (!ps->slots[i])
			return false;
		if (!strcmp(ps->slots[i], p))
			return true;
	}
}

static void pathset_add(struct pathset *ps, const char *p)
{
	if (pathset_has(ps, p))
		return;
	if ((ps->n + 1) * 2 > ps->cap) {
		size_t ncap = ps->cap ? ps->cap * 2 : 256;
		char **old = ps->slots;
		size_t ocap = ps->cap;
		ps->slots = xcalloc(ncap, sizeof *ps->slots);
		ps->cap = ncap;
		for (size_t i = 0; i < ocap; i++) {
			if (!old[i])
				continue;
			size_t j = fnv(old[i]) & (ncap - 1);
			while (ps->slots[j])
				j = (j + 1) & (ncap - 1);
			ps->slots[j] = old[i];
		}
		free(old);
	}
	size_t j = fnv(p) & (ps->cap - 1);
	while (ps->slots[j])
		j = (j + 1) & (ps->cap - 1);
	ps->slots[j] = xstrdup(p);
	ps->n++;
}

static void pathset_free(struct pathset *ps)
{
	for (size_t i = 0; i < ps->cap; i++)
		free(ps->slots[i]);
	free(ps->slots);
	memset(ps, 0, sizeof *ps);
}

/* ---- apply ---- */

struct dir_fixup {
	char *path;
	mode_t mode;
	int64_t mtime;
};

struct applier {
	int rootfd;
	const char *root;
	const struct layer_apply_options *o;
	bool privileged;
	bool chown;
	struct pathset written;
	struct dir_fixup *dirs;
	size_t n_dirs;
	struct layer_apply_stats *st;
};

/* Lexically clean an entry name into a relative path inside the root:
 * leading '/' and "./" dropped, '.' removed, ".." popped. A ".." that
 * would climb above the root is an error. "" is the root itself. */
static err_t *clean_name(const char *name, char **out)
{
	*out = NULL;
	if (strlen(name) > 16384)
		return err_new(EXIT_FAILED, "entry name longer than 16 KiB");
	struct strbuf sb = STRBUF_INIT;
	size_t depth = 0;
	const char *p = name;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t n = strcspn(p, "/");
		if (n == 1 && p[0] == '.') {
			/* skip */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (depth == 0) {
				sb_release(&sb);
				return err_new(EXIT_FAILED, "entry \"%.200s\" points outside the root", name);
			}
			char *slash = strrchr(sb.buf, '/');
			sb.len = slash ? (size_t)(slash - sb.buf) : 0;
			sb.buf[sb.len] = '\0';
			depth--;
		} else {
			if (memchr(p, '\0', n)) {
				sb_release(&sb);
				return err_new(EXIT_FAILED, "bad entry name");
			}
			if (sb.len)
				sb_addc(&sb, '/');
			sb_add(&sb, p, n);
			depth++;
		}
		p += n;
	}
	*out = sb_detach(&sb);
	return NULL;
}

/* Open the directory at `path` (relative, cleaned) under the root,
 * following symlinks as if the root were "/" (absolute targets restart at
 * the root, ".." stops at it), never leaving it; every step is an openat
 * with O_NOFOLLOW. Missing directories are created when `create`. */
static err_t *dir_in_root(int rootfd, const char *path, bool create, int *out)
{
	int stack[MAX_DEPTH + 1];
	size_t depth = 0;
	stack[0] = dup(rootfd);
	if (stack[0] < 0)
		return err_errno(EXIT_FAILED, "dup");
	struct strbuf rest = STRBUF_INIT;
	sb_adds(&rest, path);
	size_t pos = 0;
	int links = 0;
	err_t *e = NULL;
	while (!e) {
		const char *r = sb_str(&rest) + pos;
		while (*r == '/')
			r++;
		if (!*r)
			break;
		size_t n = strcspn(r, "/");
		_cleanup_free_ char *comp = xstrndup(r, n);
		pos = (size_t)(r - sb_str(&rest)) + n;
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			if (depth > 0)
				close(stack[depth--]);
			continue;
		}
		int cur = stack[depth];
		struct stat st;
		if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno != ENOENT || !create) {
				e = err_errno(EXIT_FAILED, "%s", path);
				break;
			}
			if (mkdirat(cur, comp, 0755) != 0 && errno != EEXIST) {
				e = err_errno(EXIT_FAILED, "cannot create directory %s in %s", comp, path);
				break;
			}
			if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) != 0) {
				e = err_errno(EXIT_FAILED, "%s", path);
				break;
			}
		}
		if (S_ISLNK(st.st_mode)) {
			if (++links > MAX_SYMLINKS) {
				e = err_new(EXIT_FAILED, "%s: too many levels of symbolic links", path);
				break;
			}
			char target[PATH_MAX];
			ssize_t tl = readlinkat(cur, comp, target, sizeof target - 1);
			if (tl < 0) {
				e = err_errno(EXIT_FAILED, "readlink %s", comp);
				break;
			}
			target[tl] = '\0';
			/* splice the target in front of what is left */
			struct strbuf next = STRBUF_INIT;
			sb_adds(&next, target);
			sb_addc(&next, '/');
			sb_adds(&next, sb_str(&rest) + pos);
			sb_release(&rest);
			rest = next;
			pos = 0;
			if (target[0] == '/') {
				while (depth > 0)
					close(stack[depth--]);
			}
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			e = err_new(EXIT_FAILED, "%s: %s is not a directory", path, comp);
			break;
		}
		if (depth >= MAX_DEPTH) {
			e = err_new(EXIT_FAILED, "%s: too deep", path);
			break;
		}
		int fd = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			e = err_errno(EXIT_FAILED, "cannot open directory %s", comp);
			break;
		}
		stack[++depth] = fd;
	}
	sb_release(&rest);
	if (!e) {
		*out = stack[depth];
		while (depth > 0)
			close(stack[--depth]);
		return NULL;
	}
	for (;;) {
		close(stack[depth]);
		if (depth == 0)
			break;
		depth--;
	}
	return e;
}

static err_t *open_dir_in_root(struct applier *ap, const char *path, bool create, int *out)
{
	return dir_in_root(ap->rootfd, path, create, out);
}

err_t *layer_open_dir_in_root(int rootfd, const char *path, int *out)
{
	return dir_in_root(rootfd, path, false, out);
}

/* Split a cleaned path into parent and last component. */
static void split_path(const char *path, char **parent, const char **base)
{
	const char *slash = strrchr(path, '/');
	if (slash) {
		*parent = xstrndup(path, (size_t)(slash - path));
		*base = slash + 1;
	} else {
		*parent = xstrdup("");
		*base = path;
	}
}

/* Remove name in dirfd, recursively for directories, never following links. */
static err_t *remove_at(int at, const char *name, int depth)
{
	struct stat st;
	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? NULL : err_errno(EXIT_FAILED, "cannot stat %s", name);
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(at, name, 0) != 0 && errno != ENOENT)
			return err_errno(EXIT_FAILED, "cannot remove %s", name);
		return NULL;
	}
	if (depth > MAX_DEPTH)
		return err_new(EXIT_FAILED, "%s: directory tree too deep to remove", name);
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_errno(EXIT_FAILED, "cannot open %s", name);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return err_errno(EXIT_FAILED, "cannot list %s", name);
	}
	err_t *e = NULL;
	struct dirent *de;
	while (!e && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		e = remove_at(dirfd(d), de->d_name, depth + 1);
	}
	closedir(d);
	if (!e && unlinkat(at, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		e = err_errno(EXIT_FAILED, "cannot remove directory %s", name);
	return e;
}

/* Make room for a new non-directory entry: whatever is there goes. */
static err_t *clear_slot(int dirfd, const char *name, bool keep_dir)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return NULL;
	if (keep_dir && S_ISDIR(st.st_mode))
		return NULL;
	return remove_at(dirfd, name, 0);
}

static void apply_meta(struct applier *ap, int dirfd, const char *name, int fd, struct archive_entry *ent,
		       bool is_link)
{
	if (ap->chown) {
		uid_t uid = (uid_t)archive_entry_uid(ent);
		gid_t gid = (gid_t)archive_entry_gid(ent);
		int rc = fd >= 0 ? fchown(fd, uid, gid) : fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
		if (rc != 0)
			log_debug("layer: cannot chown %s to %u:%u: %s", name, uid, gid, strerror(errno));
	}
	/* directories keep owner rwx until the end (dir_fixup) */
	if (!is_link && fd >= 0 && archive_entry_filetype(ent) != AE_IFDIR &&
	    fchmod(fd, archive_entry_perm(ent) & 07777) != 0)
		log_debug("layer: cannot chmod %s: %s", name, strerror(errno));
	if (!ap->o->no_xattrs && fd >= 0) {
		const char *xn;
		const void *xv;
		size_t xs;
		archive_entry_xattr_reset(ent);
		while (archive_entry_xattr_next(ent, &xn, &xv, &xs) == ARCHIVE_OK) {
			if (!ap->privileged && strncmp(xn, "user.", 5))
				continue;
			if (fsetxattr(fd, xn, xv, xs, 0) != 0)
				log_debug("layer: cannot set xattr %s on %s: %s", xn, name, strerror(errno));
		}
	}
	struct timespec ts[2] = { { archive_entry_mtime(ent), 0 }, { archive_entry_mtime(ent), 0 } };
	if (fd >= 0)
		futimens(fd, ts);
	else
		utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
}

static err_t *write_data(struct archive *a, struct archive_entry *ent, int fd, const char *name)
{
	const void *buf;
	size_t size;
	la_int64_t offset;
	for (;;) {
		int rc = archive_read_data_block(a, &buf, &size, &offset);
		if (rc == ARCHIVE_EOF)
			break;
		if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
			return err_new(EXIT_FAILED, "%s: %s", name, archive_error_string(a));
		const char *p = buf;
		size_t left = size;
		off_t off = offset;
		while (left) {
			ssize_t n = pwrite(fd, p, left, off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return err_errno(EXIT_FAILED, "cannot write %s", name);
			p += n;
			left -= (size_t)n;
			off += n;
		}
	}
	/* sparse files end in a hole */
	if (archive_entry_size_is_set(ent) && ftruncate(fd, archive_entry_size(ent)) != 0)
		return err_errno(EXIT_FAILED, "cannot size %s", name);
	return NULL;
}

static err_t *apply_whiteout(struct applier *ap, const char *parent, const char *base, const char *path)
{
	int dfd;
	/* a whiteout whose parent is missing has nothing to hide */
	err_t *e = open_dir_in_root(ap, parent, false, &dfd);
	if (e) {
		log_debug("layer: whiteout %s: %s", path, e->msg);
		err_free(e);
		return NULL;
	}
	ap->st->whiteouts++;
	if (!strcmp(base, OPAQUE_MARKER)) {
		/* keep only what this layer wrote in the directory */
		DIR *d = fdopendir(dup(dfd));
		if (!d) {
			close(dfd);
			return err_errno(EXIT_FAILED, "cannot list %s", parent);
		}
		struct dirent *de;
		while (!e && (de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			_cleanup_free_ char *child = *parent ? xasprintf("%s/%s", parent, de->d_name) : xstrdup(de->d_name);
			if (!pathset_has(&ap->written, child))
				e = remove_at(dfd, de->d_name, 0);
		}
		closedir(d);
	} else {
		const char *victim = base + strlen(WHITEOUT_PREFIX);
		if (!*victim || !strcmp(victim, ".") || !strcmp(victim, "..") || strchr(victim, '/'))
			e = err_new(EXIT_FAILED, "bad whiteout entry %.200s", path);
		else
			e = remove_at(dfd, victim, 0);
	}
	close(dfd);
	return e;
}

/* A cleaned entry name (not the root itself) placed below opts->subdir. */
static err_t *in_subdir(const struct applier *ap, char **path)
{
	const char *sub = ap->o->subdir;
	if (sub && *sub) {
		char *p = xasprintf("%s/%s", sub, *path);
		free(*path);
		*path = p;
	}
	return NULL;
}

static err_t *apply_entry(struct applier *ap, struct archive *a, struct archive_entry *ent)
{
	const char *raw = archive_entry_pathname(ent);
	if (!raw)
		return err_new(EXIT_FAILED, "entry without a name");
	_cleanup_free_ char *path = NULL;
	TRY(clean_name(raw, &path));
	ap->st->entries++;
	mode_t type = archive_entry_filetype(ent);
	const char *hardlink = archive_entry_hardlink(ent);
	if (!*path) {
		/* the root itself: only its mode is taken (not by ADD, whose
		 * destination exists: moby's Untar skips "." there) */
		if (type == AE_IFDIR && !ap->o->keep_root_mode)
			fchmod(ap->rootfd, archive_entry_perm(ent) & 07777);
		return NULL;
	}
	TRY(in_subdir(ap, &path));
	_cleanup_free_ char *parent = NULL;
	const char *base;
	split_path(path, &parent, &base);
	if (!strncmp(base, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)))
		return apply_whiteout(ap, parent, base, path);

	if (type == AE_IFSOCK) {
		ap->st->skipped++;
		log_debug("layer: socket %s skipped", path);
		return NULL;
	}
	if (!hardlink && (type == AE_IFCHR || type == AE_IFBLK)) {
		if (ap->o->devices == LAYER_DEVICES_REFUSE)
			return err_new(EXIT_FAILED, "layer has a device node %s (refused)", path);
		if (ap->o->devices == LAYER_DEVICES_SKIP || !ap->privileged) {
			ap->st->skipped++;
			log_debug("layer: device %s skipped", path);
			return NULL;
		}
	}

	int dfd;
	TRY(open_dir_in_root(ap, parent, true, &dfd));
	err_t *e = NULL;
	int fd = -1;
	if (hardlink) {
		_cleanup_free_ char *target = NULL;
		e = clean_name(hardlink, &target);
		if (!e && !*target)
			e = err_new(EXIT_FAILED, "hardlink %s to the root", path);
		if (!e)
			e = in_subdir(ap, &target);
		_cleanup_free_ char *tparent = NULL;
		const char *tbase = NULL;
		int tfd = -1;
		if (!e) {
			split_path(target, &tparent, &tbase);
			e = open_dir_in_root(ap, tparent, false, &tfd);
		}
		struct stat st;
		if (!e && fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) != 0)
			e = err_errno(EXIT_FAILED, "hardlink %s: target %s", path, target);
		if (!e && S_ISDIR(st.st_mode))
			e = err_new(EXIT_FAILED, "hardlink %s: target %s is a directory", path, target);
		if (!e && !(tfd == dfd && !strcmp(tbase, base))) {
			e = clear_slot(dfd, base, false);
			if (!e && linkat(tfd, tbase, dfd, base, 0) != 0)
				e = err_errno(EXIT_FAILED, "cannot link %s to %s", path, target);
		}
		if (tfd >= 0)
			close(tfd);
		if (!e)
			ap->st->hardlinks++;
	} else {
		switch (type) {
		case AE_IFDIR: {
			struct stat st;
			if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
				e = remove_at(dfd, base, 0);
			if (!e && mkdirat(dfd, base, 0700) != 0 && errno != EEXIST)
				e = err_errno(EXIT_FAILED, "cannot create directory %s", path);
			if (!e)
				fd = openat(dfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (!e && fd < 0)
				e = err_errno(EXIT_FAILED, "cannot open directory %s", path);
			if (!e) {
				/* owner-writable until the end, then its real mode */
				fchmod(fd, (archive_entry_perm(ent) & 07777) | 0700);
				ap->dirs = xrealloc(ap->dirs, (ap->n_dirs + 1) * sizeof *ap->dirs);
				ap->dirs[ap->n_dirs++] = (struct dir_fixup){ xstrdup(path), archive_entry_perm(ent) & 07777,
									     archive_entry_mtime(ent) };
				ap->st->dirs++;
			}
			break;
		}
		case AE_IFLNK: {
			const char *target = archive_entry_symlink(ent);
			e = clear_slot(dfd, base, false);
			if (!e && (!target || !*target))
				e = err_new(EXIT_FAILED, "symlink %s without a target", path);
			if (!e && symlinkat(target, dfd, base) != 0)
				e = err_errno(EXIT_FAILED, "cannot create symlink %s", path);
			if (!e)
				ap->st->symlinks++;
			break;
		}
		case AE_IFIFO:
		case AE_IFCHR:
		case AE_IFBLK: {
			e = clear_slot(dfd, base, false);
			mode_t m = (mode_t)type | (archive_entry_perm(ent) & 07777);
			dev_t dev = makedev(archive_entry_rdevmajor(ent), archive_entry_rdevminor(ent));
			if (!e && mknodat(dfd, base, m, type == AE_IFIFO ? 0 : dev) != 0) {
				if (errno == EPERM && ap->o->devices == LAYER_DEVICES_AUTO) {
					log_debug("layer: %s skipped (not permitted)", path);
					ap->st->skipped++;
					close(dfd);
					return NULL;
				}
				e = err_errno(EXIT_FAILED, "cannot create %s", path);
			}
			if (!e)
				ap->st->files++;
			break;
		}
		case AE_IFREG: {
			e = clear_slot(dfd, base, false);
			if (!e) {
				fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
				if (fd < 0)
					e = err_errno(EXIT_FAILED, "cannot create %s", path);
			}
			if (!e)
				e = write_data(a, ent, fd, path);
			if (!e)
				ap->st->files++;
			break;
		}
		default:
			ap->st->skipped++;
			log_debug("layer: %s has an unknown type, skipped", path);
			close(dfd);
			return NULL;
		}
	}
	if (!e && !hardlink)
		apply_meta(ap, dfd, base, fd, ent, type == AE_IFLNK || type == AE_IFCHR || type == AE_IFBLK ||
						       type == AE_IFIFO);
	if (!e && !hardlink && fd < 0 && type != AE_IFLNK && ap->chown == false) {
		/* fifos and devices: permission bits */
		if (fchmodat(dfd, base, archive_entry_perm(ent) & 07777, 0) != 0)
			log_debug("layer: cannot chmod %s: %s", path, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	close(dfd);
	if (!e)
		pathset_add(&ap->written, path);
	return e;
}

struct reader_ctx {
	struct decoder *dec;
	unsigned char *buf;
	err_t *err;
};

static la_ssize_t reader_cb(struct archive *a, void *ud, const void **out)
{
	(void)a;
	struct reader_ctx *r = ud;
	size_t got = 0;
	err_t *e = decoder_read(r->dec, r->buf, 1 << 17, &got);
	if (e) {
		r->err = e;
		return -1;
	}
	*out = r->buf;
	return (la_ssize_t)got;
}

/* The layer's decompressed stream (any_compression: zstd too) for libarchive;
 * its compression goes into stats. */
static err_t *reader_open(int layer_fd, bool any_compression, struct reader_ctx *rc, struct layer_apply_stats *stats)
{
	*rc = (struct reader_ctx){ 0 };
	TRY(decoder_new(layer_fd, any_compression, &rc->dec));
	enum compress_format f = decoder_format(rc->dec);
	stats->compression = f == COMPRESS_GZIP ? LAYER_GZIP : f == COMPRESS_ZSTD ? LAYER_ZSTD : LAYER_PLAIN;
	rc->buf = xmalloc(1 << 17);
	return NULL;
}

typedef err_t *(*tar_entry_fn)(struct archive *a, struct archive_entry *ent, void *ctx);

/* Every tar entry of the stream to fn, in order, until an error: a read or
 * decompression failure is reported as itself, not as what it made
 * libarchive or fn say; fn's error is wrapped with the entry's name. */
static err_t *tar_walk(struct reader_ctx *rc, struct archive *a, tar_entry_fn fn, void *ctx)
{
	archive_read_support_format_tar(a);
	err_t *e = NULL;
	if (archive_read_open(a, rc, NULL, reader_cb, NULL) != ARCHIVE_OK) {
		e = rc->err ? rc->err : err_new(EXIT_FAILED, "layer: %s", archive_error_string(a));
		rc->err = NULL;
	}
	while (!e) {
		struct archive_entry *ent;
		int r = archive_read_next_header(a, &ent);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			e = rc->err ? rc->err : err_new(EXIT_FAILED, "layer: %s", archive_error_string(a));
			rc->err = NULL;
			break;
		}
		e = fn(a, ent, ctx);
		if (e) {
			if (rc->err) {
				err_free(e);
				e = rc->err;
				rc->err = NULL;
			}
			const char *n = archive_entry_pathname(ent);
			e = err_wrap(e, "layer entry %.200s", n ? n : "?");
		}
	}
	return e;
}

/* Free the archive and the stream; unless e, read the stream to its end for
 * its diff_id and size. */
static err_t *reader_close(struct reader_ctx *rc, struct archive *a, err_t *e, struct layer_apply_stats *stats)
{
	archive_read_free(a);
	err_free(rc->err);
	if (!e)
		e = decoder_finish(rc->dec, stats->diff_id, &stats->bytes);
	decoder_free(rc->dec);
	free(rc->buf);
	return e;
}

static err_t *apply_tar_entry(struct archive *a, struct archive_entry *ent, void *ctx)
{
	return apply_entry(ctx, a, ent);
}

err_t *layer_apply(const char *root, int layer_fd, const struct layer_apply_options *opts,
		   struct layer_apply_stats *stats)
{
	struct layer_apply_options defaults = { 0 };
	struct layer_apply_stats local;
	if (!opts)
		opts = &defaults;
	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof *stats);
	struct applier ap = { .root = root, .o = opts, .st = stats };
	ap.privileged = geteuid() == 0;
	ap.chown = ap.privileged || opts->keep_ownership;
	ap.rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ap.rootfd < 0)
		return err_errno(EXIT_FAILED, "cannot open root %s", root);
	struct reader_ctx rc;
	err_t *e = reader_open(layer_fd, opts->any_compression, &rc, stats);
	if (e) {
		close(ap.rootfd);
		return e;
	}
	struct archive *a = archive_read_new();
	e = reader_close(&rc, a, tar_walk(&rc, a, apply_tar_entry, &ap), stats);
	/* directories get their real modes and times last (deepest first) */
	for (size_t i = ap.n_dirs; i-- > 0;) {
		struct dir_fixup *d = &ap.dirs[i];
		if (!e) {
			int dfd;
			err_t *de = open_dir_in_root(&ap, d->path, false, &dfd);
			if (!de) {
				fchmod(dfd, d->mode);
				struct timespec ts[2] = { { d->mtime, 0 }, { d->mtime, 0 } };
				futimens(dfd, ts);
				close(dfd);
			}
			err_free(de);
		}
		free(d->path);
	}
	free(ap.dirs);
	pathset_free(&ap.written);
	close(ap.rootfd);
	if (!e && opts->expected_diff_id && !digest_equal(opts->expected_diff_id, stats->diff_id))
		e = err_new(EXIT_FAILED, "layer content has diff_id %s, expected %s", stats->diff_id,
			    opts->expected_diff_id);
	return e;
}

/* ---- read ---- */

struct layer_reader {
	struct archive *a;
};

err_t *layer_read_data(struct layer_reader *r, void *buf, size_t len, size_t *got)
{
	la_ssize_t n = archive_read_data(r->a, buf, len);
	if (n < 0)
		return err_new(EXIT_FAILED, "layer: %s", archive_error_string(r->a));
	*got = (size_t)n;
	return NULL;
}

static err_t *read_entry(struct archive_entry *ent, struct layer_reader *lr, layer_read_fn fn, void *ctx,
			 struct layer_apply_stats *st)
{
	const char *raw = archive_entry_pathname(ent);
	if (!raw)
		return err_new(EXIT_FAILED, "entry without a name");
	_cleanup_free_ char *path = NULL;
	TRY(clean_name(raw, &path));
	st->entries++;
	if (!*path)
		return NULL;
	_cleanup_free_ char *parent = NULL, *victim = NULL, *target = NULL;
	const char *base;
	split_path(path, &parent, &base);
	struct layer_read_entry e = { .path = path, .size = archive_entry_size(ent),
				      .mode = archive_entry_perm(ent) & 07777 };
	const char *hardlink = archive_entry_hardlink(ent);
	mode_t type = archive_entry_filetype(ent);
	if (!strncmp(base, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX))) {
		st->whiteouts++;
		if (!strcmp(base, OPAQUE_MARKER)) {
			if (!*parent)
				return NULL; /* the root: nothing below it to hide by path */
			e.kind = LAYER_READ_OPAQUE;
			e.path = parent;
		} else {
			const char *v = base + strlen(WHITEOUT_PREFIX);
			if (!*v || !strcmp(v, ".") || !strcmp(v, "..") || strchr(v, '/'))
				return err_new(EXIT_FAILED, "bad whiteout entry %.200s", path);
			victim = *parent ? xasprintf("%s/%s", parent, v) : xstrdup(v);
			e.kind = LAYER_READ_WHITEOUT;
			e.path = victim;
		}
	} else if (hardlink) {
		TRY(clean_name(hardlink, &target));
		if (!*target)
			return err_new(EXIT_FAILED, "hardlink %s to the root", path);
		e.kind = LAYER_READ_HARDLINK;
		e.link = target;
	} else if (type == AE_IFREG) {
		e.kind = LAYER_READ_FILE;
		st->files++;
	} else if (type == AE_IFDIR) {
		e.kind = LAYER_READ_DIR;
		st->dirs++;
	} else if (type == AE_IFLNK) {
		e.kind = LAYER_READ_SYMLINK;
		e.link = archive_entry_symlink(ent);
		if (!e.link || !*e.link)
			return err_new(EXIT_FAILED, "symlink %s without a target", path);
		st->symlinks++;
	} else {
		e.kind = LAYER_READ_OTHER;
		st->skipped++;
	}
	return fn(&e, lr, ctx);
}

struct read_walk {
	struct layer_reader *lr;
	layer_read_fn fn;
	void *ctx;
	struct layer_apply_stats *stats;
};

static err_t *read_tar_entry(struct archive *a, struct archive_entry *ent, void *ctx)
{
	(void)a;
	struct read_walk *w = ctx;
	return read_entry(ent, w->lr, w->fn, w->ctx, w->stats);
}

err_t *layer_read(int layer_fd, layer_read_fn fn, void *ctx, struct layer_apply_stats *stats)
{
	struct layer_apply_stats local;
	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof *stats);
	struct reader_ctx rc;
	TRY(reader_open(layer_fd, false, &rc, stats));
	struct layer_reader lr = { archive_read_new() };
	struct read_walk w = { &lr, fn, ctx, stats };
	return reader_close(&rc, lr.a, tar_walk(&rc, lr.a, read_tar_entry, &w), stats);
}

/* ---- write ---- */

struct link_seen {
	dev_t dev;
	ino_t ino;
	char *path;
};

struct layer_writer {
	struct archive *a;
	struct encoder *enc; /* NULL with a sink */
	const struct layer_sink *sink;
	err_t *err; /* from the write callback */
	int64_t epoch;
	bool no_xattrs;
	enum layer_compression comp;
	struct link_seen *links;
	size_t n_links;
};

static la_ssize_t writer_cb(struct archive *a, void *ud, const void *buf, size_t len)
{
	(void)a;
	struct layer_writer *w = ud;
	err_t *e = w->sink ? w->sink->write(w->sink->ctx, buf, len) : encoder_write(w->enc, buf, len);
	if (e) {
		if (!w->err)
			w->err = e;
		else
			err_free(e);
		return -1;
	}
	return (la_ssize_t)len;
}

err_t *layer_writer_new(int out_fd, const struct layer_write_options *opts, struct layer_writer **out)
{
	struct layer_write_options defaults = { LAYER_GZIP, 0, 0, -1, false, NULL };
	if (!opts)
		opts = &defaults;
	struct layer_writer *w = xcalloc(1, sizeof *w);
	w->comp = opts->compression;
	w->no_xattrs = opts->no_xattrs;
	w->epoch = opts->source_date_epoch;
	if (w->epoch < 0) {
		const char *s = getenv("SOURCE_DATE_EPOCH");
		char *end = NULL;
		long long v = s && *s ? strtoll(s, &end, 10) : -1;
		w->epoch = (s && *s && end && !*end && v >= 0) ? v : -1;
	}
	enum compress_format f = w->comp == LAYER_GZIP ? COMPRESS_GZIP : w->comp == LAYER_ZSTD ? COMPRESS_ZSTD
											: COMPRESS_PLAIN;
	w->sink = opts->sink;
	err_t *e = w->sink ? NULL : encoder_new(out_fd, f, opts->level, opts->threads, &w->enc);
	if (e) {
		free(w);
		return e;
	}
	w->a = archive_write_new();
	archive_write_set_format_pax_restricted(w->a);
	archive_write_set_bytes_per_block(w->a, 10240);
	archive_write_set_bytes_in_last_block(w->a, 1);
	if (archive_write_open(w->a, w, NULL, writer_cb, NULL) != ARCHIVE_OK) {
		e = err_new(EXIT_FAILED, "layer: %s", archive_error_string(w->a));
		layer_writer_abort(w);
		return e;
	}
	*out = w;
	return NULL;
}

static int64_t clamp_time(const struct layer_writer *w, int64_t t)
{
	return w->epoch >= 0 && t > w->epoch ? w->epoch : t;
}

static err_t *clean_layer_name(const char *path, char **out)
{
	TRY(clean_name(path, out));
	if (!**out) {
		free(*out);
		*out = NULL;
		return err_new(EXIT_USAGE, "layer entry \"%.200s\" names the root", path);
	}
	return NULL;
}

static err_t *emit_entry(struct layer_writer *w, struct archive_entry *ent, int fd, const char *what)
{
	err_t *e = NULL;
	/* Names are bytes. libarchive's pax writer converts them from the
	 * locale's charset to UTF-8 (we never call setlocale: "C", ASCII); a
	 * name it cannot convert gets ARCHIVE_WARN and is written as it is,
	 * raw bytes in the PAX path/linkpath records with hdrcharset=BINARY:
	 * the name is kept byte for byte, as Go's archive/tar keeps it (and
	 * reads it). Only a real failure is ARCHIVE_FAILED/FATAL. */
	int r = archive_write_header(w->a, ent);
	if (r != ARCHIVE_OK && !(r == ARCHIVE_WARN && !w->err))
		e = w->err ? steal_ptr(w->err) : err_new(EXIT_FAILED, "layer %s: %s", what, archive_error_string(w->a));
	if (!e && fd >= 0) {
		int64_t left = archive_entry_size(ent);
		char *buf = xmalloc(1 << 17);
		while (!e && left > 0) {
			ssize_t n = read(fd, buf, left < (1 << 17) ? (size_t)left : (1 << 17));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				e = err_errno(EXIT_FAILED, "cannot read %s", what);
			else if (n == 0)
				e = err_new(EXIT_FAILED, "%s shrank while being added to the layer", what);
			else if (archive_write_data(w->a, buf, (size_t)n) != n)
				e = w->err ? steal_ptr(w->err)
					   : err_new(EXIT_FAILED, "layer %s: %s", what, archive_error_string(w->a));
			else
				left -= n;
		}
		free(buf);
	}
	archive_entry_free(ent);
	return e;
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_xattrs(struct archive_entry *ent, int fd)
{
	ssize_t n = flistxattr(fd, NULL, 0);
	if (n <= 0)
		return;
	char *names = xmalloc((size_t)n + 1);
	n = flistxattr(fd, names, (size_t)n);
	if (n <= 0) {
		free(names);
		return;
	}
	names[n] = '\0';
	size_t count = 0;
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1)
		count++;
	char **list = xcalloc(count ? count : 1, sizeof *list);
	size_t k = 0;
	for (ssize_t i = 0; i < n && k < count; i += (ssize_t)strlen(names + i) + 1)
		list[k++] = names + i;
	qsort(list, k, sizeof *list, cmp_cstr);
	for (size_t i = 0; i < k; i++) {
		if (!strncmp(list[i], "system.", 7) || !strcmp(list[i], "security.selinux"))
			continue;
		ssize_t vs = fgetxattr(fd, list[i], NULL, 0);
		if (vs < 0 || vs > 65536)
			continue;
		char *v = xmalloc((size_t)vs + 1);
		vs = fgetxattr(fd, list[i], v, (size_t)vs);
		if (vs >= 0)
			archive_entry_xattr_add_entry(ent, list[i], v, (size_t)vs);
		free(v);
	}
	free(list);
	free(names);
}

/* The entry for `base` in directory `at` (AT_FDCWD: base is a path),
 * never following a symlink at base; `what` names it in errors. */
static err_t *add_at(struct layer_writer *w, const char *name, int at, const char *base, const char *what)
{
	struct stat st;
	if (fstatat(at, base, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return err_errno(EXIT_FAILED, "cannot stat %s", what);
	if (S_ISSOCK(st.st_mode)) {
		log_debug("layer: socket %s not added", what);
		return NULL;
	}
	_cleanup_close_ int fd = -1;
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
		fd = openat(at, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
		struct stat fst;
		if (fd < 0)
			return err_errno(EXIT_FAILED, "cannot open %s", what);
		if (fstat(fd, &fst) != 0 || fst.st_ino != st.st_ino || fst.st_dev != st.st_dev)
			return err_new(EXIT_FAILED, "%s changed while being added to the layer", what);
	}
	struct archive_entry *ent = archive_entry_new();
	archive_entry_set_pathname(ent, name);
	archive_entry_set_mode(ent, st.st_mode);
	archive_entry_set_uid(ent, st.st_uid);
	archive_entry_set_gid(ent, st.st_gid);
	archive_entry_set_mtime(ent, clamp_time(w, st.st_mtime), 0);
	if (!w->no_xattrs && fd >= 0)
		add_xattrs(ent, fd);
	if (S_ISREG(st.st_mode)) {
		if (st.st_nlink > 1) {
			for (size_t i = 0; i < w->n_links; i++) {
				if (w->links[i].dev == st.st_dev && w->links[i].ino == st.st_ino) {
					archive_entry_set_hardlink(ent, w->links[i].path);
					archive_entry_set_size(ent, 0);
					return emit_entry(w, ent, -1, what);
				}
			}
			w->links = xrealloc(w->links, (w->n_links + 1) * sizeof *w->links);
			w->links[w->n_links++] = (struct link_seen){ st.st_dev, st.st_ino, xstrdup(name) };
		}
		archive_entry_set_size(ent, st.st_size);
		return emit_entry(w, ent, fd, what);
	}
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(at, base, target, sizeof target - 1);
		if (n < 0) {
			archive_entry_free(ent);
			return err_errno(EXIT_FAILED, "cannot read link %s", what);
		}
		target[n] = '\0';
		archive_entry_set_symlink(ent, target);
	} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
		archive_entry_set_rdevmajor(ent, major(st.st_rdev));
		archive_entry_set_rdevminor(ent, minor(st.st_rdev));
	}
	return emit_entry(w, ent, -1, what);
}

err_t *layer_writer_add_path(struct layer_writer *w, const char *path, const char *src)
{
	_cleanup_free_ char *name = NULL;
	TRY(clean_layer_name(path, &name));
	return add_at(w, name, AT_FDCWD, src, src);
}

err_t *layer_writer_add_fd(struct layer_writer *w, const char *path, const struct layer_entry_meta *meta, int fd,
			   int64_t size)
{
	_cleanup_free_ char *name = NULL;
	TRY(clean_layer_name(path, &name));
	struct archive_entry *ent = archive_entry_new();
	archive_entry_set_pathname(ent, name);
	archive_entry_set_mode(ent, S_IFREG | (meta->mode & 07777));
	archive_entry_set_uid(ent, meta->uid);
	archive_entry_set_gid(ent, meta->gid);
	archive_entry_set_mtime(ent, clamp_time(w, meta->mtime), 0);
	archive_entry_set_size(ent, size);
	return emit_entry(w, ent, fd, name);
}

err_t *layer_writer_add_meta(struct layer_writer *w, const char *path, const struct layer_entry_meta *meta)
{
	_cleanup_free_ char *name = NULL;
	TRY(clean_layer_name(path, &name));
	if (S_ISREG(meta->mode))
		return err_new(EXIT_USAGE, "layer_writer_add_meta: %s is a regular file (use add_fd)", name);
	if (S_ISLNK(meta->mode) && (!meta->symlink_target || !*meta->symlink_target))
		return err_new(EXIT_USAGE, "symlink %s without a target", name);
	struct archive_entry *ent = archive_entry_new();
	archive_entry_set_pathname(ent, name);
	archive_entry_set_mode(ent, meta->mode);
	archive_entry_set_uid(ent, meta->uid);
	archive_entry_set_gid(ent, meta->gid);
	archive_entry_set_mtime(ent, clamp_time(w, meta->mtime), 0);
	if (S_ISLNK(meta->mode))
		archive_entry_set_symlink(ent, meta->symlink_target);
	return emit_entry(w, ent, -1, name);
}

static err_t *add_marker(struct layer_writer *w, const char *name)
{
	struct archive_entry *ent = archive_entry_new();
	archive_entry_set_pathname(ent, name);
	archive_entry_set_mode(ent, S_IFREG | 0644);
	archive_entry_set_size(ent, 0);
	archive_entry_set_mtime(ent, w->epoch >= 0 ? w->epoch : 0, 0);
	return emit_entry(w, ent, -1, name);
}

err_t *layer_writer_add_whiteout(struct layer_writer *w, const char *path)
{
	_cleanup_free_ char *name = NULL;
	TRY(clean_layer_name(path, &name));
	_cleanup_free_ char *parent = NULL;
	const char *base;
	split_path(name, &parent, &base);
	_cleanup_free_ char *marker = *parent ? xasprintf("%s/" WHITEOUT_PREFIX "%s", parent, base)
					      : xasprintf(WHITEOUT_PREFIX "%s", base);
	return add_marker(w, marker);
}

err_t *layer_writer_add_opaque(struct layer_writer *w, const char *dir)
{
	_cleanup_free_ char *name = NULL;
	TRY(clean_name(dir, &name));
	_cleanup_free_ char *marker = *name ? xasprintf("%s/" OPAQUE_MARKER, name) : xstrdup(OPAQUE_MARKER);
	return add_marker(w, marker);
}

static void writer_release(struct layer_writer *w)
{
	for (size_t i = 0; i < w->n_links; i++)
		free(w->links[i].path);
	free(w->links);
	err_free(w->err);
	free(w);
}

err_t *layer_writer_finish(struct layer_writer *w, struct layer_write_result *res)
{
	err_t *e = NULL;
	if (archive_write_close(w->a) != ARCHIVE_OK)
		e = w->err ? steal_ptr(w->err) : err_new(EXIT_FAILED, "layer: %s", archive_error_string(w->a));
	archive_write_free(w->a);
	if (e) {
		encoder_free(w->enc);
		writer_release(w);
		return e;
	}
	memset(res, 0, sizeof *res);
	if (w->enc)
		e = encoder_finish(w->enc, res->digest, &res->size, res->diff_id, &res->tar_size);
	res->media_type = w->sink ? NULL : layer_media_type(w->comp);
	writer_release(w);
	return e;
}

void layer_writer_abort(struct layer_writer *w)
{
	if (!w)
		return;
	archive_write_free(w->a);
	encoder_free(w->enc);
	writer_release(w);
}

/* Add root/path, its parents resolved with O_NOFOLLOW: a change list can
 * never make the layer read through a symlink (an absolute one would
 * point into the host). */
static err_t *add_change(struct layer_writer *w, int rootfd, const char *path)
{
	_cleanup_free_ char *name = NULL;
	TRY(clean_layer_name(path, &name));
	int cur = dup(rootfd);
	if (cur < 0)
		return err_errno(EXIT_FAILED, "dup");
	const char *p = name;
	err_t *e = NULL;
	for (;;) {
		const char *slash = strchr(p, '/');
		if (!slash)
			break;
		_cleanup_free_ char *comp = xstrndup(p, (size_t)(slash - p));
		int next = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			e = err_errno(EXIT_FAILED, "layer change %s: cannot open %.*s without following links", name,
				      (int)(slash - name), name);
			break;
		}
		close(cur);
		cur = next;
		p = slash + 1;
	}
	if (!e)
		e = add_at(w, name, cur, p, name);
	close(cur);
	return e;
}

/* sort key: '/' sorts below every other byte, so a directory's entries
 * follow it directly, and an opaque marker comes first among them */
struct sorted_change {
	char *key;
	const struct layer_change *c;
};

static int cmp_change(const void *a, const void *b)
{
	return strcmp(((const struct sorted_change *)a)->key, ((const struct sorted_change *)b)->key);
}

err_t *layer_write_changes(const char *root, const struct layer_change *changes, size_t n,
			   const struct layer_write_options *opts, int out_fd, struct layer_write_result *result)
{
	struct sorted_change *s = xcalloc(n ? n : 1, sizeof *s);
	err_t *e = NULL;
	for (size_t i = 0; i < n && !e; i++) {
		char *clean = NULL;
		e = clean_name(changes[i].path, &clean);
		if (e)
			break;
		for (char *p = clean; *p; p++)
			if (*p == '/')
				*p = '\x01';
		s[i].key = changes[i].kind == LAYER_CHANGE_OPAQUE ? xasprintf("%s\x01", clean) : xstrdup(clean);
		s[i].c = &changes[i];
		free(clean);
	}
	if (!e)
		qsort(s, n, sizeof *s, cmp_change);
	struct layer_writer *w = NULL;
	int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!e && rootfd < 0)
		e = err_errno(EXIT_FAILED, "cannot open %s", root);
	if (!e)
		e = layer_writer_new(out_fd, opts, &w);
	for (size_t i = 0; i < n && !e; i++) {
		const struct layer_change *c = s[i].c;
		if (c->kind == LAYER_CHANGE_DELETE) {
			e = layer_writer_add_whiteout(w, c->path);
		} else if (c->kind == LAYER_CHANGE_OPAQUE) {
			e = layer_writer_add_opaque(w, c->path);
		} else {
			e = add_change(w, rootfd, c->path);
		}
	}
	if (w) {
		if (e)
			layer_writer_abort(w);
		else
			e = layer_writer_finish(w, result);
	}
	if (rootfd >= 0)
		close(rootfd);
	for (size_t i = 0; i < n; i++)
		free(s[i].key);
	free(s);
	return e;
}
