/* Streaming gzip / zstd (and plain) codecs for layers, with the sha256 of
 * both sides computed as the bytes pass: the uncompressed side is a
 * layer's diff_id, the compressed side its blob digest.
 *
 * Decoding detects the format from magic bytes and accepts concatenated
 * gzip members and zstd frames (what block-parallel compressors write).
 * Encoding is deterministic for given options (gzip header mtime 0, no
 * name; zstd output is identical for any workers >= 1). `threads` > 1 uses
 * zstd's own workers; gzip is single-threaded for now, behind the same
 * interface so a block-parallel (pigz-style) encoder can replace it. */
#ifndef COMMON_COMPRESS_H
#define COMMON_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "digest.h"
#include "error.h"

enum compress_format { COMPRESS_PLAIN, COMPRESS_GZIP, COMPRESS_ZSTD, COMPRESS_BZIP2, COMPRESS_XZ };

struct decoder;
/* Read compressed data from fd (not closed by the decoder). archives: also
 * detect bzip2 and xz (Dockerfile ADD of a local archive; layers are gzip
 * or zstd, anything else reads as plain). Encoders: plain, gzip, zstd. */
err_t *decoder_new(int fd, bool archives, struct decoder **out);
enum compress_format decoder_format(const struct decoder *d);
/* Up to cap uncompressed bytes into buf; *got 0 at the end. Corrupt input
 * is EXIT_FAILED. */
err_t *decoder_read(struct decoder *d, void *buf, size_t cap, size_t *got);
/* Read to the end (hashing what is left), then give the uncompressed
 * digest and size. */
err_t *decoder_finish(struct decoder *d, char diff_id[DIGEST_SIZE], uint64_t *size);
void decoder_free(struct decoder *d);

struct encoder;
err_t *encoder_new(int out_fd, enum compress_format f, int level, int threads, struct encoder **out);
err_t *encoder_write(struct encoder *e, const void *data, size_t len);
/* Flush, then the digests and sizes of both sides; frees e. */
err_t *encoder_finish(struct encoder *e, char digest[DIGEST_SIZE], int64_t *size, char diff_id[DIGEST_SIZE],
		      int64_t *raw_size);
void encoder_free(struct encoder *e);

#endif
