/* Run a shell command in its own process group with a time limit: on
 * timeout the whole group gets SIGTERM, then SIGKILL after a grace period;
 * stragglers left in the group after the command exits are killed too. */
#ifndef UNIT_TESTS_RUNNER_H
#define UNIT_TESTS_RUNNER_H

#include <stdbool.h>

#include "error.h"

struct run_outcome {
	int exit_code;  /* the command's exit status, or 128+signal */
	bool timed_out;
	double seconds; /* wall time */
};

/* /bin/sh -c command, in dir, stdout and stderr going to our stderr. */
err_t *run_command(const char *command, const char *dir, long timeout_seconds, struct run_outcome *out);

#endif
