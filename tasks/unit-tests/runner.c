/* Command runner with a timeout over the process group (see runner.h). */
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GRACE_SECONDS 5

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap(void)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	nanosleep(&ts, NULL);
}

/* Wait for pid until deadline; true when it was reaped. */
static bool wait_until(pid_t pid, double deadline, int *status)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return true;
		if (r < 0 && errno != EINTR)
			return true; /* nothing left to wait for */
		if (now() >= deadline)
			return false;
		nap();
	}
}

/* What the child failed at before exec, sent up a close-on-exec pipe. */
struct setup_failure {
	int err;
	char what[64];
};

static void child_fail(int fd, const char *what)
{
	struct setup_failure f = { errno, "" };
	snprintf(f.what, sizeof f.what, "%s", what);
	ssize_t w = write(fd, &f, sizeof f);
	(void)w;
	_exit(127);
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Become root of a new user namespace (mapped to our own uid/gid), which
 * grants chroot without privileges on the host. */
static int enter_user_namespace(void)
{
	char map[64];
	uid_t uid = getuid();
	gid_t gid = getgid();
	if (unshare(CLONE_NEWUSER) != 0)
		return -1;
	if (write_file("/proc/self/setgroups", "deny") != 0 && errno != ENOENT)
		return -1;
	snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
	if (write_file("/proc/self/uid_map", map) != 0)
		return -1;
	snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
	return write_file("/proc/self/gid_map", map);
}

static void child(const struct run_spec *spec, int report)
{
	setpgid(0, 0);
	if (spec->root) {
		if (geteuid() != 0 && enter_user_namespace() != 0)
			child_fail(report, "entering a user namespace");
		if (chroot(spec->root) != 0)
			child_fail(report, "chroot into the image");
		if (chdir("/") != 0)
			child_fail(report, "chdir / in the image");
	}
	if (spec->dir && *spec->dir && chdir(spec->dir) != 0)
		child_fail(report, "entering the working directory");
	/* the command's output goes to our stderr: stdout carries the summary;
	 * no stdin: a background process group reading a terminal would stop */
	dup2(STDERR_FILENO, STDOUT_FILENO);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		close(null);
	}
	char *argv[] = { "sh", "-c", (char *)spec->command, NULL };
	if (spec->env)
		execve("/bin/sh", argv, spec->env);
	else
		execv("/bin/sh", argv);
	child_fail(report, "running /bin/sh");
}

err_t *run_command(const struct run_spec *spec, struct run_outcome *out)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		return err_errno(EXIT_FAILED, "cannot start the test command");
	double start = now();
	pid_t pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return err_errno(EXIT_FAILED, "cannot start the test command");
	}
	if (pid == 0) {
		close(pipefd[0]);
		child(spec, pipefd[1]);
	}
	close(pipefd[1]);
	setpgid(pid, pid); /* both sides, so no race with the kill below */
	int status = 0;
	out->timed_out = false;
	double deadline = spec->timeout_seconds > 0 ? start + (double)spec->timeout_seconds : 1e300;
	if (!wait_until(pid, deadline, &status)) {
		out->timed_out = true;
		kill(-pid, SIGTERM);
		if (!wait_until(pid, now() + GRACE_SECONDS, &status)) {
			kill(-pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
		}
	}
	/* background processes the tests left behind */
	kill(-pid, SIGKILL);
	out->seconds = now() - start;
	if (WIFEXITED(status))
		out->exit_code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		out->exit_code = 128 + WTERMSIG(status);
	else
		out->exit_code = 1;
	struct setup_failure f;
	ssize_t n = read(pipefd[0], &f, sizeof f);
	close(pipefd[0]);
	if (n == (ssize_t)sizeof f) {
		f.what[sizeof f.what - 1] = '\0';
		errno = f.err;
		return err_errno(spec->root ? EXIT_FAILED : EXIT_USAGE, "cannot run the tests: %s failed", f.what);
	}
	return NULL;
}
