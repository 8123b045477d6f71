#include "target.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "strbuf.h"
#include "xalloc.h"

#define STAGING_PREFIX ".git-clone-"

/* Remove name (relative to dirfd) and everything below it, never following
 * a symlink. */
static int remove_tree_at(int dirfd, const char *name)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (remove_tree_at(fd, de->d_name) < 0)
			rc = -1;
	}
	closedir(d);
	if (rc == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0)
		rc = -1;
	return rc;
}

/* Entries of dir other than skip (NULL: none); -1 on error. */
static int count_entries(const char *dir, const char *skip)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && (!skip || strcmp(de->d_name, skip)))
			n++;
	closedir(d);
	return n;
}

err_t *target_join(const char *workspace, const char *directory, char **out)
{
	if (!workspace || !*workspace)
		workspace = ".";
	if (!directory || !*directory || !strcmp(directory, ".")) {
		*out = xstrdup(workspace);
		return NULL;
	}
	if (directory[0] == '/')
		return err_new(EXIT_USAGE, "directory '%s' must be relative to the workspace", directory);
	const char *p = directory;
	while (*p) {
		size_t n = strcspn(p, "/");
		if (n == 2 && !strncmp(p, "..", 2))
			return err_new(EXIT_USAGE, "directory '%s' must stay inside the workspace (no '..')", directory);
		p += n;
		while (*p == '/')
			p++;
	}
	*out = strcmp(workspace, ".") ? xasprintf("%s/%s", workspace, directory) : xstrdup(directory);
	return NULL;
}

err_t *target_prepare(struct target *t, const char *path, bool delete_existing)
{
	memset(t, 0, sizeof *t);
	t->path = xstrdup(path);
	size_t len = strlen(t->path);
	while (len > 1 && t->path[len - 1] == '/')
		t->path[--len] = '\0';
	struct stat st;
	if (stat(t->path, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return err_new(EXIT_USAGE, "target %s exists and is not a directory", t->path);
		int n = count_entries(t->path, NULL);
		if (n < 0)
			return err_errno(EXIT_FAILED, "cannot read directory %s", t->path);
		if (n > 0 && !delete_existing)
			return err_new(EXIT_USAGE,
				       "target %s exists and is not empty (set delete-existing=true to replace it)",
				       t->path);
		t->staging = xasprintf("%s/" STAGING_PREFIX "XXXXXX", t->path);
		t->inside = true;
	} else if (errno == ENOENT) {
		_cleanup_free_ char *copy = xstrdup(t->path);
		_cleanup_free_ char *copy2 = xstrdup(t->path);
		const char *parent = dirname(copy);
		TRY(fs_mkdir_p(parent, 0755));
		t->staging = xasprintf("%s/" STAGING_PREFIX "%s-XXXXXX", parent, basename(copy2));
	} else {
		return err_errno(EXIT_USAGE, "cannot use target %s", t->path);
	}
	if (!mkdtemp(t->staging)) {
		err_t *e = err_errno(EXIT_FAILED, "cannot create a staging directory in %s", t->path);
		free(t->staging);
		t->staging = NULL;
		return e;
	}
	if (!t->inside) {
		/* mkdtemp makes it 0700; a directory git creates follows the umask */
		mode_t mask = umask(0);
		umask(mask);
		if (chmod(t->staging, 0777 & ~mask) < 0)
			return err_errno(EXIT_FAILED, "cannot set the mode of %s", t->staging);
	}
	return NULL;
}

static err_t *move_up(struct target *t)
{
	_cleanup_free_ char *copy = xstrdup(t->staging);
	const char *staging_name = basename(copy);
	_cleanup_close_ int dst = open(t->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dst < 0)
		return err_errno(EXIT_FAILED, "cannot open %s", t->path);
	/* the old tree goes only now that the new one is complete */
	DIR *d = opendir(t->path);
	if (!d)
		return err_errno(EXIT_FAILED, "cannot read %s", t->path);
	struct dirent *de;
	int rc = 0;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, staging_name) &&
		    remove_tree_at(dst, de->d_name) < 0)
			rc = -1;
	closedir(d);
	if (rc < 0)
		return err_errno(EXIT_FAILED, "cannot remove the old contents of %s", t->path);
	_cleanup_close_ int src = open(t->staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (src < 0)
		return err_errno(EXIT_FAILED, "cannot open %s", t->staging);
	d = opendir(t->staging);
	if (!d)
		return err_errno(EXIT_FAILED, "cannot read %s", t->staging);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (renameat2(src, de->d_name, dst, de->d_name, RENAME_NOREPLACE) < 0) {
			err_t *e = err_errno(EXIT_FAILED, "cannot move %s into %s", de->d_name, t->path);
			closedir(d);
			return e;
		}
	}
	closedir(d);
	if (rmdir(t->staging) < 0)
		return err_errno(EXIT_FAILED, "cannot remove %s", t->staging);
	return NULL;
}

err_t *target_commit(struct target *t)
{
	if (t->inside) {
		TRY(move_up(t));
	} else if (rename(t->staging, t->path) < 0) {
		return err_errno(EXIT_FAILED, "cannot move the clone into %s", t->path);
	}
	free(t->staging);
	t->staging = NULL;
	return NULL;
}

void target_abort(struct target *t)
{
	if (t->staging)
		remove_tree_at(AT_FDCWD, t->staging);
	free(t->staging);
	t->staging = NULL;
}

void target_free(struct target *t)
{
	target_abort(t);
	free(t->path);
	t->path = NULL;
}
