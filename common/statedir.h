/* Local state and caches kept between runs (the trust state dir, its TLS
 * sessions, containerize's cache-dir) are used only from a directory that
 * nobody but this user can have written, as ssh treats ~/.ssh:
 *
 * - the directory is a real directory, not a symbolic link (O_NOFOLLOW,
 *   also when the path ends in "/" or "/.", which would make open() follow
 *   it; a path ending in ".." names no entry to check and is refused),
 *   owned by the effective uid and not writable by group or others;
 * - every file read from it is a regular file, not a symbolic link,
 *   owned by the effective uid and not writable by group or others.
 *
 * Anything else is ignored with a warning naming the path and the reason
 * (once per path and process), never an error: without its state a run
 * still verifies correctly, only more slowly or with less rollback memory.
 *
 * The directory is held open (a file descriptor) once checked, and every
 * file is opened relative to it, so swapping the path for another
 * directory after the check changes nothing. */
#ifndef COMMON_STATEDIR_H
#define COMMON_STATEDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "error.h"
#include "strbuf.h"

/* Why a directory (dir) or file with this stat may not be used as local
 * state by this process, or NULL when it may. */
const char *statedir_unsafe(const struct stat *st, bool dir);

/* Open path as a state directory (what: "trust state dir", ...), creating
 * it (mode 0700, with missing parents) when create and it does not exist.
 * Returns the directory's fd, or -1: absent (not create), or unsafe or
 * unopenable (warned). */
int statedir_open(const char *path, const char *what, bool create);
/* The same for the subdirectory name of the open state dir dfd (path:
 * its full path, for messages). */
int statedir_open_sub(int dfd, const char *name, const char *path, const char *what, bool create);

/* Read file name of dfd (dir: its path, for messages) into out (at most
 * max bytes). False when it is absent, unsafe (warned) or unreadable:
 * state is only ever a hint, so every caller has a way without it. */
bool statedir_read(int dfd, const char *dir, const char *name, size_t max, struct strbuf *out);
/* Write name in dfd atomically (a temporary file renamed over it), mode
 * 0600; durable: fsync before the rename (memory such as rollback
 * versions, not caches a torn write only makes miss). */
err_t *statedir_write(int dfd, const char *dir, const char *name, const void *data, size_t len, bool durable);

/* An injective file name for key: bytes outside [A-Za-z0-9.-] are
 * written %XX (so '_', '/', ':' and '%' cannot collide); a name that
 * would be longer than 200 bytes becomes "%sha256-<hex>" (never the
 * output of the encoding: '%' there is always followed by two upper-case
 * hex digits). Caller frees. */
char *statedir_name(const char *key);

#endif
