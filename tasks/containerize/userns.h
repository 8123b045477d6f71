/* Rootless mode: when we are not root, the whole build runs inside a user
 * namespace where we are uid 0, so layers unpack with their owners and RUN
 * can set up its mounts. With newuidmap/newgidmap and an /etc/subuid range
 * the namespace maps 0 to us and 1..N to the range (every owner an image
 * uses is representable); without them it maps only 0 to us (files owned by
 * other ids are then unpacked as 0, with a warning).
 * Must be called while the process is single-threaded, before any build
 * work. Does nothing when already root. */
#ifndef CONTAINERIZE_USERNS_H
#define CONTAINERIZE_USERNS_H

#include <stdbool.h>

#include "error.h"

/* *mapped_all: true when every uid/gid 0..65535 is usable afterwards. */
err_t *userns_enter(bool *mapped_all);

/* Started as root, the build itself stays root (it unpacks layers with
 * their owners), but every RUN step enters this user namespace, where its
 * root is an unprivileged host id: the range of root (or uid 0) in
 * /etc/subuid and /etc/subgid when there is one, else ids 0..65535 map to
 * the host's USERNS_DEFAULT_BASE.. (a block no account should use; the log
 * says which). The step sees the build root through an id-mapped mount of
 * the same mapping, so files keep their owners on disk. Created once per
 * build (a helper process enters it and exits; the fd keeps it). */
#define USERNS_DEFAULT_BASE 2147418112UL /* 0x7fff0000 */
struct run_userns {
	int fd;             /* /proc/<helper>/ns/user, O_CLOEXEC */
	unsigned long uid_base, gid_base, count;
};
/* When the mapping cannot be written and we are root of a user namespace
 * other than the host's, steps use that namespace: out->fd stays -1. */
err_t *userns_for_runs(struct run_userns *out);
void userns_release(struct run_userns *u);

#endif
