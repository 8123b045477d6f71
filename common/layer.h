/* Image layers: applying a layer tarball to a root filesystem directory,
 * safely, and writing a deterministic layer from filesystem changes.
 *
 * Apply (untrusted input; security-critical). The compressed stream (gzip,
 * zstd or plain tar, detected from magic bytes) is decompressed by us and
 * hashed (the diff_id) while libarchive parses the tar. Every entry is
 * created relative to a directory fd of the root, resolving each parent
 * component ourselves with openat(O_NOFOLLOW|O_DIRECTORY) and readlinkat
 * (what openat2's RESOLVE_IN_ROOT does, in user space, on any kernel), so:
 *   - absolute names are made relative; ".." components that would leave
 *     the root are refused (EXIT_FAILED naming the entry);
 *   - a symlink in the root (from an earlier entry or layer) is never
 *     followed while creating, whatever it points at, chained or not;
 *     symlinks themselves are stored verbatim (their target is only
 *     interpreted inside the container);
 *   - a hardlink's target is resolved the same way and must be a regular
 *     file inside the root;
 *   - whiteouts ".wh.<name>" remove <name> (never following symlinks) and
 *     opaque markers ".wh..wh..opq" empty their directory of what lower
 *     layers put there;
 *   - device nodes and fifos are created only when privileged, else
 *     skipped with a debug line (or refused, per options); sockets skipped;
 *   - modes (setuid/setgid/sticky kept: the tree is an image being
 *     built), uid/gid (when privileged or keep_ownership), mtimes and
 *     xattrs (user.* unprivileged; all when privileged, security.capability
 *     included) are applied; directories get their final mode and mtime
 *     after the last entry (so a 0555 directory can still be filled).
 * Symlinks in parent paths are followed inside the root (merged-/usr
 * images: "lib/x" lands in usr/lib/x when lib -> usr/lib), never outside;
 * an entry for a directory replaces a symlink that stood there (as Docker
 * does). Apply is not transactional: on error the root holds what was
 * applied so far (callers apply into a scratch root or discard it).
 *
 * Write: entries in sorted order (bytewise by path, parents first), PAX
 * format (ustar plus PAX records only when needed), mtime clamped to
 * SOURCE_DATE_EPOCH when set, uid/gid kept, uname/gname empty, no atime or
 * ctime, hardlinks detected by inode. The tar stream is hashed (diff_id)
 * and compressed (gzip or zstd) and the compressed stream hashed (digest)
 * in the same pass. Compression is behind common/compress's encoder,
 * built for worker threads: `threads` > 1 gives zstd its own workers
 * (output identical for any count); gzip is single-threaded here for now
 * (a block-parallel gzip can replace the encoder without API change). */
#ifndef COMMON_LAYER_H
#define COMMON_LAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "digest.h"
#include "error.h"

enum layer_compression {
	LAYER_PLAIN,
	LAYER_GZIP,
	LAYER_ZSTD,
};

/* Media type for a compression (OCI), and the reverse (OCI and Docker). */
const char *layer_media_type(enum layer_compression c);
err_t *layer_compression_from_media_type(const char *media_type, enum layer_compression *out);

/* ---- apply ---- */

enum layer_devices {
	LAYER_DEVICES_AUTO,   /* create when privileged, else skip */
	LAYER_DEVICES_SKIP,   /* never create, skip with a debug line */
	LAYER_DEVICES_REFUSE, /* an entry for a device is an error */
};

struct layer_apply_options {
	enum layer_devices devices;
	/* chown entries to the tar's uid/gid; default (false) does it only when
	 * running as root */
	bool keep_ownership;
	bool no_xattrs; /* ignore xattrs in the tar */
	/* an entry for the root itself ("./") leaves the root's mode alone
	 * (ADD of a local archive into an existing directory) */
	bool keep_root_mode;
	/* entries go below this directory of the root (relative, no symlink
	 * in it): ADD of a local archive to its destination, where the tar's
	 * symlinks still resolve inside the image root (absolute targets
	 * start at root, as Docker's chrooted untar), never from the
	 * destination or the host. NULL or "": the root itself. */
	const char *subdir;
	/* accept bzip2 and xz besides gzip, zstd and plain: Dockerfile ADD of
	 * a local archive (image layers are gzip or zstd) */
	bool any_compression;
	/* The layer's expected diff_id (sha256 of the uncompressed tar), or
	 * NULL. A mismatch is EXIT_FAILED after the apply: callers applying
	 * untrusted layers into a rootfs they keep should check digests of the
	 * compressed blob first (the registry client does). */
	const char *expected_diff_id;
};

struct layer_apply_stats {
	uint64_t entries, files, dirs, symlinks, hardlinks, whiteouts, skipped;
	uint64_t bytes;                /* uncompressed tar bytes */
	char diff_id[DIGEST_SIZE];     /* sha256 of the uncompressed tar */
	enum layer_compression compression; /* detected */
};

/* Apply the layer read from layer_fd (compressed or not) onto the tree at
 * root (which must exist). stats may be NULL. */
err_t *layer_apply(const char *root, int layer_fd, const struct layer_apply_options *opts,
		   struct layer_apply_stats *stats);

/* Open the directory `path` of the root filesystem at rootfd as a process
 * inside it would (symlinks followed as if rootfd were "/", absolute
 * targets and ".." stopping at it), never leaving it: every step is an
 * openat with O_NOFOLLOW (what openat2's RESOLVE_IN_ROOT does, on any
 * kernel). *out is an O_DIRECTORY fd. For reading inside an unpacked
 * image from the host, whatever its config or symlinks say. */
err_t *layer_open_dir_in_root(int rootfd, const char *path, int *out);

/* ---- read (stream the entries, nothing written) ---- */

/* What a layer says about one path. Names are cleaned as apply cleans
 * them ("./a//b" -> "a/b"; absolute made relative; ".." leaving the root
 * refused), so a reader keyed by path sees what apply would create. */
enum layer_read_kind {
	LAYER_READ_FILE,     /* regular file: layer_read_data gives its bytes */
	LAYER_READ_DIR,
	LAYER_READ_SYMLINK,  /* target in link */
	LAYER_READ_HARDLINK, /* to the cleaned path in link (an earlier entry) */
	LAYER_READ_OTHER,    /* device, fifo, socket */
	LAYER_READ_WHITEOUT, /* path (".wh." stripped) is deleted from lower layers */
	LAYER_READ_OPAQUE,   /* path is a directory whose lower-layer contents are hidden */
};
struct layer_read_entry {
	enum layer_read_kind kind;
	const char *path; /* cleaned, relative, never "" */
	const char *link;
	int64_t size;
	mode_t mode; /* permission bits */
};
struct layer_reader;
/* Called per entry; return an error to stop. May read the file's data
 * with layer_read_data (unread data is skipped). */
typedef err_t *(*layer_read_fn)(const struct layer_read_entry *ent, struct layer_reader *r, void *ctx);
/* Read up to len bytes of the current file; *got 0 at its end. */
err_t *layer_read_data(struct layer_reader *r, void *buf, size_t len, size_t *got);
/* Stream the layer in layer_fd (gzip, zstd or plain tar). stats (may be
 * NULL) gets entries, whiteouts, bytes, diff_id and compression. A bad
 * entry name is EXIT_FAILED naming the entry, as for apply. */
err_t *layer_read(int layer_fd, layer_read_fn fn, void *ctx, struct layer_apply_stats *stats);

/* ---- write ---- */

/* Where a writer with a sink sends the plain tar, as libarchive writes it
 * (e.g. a parallel compressor in memory, instead of a pipe to it). */
struct layer_sink {
	err_t *(*write)(void *ctx, const void *data, size_t len);
	void *ctx;
};

struct layer_write_options {
	enum layer_compression compression;
	int level;                 /* 0: default (gzip 6, zstd 3) */
	int threads;               /* compression workers; 0/1: in this thread */
	int64_t source_date_epoch; /* <0: from $SOURCE_DATE_EPOCH if set, else keep mtimes */
	bool no_xattrs;
	/* set: the tar goes there, not to out_fd, compression is ignored, and
	 * nothing is hashed here (the result has no digests or sizes: the
	 * sink's to give) */
	const struct layer_sink *sink;
};

struct layer_write_result {
	char digest[DIGEST_SIZE];  /* of the compressed blob */
	char diff_id[DIGEST_SIZE]; /* of the uncompressed tar */
	int64_t size;              /* compressed bytes written */
	int64_t tar_size;          /* uncompressed bytes */
	const char *media_type;    /* static string (OCI layer type) */
};

/* A change to record. path is relative to the layer root ("usr/bin/x",
 * no leading "/" or "./"). */
enum layer_change_kind {
	LAYER_CHANGE_ADD,      /* add/modify: taken from root/path (lstat) */
	LAYER_CHANGE_DELETE,   /* whiteout ".wh.<name>" */
	LAYER_CHANGE_OPAQUE,   /* directory replaced: ".wh..wh..opq" inside path,
				* followed by whatever ADD entries it now has */
};
struct layer_change {
	enum layer_change_kind kind;
	const char *path;
};

/* The whole job: write the changes (sorted here; directories are not
 * recursed: list every path) taken from root into out_fd. Parents of each
 * path are opened without following symlinks: a path through a link is an
 * error, so a rootfs link to "/" cannot pull host files into a layer. */
err_t *layer_write_changes(const char *root, const struct layer_change *changes, size_t n,
			   const struct layer_write_options *opts, int out_fd,
			   struct layer_write_result *result);

/* The streaming writer underneath, for callers that produce entries
 * themselves (e.g. COPY straight from a build context). Entries must be
 * added in the order they should appear (sorted for determinism). */
struct layer_writer;
err_t *layer_writer_new(int out_fd, const struct layer_write_options *opts, struct layer_writer **out);
/* Add the file at src (lstat'ed: regular, dir, symlink, fifo; hardlinks to
 * an earlier entry by inode) under the name path. src is the caller's: it
 * is not checked for symlinked parents (layer_write_changes does that). */
err_t *layer_writer_add_path(struct layer_writer *w, const char *path, const char *src);
/* Add a regular file from an open fd with explicit metadata. */
struct layer_entry_meta {
	mode_t mode; /* permission bits + S_IF* type */
	uid_t uid;
	gid_t gid;
	int64_t mtime;
	const char *symlink_target; /* for S_IFLNK */
};
err_t *layer_writer_add_fd(struct layer_writer *w, const char *path, const struct layer_entry_meta *meta,
			   int fd, int64_t size);
err_t *layer_writer_add_meta(struct layer_writer *w, const char *path, const struct layer_entry_meta *meta);
err_t *layer_writer_add_whiteout(struct layer_writer *w, const char *path);
err_t *layer_writer_add_opaque(struct layer_writer *w, const char *dir);
/* Finish the tar and the compressed stream; fills result and frees w. */
err_t *layer_writer_finish(struct layer_writer *w, struct layer_write_result *result);
void layer_writer_abort(struct layer_writer *w);

#endif
