/* Running another program (see subprocess.h). */
#include "subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ocibundle.h"
#include "xalloc.h"

static char *search(const char *name, const char *bin_dir)
{
	if (bin_dir) {
		char *p = xasprintf("%s/%s", bin_dir, name);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	const char *path = getenv("PATH");
	for (const char *d = path ? path : OCI_DEFAULT_PATH; *d;) {
		const char *end = strchrnul(d, ':');
		if (end > d) {
			char *p = xasprintf("%.*s/%s", (int)(end - d), d, name);
			struct stat st;
			if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0)
				return p;
			free(p);
		}
		d = *end ? end + 1 : end;
	}
	return NULL;
}

err_t *subprocess_find(const char *name, const char *bin_dir, char **out)
{
	*out = search(name, bin_dir);
	if (!*out)
		return err_new(EXIT_USAGE, "no program '%s' in --bin-dir%s%s or PATH", name, bin_dir ? " " : "",
			       bin_dir ? bin_dir : "");
	/* a step runs in its workingDir: a relative path would not reach it */
	char *abs = (*out)[0] == '/' ? NULL : realpath(*out, NULL);
	if (abs) {
		free(*out);
		*out = abs;
	}
	return NULL;
}

static err_t *wait_for(pid_t pid, const char *what, int *exit_code)
{
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return err_errno(EXIT_FAILED, "waiting for %s", what);
	*exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return NULL;
}

err_t *subprocess_run(char *const argv[], char *const envp[], int out_fd, const char *cwd, int (*pre_exec)(void),
		      int *exit_code)
{
	char *const *env = envp ? envp : environ;
	pid_t pid;
	if (!pre_exec) {
		/* posix_spawn (vfork underneath): the fast path of the direct runtime */
		posix_spawn_file_actions_t fa;
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
		posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
		posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
		if (cwd)
			posix_spawn_file_actions_addchdir_np(&fa, cwd);
		int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, env);
		posix_spawn_file_actions_destroy(&fa);
		if (rc != 0) {
			errno = rc;
			return err_errno(EXIT_FAILED, "cannot run %s%s%s", argv[0], cwd ? " in " : "", cwd ? cwd : "");
		}
		return wait_for(pid, argv[0], exit_code);
	}
	pid = fork();
	if (pid < 0)
		return err_errno(EXIT_FAILED, "fork");
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null < 0 || dup2(null, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0 ||
		    (cwd && chdir(cwd) < 0) || pre_exec() != 0)
			_exit(127);
		execve(argv[0], argv, env);
		_exit(127);
	}
	return wait_for(pid, argv[0], exit_code);
}
