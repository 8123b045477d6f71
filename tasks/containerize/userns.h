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

#endif
