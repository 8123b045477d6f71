/* What both runtimes share: --image-map, finding programs, spawning them
 * (see runtime.h). */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "imageref.h"
#include "runtime.h"
#include "xalloc.h"

static bool same_image(const char *a, const char *b)
{
	if (!strcmp(a, b))
		return true;
	struct image_ref ra = { 0 }, rb = { 0 };
	bool same = false;
	err_t *e = imageref_parse(a, &ra);
	if (!e)
		e = imageref_parse(b, &rb);
	if (!e) {
		char *na = imageref_name(&ra), *nb = imageref_name(&rb);
		/* a map entry without tag or digest matches every version */
		bool bare = rb.tag_implied && !rb.digest;
		same = !strcmp(na, nb) && (bare || !strcmp(imageref_reference(&ra), imageref_reference(&rb)));
		free(na);
		free(nb);
	}
	err_free(e);
	imageref_free(&ra);
	imageref_free(&rb);
	return same;
}

const char *image_map_find(const struct taskrun_options *o, const char *image)
{
	for (size_t i = 0; i < o->nimages; i++)
		if (!strcmp(o->images[i].image, image))
			return o->images[i].target;
	for (size_t i = 0; i < o->nimages; i++)
		if (same_image(image, o->images[i].image))
			return o->images[i].target;
	return NULL;
}

static char *search(const char *name, const char *bin_dir)
{
	if (bin_dir) {
		char *p = xasprintf("%s/%s", bin_dir, name);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	const char *path = getenv("PATH");
	for (const char *d = path ? path : RUNTIME_DEFAULT_PATH; *d;) {
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

err_t *runtime_find_program(const char *name, const char *bin_dir, char **out)
{
	*out = search(name, bin_dir);
	if (!*out)
		return err_new(EXIT_USAGE, "no program '%s' in --bin-dir%s%s or PATH", name, bin_dir ? " " : "",
			       bin_dir ? bin_dir : "");
	/* the step runs in its workingDir: a relative path would not reach it */
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

err_t *runtime_spawn(char *const argv[], char *const envp[], int out_fd, const char *cwd, int (*pre_exec)(void),
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
