/* Run a shell command in its own process group with a time limit: on
 * timeout the whole group gets SIGTERM, then SIGKILL after a grace period;
 * stragglers left in the group after the command exits are killed too.
 * Optionally inside another root filesystem (an unpacked image): chroot as
 * root, or in a new user namespace when not root. */
#ifndef UNIT_TESTS_RUNNER_H
#define UNIT_TESTS_RUNNER_H

#include <stdbool.h>

#include "error.h"

struct run_spec {
	const char *command;  /* run with /bin/sh -c */
	const char *dir;      /* working directory (inside root when root is set) */
	const char *root;     /* chroot into this tree first, or NULL */
	char *const *env;     /* the command's environment, or NULL: ours */
	long timeout_seconds; /* 0: none */
};

struct run_outcome {
	int exit_code;  /* the command's exit status, or 128+signal */
	bool timed_out;
	double seconds; /* wall time */
};

/* stdout and stderr of the command go to our stderr; stdin is /dev/null. */
err_t *run_command(const struct run_spec *spec, struct run_outcome *out);

#endif
