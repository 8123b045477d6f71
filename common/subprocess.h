/* Running another program and waiting for it: pipeline-run's steps and
 * image pulls, deploy --target=local's crun. */
#ifndef COMMON_SUBPROCESS_H
#define COMMON_SUBPROCESS_H

#include "error.h"

/* An executable name in bin_dir (when not NULL), then PATH (or
 * OCI_DEFAULT_PATH's directories when unset); EXIT_USAGE naming both when
 * it is in neither. A relative path found is made absolute (the program
 * may run in another directory). */
err_t *subprocess_find(const char *name, const char *bin_dir, char **out);
/* Run argv[0] (a path) with envp (NULL: ours), stdin /dev/null, stdout
 * and stderr to out_fd, in cwd (NULL: ours), pre_exec called in the child
 * first (a non-zero return fails the child with 127); its exit code, or
 * 128 + the signal that ended it. */
err_t *subprocess_run(char *const argv[], char *const envp[], int out_fd, const char *cwd, int (*pre_exec)(void),
		      int *exit_code);

#endif
