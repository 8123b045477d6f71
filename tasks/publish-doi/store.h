/* The local evidence store (the default): an append-only,
 * content-addressed directory, used only if it passes the trust state
 * dir's ownership rules (common/statedir.h: a real directory owned by
 * this user, writable by nobody else; its files likewise):
 *
 *   <dir>/blobs/<hex>                       an envelope, named by the
 *                                           sha256 of its bytes
 *   <dir>/index/sha256-<image hex>/<hex>    a hard link to it, one per
 *                                           record of that image
 *
 * A record is written to a temp file in blobs/ and fsynced, then linked
 * into the index (the entry is the blob's inode: it appears whole or not
 * at all), renamed to its name in blobs/, and the index directory is
 * fsynced. A failed write (a full disk) leaves at most a temp file no
 * reader looks at; concurrent writers each add their own entry, so none
 * is ever lost, and one envelope has one entry however often it is
 * published. Nothing is modified or deleted. Readers check each entry's
 * content against its name. */
#ifndef PUBLISH_DOI_STORE_H
#define PUBLISH_DOI_STORE_H

#include <stddef.h>

#include "error.h"
#include "evidence.h"

/* Add envelope (for image digest) to the store at dir (created, 0700, if
 * missing); hex_out (may be NULL) gets the envelope's sha256. */
err_t *store_put(const char *dir, const char *digest, const void *envelope, size_t len, char hex_out[65]);

/* Every envelope indexed for digest, read and checked against its name
 * (a truncated or altered blob is added with the reason). A store that
 * does not exist holds nothing. */
err_t *store_read(const char *dir, const char *digest, struct evidence *ev);

#endif
