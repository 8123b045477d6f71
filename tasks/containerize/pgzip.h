/* Parallel gzip for layer blobs: the stream is cut into 1 MiB blocks, each
 * compressed by a worker thread with libdeflate (2-3x zlib's speed at the
 * same level) into a gzip member of its own; members are written in order.
 * A multi-member gzip file is one gzip stream for every reader (RFC 1952;
 * Go's compress/gzip, zlib, Python, GNU gzip). Output depends only on the
 * input and the level, never on the thread count, so layers stay
 * reproducible. Memory: about 16 x threads x 1 MiB in flight (two batches
 * of 4 blocks per thread, input and output), whatever the layer size.
 *
 * common/compress's gzip encoder is single-threaded zlib; this module lets
 * the layer writer produce a plain tar into a pipe while every core
 * compresses. */
#ifndef CONTAINERIZE_PGZIP_H
#define CONTAINERIZE_PGZIP_H

#include <stdint.h>

#include "digest.h"
#include "error.h"

/* Compress everything readable from in_fd into out_fd. digest gets the
 * sha256 of the compressed bytes, *size their count. level 0: 6. */
err_t *pgzip_stream(int in_fd, int out_fd, int level, int threads, char digest[DIGEST_SIZE], int64_t *size);

#endif
