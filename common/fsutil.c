#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "xalloc.h"

err_t *fs_read_fd(int fd, size_t max, const char *what, struct strbuf *sb)
{
	size_t start = sb->len;
	for (;;) {
		sb_grow(sb, 65536);
		ssize_t n = read(fd, sb->buf + sb->len, sb->cap - sb->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_errno(EXIT_FAILED, "cannot read %s", what);
		if (n == 0)
			break;
		sb->len += (size_t)n;
		sb->buf[sb->len] = '\0';
		if (sb->len - start > max)
			return err_new(EXIT_USAGE, "%s is larger than the %zu byte limit", what, max);
	}
	return NULL;
}

err_t *fs_read_file(const char *path, size_t max, struct strbuf *sb)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(errno == ENOENT || errno == EACCES ? EXIT_USAGE : EXIT_FAILED, "cannot open %s", path);
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
		return err_new(EXIT_USAGE, "%s is a directory, not a file", path);
	return fs_read_fd(fd, max, path, sb);
}

err_t *fs_write_all(int fd, const void *data, size_t len, const char *what)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_errno(EXIT_FAILED, "cannot write %s", what);
		p += n;
		len -= (size_t)n;
	}
	return NULL;
}

err_t *fs_write_atomic(const char *dir, const char *name, const void *data, size_t len, mode_t mode)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
	_cleanup_free_ char *tmp = xasprintf("%s/.%s.tmp.XXXXXX", dir, name);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return err_errno(EXIT_FAILED, "cannot create a file in %s", dir);
	err_t *e = fs_write_all(fd, data, len, path);
	if (!e && fchmod(fd, mode) < 0)
		e = err_errno(EXIT_FAILED, "cannot set the mode of %s", path);
	if (!e && fsync(fd) < 0)
		e = err_errno(EXIT_FAILED, "cannot flush %s", path);
	if (close(fd) < 0 && !e)
		e = err_errno(EXIT_FAILED, "cannot close %s", path);
	if (!e && rename(tmp, path) < 0)
		e = err_errno(EXIT_FAILED, "cannot rename into %s", path);
	if (e)
		unlink(tmp);
	return e;
}

err_t *fs_mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *copy = xstrdup(path);
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, mode) < 0 && errno != EEXIST)
			return err_errno(EXIT_FAILED, "cannot create directory %s", copy);
		*p = '/';
	}
	if (mkdir(copy, mode) < 0 && errno != EEXIST)
		return err_errno(EXIT_FAILED, "cannot create directory %s", copy);
	return NULL;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static int make_writable(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_D && (st->st_mode & 0700) != 0700)
		chmod(path, st->st_mode | 0700);
	return 0;
}

void fs_remove_tree(const char *dir)
{
	nftw(dir, make_writable, 64, FTW_PHYS | FTW_MOUNT);
	nftw(dir, remove_entry, 64, FTW_PHYS | FTW_MOUNT | FTW_DEPTH);
}

err_t *fs_write_path_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
	err_t *e = fs_write_atomic(dir, slash ? slash + 1 : path, data, len, mode);
	free(dir);
	return e;
}
