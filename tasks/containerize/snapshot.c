/* Stat snapshots of a tree and their diff (see snapshot.h). */
#include "snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strbuf.h"
#include "xalloc.h"

struct entry {
	char *path;
	uint64_t hash;
	dev_t dev;
	ino_t ino;
	off_t size;
	int64_t mtime_ns, ctime_ns;
	mode_t mode;
	uid_t uid;
	gid_t gid;
};

struct snapshot {
	struct entry *slots; /* open addressing, path == NULL: empty */
	size_t cap, count;
	dev_t root_dev;
};

static uint64_t hash_path(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static void grow(struct snapshot *s)
{
	size_t ncap = s->cap ? s->cap * 2 : 1024;
	struct entry *n = xcalloc(ncap, sizeof *n);
	for (size_t i = 0; i < s->cap; i++) {
		struct entry *e = &s->slots[i];
		if (!e->path)
			continue;
		size_t j = e->hash & (ncap - 1);
		while (n[j].path)
			j = (j + 1) & (ncap - 1);
		n[j] = *e;
	}
	free(s->slots);
	s->slots = n;
	s->cap = ncap;
}

static void insert(struct snapshot *s, char *path, const struct stat *st)
{
	if ((s->count + 1) * 4 > s->cap * 3)
		grow(s);
	uint64_t h = hash_path(path);
	size_t j = h & (s->cap - 1);
	while (s->slots[j].path)
		j = (j + 1) & (s->cap - 1);
	struct entry *e = &s->slots[j];
	e->path = path;
	e->hash = h;
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->size = st->st_size;
	e->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	e->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
	e->mode = st->st_mode;
	e->uid = st->st_uid;
	e->gid = st->st_gid;
	s->count++;
}

static const struct entry *lookup(const struct snapshot *s, const char *path)
{
	if (!s->cap)
		return NULL;
	uint64_t h = hash_path(path);
	size_t j = h & (s->cap - 1);
	while (s->slots[j].path) {
		if (s->slots[j].hash == h && strcmp(s->slots[j].path, path) == 0)
			return &s->slots[j];
		j = (j + 1) & (s->cap - 1);
	}
	return NULL;
}

static err_t *scan_dir(struct snapshot *s, int dfd, struct strbuf *path)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return err_errno(EXIT_FAILED, "cannot read directory /%s", sb_str(path));
	}
	size_t base = path->len;
	err_t *err = NULL;
	struct dirent *de;
	while (!err && (errno = 0, de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			err = err_errno(EXIT_FAILED, "cannot stat /%s/%s", sb_str(path), de->d_name);
			break;
		}
		if (base)
			sb_addc(path, '/');
		sb_adds(path, de->d_name);
		insert(s, xstrdup(sb_str(path)), &st);
		if (S_ISDIR(st.st_mode) && st.st_dev == s->root_dev) {
			int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				err = err_errno(EXIT_FAILED, "cannot open /%s", sb_str(path));
			else
				err = scan_dir(s, sub, path);
		}
		path->len = base;
		if (path->buf)
			path->buf[base] = '\0';
	}
	if (!err && errno)
		err = err_errno(EXIT_FAILED, "cannot read directory /%s", sb_str(path));
	closedir(d);
	return err;
}

err_t *snapshot_scan(const char *root, struct snapshot **out)
{
	struct snapshot *s = xcalloc(1, sizeof *s);
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		err_t *e = err_errno(EXIT_FAILED, "cannot open build root %s", root);
		if (fd >= 0)
			close(fd);
		free(s);
		return e;
	}
	s->root_dev = st.st_dev;
	grow(s);
	struct strbuf path = STRBUF_INIT;
	err_t *e = scan_dir(s, fd, &path);
	sb_release(&path);
	if (e) {
		snapshot_free(s);
		return e;
	}
	*out = s;
	return NULL;
}

void snapshot_free(struct snapshot *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->cap; i++)
		free(s->slots[i].path);
	free(s->slots);
	free(s);
}

size_t snapshot_count(const struct snapshot *s)
{
	return s ? s->count : 0;
}

/* Directories are compared without ctime: the RUN executor's own mount
 * points come and go in "/" and "/etc" (their mtime is restored), and a
 * directory's content changes show in its mtime and in its children. */
static bool same(const struct entry *a, const struct entry *b)
{
	return a->ino == b->ino && a->dev == b->dev && a->size == b->size && a->mtime_ns == b->mtime_ns &&
	       (a->ctime_ns == b->ctime_ns || S_ISDIR(a->mode)) && a->mode == b->mode && a->uid == b->uid &&
	       a->gid == b->gid;
}

static int cmp_change(const void *a, const void *b)
{
	return strcmp(((const struct change *)a)->path, ((const struct change *)b)->path);
}

struct change_list {
	struct change *v;
	size_t n, cap;
};

static void push(struct change_list *l, const char *path, enum change_kind k)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n].path = xstrdup(path);
	l->v[l->n].kind = k;
	l->n++;
}

void snapshot_diff(const struct snapshot *before, const struct snapshot *after, struct change **out, size_t *n)
{
	struct change_list l = { 0 };
	for (size_t i = 0; i < after->cap; i++) {
		const struct entry *a = &after->slots[i];
		if (!a->path)
			continue;
		const struct entry *b = lookup(before, a->path);
		if (!b)
			push(&l, a->path, CHANGE_ADDED);
		else if (!same(a, b))
			push(&l, a->path, CHANGE_MODIFIED);
	}
	for (size_t i = 0; i < before->cap; i++) {
		const struct entry *b = &before->slots[i];
		if (!b->path || lookup(after, b->path))
			continue;
		/* a child of a deleted (or replaced) directory goes with it */
		if (strchr(b->path, '/')) {
			/* the whiteout of a deleted ancestor covers it, and so
			 * does an ancestor that is no longer a directory */
			char *p = xstrdup(b->path);
			bool covered = false;
			for (char *slash = strrchr(p, '/'); slash; slash = strrchr(p, '/')) {
				*slash = '\0';
				if (!lookup(after, p) || !S_ISDIR(lookup(after, p)->mode)) {
					covered = true;
					break;
				}
			}
			free(p);
			if (covered)
				continue;
		}
		push(&l, b->path, CHANGE_DELETED);
	}
	/* parent directories of every change, so the layer is self-contained */
	size_t nchanges = l.n;
	for (size_t i = 0; i < nchanges; i++) {
		char *p = xstrdup(l.v[i].path);
		for (char *slash = strrchr(p, '/'); slash; slash = strrchr(p, '/')) {
			*slash = '\0';
			const struct entry *a = lookup(after, p);
			const struct entry *b = lookup(before, p);
			if (!a || !b || !same(a, b))
				break; /* itself a change (or gone): listed already */
			/* mark by pushing once; duplicates removed after sorting */
			push(&l, p, CHANGE_PARENT);
		}
		free(p);
	}
	if (l.n)
		qsort(l.v, l.n, sizeof *l.v, cmp_change);
	size_t w = 0;
	for (size_t i = 0; i < l.n; i++) {
		if (w && strcmp(l.v[w - 1].path, l.v[i].path) == 0) {
			free(l.v[i].path);
			continue;
		}
		l.v[w++] = l.v[i];
	}
	*out = l.v;
	*n = w;
}

void changes_free(struct change *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(c[i].path);
	free(c);
}
