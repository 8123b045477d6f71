/* Rootless mode: enter a user namespace (see userns.h). */
#include "userns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "strbuf.h"
#include "xalloc.h"

static err_t *write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(EXIT_FAILED, "cannot open %s", path);
	ssize_t n = write(fd, text, strlen(text));
	int saved = errno;
	close(fd);
	errno = saved;
	if (n != (ssize_t)strlen(text))
		return err_errno(EXIT_FAILED, "cannot write %s", path);
	return NULL;
}

/* First "name:start:count" range of /etc/subuid (or subgid) for our user
 * name or id. */
static bool sub_range(const char *file, unsigned long id, const char *name, unsigned long *start,
		      unsigned long *count)
{
	FILE *f = fopen(file, "re");
	if (!f)
		return false;
	char line[512];
	bool found = false;
	char idtext[32];
	snprintf(idtext, sizeof idtext, "%lu", id);
	while (!found && fgets(line, sizeof line, f)) {
		char *c1 = strchr(line, ':');
		if (!c1)
			continue;
		*c1 = '\0';
		if (strcmp(line, idtext) != 0 && (!name || strcmp(line, name) != 0))
			continue;
		if (sscanf(c1 + 1, "%lu:%lu", start, count) == 2 && *count > 0)
			found = true;
	}
	fclose(f);
	return found;
}

static char *user_name(uid_t uid)
{
	FILE *f = fopen("/etc/passwd", "re");
	if (!f)
		return NULL;
	char line[1024];
	char *name = NULL;
	while (!name && fgets(line, sizeof line, f)) {
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		char *c3 = c2 ? strchr(c2 + 1, ':') : NULL;
		if (!c3)
			continue;
		*c3 = '\0';
		if ((uid_t)strtoul(c2 + 1, NULL, 10) == uid)
			name = xstrndup(line, (size_t)(c1 - line));
	}
	fclose(f);
	return name;
}

/* Run newuidmap/newgidmap for pid from a helper forked before unshare. */
static bool run_map_tool(const char *tool, pid_t pid, unsigned long id, unsigned long start, unsigned long count)
{
	char a_pid[32], a_id[32], a_start[32], a_count[32];
	snprintf(a_pid, sizeof a_pid, "%d", (int)pid);
	snprintf(a_id, sizeof a_id, "%lu", id);
	snprintf(a_start, sizeof a_start, "%lu", start);
	snprintf(a_count, sizeof a_count, "%lu", count);
	pid_t c = fork();
	if (c < 0)
		return false;
	if (c == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0)
			dup2(devnull, 2);
		execlp(tool, tool, a_pid, "0", a_id, "1", "1", a_start, a_count, (char *)NULL);
		_exit(127);
	}
	int st;
	while (waitpid(c, &st, 0) < 0)
		if (errno != EINTR)
			return false;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

err_t *userns_enter(bool *mapped_all)
{
	*mapped_all = true;
	if (geteuid() == 0)
		return NULL;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char *name = user_name(uid);
	unsigned long us = 0, uc = 0, gs = 0, gc = 0;
	bool ranges = sub_range("/etc/subuid", uid, name, &us, &uc) && sub_range("/etc/subgid", uid, name, &gs, &gc);
	free(name);
	pid_t self = getpid();
	int go[2], done[2];
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(done, O_CLOEXEC) < 0)
		return err_errno(EXIT_FAILED, "pipe");
	pid_t helper = -1;
	if (ranges) {
		helper = fork();
		if (helper < 0)
			return err_errno(EXIT_FAILED, "fork");
		if (helper == 0) {
			char c;
			close(go[1]);
			close(done[0]);
			if (read(go[0], &c, 1) != 1)
				_exit(1);
			bool ok = run_map_tool("newuidmap", self, uid, us, uc) &&
				  run_map_tool("newgidmap", self, gid, gs, gc);
			char r = ok ? 'y' : 'n';
			if (write(done[1], &r, 1) < 0)
				_exit(1);
			_exit(0);
		}
	}
	close(go[0]);
	close(done[1]);
	if (unshare(CLONE_NEWUSER) < 0) {
		err_t *e = err_errno(EXIT_FAILED, "cannot create a user namespace (use isolation=chroot as root "
						  "in the container, or allow unprivileged user namespaces)");
		close(go[1]);
		close(done[0]);
		if (helper > 0)
			waitpid(helper, NULL, 0);
		return e;
	}
	bool mapped = false;
	if (helper > 0) {
		char c = 'g', r = 'n';
		if (write(go[1], &c, 1) == 1 && read(done[0], &r, 1) == 1)
			mapped = r == 'y';
		waitpid(helper, NULL, 0);
	}
	close(go[1]);
	close(done[0]);
	if (!mapped) {
		*mapped_all = false;
		log_warn("no subordinate id range for uid %lu (newuidmap, /etc/subuid): only root is mapped; "
			 "files owned by other users will be owned by root", (unsigned long)uid);
		char map[64];
		TRY(write_file("/proc/self/setgroups", "deny"));
		snprintf(map, sizeof map, "0 %lu 1\n", (unsigned long)uid);
		TRY(write_file("/proc/self/uid_map", map));
		snprintf(map, sizeof map, "0 %lu 1\n", (unsigned long)gid);
		TRY(write_file("/proc/self/gid_map", map));
	}
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return err_errno(EXIT_FAILED, "cannot become root in the user namespace");
	return NULL;
}

static void mapping_for_root(struct run_userns *u, bool *from_subuid)
{
	unsigned long us = 0, uc = 0, gs = 0, gc = 0;
	*from_subuid = sub_range("/etc/subuid", 0, "root", &us, &uc) && sub_range("/etc/subgid", 0, "root", &gs, &gc) &&
		       us > 0 && gs > 0;
	if (*from_subuid) {
		u->uid_base = us;
		u->gid_base = gs;
		u->count = uc < gc ? uc : gc;
	} else {
		u->uid_base = u->gid_base = USERNS_DEFAULT_BASE;
		u->count = 65536;
	}
}

/* True in the host's user namespace (every id mapped to itself). */
static bool initial_userns(void)
{
	FILE *f = fopen("/proc/self/uid_map", "re");
	if (!f)
		return true;
	unsigned long inside = 1, outside = 1, count = 0;
	int n = fscanf(f, "%lu %lu %lu", &inside, &outside, &count);
	fclose(f);
	return n == 3 && inside == 0 && outside == 0 && count == 4294967295UL;
}

err_t *userns_for_runs(struct run_userns *u)
{
	bool from_subuid;
	u->fd = -1;
	mapping_for_root(u, &from_subuid);
	int ready[2], hold[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		return err_errno(EXIT_FAILED, "pipe");
	if (pipe2(hold, O_CLOEXEC) < 0) {
		close(ready[0]);
		close(ready[1]);
		return err_errno(EXIT_FAILED, "pipe");
	}
	pid_t helper = fork();
	if (helper < 0) {
		close(ready[0]);
		close(ready[1]);
		close(hold[0]);
		close(hold[1]);
		return err_errno(EXIT_FAILED, "fork");
	}
	if (helper == 0) {
		/* enter the namespace, say so, wait until the parent holds it */
		char c = unshare(CLONE_NEWUSER) == 0 ? 'y' : 'n';
		close(hold[1]);
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		while (read(hold[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	char c = 'n';
	err_t *e = NULL;
	if (read(ready[0], &c, 1) != 1 || c != 'y') {
		e = err_new(EXIT_FAILED, "cannot create a user namespace for RUN steps (use isolation=chroot where "
					 "namespaces are not allowed)");
	} else {
		char path[64], map[96];
		snprintf(path, sizeof path, "/proc/%d/uid_map", (int)helper);
		snprintf(map, sizeof map, "0 %lu %lu\n", u->uid_base, u->count);
		e = write_file(path, map);
		if (!e) {
			snprintf(path, sizeof path, "/proc/%d/gid_map", (int)helper);
			snprintf(map, sizeof map, "0 %lu %lu\n", u->gid_base, u->count);
			e = write_file(path, map);
		}
		if (!e) {
			snprintf(path, sizeof path, "/proc/%d/ns/user", (int)helper);
			u->fd = open(path, O_RDONLY | O_CLOEXEC);
			if (u->fd < 0)
				e = err_errno(EXIT_FAILED, "cannot open %s", path);
		}
		if (e)
			e = err_wrap(e, "cannot map the RUN steps' user namespace to host ids %lu-%lu "
				     "(configure a range for root in /etc/subuid and /etc/subgid)",
				     u->uid_base, u->uid_base + u->count - 1);
	}
	close(ready[0]);
	close(hold[1]);
	while (waitpid(helper, NULL, 0) < 0 && errno == EINTR)
		;
	if (e && !initial_userns()) {
		/* root of a user namespace already (a pod with hostUsers: false,
		 * rootless podman): its capabilities are that namespace's only */
		char *why = err_describe(e);
		log_warn("%s; containerize runs in a user namespace already (not the host's): RUN steps use that one",
			 why);
		free(why);
		err_free(e);
		return NULL;
	}
	if (e)
		return e;
	if (from_subuid)
		log_info("RUN steps run in a user namespace: root and ids 0-%lu map to host uids %lu-%lu, gids %lu-%lu "
			 "(root's range in /etc/subuid, /etc/subgid)", u->count - 1, u->uid_base,
			 u->uid_base + u->count - 1, u->gid_base, u->gid_base + u->count - 1);
	else
		log_info("RUN steps run in a user namespace: root and ids 0-65535 map to host ids %lu-%lu (no range "
			 "for root in /etc/subuid: the default block; these host ids must belong to no one)",
			 u->uid_base, u->uid_base + u->count - 1);
	if (u->count < 65536)
		log_warn("root's range in /etc/subuid has only %lu ids: files and users above %lu cannot be used by RUN",
			 u->count, u->count - 1);
	return NULL;
}

void userns_release(struct run_userns *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
}
