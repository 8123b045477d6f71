/* OCI image layout directories (oci-layout, index.json, blobs/sha256/) and
 * oci-archive tarballs (the same tree in a tar), as sources and
 * destinations.
 *
 * Writing is atomic in the order readers rely on: every blob lands first
 * (temp file in blobs/sha256/, fsync, rename to its verified digest), and
 * index.json is replaced last (temp + rename), so a crash leaves either the
 * old index or the new one over complete blobs. An oci-archive destination
 * is assembled in a temp directory next to the file and tarred into
 * <file>.tmp, renamed over <file> by oci_layout_commit. An oci-archive
 * source is unpacked (safely: names are checked) into a temp directory that
 * oci_layout_close removes.
 *
 * Tags are the annotation org.opencontainers.image.ref.name on index.json
 * entries; setting a tag replaces any entry that had the same name. */
#ifndef COMMON_OCI_LAYOUT_H
#define COMMON_OCI_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "digest.h"
#include "error.h"
#include "manifest.h"

#define OCI_REF_NAME_ANNOTATION "org.opencontainers.image.ref.name"

enum oci_layout_mode {
	OCI_LAYOUT_READ,  /* must exist */
	OCI_LAYOUT_WRITE, /* directory: created if missing, existing blobs and
			   * index entries kept; oci-archive: written anew */
};

struct oci_layout;

/* A directory layout. */
err_t *oci_layout_open(const char *dir, enum oci_layout_mode mode, struct oci_layout **out);
/* An oci-archive tar file. */
err_t *oci_archive_open(const char *file, enum oci_layout_mode mode, struct oci_layout **out);
/* Parse "oci:<dir>[:<tag>]" / "oci-archive:<file>[:<tag>]" transports:
 * *is_archive, *path (owned) and *tag (owned, NULL when absent). */
err_t *oci_layout_parse_ref(const char *ref, bool *is_archive, char **path, char **tag);
/* Writes of an archive become visible (the tar is produced and renamed);
 * for a directory, index.json is already written: a no-op. */
err_t *oci_layout_commit(struct oci_layout *l);
/* Frees; temp directories are removed, an uncommitted archive is not written. */
void oci_layout_close(struct oci_layout *l);

/* Directory holding the layout (for an archive, the temp directory). */
const char *oci_layout_dir(const struct oci_layout *l);

/* ---- blobs ---- */
bool oci_layout_has_blob(struct oci_layout *l, const char *digest);
/* Open a blob for reading; size when not NULL. */
err_t *oci_layout_open_blob(struct oci_layout *l, const char *digest, int *fd, int64_t *size);
/* Read a small blob whole (manifests, configs), at most max bytes,
 * verified against digest. */
err_t *oci_layout_read_blob(struct oci_layout *l, const char *digest, size_t max, struct strbuf *out);
/* Store a buffer as a blob; digest_out gets its digest. */
err_t *oci_layout_put_blob(struct oci_layout *l, const void *data, size_t len, char digest_out[DIGEST_SIZE]);

/* A blob being written: stream it with oci_blob_writer_write (which hashes
 * what it writes), then commit (verified against `expected` when not NULL)
 * or abort. */
struct oci_blob_writer;
err_t *oci_blob_writer_begin(struct oci_layout *l, struct oci_blob_writer **out);
err_t *oci_blob_writer_write(struct oci_blob_writer *w, const void *data, size_t len);
err_t *oci_blob_writer_commit(struct oci_blob_writer *w, const char *expected,
			      char digest_out[DIGEST_SIZE], int64_t *size_out);
void oci_blob_writer_abort(struct oci_blob_writer *w);
/* Move an existing file (same filesystem, or copied) into the blobs as
 * `digest` (verified). */
err_t *oci_layout_import_file(struct oci_layout *l, const char *path, const char *digest);

/* ---- index ---- */
/* The manifest descriptor tagged `tag`; tag NULL: the only entry (error if
 * there are several). Not found -> EXIT_FAILED. Release out with
 * descriptor_release() (manifest.h). */
err_t *oci_layout_resolve(struct oci_layout *l, const char *tag, struct descriptor *out);
/* Add desc to index.json with annotation ref.name=tag (tag NULL: untagged
 * entry, kept unless identical). index.json is rewritten atomically. */
err_t *oci_layout_set_ref(struct oci_layout *l, const struct descriptor *desc, const char *tag);

#endif
