/* The build's scratch directory (see workdir.h). */
#include "workdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "xalloc.h"

#define PREFIX "containerize-"
#define LOCK_NAME ".containerize.lock"

/* "containerize-" and six more characters: what mkdtemp made */
static bool our_name(const char *name)
{
	size_t n = strlen(PREFIX);
	if (strncmp(name, PREFIX, n) != 0 || strlen(name) != n + 6)
		return false;
	for (const char *p = name + n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
			return false;
	return true;
}

int workdir_sweep(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return 0;
	}
	int removed = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		if (!our_name(de->d_name) || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
			continue;
		char *lock = xasprintf("%s/%s/%s", dir, de->d_name, LOCK_NAME);
		int fd = open(lock, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		free(lock);
		if (fd < 0)
			continue; /* not a work dir of ours, or one being made */
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			char *path = xasprintf("%s/%s", dir, de->d_name);
			log_info("removing %s, left by a build that is gone", path);
			fs_remove_tree(path);
			free(path);
			removed++;
		}
		close(fd);
	}
	closedir(d);
	return removed;
}

/* The lock file, locked before it gets its name: a sweep never sees it
 * unlocked while we live. */
static err_t *take_lock(const char *dir, int *out)
{
	char *tmp = xasprintf("%s/.lock-new", dir);
	char *lock = xasprintf("%s/%s", dir, LOCK_NAME);
	err_t *e = NULL;
	int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		e = err_errno(EXIT_FAILED, "cannot create %s", tmp);
	else if (flock(fd, LOCK_EX) < 0 || rename(tmp, lock) < 0)
		e = err_errno(EXIT_FAILED, "cannot lock the work directory %s", dir);
	if (e && fd >= 0) {
		close(fd);
		fd = -1;
	}
	free(tmp);
	free(lock);
	*out = fd;
	return e;
}

/* The janitor: waits for the build's lock, then removes what is left. */
static void start_janitor(const char *dir, int lock_fd)
{
	pid_t pid = fork();
	if (pid != 0) {
		if (pid < 0)
			log_warn("no janitor for %s (fork: %s): a killed build would leave it behind", dir,
				 strerror(errno));
		return;
	}
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	close(lock_fd); /* our copy of the build's lock */
	/* hold none of the caller's pipes: $(containerize ...) ends with it */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int i = 0; i < 3 && null >= 0; i++)
		dup2(null, i);
	char *lock = xasprintf("%s/%s", dir, LOCK_NAME);
	int fd = open(lock, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && flock(fd, LOCK_EX) == 0)
		fs_remove_tree(dir);
	_exit(0);
}

/* The path made absolute: stage roots and the checks that a path stays
 * inside one are built on it, and the build changes directory. */
static err_t *make_absolute(char **path)
{
	char *abs = realpath(*path, NULL);
	if (!abs)
		return err_errno(EXIT_FAILED, "cannot resolve the work directory %s", *path);
	free(*path);
	*path = abs;
	return NULL;
}

err_t *workdir_open(const char *given, struct workdir *out)
{
	out->lock_fd = -1;
	out->own = false;
	if (given && *given) {
		TRY(fs_mkdir_p(given, 0700));
		out->path = xstrdup(given);
		return make_absolute(&out->path);
	}
	const char *tmp = getenv("TMPDIR");
	const char *base = tmp && *tmp ? tmp : "/tmp";
	int n = workdir_sweep(base);
	if (n)
		log_info("removed %d work director%s of builds that are gone", n, n == 1 ? "y" : "ies");
	out->path = xasprintf("%s/" PREFIX "XXXXXX", base);
	if (!mkdtemp(out->path)) {
		err_t *e = err_errno(EXIT_FAILED, "cannot create a work directory in %s", base);
		free(out->path);
		out->path = NULL;
		return e;
	}
	out->own = true;
	err_t *e = make_absolute(&out->path);
	if (e)
		return e;
	e = take_lock(out->path, &out->lock_fd);
	if (e)
		return e;
	start_janitor(out->path, out->lock_fd);
	/* RUN's temp files (generated /etc files) go under it too */
	if (setenv("TMPDIR", out->path, 1) < 0)
		return err_errno(EXIT_FAILED, "setenv TMPDIR");
	return NULL;
}

void workdir_close(struct workdir *w)
{
	if (w->own && w->path)
		fs_remove_tree(w->path);
	if (w->lock_fd >= 0)
		close(w->lock_fd);
	free(w->path);
	w->path = NULL;
	w->lock_fd = -1;
}
