/* COPY and ADD into a stage root: source patterns expanded in the build
 * context (minus .dockerignore) or in another stage's root, destination
 * resolved inside the stage root (a symlinked WORKDIR or destination is
 * followed there, never out of it), Docker's rules for what lands where,
 * --chown / --chmod, hardlinks kept, setuid bits and mtimes kept.
 * Also the content hash of the sources, for the build cache key. */
#ifndef CONTAINERIZE_COPY_H
#define CONTAINERIZE_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "digest.h"
#include "error.h"
#include "ignore.h"

struct copy_source_root {
	const char *path;            /* host path: context dir or a stage root */
	const struct ignore *ignore; /* context only; NULL for a stage */
	const char *what;            /* "build context" or "stage builder" (errors) */
	bool is_context;             /* paths may not leave it (error) */
};

struct copy_options {
	bool chown;    /* set owner to uid:gid, else ... */
	uid_t uid;
	gid_t gid;
	bool preserve_owner; /* ... keep the source's owner (else 0:0) */
	int chmod;     /* -1: keep modes */
	bool add;      /* ADD: unpack local tar archives */
	/* Hard-link a source file instead of copying it when the copy would
	 * carry exactly its owner, mode and mtime (and the file system allows).
	 * Only for a stage root nothing will modify in place afterwards (no
	 * later RUN): the source is never touched through the link. */
	bool may_link;
};

/* Expand sources (patterns relative to the source root) into a sorted,
 * NULL-terminated list of existing paths (relative, cleaned). A pattern
 * that matches nothing, or a path leaving the context, is EXIT_USAGE. */
err_t *copy_expand_sources(const struct copy_source_root *src, const char *const *patterns, size_t n,
			   char ***out, size_t *nout);
void copy_free_list(char **list);

/* Copy the expanded sources to dest (absolute path in the stage root;
 * dest_is_dir: it ended with '/'). */
err_t *copy_to_root(const struct copy_source_root *src, char *const *sources, size_t nsources,
		    const char *rootfs, const char *dest, bool dest_is_dir, const struct copy_options *o);

/* Write the file at a stage-root path with this content (COPY <<EOF). */
err_t *copy_write_file(const char *rootfs, const char *dest, const void *data, size_t len, mode_t mode,
		       uid_t uid, gid_t gid);

/* sha256 over every source's relative path, type, mode, owner and content
 * (symlink targets, file bytes): the cache key part of COPY/ADD. */
err_t *copy_hash_sources(const struct copy_source_root *src, char *const *sources, size_t nsources,
			 char out[DIGEST_SIZE]);

#endif
