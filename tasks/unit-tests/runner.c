/* Command runner with a timeout over the process group (see runner.h). */
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
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

err_t *run_command(const char *command, const char *dir, long timeout_seconds, struct run_outcome *out)
{
	double start = now();
	pid_t pid = fork();
	if (pid < 0)
		return err_errno(EXIT_FAILED, "cannot start the test command");
	if (pid == 0) {
		setpgid(0, 0);
		if (dir && *dir && chdir(dir) != 0)
			_exit(126);
		/* the command's output goes to our stderr: stdout carries the summary;
		 * no stdin: a background process group reading a terminal would stop */
		dup2(STDERR_FILENO, STDOUT_FILENO);
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			close(null);
		}
		execl("/bin/sh", "sh", "-c", command, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid); /* both sides, so no race with the kill below */
	int status = 0;
	out->timed_out = false;
	double deadline = timeout_seconds > 0 ? start + (double)timeout_seconds : 1e300;
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
	if (dir && *dir && out->exit_code == 126 && !out->timed_out && access(dir, X_OK) != 0)
		return err_errno(EXIT_USAGE, "cannot enter workdir %s", dir);
	return NULL;
}
