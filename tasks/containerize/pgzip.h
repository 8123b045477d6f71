/* Parallel gzip for layer blobs: the stream is cut into 1 MiB blocks, each
 * compressed by a worker thread with libdeflate (2-3x zlib's speed at the
 * same level) into a gzip member of its own; members are written in order.
 * A multi-member gzip file is one gzip stream for every reader (RFC 1952;
 * Go's compress/gzip, zlib, Python, GNU gzip). Output depends only on the
 * input and the level, never on the thread count, so layers stay
 * reproducible.
 *
 * The layer writer hands the tar to pgzip in memory (a layer_sink): the
 * bytes are copied once, into the block being filled. A pool of workers
 * lives as long as the layer; the worker that completes the next block in
 * stream order writes it and hashes both sides (the tar's sha256 is the
 * diff_id, the compressed one the blob digest), so that work runs on
 * whichever core is free instead of stalling the writer. Memory: 8 blocks
 * per thread in flight (input and output of 4), whatever the layer size.
 *
 * common/compress's gzip encoder is single-threaded zlib. */
#ifndef CONTAINERIZE_PGZIP_H
#define CONTAINERIZE_PGZIP_H

#include <stdint.h>

#include "digest.h"
#include "error.h"
#include "layer.h"

struct pgzip;

/* Compress into out_fd with `threads` workers (clamped to 1..16); level
 * 0: 6. */
err_t *pgzip_new(int out_fd, int level, int threads, struct pgzip **out);
/* The sink the layer writer writes the plain tar to. */
const struct layer_sink *pgzip_sink(struct pgzip *z);
/* Compress what is left, wait for every block to be written, give the
 * digest and size of the compressed stream and of the input; frees z. */
err_t *pgzip_finish(struct pgzip *z, char digest[DIGEST_SIZE], int64_t *size, char diff_id[DIGEST_SIZE],
		    int64_t *in_size);
/* Stop (after an error elsewhere): no more output; frees z. */
void pgzip_abort(struct pgzip *z);

#endif
