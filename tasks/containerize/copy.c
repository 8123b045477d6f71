/* COPY and ADD into a stage root (see copy.h). */
#include "copy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "compress.h"
#include "layer.h"
#include "rootfs.h"
#include "strbuf.h"
#include "xalloc.h"

/* ---- source expansion ---- */

/* Does the pattern climb above its root? ("../x", "a/../../x") */
static bool escapes(const char *p)
{
	int depth = 0;
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return true;
		} else if (n && !(n == 1 && p[0] == '.')) {
			depth++;
		}
		p = e;
	}
	return false;
}

struct strlist {
	char **v;
	size_t n, cap;
};

static void sl_push(struct strlist *l, char *s)
{
	if (l->n + 1 >= l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = s;
	l->v[l->n] = NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void copy_free_list(char **list)
{
	for (char **p = list; p && *p; p++)
		free(*p);
	free(list);
}

/* Sorted names of a directory (caller frees with copy_free_list). */
static char **read_names(int dfd, size_t *n)
{
	struct strlist l = { 0 };
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		*n = 0;
		return xcalloc(1, sizeof(char *));
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		sl_push(&l, xstrdup(de->d_name));
	}
	closedir(d);
	if (!l.v)
		l.v = xcalloc(1, sizeof(char *));
	qsort(l.v, l.n, sizeof *l.v, cmp_str);
	*n = l.n;
	return l.v;
}

err_t *copy_expand_sources(const struct copy_source_root *src, const char *const *patterns, size_t n,
			   char ***out, size_t *nout)
{
	_cleanup_close_ int root_fd = open(src->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return err_errno(EXIT_FAILED, "cannot open %s %s", src->what, src->path);
	struct strlist res = { 0 };
	err_t *e = NULL;
	for (size_t i = 0; i < n && !e; i++) {
		const char *pat = patterns[i];
		if (src->is_context && escapes(pat)) {
			e = err_new(EXIT_USAGE, "COPY source %s: forbidden path outside the build context", pat);
			break;
		}
		_cleanup_free_ char *clean = rootfs_path_join("/", pat);
		const char *rel = clean[1] ? clean + 1 : ".";
		if (!glob_has_magic(rel)) {
			int fd = rootfs_open(root_fd, rel, O_PATH, 0);
			if (fd < 0 || (src->ignore && strcmp(rel, ".") && ignore_match(src->ignore, rel))) {
				if (fd >= 0)
					close(fd);
				e = err_new(EXIT_USAGE, "COPY source %s: not found in the %s%s", pat, src->what,
					    src->ignore ? " (or excluded by .dockerignore)" : "");
				break;
			}
			close(fd);
			sl_push(&res, xstrdup(rel));
			continue;
		}
		/* expand component by component */
		struct strlist cur = { 0 };
		sl_push(&cur, xstrdup(""));
		const char *p = rel;
		while (*p) {
			const char *slash = strchrnul(p, '/');
			_cleanup_free_ char *comp = xstrndup(p, (size_t)(slash - p));
			p = *slash ? slash + 1 : slash;
			struct strlist next = { 0 };
			for (size_t k = 0; k < cur.n; k++) {
				const char *prefix = cur.v[k];
				if (!glob_has_magic(comp)) {
					char *cand = *prefix ? xasprintf("%s/%s", prefix, comp) : xstrdup(comp);
					int fd = rootfs_open(root_fd, cand, O_PATH, 0);
					if (fd >= 0) {
						close(fd);
						sl_push(&next, cand);
					} else {
						free(cand);
					}
					continue;
				}
				int dfd = rootfs_open(root_fd, *prefix ? prefix : ".", O_RDONLY | O_DIRECTORY, 0);
				if (dfd < 0)
					continue;
				size_t nn;
				char **names = read_names(dfd, &nn);
				close(dfd);
				for (size_t m = 0; m < nn; m++) {
					if (!glob_match(comp, names[m]))
						continue;
					char *cand = *prefix ? xasprintf("%s/%s", prefix, names[m]) : xstrdup(names[m]);
					if (src->ignore && ignore_match(src->ignore, cand))
						free(cand);
					else
						sl_push(&next, cand);
				}
				copy_free_list(names);
			}
			copy_free_list(cur.v);
			cur = next;
		}
		if (!cur.n)
			e = err_new(EXIT_USAGE, "COPY source %s: no file in the %s matches", pat, src->what);
		for (size_t k = 0; k < cur.n; k++)
			sl_push(&res, cur.v[k]);
		free(cur.v);
	}
	if (e) {
		copy_free_list(res.v);
		return e;
	}
	if (!res.v)
		res.v = xcalloc(1, sizeof(char *));
	*out = res.v;
	*nout = res.n;
	return NULL;
}

/* ---- copying ---- */

struct hl {
	dev_t dev;
	ino_t ino;
	char *dst; /* real path relative to the stage root */
};

struct copier {
	const struct copy_source_root *src;
	const struct copy_options *o;
	int dst_root_fd;
	struct hl *links;
	size_t nlinks;
};

static void owner_of(const struct copier *c, const struct stat *st, uid_t *u, gid_t *g)
{
	if (c->o->chown) {
		*u = c->o->uid;
		*g = c->o->gid;
	} else if (c->o->preserve_owner) {
		*u = st->st_uid;
		*g = st->st_gid;
	} else {
		*u = 0;
		*g = 0;
	}
}

static mode_t mode_of(const struct copier *c, const struct stat *st)
{
	if (c->o->chmod >= 0)
		return (mode_t)c->o->chmod & 07777;
	return st->st_mode & 07777;
}

/* Remove whatever is at dfd/name unless it is a directory and want_dir. */
static err_t *clear_slot(int dfd, const char *name, bool want_dir, bool *is_dir)
{
	struct stat st;
	*is_dir = false;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return NULL;
	if (S_ISDIR(st.st_mode)) {
		if (want_dir) {
			*is_dir = true;
			return NULL;
		}
		return err_new(EXIT_FAILED, "cannot replace directory %s with a file", name);
	}
	if (unlinkat(dfd, name, 0) < 0)
		return err_errno(EXIT_FAILED, "cannot replace %s", name);
	return NULL;
}

static err_t *copy_data(int in, int out, off_t size)
{
	off_t done = 0;
	while (done < size) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)(size - done), 0);
		if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP))
			break;
		if (n < 0)
			return err_errno(EXIT_FAILED, "copy");
		if (n == 0)
			return NULL;
		done += n;
	}
	char buf[1 << 16];
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_errno(EXIT_FAILED, "read");
		if (n == 0)
			return NULL;
		for (ssize_t w = 0; w < n;) {
			ssize_t k = write(out, buf + w, (size_t)(n - w));
			if (k < 0)
				return err_errno(EXIT_FAILED, "write");
			w += k;
		}
	}
}

static err_t *set_meta(int dfd, const char *name, uid_t u, gid_t g, mode_t mode, const struct stat *st,
		       bool symlink)
{
	if (fchownat(dfd, name, u, g, AT_SYMLINK_NOFOLLOW) < 0 && errno != EINVAL)
		return err_errno(EXIT_FAILED, "cannot chown %s", name);
	if (!symlink && fchmodat(dfd, name, mode, 0) < 0)
		return err_errno(EXIT_FAILED, "cannot chmod %s", name);
	struct timespec ts[2] = { st->st_mtim, st->st_mtim };
	utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW);
	return NULL;
}

static err_t *copy_entry(struct copier *c, int sdfd, const char *sname, int given, const struct stat *st,
			 int ddfd, const char *dname, const char *srel, const char *drel);

/* An excluded directory dfd/name (rel in the context) is walked only when
 * something under it is included again by a '!' pattern: else it would
 * come back as an empty directory. */
static bool holds_included(const struct ignore *ig, int dfd, const char *name, const char *rel)
{
	if (!ignore_may_reinclude(ig, rel))
		return false;
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	size_t n;
	char **names = read_names(fd, &n);
	bool found = false;
	for (size_t i = 0; i < n && !found; i++) {
		_cleanup_free_ char *r2 = xasprintf("%s/%s", rel, names[i]);
		struct stat st;
		if (!ignore_match(ig, r2))
			found = true;
		else if (fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
			found = holds_included(ig, fd, names[i], r2);
	}
	copy_free_list(names);
	return found;
}

static err_t *copy_dir_contents(struct copier *c, int sfd, int dfd, const char *srel, const char *drel)
{
	size_t n;
	char **names = read_names(sfd, &n);
	err_t *e = NULL;
	for (size_t i = 0; i < n && !e; i++) {
		_cleanup_free_ char *s2 = strcmp(srel, ".") ? xasprintf("%s/%s", srel, names[i]) : xstrdup(names[i]);
		_cleanup_free_ char *d2 = *drel ? xasprintf("%s/%s", drel, names[i]) : xstrdup(names[i]);
		if (c->src->ignore && ignore_match(c->src->ignore, s2)) {
			struct stat st;
			if (fstatat(sfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode) ||
			    !holds_included(c->src->ignore, sfd, names[i], s2))
				continue;
		}
		struct stat st;
		if (fstatat(sfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			e = err_errno(EXIT_FAILED, "cannot stat %s in the %s", s2, c->src->what);
			break;
		}
		e = copy_entry(c, sfd, names[i], -1, &st, dfd, names[i], s2, d2);
	}
	copy_free_list(names);
	return e;
}

/* Copy sdfd/sname (or the already open file `given`, when >= 0) to
 * ddfd/dname; srel and drel name them in errors and the hardlink map. */
static err_t *copy_entry(struct copier *c, int sdfd, const char *sname, int given, const struct stat *st,
			 int ddfd, const char *dname, const char *srel, const char *drel)
{
	uid_t u;
	gid_t g;
	owner_of(c, st, &u, &g);
	mode_t mode = mode_of(c, st);
	bool is_dir;
	if (S_ISDIR(st->st_mode)) {
		TRY(clear_slot(ddfd, dname, true, &is_dir));
		if (!is_dir && mkdirat(ddfd, dname, 0700) < 0)
			return err_errno(EXIT_FAILED, "cannot create directory /%s", drel);
		_cleanup_close_ int sfd = openat(sdfd, sname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		_cleanup_close_ int dfd = openat(ddfd, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd < 0)
			return err_errno(EXIT_FAILED, "cannot open %s in the %s", srel, c->src->what);
		if (dfd < 0)
			return err_errno(EXIT_FAILED, "cannot open /%s", drel);
		TRY(copy_dir_contents(c, sfd, dfd, srel, drel));
		return set_meta(ddfd, dname, u, g, mode, st, false);
	}
	TRY(clear_slot(ddfd, dname, false, &is_dir));
	if (S_ISLNK(st->st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(sdfd, sname, target, sizeof target - 1);
		if (n < 0)
			return err_errno(EXIT_FAILED, "cannot read link %s", srel);
		target[n] = '\0';
		if (symlinkat(target, ddfd, dname) < 0)
			return err_errno(EXIT_FAILED, "cannot create symlink /%s", drel);
		return set_meta(ddfd, dname, u, g, mode, st, true);
	}
	if (S_ISREG(st->st_mode)) {
		if (st->st_nlink > 1) {
			for (size_t i = 0; i < c->nlinks; i++) {
				if (c->links[i].dev == st->st_dev && c->links[i].ino == st->st_ino) {
					if (linkat(c->dst_root_fd, c->links[i].dst, ddfd, dname, 0) == 0)
						return NULL;
					break;
				}
			}
		}
		/* a source already linked elsewhere (the same file copied twice,
		 * or hardlinks the context has) is copied: the image must not
		 * link files the Dockerfile did not link */
		if (c->o->may_link && st->st_nlink == 1 && u == st->st_uid && g == st->st_gid &&
		    mode == (st->st_mode & 07777)) {
			int rc;
			if (given >= 0) {
				char self[64];
				snprintf(self, sizeof self, "/proc/self/fd/%d", given);
				rc = linkat(AT_FDCWD, self, ddfd, dname, AT_SYMLINK_FOLLOW);
			} else {
				rc = linkat(sdfd, sname, ddfd, dname, 0);
			}
			if (rc == 0)
				return NULL;
			/* EXDEV, EPERM (protected_hardlinks), ...: copy instead */
		}
		_cleanup_close_ int in = given >= 0 ? dup(given) : openat(sdfd, sname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (in < 0)
			return err_errno(EXIT_FAILED, "cannot open %s in the %s", srel, c->src->what);
		_cleanup_close_ int out = openat(ddfd, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (out < 0)
			return err_errno(EXIT_FAILED, "cannot create /%s", drel);
		err_t *e = copy_data(in, out, st->st_size);
		if (e)
			return err_wrap(e, "cannot copy %s to /%s", srel, drel);
		if (fchown(out, u, g) < 0 && errno != EINVAL)
			return err_errno(EXIT_FAILED, "cannot chown /%s", drel);
		if (fchmod(out, mode) < 0)
			return err_errno(EXIT_FAILED, "cannot chmod /%s", drel);
		struct timespec ts[2] = { st->st_mtim, st->st_mtim };
		futimens(out, ts);
		if (st->st_nlink > 1) {
			c->links = xrealloc(c->links, (c->nlinks + 1) * sizeof *c->links);
			c->links[c->nlinks].dev = st->st_dev;
			c->links[c->nlinks].ino = st->st_ino;
			c->links[c->nlinks].dst = xstrdup(drel);
			c->nlinks++;
		}
		return NULL;
	}
	if (S_ISFIFO(st->st_mode)) {
		if (mkfifoat(ddfd, dname, 0600) < 0)
			return err_errno(EXIT_FAILED, "cannot create fifo /%s", drel);
		return set_meta(ddfd, dname, u, g, mode, st, false);
	}
	return NULL; /* sockets, devices: not copied */
}

/* Real path (relative to the root, "" for the root) of an open directory. */
static err_t *real_rel(const char *rootfs, int fd, char **out)
{
	char link[64], buf[4096];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, buf, sizeof buf - 1);
	if (n < 0)
		return err_errno(EXIT_FAILED, "readlink %s", link);
	buf[n] = '\0';
	size_t rl = strlen(rootfs);
	if (strncmp(buf, rootfs, rl) != 0 || (buf[rl] && buf[rl] != '/'))
		return err_new(EXIT_FAILED, "destination resolved outside the build root");
	*out = xstrdup(buf[rl] ? buf + rl + 1 : "");
	return NULL;
}

/* A ustar/pax/gnu header block: its checksum adds up (unsigned, or signed
 * as old tars wrote it), and it is not the all-zero end-of-archive block. */
static bool tar_header_ok(const unsigned char b[512])
{
	unsigned long want = 0, usum = 0;
	long ssum = 0;
	bool digits = false, zero = true;
	for (int i = 148; i < 156 && b[i] != ' ' && b[i] != '\0'; i++) {
		if (b[i] < '0' || b[i] > '7')
			return false;
		want = want * 8 + (unsigned long)(b[i] - '0');
		digits = true;
	}
	for (int i = 0; i < 512; i++) {
		unsigned char c = (i >= 148 && i < 156) ? ' ' : b[i];
		usum += c;
		ssum += (signed char)c;
		zero &= b[i] == 0;
	}
	return digits && !zero && (want == usum || (long)want == ssum);
}

/* ADD unpacks a local file only when it is a tar, plain or compressed with
 * gzip, bzip2, xz or zstd (Docker: the decompressed stream must start with
 * a valid tar header); anything else, a gzip of a text file included, is
 * copied as it is. The fd's offset is left at 0. */
static bool is_archive(int fd)
{
	unsigned char b[512];
	size_t have = 0;
	struct decoder *d = NULL;
	err_t *e = lseek(fd, 0, SEEK_SET) < 0 ? err_errno(EXIT_FAILED, "lseek") : decoder_new(fd, true, &d);
	while (!e && have < sizeof b) {
		size_t got = 0;
		e = decoder_read(d, b + have, sizeof b - have, &got);
		if (!got)
			break;
		have += got;
	}
	err_free(e);
	decoder_free(d);
	if (lseek(fd, 0, SEEK_SET) < 0)
		return false;
	return have == sizeof b && tar_header_ok(b);
}

err_t *copy_write_file(const char *rootfs, const char *dest, const void *data, size_t len, mode_t mode,
		       uid_t uid, gid_t gid)
{
	_cleanup_close_ int root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return err_errno(EXIT_FAILED, "cannot open %s", rootfs);
	int dfd;
	const char *base;
	TRY(rootfs_open_parent(root_fd, dest, true, 0, 0, &dfd, &base));
	bool is_dir;
	err_t *e = clear_slot(dfd, base, false, &is_dir);
	int fd = e ? -1 : openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (!e && fd < 0)
		e = err_errno(EXIT_FAILED, "cannot create %s", dest);
	if (!e && write(fd, data, len) != (ssize_t)len)
		e = err_errno(EXIT_FAILED, "cannot write %s", dest);
	if (!e && fchown(fd, uid, gid) < 0 && errno != EINVAL)
		e = err_errno(EXIT_FAILED, "cannot chown %s", dest);
	if (!e && fchmod(fd, mode) < 0)
		e = err_errno(EXIT_FAILED, "cannot chmod %s", dest);
	if (fd >= 0)
		close(fd);
	close(dfd);
	return e;
}

err_t *copy_to_root(const struct copy_source_root *src, char *const *sources, size_t nsources,
		    const char *rootfs, const char *dest, bool dest_is_dir, const struct copy_options *o)
{
	_cleanup_close_ int sroot = open(src->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (sroot < 0)
		return err_errno(EXIT_FAILED, "cannot open %s %s", src->what, src->path);
	_cleanup_close_ int droot = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (droot < 0)
		return err_errno(EXIT_FAILED, "cannot open %s", rootfs);
	struct copier c = { .src = src, .o = o, .dst_root_fd = droot };
	if (nsources > 1 && !dest_is_dir)
		return err_new(EXIT_USAGE, "when copying more than one source, the destination %s must be a "
					   "directory and end with a /", dest);
	/* an existing directory at dest takes the sources inside it */
	if (!dest_is_dir) {
		int fd = rootfs_open(droot, dest, O_PATH | O_DIRECTORY, 0);
		if (fd >= 0) {
			dest_is_dir = true;
			close(fd);
		}
	}
	err_t *e = NULL;
	for (size_t i = 0; i < nsources && !e; i++) {
		const char *rel = sources[i];
		_cleanup_close_ int sfd = rootfs_open(sroot, rel, O_RDONLY, 0);
		struct stat st;
		if (sfd < 0 || fstat(sfd, &st) < 0) {
			e = err_errno(EXIT_USAGE, "COPY source %s in the %s", rel, src->what);
			break;
		}
		const char *sbase = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
		int ddir = -1;
		const char *dname = NULL;
		if (S_ISDIR(st.st_mode)) {
			e = rootfs_mkdir_p(droot, dest, 0755, o->chown ? o->uid : 0, o->chown ? o->gid : 0, &ddir);
			if (e)
				break;
			int rd = openat(ddir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			close(ddir);
			_cleanup_free_ char *drel = NULL;
			e = rd < 0 ? err_errno(EXIT_FAILED, "cannot open %s", dest) : real_rel(rootfs, rd, &drel);
			if (!e)
				e = copy_dir_contents(&c, sfd, rd, rel, drel);
			if (rd >= 0)
				close(rd);
			continue;
		}
		if (o->add && S_ISREG(st.st_mode) && is_archive(sfd)) {
			/* ADD of a local archive: unpack it into the directory */
			e = rootfs_mkdir_p(droot, dest, 0755, o->chown ? o->uid : 0, o->chown ? o->gid : 0, &ddir);
			if (e)
				break;
			int rd = openat(ddir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			close(ddir);
			if (rd < 0) {
				e = err_errno(EXIT_FAILED, "cannot open %s", dest);
				break;
			}
			/* unpacked at the destination, its symlinks resolved in
			 * the image root (as Docker's untar chrooted there) */
			_cleanup_free_ char *drel = NULL;
			e = real_rel(rootfs, rd, &drel);
			struct layer_apply_options ao = {
				.devices = LAYER_DEVICES_SKIP, .keep_root_mode = true, .any_compression = true,
				.subdir = drel,
			};
			if (!e)
				e = layer_apply(rootfs, sfd, &ao, NULL);
			if (e)
				e = err_wrap(e, "cannot unpack %s", rel);
			close(rd);
			continue;
		}
		if (dest_is_dir) {
			e = rootfs_mkdir_p(droot, dest, 0755, o->chown ? o->uid : 0, o->chown ? o->gid : 0, &ddir);
			dname = sbase;
		} else {
			e = rootfs_open_parent(droot, dest, true, o->chown ? o->uid : 0, o->chown ? o->gid : 0, &ddir, &dname);
		}
		if (e)
			break;
		int rd = openat(ddir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(ddir);
		if (rd < 0) {
			e = err_errno(EXIT_FAILED, "cannot open the parent of %s", dest);
			break;
		}
		_cleanup_free_ char *prel = NULL;
		e = real_rel(rootfs, rd, &prel);
		if (!e) {
			_cleanup_free_ char *drel = *prel ? xasprintf("%s/%s", prel, dname) : xstrdup(dname);
			/* the source itself was followed: copy what it points at */
			e = copy_entry(&c, -1, NULL, sfd, &st, rd, dname, rel, drel);
		}
		close(rd);
	}
	for (size_t i = 0; i < c.nlinks; i++)
		free(c.links[i].dst);
	free(c.links);
	return e;
}

/* ---- hashing ---- */

static err_t *hash_entry(struct sha256 *h, int dfd, const char *name, const char *rel, const struct stat *st,
			 const struct ignore *ig)
{
	char head[256];
	int n = snprintf(head, sizeof head, "%o %u %u %lld", (unsigned)st->st_mode, (unsigned)st->st_uid,
			 (unsigned)st->st_gid, (long long)(S_ISDIR(st->st_mode) ? 0 : st->st_size));
	sha256_update(h, rel, strlen(rel) + 1);
	sha256_update(h, head, (size_t)n + 1);
	if (S_ISLNK(st->st_mode)) {
		char t[4096];
		ssize_t k = readlinkat(dfd, name, t, sizeof t);
		if (k > 0)
			sha256_update(h, t, (size_t)k);
	} else if (S_ISREG(st->st_mode)) {
		_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return err_errno(EXIT_FAILED, "cannot read %s", rel);
		char buf[1 << 16];
		ssize_t k;
		while ((k = read(fd, buf, sizeof buf)) > 0)
			sha256_update(h, buf, (size_t)k);
		if (k < 0)
			return err_errno(EXIT_FAILED, "cannot read %s", rel);
	} else if (S_ISDIR(st->st_mode)) {
		_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return err_errno(EXIT_FAILED, "cannot open %s", rel);
		size_t nn;
		char **names = read_names(fd, &nn);
		err_t *e = NULL;
		for (size_t i = 0; i < nn && !e; i++) {
			_cleanup_free_ char *r2 = strcmp(rel, ".") ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
			struct stat s2;
			if (fstatat(fd, names[i], &s2, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			if (ig && ignore_match(ig, r2) && (!S_ISDIR(s2.st_mode) || !holds_included(ig, fd, names[i], r2)))
				continue;
			e = hash_entry(h, fd, names[i], r2, &s2, ig);
		}
		copy_free_list(names);
		return e;
	}
	return NULL;
}

err_t *copy_hash_sources(const struct copy_source_root *src, char *const *sources, size_t nsources,
			 char out[DIGEST_SIZE])
{
	_cleanup_close_ int sroot = open(src->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (sroot < 0)
		return err_errno(EXIT_FAILED, "cannot open %s", src->path);
	struct sha256 h;
	sha256_init(&h);
	err_t *e = NULL;
	for (size_t i = 0; i < nsources && !e; i++) {
		_cleanup_close_ int fd = rootfs_open(sroot, sources[i], O_PATH, 0);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) {
			e = err_errno(EXIT_USAGE, "COPY source %s", sources[i]);
			break;
		}
		/* "" name with AT_EMPTY_PATH semantics: reopen through /proc */
		char self[64];
		snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
		e = hash_entry(&h, AT_FDCWD, self, sources[i], &st, src->ignore);
	}
	if (e) {
		sha256_discard(&h);
		return e;
	}
	sha256_final(&h, out);
	return NULL;
}
