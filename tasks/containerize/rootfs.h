/* Path operations confined to a build root. Every path a Dockerfile names
 * (COPY destinations, WORKDIR, USER's /etc/passwd) is resolved as if the
 * build root were "/": symlinks, absolute or chained, and ".." never leave
 * it (openat2 with RESOLVE_IN_ROOT). Used by the RUN executor, COPY/ADD and
 * the image config (USER lookups). */
#ifndef CONTAINERIZE_ROOTFS_H
#define CONTAINERIZE_ROOTFS_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "strbuf.h"

/* Open path (absolute or relative to "/" of the root) beneath root_fd.
 * flags as for openat (O_CLOEXEC is added). Returns fd or -1 with errno. */
int rootfs_open(int root_fd, const char *path, int flags, mode_t mode);
/* Open the parent directory of path beneath root_fd and return it, with the
 * last component in *base (a pointer into path, or "." for "/"). The parent
 * directories are created (mode 0755, owner uid:gid) when mkparents. */
err_t *rootfs_open_parent(int root_fd, const char *path, bool mkparents, uid_t uid, gid_t gid,
			  int *dirfd, const char **base);
/* mkdir -p path beneath root_fd, new directories owned by uid:gid; returns an
 * open O_PATH|O_DIRECTORY fd of the final directory in *out (if out). */
err_t *rootfs_mkdir_p(int root_fd, const char *path, mode_t mode, uid_t uid, gid_t gid, int *out);
/* Read a small file of the root (NUL-terminated into sb); missing is not an
 * error: *found says whether it was there. */
err_t *rootfs_read_small(int root_fd, const char *path, size_t max, struct strbuf *sb, bool *found);

/* USER resolution as Docker does it: "name", "uid", "name:group",
 * "uid:gid"; names come from the root's /etc/passwd and /etc/group;
 * supplementary groups from /etc/group for a named user. */
struct rootfs_user {
	uid_t uid;
	gid_t gid;
	gid_t groups[64];
	int ngroups;
	char home[256];
};
err_t *rootfs_resolve_user(int root_fd, const char *user, struct rootfs_user *out);
/* The same over the files' text (NULL: the file is not there). */
err_t *rootfs_resolve_user_in(const char *passwd, const char *group, const char *user, struct rootfs_user *out);

/* Clean an absolute path textually: collapse "//", "." and ".." (never above
 * "/"); relative paths are taken relative to cwd (absolute). Caller frees. */
char *rootfs_path_join(const char *cwd, const char *path);

#endif
