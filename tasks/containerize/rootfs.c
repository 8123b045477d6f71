/* Path operations confined to a build root (see rootfs.h). */
#include "rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "xalloc.h"

int rootfs_open(int root_fd, const char *path, int flags, mode_t mode)
{
	struct open_how how = { 0 };
	how.flags = (unsigned long long)(flags | O_CLOEXEC);
	if (flags & (O_CREAT | O_TMPFILE))
		how.mode = mode;
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	long fd;
	do
		fd = syscall(SYS_openat2, root_fd, path, &how, sizeof how);
	while (fd < 0 && errno == EAGAIN);
	return (int)fd;
}

char *rootfs_path_join(const char *cwd, const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	_cleanup_free_ char *full = NULL;
	if (path[0] == '/' || !cwd)
		full = xstrdup(path);
	else
		full = xasprintf("%s/%s", cwd, path);
	const char *p = full;
	sb_addc(&sb, '/');
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* skip */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (sb.len > 1 && sb.buf[sb.len - 1] != '/')
				sb.len--;
			if (sb.len > 1)
				sb.len--;
			sb.buf[sb.len] = '\0';
		} else {
			if (sb.len > 1)
				sb_addc(&sb, '/');
			sb_add(&sb, p, n);
		}
		p = e;
	}
	return sb_detach(&sb);
}

err_t *rootfs_mkdir_p(int root_fd, const char *path, mode_t mode, uid_t uid, gid_t gid, int *out)
{
	_cleanup_free_ char *clean = rootfs_path_join("/", path);
	int cur = dup(root_fd);
	if (cur < 0)
		return err_errno(EXIT_FAILED, "dup");
	char *p = clean + 1;
	while (*p) {
		char *e = strchrnul(p, '/');
		char save = *e;
		*e = '\0';
		/* resolve the whole prefix from the root, so ".." and symlinks
		 * in earlier components stay inside */
		int next = rootfs_open(root_fd, clean, O_PATH | O_DIRECTORY, 0);
		if (next < 0 && errno == ENOENT) {
			if (mkdirat(cur, p, mode) < 0 && errno != EEXIST) {
				err_t *err = err_errno(EXIT_FAILED, "cannot create directory %s", clean);
				close(cur);
				return err;
			}
			if (fchownat(cur, p, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EPERM && errno != EINVAL) {
				err_t *err = err_errno(EXIT_FAILED, "cannot chown %s", clean);
				close(cur);
				return err;
			}
			next = rootfs_open(root_fd, clean, O_PATH | O_DIRECTORY, 0);
		}
		if (next < 0) {
			err_t *err = err_errno(EXIT_FAILED, "cannot open directory %s in the build root", clean);
			close(cur);
			return err;
		}
		close(cur);
		cur = next;
		*e = save;
		p = *e ? e + 1 : e;
	}
	if (out)
		*out = cur;
	else
		close(cur);
	return NULL;
}

err_t *rootfs_open_parent(int root_fd, const char *path, bool mkparents, uid_t uid, gid_t gid,
			  int *dirfd, const char **base)
{
	const char *slash = strrchr(path, '/');
	_cleanup_free_ char *parent = NULL;
	if (!slash) {
		parent = xstrdup("/");
		*base = path;
	} else {
		parent = xstrndup(path, (size_t)(slash - path));
		*base = slash + 1;
	}
	if (!**base)
		*base = ".";
	if (mkparents)
		return rootfs_mkdir_p(root_fd, parent[0] ? parent : "/", 0755, uid, gid, dirfd);
	int fd = rootfs_open(root_fd, parent[0] ? parent : "/", O_PATH | O_DIRECTORY, 0);
	if (fd < 0)
		return err_errno(EXIT_FAILED, "cannot open directory %s in the build root", parent);
	*dirfd = fd;
	return NULL;
}

err_t *rootfs_read_small(int root_fd, const char *path, size_t max, struct strbuf *sb, bool *found)
{
	_cleanup_close_ int fd = rootfs_open(root_fd, path, O_RDONLY, 0);
	*found = false;
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return NULL;
		return err_errno(EXIT_FAILED, "cannot open %s in the build root", path);
	}
	*found = true;
	return fs_read_fd(fd, max, path, sb);
}

static bool parse_id(const char *s, unsigned long *out)
{
	/* digits only: strtoul alone takes " 0", "+0" and "-18446744073709551615" */
	if (*s < '0' || *s > '9')
		return false;
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || errno || v > 0xfffffffeUL)
		return false;
	*out = v;
	return true;
}

/* Find a line of an /etc/passwd-style file whose field 0 (name) or field 2
 * (id) matches; fields split into f (at most nf; those the line lacks are
 * ""). Returns true if found. */
static bool find_entry(char *text, const char *name, unsigned long id, bool by_id, char **f, int nf)
{
	char *save = NULL;
	for (char *line = text; line; line = save) {
		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		int n = 0;
		char *p = line;
		while (n < nf) {
			f[n++] = p;
			p = strchr(p, ':');
			if (!p)
				break;
			*p++ = '\0';
		}
		for (int i = n; i < nf; i++)
			f[i] = "";
		if (n < 3)
			continue;
		unsigned long v;
		if (by_id ? (parse_id(f[2], &v) && v == id) : strcmp(f[0], name) == 0)
			return true;
	}
	return false;
}

err_t *rootfs_resolve_user(int root_fd, const char *user, struct rootfs_user *out)
{
	_cleanup_strbuf_ struct strbuf pw = STRBUF_INIT, gr = STRBUF_INIT;
	bool have_pw, have_gr;
	TRY(rootfs_read_small(root_fd, "/etc/passwd", 16 << 20, &pw, &have_pw));
	TRY(rootfs_read_small(root_fd, "/etc/group", 16 << 20, &gr, &have_gr));
	return rootfs_resolve_user_in(have_pw ? sb_str(&pw) : NULL, have_gr ? sb_str(&gr) : NULL, user, out);
}

err_t *rootfs_resolve_user_in(const char *passwd, const char *group, const char *user, struct rootfs_user *out)
{
	memset(out, 0, sizeof *out);
	snprintf(out->home, sizeof out->home, "/");
	if (!user || !*user)
		user = "root";
	_cleanup_free_ char *u = xstrdup(user);
	char *g = strchr(u, ':');
	if (g)
		*g++ = '\0';
	bool have_pw = passwd, have_gr = group;

	unsigned long id;
	bool numeric = parse_id(u, &id);
	char *f[7];
	bool found = false;
	_cleanup_free_ char *name = NULL;
	if (have_pw) {
		_cleanup_free_ char *copy = xstrdup(passwd);
		found = find_entry(copy, u, numeric ? id : 0, numeric, f, 7);
		if (found) {
			unsigned long uid, gid;
			if (!parse_id(f[2], &uid) || !parse_id(f[3], &gid))
				found = false;
			else {
				out->uid = (uid_t)uid;
				out->gid = (gid_t)gid;
				snprintf(out->home, sizeof out->home, "%s", f[5] && f[5][0] ? f[5] : "/");
				name = xstrdup(f[0]);
			}
		}
	}
	if (!found) {
		if (!numeric && strcmp(u, "root") == 0) {
			numeric = true; /* no passwd entry needed for root */
			id = 0;
		} else if (!numeric)
			return err_new(EXIT_USAGE, "USER %s: no such user in the image's /etc/passwd", user);
		out->uid = (uid_t)id; /* unknown numeric uid: gid 0, home / (as runc) */
		out->gid = 0;
	}
	if (g) {
		unsigned long gid;
		if (parse_id(g, &gid)) {
			out->gid = (gid_t)gid;
		} else {
			_cleanup_free_ char *copy = xstrdup(have_gr ? group : "");
			char *gf[4];
			if (!have_gr || !find_entry(copy, g, 0, false, gf, 4) || !parse_id(gf[2], &gid))
				return err_new(EXIT_USAGE, "USER %s: no such group in the image's /etc/group", user);
			out->gid = (gid_t)gid;
		}
	}
	/* supplementary groups: every group listing the user by name */
	if (found && !g && have_gr) {
		_cleanup_free_ char *copy = xstrdup(group);
		char *save = NULL;
		for (char *line = copy; line && out->ngroups < 64; line = save) {
			save = strchr(line, '\n');
			if (save)
				*save++ = '\0';
			char *fields[4] = { 0 };
			int n = 0;
			char *p = line;
			while (n < 4) {
				fields[n++] = p;
				p = strchr(p, ':');
				if (!p)
					break;
				*p++ = '\0';
			}
			if (n < 4)
				continue;
			unsigned long gid;
			if (!parse_id(fields[2], &gid))
				continue;
			for (char *m = fields[3]; m && *m;) {
				char *c = strchr(m, ',');
				if (c)
					*c++ = '\0';
				if (strcmp(m, name) == 0 && (gid_t)gid != out->gid) {
					out->groups[out->ngroups++] = (gid_t)gid;
					break;
				}
				m = c;
			}
		}
	}
	/* the primary group is in the list too (as runc sets it up) */
	if (found && !g && out->ngroups > 0 && out->ngroups < 64)
		out->groups[out->ngroups++] = out->gid;
	return NULL;
}
