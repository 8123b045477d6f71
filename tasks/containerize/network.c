/* RUN's network namespace and its slirp4netns (see network.h). */
#include "network.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "strbuf.h"
#include "subprocess.h"
#include "xalloc.h"

err_t *net_parse(const char *s, struct net_config *out)
{
	out->mode = RUN_NET_SLIRP;
	out->host_loopback = false;
	if (!s || !*s || strcmp(s, "default") == 0 || strcmp(s, "private") == 0 || strcmp(s, "slirp4netns") == 0)
		return NULL;
	if (strcmp(s, "none") == 0) {
		out->mode = RUN_NET_NONE;
		return NULL;
	}
	if (strcmp(s, "host") == 0) {
		out->mode = RUN_NET_HOST;
		return NULL;
	}
	if (strcmp(s, "slirp4netns:allow_host_loopback=true") == 0) {
		out->host_loopback = true;
		return NULL;
	}
	if (strcmp(s, "slirp4netns:allow_host_loopback=false") == 0)
		return NULL;
	return err_new(EXIT_USAGE, "network %s: use default, none, host or slirp4netns:allow_host_loopback=true", s);
}

err_t *net_for_step(const struct net_config *build, const char *flag, enum run_net *out)
{
	*out = build->mode;
	if (!flag || strcmp(flag, "default") == 0)
		return NULL;
	if (strcmp(flag, "none") == 0) {
		*out = RUN_NET_NONE;
		return NULL;
	}
	if (strcmp(flag, "host") == 0) {
		if (build->mode != RUN_NET_HOST)
			return err_new(EXIT_USAGE, "RUN --network=host shares the host's network: allowed only when the "
						   "build is given network=host (as BuildKit needs the network.host "
						   "entitlement)");
		return NULL;
	}
	return err_new(EXIT_USAGE, "RUN --network=%s: use default, none or host", flag);
}

/* What slirp4netns said (its first 1 KiB), one line, without its
 * "WARNING: Support for seccomp is experimental", for an error message. */
static char *helper_said(const char *path)
{
	char buf[1024];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	struct strbuf sb = STRBUF_INIT;
	for (char *line = buf, *end; *line; line = end) {
		end = line + strcspn(line, "\n");
		if (*end)
			*end++ = '\0';
		if (!*line || strncmp(line, "WARNING:", 8) == 0)
			continue;
		if (sb.len)
			sb_adds(&sb, "; ");
		sb_adds(&sb, line);
	}
	if (!sb.len)
		sb_adds(&sb, "(no output)");
	return sb_detach(&sb);
}

static bool same_netns(pid_t target, err_t **e)
{
	char path[64];
	struct stat ours, theirs;
	snprintf(path, sizeof path, "/proc/%d/ns/net", (int)target);
	if (stat("/proc/self/ns/net", &ours) < 0 || stat(path, &theirs) < 0) {
		*e = err_errno(EXIT_FAILED, "cannot read the RUN step's network namespace (%s)", path);
		return true;
	}
	return ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino;
}

/* In the forked child: descriptors 0-4 as slirp4netns gets them, exec. */
static void exec_slirp(const char *bin, pid_t target, bool host_loopback, int logfd, int readyfd, int exitfd)
{
	/* when containerize dies (SIGKILL, SIGTERM), so does slirp4netns */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* above 4 first, so the dup2s below never overwrite one another */
	int l = fcntl(logfd, F_DUPFD_CLOEXEC, 10), r = fcntl(readyfd, F_DUPFD_CLOEXEC, 10),
	    x = fcntl(exitfd, F_DUPFD_CLOEXEC, 10);
	if (devnull < 0 || l < 0 || r < 0 || x < 0 || dup2(devnull, 0) < 0 || dup2(l, 1) < 0 || dup2(l, 2) < 0 ||
	    dup2(r, 3) < 0 || dup2(x, 4) < 0 || close_range(5, ~0U, 0) < 0)
		_exit(127);
	char pid[32];
	snprintf(pid, sizeof pid, "%d", (int)target);
	const char *argv[16];
	int n = 0;
	argv[n++] = bin;
	argv[n++] = "--configure";
	argv[n++] = "--mtu=65520";
	if (!host_loopback)
		argv[n++] = "--disable-host-loopback";
	argv[n++] = "--enable-sandbox";
	argv[n++] = "--enable-seccomp";
	argv[n++] = "--ready-fd=3";
	argv[n++] = "--exit-fd=4";
	argv[n++] = pid;
	argv[n++] = "tap0";
	argv[n] = NULL;
	execv(bin, (char *const *)argv);
	_exit(127);
}

err_t *slirp_start(pid_t target, bool host_loopback, const char *log_path, struct slirp *out)
{
	out->pid = -1;
	out->exit_fd = -1;
	err_t *e = NULL;
	if (same_netns(target, &e))
		return e ? e : err_new(EXIT_FAILED, "the RUN step has no network namespace of its own: slirp4netns "
					       "would configure the host's network; refused");
	_cleanup_free_ char *bin = NULL;
	e = subprocess_find("slirp4netns", NULL, &bin);
	if (e) {
		err_free(e);
		return err_new(EXIT_FAILED, "RUN's network needs slirp4netns, which is not installed (Debian package "
					    "slirp4netns): install it, or build with network=none (loopback only) or "
					    "network=host (the host's network, not isolated)");
	}
	/* Debian makes it 0666 (udev); a container runtime may not: say so
	 * rather than slirp4netns's bare "Permission denied" */
	if (access("/dev/net/tun", R_OK | W_OK) < 0) {
		struct stat st;
		int saved = errno;
		char mode[64] = "";
		if (stat("/dev/net/tun", &st) == 0)
			snprintf(mode, sizeof mode, " (mode %04o)", (unsigned)(st.st_mode & 07777));
		errno = saved;
		return err_errno(EXIT_FAILED, "RUN's network: slirp4netns needs /dev/net/tun%s read-write for this "
				 "user (Debian makes it 0666), or build with network=none (loopback only) or "
				 "network=host (the host's network, not isolated)", mode);
	}
	int ready[2] = { -1, -1 }, exitp[2] = { -1, -1 };
	int logfd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (logfd < 0)
		return err_errno(EXIT_FAILED, "cannot create %s", log_path);
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(exitp, O_CLOEXEC) < 0) {
		e = err_errno(EXIT_FAILED, "pipe");
		goto out;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		e = err_errno(EXIT_FAILED, "fork");
		goto out;
	}
	if (pid == 0)
		exec_slirp(bin, target, host_loopback, logfd, ready[1], exitp[0]);
	close(ready[1]);
	ready[1] = -1;
	char c = 0;
	ssize_t n;
	while ((n = read(ready[0], &c, 1)) < 0 && errno == EINTR)
		;
	if (n != 1) {
		/* it exited before the tap was up */
		close(exitp[1]);
		exitp[1] = -1;
		int st = 0;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		_cleanup_free_ char *why = helper_said(log_path);
		e = err_new(EXIT_FAILED, "slirp4netns could not set up the RUN step's network (%s %d): %s",
			    WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), why);
		goto out;
	}
	out->pid = pid;
	out->exit_fd = exitp[1];
	exitp[1] = -1;
out:
	close(logfd);
	for (int i = 0; i < 2; i++) {
		if (ready[i] >= 0)
			close(ready[i]);
		if (exitp[i] >= 0)
			close(exitp[i]);
	}
	return e;
}

void slirp_stop(struct slirp *s)
{
	if (s->exit_fd >= 0)
		close(s->exit_fd);
	s->exit_fd = -1;
	if (s->pid > 0)
		while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
			;
	s->pid = -1;
}
