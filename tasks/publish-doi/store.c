#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "fsutil.h"
#include "keys.h"
#include "statedir.h"
#include "xalloc.h"

#define WHAT "evidence store"

static err_t *sync_dir(int dfd, const char *path)
{
	return fsync(dfd) < 0 ? err_errno(EXIT_FAILED, "cannot flush %s", path) : NULL;
}

/* dir/blobs and dir/index/sha256-<hex> (fds, -1 on error). */
static err_t *open_dirs(const char *dir, const char *digest, bool create, int *blobs, int *index)
{
	*blobs = *index = -1;
	_cleanup_close_ int dfd = statedir_open(dir, WHAT, create);
	if (dfd < 0) {
		if (!create && access(dir, F_OK) < 0 && errno == ENOENT)
			return NULL;
		return err_new(EXIT_FAILED, "evidence store %s cannot be used (see the warning above)", dir);
	}
	_cleanup_free_ char *bpath = xasprintf("%s/blobs", dir), *ipath = xasprintf("%s/index", dir);
	_cleanup_free_ char *sub = xasprintf("sha256-%s", digest_hex(digest));
	_cleanup_free_ char *spath = xasprintf("%s/%s", ipath, sub);
	*blobs = statedir_open_sub(dfd, "blobs", bpath, WHAT, create);
	_cleanup_close_ int ifd = statedir_open_sub(dfd, "index", ipath, WHAT, create);
	if (ifd >= 0)
		*index = statedir_open_sub(ifd, sub, spath, WHAT, create);
	if (create && (*blobs < 0 || *index < 0)) {
		if (*blobs >= 0)
			close(*blobs);
		if (*index >= 0)
			close(*index);
		*blobs = *index = -1;
		return err_new(EXIT_FAILED, "evidence store %s cannot be used (see the warning above)", dir);
	}
	return NULL;
}

/* The record: a temp file in blobs/ (written, fsynced), hard-linked as
 * the index entry, renamed to its content name in blobs/, then the index
 * directory fsynced: two fsyncs, and the entry is the blob itself (the
 * same inode), so a reader never meets an entry without its whole blob. */
static err_t *put_blob(int blobs, const char *bpath, int index, const char *ipath, const char *hex,
		       const void *data, size_t len)
{
	uint64_t r = 0;
	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
		r ^= (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)&r;
	_cleanup_free_ char *tmp = xasprintf(".%s.%016llx.tmp", hex, (unsigned long long)r);
	int fd = openat(blobs, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_errno(EXIT_FAILED, "cannot create a file in %s", bpath);
	err_t *e = fs_write_all(fd, data, len, bpath);
	if (!e && fsync(fd) < 0)
		e = err_errno(EXIT_FAILED, "cannot flush the record in %s", bpath);
	if (close(fd) < 0 && !e)
		e = err_errno(EXIT_FAILED, "cannot close the record in %s", bpath);
	if (!e && linkat(blobs, tmp, index, hex, 0) < 0 && errno != EEXIST)
		e = err_errno(EXIT_FAILED, "cannot add %s to %s", hex, ipath);
	if (!e && renameat(blobs, tmp, blobs, hex) < 0)
		e = err_errno(EXIT_FAILED, "cannot rename into %s/%s", bpath, hex);
	if (e)
		unlinkat(blobs, tmp, 0);
	if (!e)
		e = sync_dir(index, ipath);
	return e;
}

err_t *store_put(const char *dir, const char *digest, const void *envelope, size_t len, char hex_out[65])
{
	char hex[65];
	key_sha256_hex(envelope, len, hex, NULL);
	int blobs = -1, index = -1;
	err_t *e = open_dirs(dir, digest, true, &blobs, &index);
	_cleanup_free_ char *bpath = xasprintf("%s/blobs", dir);
	_cleanup_free_ char *ipath = xasprintf("%s/index/sha256-%s", dir, digest_hex(digest));
	if (!e)
		e = put_blob(blobs, bpath, index, ipath, hex, envelope, len);
	if (blobs >= 0)
		close(blobs);
	if (index >= 0)
		close(index);
	if (!e && hex_out)
		memcpy(hex_out, hex, 65);
	return e ? err_wrap(e, "evidence store %s: record for %s not written", dir, digest) : NULL;
}

static bool is_hex64(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");
	return n == 64 && !s[n];
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

err_t *store_read(const char *dir, const char *digest, struct evidence *ev)
{
	int blobs = -1, index = -1;
	TRY(open_dirs(dir, digest, false, &blobs, &index));
	if (blobs >= 0)
		close(blobs);
	if (index < 0)
		return NULL;
	_cleanup_close_ int entries = index;
	int lfd = dup(index);
	DIR *d = lfd < 0 ? NULL : fdopendir(lfd);
	if (!d) {
		if (lfd >= 0)
			close(lfd);
		return err_errno(EXIT_FAILED, "cannot read the index of %s in %s", digest, dir);
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!is_hex64(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	_cleanup_free_ char *ipath = xasprintf("%s/index/sha256-%s", dir, digest_hex(digest));
	for (size_t i = 0; i < n; i++) {
		struct strbuf sb = STRBUF_INIT;
		_cleanup_free_ char *src = xasprintf("store:%s/%s", ipath, names[i]);
		if (!statedir_read(entries, ipath, names[i], DSSE_ENVELOPE_MAX, &sb)) {
			evidence_add(ev, src, "", 0, "the record is unreadable or unsafe to read (see the warning above)");
		} else {
			char hex[65];
			key_sha256_hex(sb.buf ? sb.buf : "", sb.len, hex, NULL);
			_cleanup_free_ char *why =
				strcmp(hex, names[i]) ? xasprintf("content has sha256 %s: truncated or altered", hex) : NULL;
			evidence_add(ev, src, sb.buf ? sb.buf : "", sb.len, why);
		}
		sb_release(&sb);
		free(names[i]);
	}
	free(names);
	return NULL;
}
