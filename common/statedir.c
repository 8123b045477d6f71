/* Local state and caches only from a directory only we can write (see
 * statedir.h). */
#include "statedir.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "fsutil.h"
#include "log.h"
#include "xalloc.h"

/* Each path is warned about once per process and reason: a TLS session
 * dir is looked at for every connection. */
static pthread_mutex_t warned_lock = PTHREAD_MUTEX_INITIALIZER;
static char *warned[32];
static size_t n_warned;

static void warn_ignored(const char *what, const char *path, const char *why)
{
	bool first = true;
	char *seen = xasprintf("%s\n%s", path, why);
	pthread_mutex_lock(&warned_lock);
	for (size_t i = 0; first && i < n_warned; i++)
		first = strcmp(warned[i], seen) != 0;
	if (first && n_warned < sizeof warned / sizeof warned[0])
		warned[n_warned++] = steal_ptr(seen);
	pthread_mutex_unlock(&warned_lock);
	free(seen);
	if (first)
		log_warn("%s %s is ignored: %s; local state is only used from a directory (and files) owned by uid %u "
			 "that nobody else can write (chmod go-w, no symbolic link)",
			 what, path, why, (unsigned)geteuid());
}

const char *statedir_unsafe(const struct stat *st, bool dir)
{
	static __thread char why[96];
	if (S_ISLNK(st->st_mode))
		return "it is a symbolic link";
	if (dir && !S_ISDIR(st->st_mode))
		return "it is not a directory";
	if (!dir && !S_ISREG(st->st_mode))
		return "it is not a regular file";
	if (st->st_uid != geteuid()) {
		snprintf(why, sizeof why, "it is owned by uid %u, not by this process's uid %u", (unsigned)st->st_uid,
			 (unsigned)geteuid());
		return why;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(why, sizeof why, "it is writable by %s (mode %04o)",
			 (st->st_mode & S_IWOTH) ? "others" : "its group", (unsigned)(st->st_mode & 07777));
		return why;
	}
	return NULL;
}

/* Open name relative to dfd (AT_FDCWD: a path) as a directory or a file,
 * never through a symbolic link, and check what was opened. */
static int open_checked(int dfd, const char *name, const char *path, const char *what, bool dir)
{
	int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (dir ? O_DIRECTORY : O_NOCTTY | O_NONBLOCK);
	int fd = openat(dfd, name, flags);
	if (fd < 0) {
		int err = errno;
		struct stat st;
		if (err == ENOENT)
			return -1;
		if ((err == ELOOP || err == ENOTDIR) && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			warn_ignored(what, path, statedir_unsafe(&st, dir) ?: "it cannot be opened");
		else
			warn_ignored(what, path, strerror(err));
		return -1;
	}
	struct stat st;
	const char *why = fstat(fd, &st) < 0 ? strerror(errno) : statedir_unsafe(&st, dir);
	if (why) {
		warn_ignored(what, path, why);
		close(fd);
		return -1;
	}
	return fd;
}

/* path without the trailing "/" and "/." that make open() follow a final
 * symbolic link whatever O_NOFOLLOW says; NULL (warned) when its last
 * component is "..", which names no entry of its own to check. */
static char *final_entry(const char *path, const char *what)
{
	size_t n = strlen(path);
	for (bool more = true; more;) {
		while (n > 1 && path[n - 1] == '/')
			n--;
		more = n > 2 && path[n - 1] == '.' && path[n - 2] == '/';
		if (more)
			n -= 2;
	}
	if (n >= 2 && path[n - 1] == '.' && path[n - 2] == '.' && (n == 2 || path[n - 3] == '/')) {
		warn_ignored(what, path, "it names no directory of its own (\"..\")");
		return NULL;
	}
	return xstrndup(path, n);
}

int statedir_open(const char *given, const char *what, bool create)
{
	if (!given || !*given)
		return -1;
	_cleanup_free_ char *path = final_entry(given, what);
	if (!path)
		return -1;
	if (create && access(path, F_OK) < 0 && errno == ENOENT) {
		err_t *e = fs_mkdir_p(path, 0700);
		if (e) {
			warn_ignored(what, path, e->msg);
			err_free(e);
			return -1;
		}
	}
	return open_checked(AT_FDCWD, path, path, what, true);
}

int statedir_open_sub(int dfd, const char *name, const char *path, const char *what, bool create)
{
	if (dfd < 0)
		return -1;
	if (create && mkdirat(dfd, name, 0700) < 0 && errno != EEXIST) {
		warn_ignored(what, path, strerror(errno));
		return -1;
	}
	return open_checked(dfd, name, path, what, true);
}

bool statedir_read(int dfd, const char *dir, const char *name, size_t max, struct strbuf *out)
{
	if (dfd < 0)
		return false;
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
	_cleanup_close_ int fd = open_checked(dfd, name, path, "state file", false);
	if (fd < 0)
		return false;
	err_t *e = fs_read_fd(fd, max, path, out);
	if (e) {
		log_debug("%s: ignored: %s", path, e->msg);
		err_free(e);
		sb_reset(out);
		return false;
	}
	return true;
}

err_t *statedir_write(int dfd, const char *dir, const char *name, const void *data, size_t len, bool durable)
{
	uint64_t r = 0;
	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
		r ^= (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)&r;
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
	_cleanup_free_ char *tmp = xasprintf(".%s.%016llx.tmp", name, (unsigned long long)r);
	int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_errno(EXIT_FAILED, "cannot create a file in %s", dir);
	err_t *e = fs_write_all(fd, data, len, path);
	if (!e && durable && fsync(fd) < 0)
		e = err_errno(EXIT_FAILED, "cannot flush %s", path);
	if (close(fd) < 0 && !e)
		e = err_errno(EXIT_FAILED, "cannot close %s", path);
	if (!e && renameat(dfd, tmp, dfd, name) < 0)
		e = err_errno(EXIT_FAILED, "cannot rename into %s", path);
	if (e)
		unlinkat(dfd, tmp, 0);
	return e;
}

char *statedir_name(const char *key)
{
	static const char hex[] = "0123456789ABCDEF";
	struct strbuf sb = STRBUF_INIT;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		unsigned char c = *p;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-') {
			sb_addc(&sb, (char)c);
		} else {
			sb_addc(&sb, '%');
			sb_addc(&sb, hex[c >> 4]);
			sb_addc(&sb, hex[c & 15]);
		}
	}
	/* "." and ".." are not names of files */
	if (sb.len > 200 || !sb.len || !strcmp(sb_str(&sb), ".") || !strcmp(sb_str(&sb), "..")) {
		char d[DIGEST_SIZE];
		digest_buffer(key, strlen(key), d);
		sb_release(&sb);
		return xasprintf("%%sha256-%s", digest_hex(d));
	}
	return sb_detach(&sb);
}
