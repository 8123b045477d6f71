/* The build's scratch directory, and what is left of it when a build dies.
 *
 * A work dir of our own is "containerize-XXXXXX" under $TMPDIR (or /tmp),
 * holding ".containerize.lock", locked (flock) for as long as the build
 * runs. Nothing of the build is left behind when it is killed:
 *   - a janitor process, forked once the dir exists, waits for that lock
 *     and removes the dir when it gets it, i.e. when the build is gone,
 *     by SIGTERM, SIGINT or anything else (the janitor ignores those
 *     signals; SIGKILL of the whole group is left to the next point);
 *   - on start, the "containerize-XXXXXX" dirs of $TMPDIR that belong to
 *     us, are real directories (not links) and whose lock can be taken
 *     (their build is gone) are removed. A dir without the lock file, or
 *     another user's, or one whose build still runs, is never touched.
 * RUN's own temp files go under the work dir ($TMPDIR is set to it).
 * A work dir given by the user is created if needed and left as it is. */
#ifndef CONTAINERIZE_WORKDIR_H
#define CONTAINERIZE_WORKDIR_H

#include <stdbool.h>

#include "error.h"

struct workdir {
	char *path;
	bool own;    /* ours: removed at the end (and by the janitor) */
	int lock_fd; /* -1 when not own */
};

/* given: the work-dir param (NULL or "": a temp dir of our own). Call
 * while single-threaded (it forks the janitor). */
err_t *workdir_open(const char *given, struct workdir *out);
/* Remove our own dir (the janitor then finds nothing) and free. */
void workdir_close(struct workdir *w);

/* Remove the stale work dirs of dead builds in dir (see above); how many
 * were removed. */
int workdir_sweep(const char *dir);

#endif
