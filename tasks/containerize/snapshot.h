/* Filesystem snapshots of a stage root and the diff between two of them:
 * what a RUN added, changed and deleted, which becomes its layer.
 *
 * A snapshot records, per path, only what stat says (device, inode, size,
 * mtime and ctime in ns, mode, owner, link count): no file is read, so a
 * scan costs one readdir + lstat per entry. ctime changes on every content,
 * mode, owner or xattr change, so a changed file cannot hide behind a
 * restored mtime. */
#ifndef CONTAINERIZE_SNAPSHOT_H
#define CONTAINERIZE_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct snapshot;

enum change_kind {
	CHANGE_ADDED,
	CHANGE_MODIFIED,
	CHANGE_DELETED, /* becomes a whiteout */
	CHANGE_PARENT,  /* unchanged directory above a change (layers carry them) */
};

struct change {
	char *path; /* relative to the root, no leading "/" */
	enum change_kind kind;
};

/* Scan the tree under root (not following symlinks, not crossing into other
 * file systems' mount points below it). */
err_t *snapshot_scan(const char *root, struct snapshot **out);
void snapshot_free(struct snapshot *s);
size_t snapshot_count(const struct snapshot *s);

/* Changes from before to after, sorted by path (parents first). Deleted
 * directories give one whiteout, not one per child. */
void snapshot_diff(const struct snapshot *before, const struct snapshot *after, struct change **out, size_t *n);
void changes_free(struct change *c, size_t n);

#endif
