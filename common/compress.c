/* gzip / zstd stream codecs with digests on both sides (see compress.h). */
#include "compress.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bzlib.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "xalloc.h"

#define IN_CHUNK (1u << 17)
#define OUT_CHUNK (1u << 17)

struct decoder {
	int fd;
	enum compress_format fmt;
	unsigned char *in;
	size_t in_len, in_pos;
	bool in_eof;
	z_stream z;
	bool z_init, z_member_done;
	ZSTD_DStream *zs;
	size_t zlast; /* last ZSTD_decompressStream hint: 0 = frame complete */
	bz_stream bz;
	bool bz_init, bz_member_done;
	lzma_stream xz;
	bool xz_init, xz_done;
	struct sha256 raw; /* uncompressed */
	bool finished;
};

static err_t *fill(struct decoder *d)
{
	if (d->in_pos < d->in_len || d->in_eof)
		return NULL;
	for (;;) {
		ssize_t n = read(d->fd, d->in, IN_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_errno(EXIT_FAILED, "cannot read layer");
		d->in_len = (size_t)n;
		d->in_pos = 0;
		d->in_eof = n == 0;
		return NULL;
	}
}

/* xz: a hostile stream cannot make the decoder take more than this */
#define XZ_MEMLIMIT (256u << 20)

err_t *decoder_new(int fd, bool archives, struct decoder **out)
{
	struct decoder *d = xcalloc(1, sizeof *d);
	d->fd = fd;
	d->in = xmalloc(IN_CHUNK);
	sha256_init(&d->raw);
	/* read at least 4 bytes for the magic */
	while (d->in_len < 4) {
		ssize_t n = read(fd, d->in + d->in_len, IN_CHUNK - d->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			decoder_free(d);
			return err_errno(EXIT_FAILED, "cannot read layer");
		}
		if (n == 0) {
			d->in_eof = true;
			break;
		}
		d->in_len += (size_t)n;
	}
	const unsigned char *m = d->in;
	if (d->in_len >= 2 && m[0] == 0x1f && m[1] == 0x8b) {
		d->fmt = COMPRESS_GZIP;
		if (inflateInit2(&d->z, 15 + 16) != Z_OK) {
			decoder_free(d);
			return err_new(EXIT_FAILED, "cannot initialise zlib");
		}
		d->z_init = true;
	} else if (d->in_len >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) {
		d->fmt = COMPRESS_ZSTD;
		d->zs = ZSTD_createDStream();
		if (!d->zs || ZSTD_isError(ZSTD_initDStream(d->zs))) {
			decoder_free(d);
			return err_new(EXIT_FAILED, "cannot initialise zstd");
		}
		/* bounded window: a hostile frame cannot ask for gigabytes */
		ZSTD_DCtx_setParameter(d->zs, ZSTD_d_windowLogMax, 27);
	} else if (archives && d->in_len >= 3 && m[0] == 'B' && m[1] == 'Z' && m[2] == 'h') {
		d->fmt = COMPRESS_BZIP2;
		if (BZ2_bzDecompressInit(&d->bz, 0, 0) != BZ_OK) {
			decoder_free(d);
			return err_new(EXIT_FAILED, "cannot initialise bzip2");
		}
		d->bz_init = true;
	} else if (archives && d->in_len >= 6 && memcmp(m, "\xfd" "7zXZ\0", 6) == 0) {
		d->fmt = COMPRESS_XZ;
		d->xz = (lzma_stream)LZMA_STREAM_INIT;
		if (lzma_stream_decoder(&d->xz, XZ_MEMLIMIT, LZMA_CONCATENATED) != LZMA_OK) {
			decoder_free(d);
			return err_new(EXIT_FAILED, "cannot initialise xz");
		}
		d->xz_init = true;
	} else {
		d->fmt = COMPRESS_PLAIN;
	}
	*out = d;
	return NULL;
}

enum compress_format decoder_format(const struct decoder *d)
{
	return d->fmt;
}

err_t *decoder_read(struct decoder *d, void *buf, size_t cap, size_t *got)
{
	*got = 0;
	if (d->finished || cap == 0)
		return NULL;
	for (;;) {
		err_t *e = fill(d);
		if (e)
			return e;
		size_t avail = d->in_len - d->in_pos;
		if (d->fmt == COMPRESS_PLAIN) {
			if (!avail) {
				d->finished = true;
				return NULL;
			}
			size_t n = avail < cap ? avail : cap;
			memcpy(buf, d->in + d->in_pos, n);
			d->in_pos += n;
			sha256_update(&d->raw, buf, n);
			*got = n;
			return NULL;
		}
		if (d->fmt == COMPRESS_GZIP) {
			if (d->z_member_done) {
				/* another member follows (concatenated gzip), or the end */
				if (!avail) {
					d->finished = true;
					return NULL;
				}
				if (inflateReset(&d->z) != Z_OK)
					return err_new(EXIT_FAILED, "layer: gzip reset failed");
				d->z_member_done = false;
			}
			d->z.next_in = d->in + d->in_pos;
			d->z.avail_in = (uInt)avail;
			d->z.next_out = buf;
			d->z.avail_out = (uInt)(cap > (1u << 30) ? (1u << 30) : cap);
			int rc = inflate(&d->z, Z_NO_FLUSH);
			size_t produced = (size_t)((unsigned char *)d->z.next_out - (unsigned char *)buf);
			d->in_pos = d->in_len - d->z.avail_in;
			if (rc == Z_STREAM_END)
				d->z_member_done = true;
			else if (rc != Z_OK && rc != Z_BUF_ERROR)
				return err_new(EXIT_FAILED, "layer: corrupt gzip data (%s)", d->z.msg ? d->z.msg : "inflate");
			if (produced) {
				sha256_update(&d->raw, buf, produced);
				*got = produced;
				return NULL;
			}
			if (!avail && !d->z_member_done)
				return err_new(EXIT_FAILED, "layer: gzip stream is truncated");
			continue;
		}
		if (d->fmt == COMPRESS_BZIP2) {
			if (d->bz_member_done) {
				/* concatenated streams (pbzip2), or the end */
				if (!avail) {
					d->finished = true;
					return NULL;
				}
				BZ2_bzDecompressEnd(&d->bz);
				memset(&d->bz, 0, sizeof d->bz);
				if (BZ2_bzDecompressInit(&d->bz, 0, 0) != BZ_OK) {
					d->bz_init = false;
					return err_new(EXIT_FAILED, "bzip2 reset failed");
				}
				d->bz_member_done = false;
			}
			d->bz.next_in = (char *)d->in + d->in_pos;
			d->bz.avail_in = (unsigned)avail;
			d->bz.next_out = buf;
			d->bz.avail_out = (unsigned)(cap > (1u << 30) ? (1u << 30) : cap);
			int rc = BZ2_bzDecompress(&d->bz);
			size_t produced = (size_t)(d->bz.next_out - (char *)buf);
			d->in_pos = d->in_len - d->bz.avail_in;
			if (rc == BZ_STREAM_END)
				d->bz_member_done = true;
			else if (rc != BZ_OK)
				return err_new(EXIT_FAILED, "corrupt bzip2 data (%d)", rc);
			if (produced) {
				sha256_update(&d->raw, buf, produced);
				*got = produced;
				return NULL;
			}
			if (!avail && !d->bz_member_done)
				return err_new(EXIT_FAILED, "bzip2 stream is truncated");
			continue;
		}
		if (d->fmt == COMPRESS_XZ) {
			if (d->xz_done) {
				d->finished = true;
				return NULL;
			}
			d->xz.next_in = d->in + d->in_pos;
			d->xz.avail_in = avail;
			d->xz.next_out = buf;
			d->xz.avail_out = cap;
			lzma_ret rc = lzma_code(&d->xz, avail ? LZMA_RUN : LZMA_FINISH);
			size_t produced = (size_t)(d->xz.next_out - (uint8_t *)buf);
			d->in_pos = d->in_len - d->xz.avail_in;
			if (rc == LZMA_STREAM_END)
				d->xz_done = true;
			else if (rc == LZMA_MEMLIMIT_ERROR)
				return err_new(EXIT_FAILED, "xz stream needs more than %u MiB to decode", XZ_MEMLIMIT >> 20);
			else if (rc != LZMA_OK && !(rc == LZMA_BUF_ERROR && produced))
				return err_new(EXIT_FAILED, "corrupt or truncated xz data (%d)", (int)rc);
			if (produced) {
				sha256_update(&d->raw, buf, produced);
				*got = produced;
				return NULL;
			}
			continue;
		}
		/* zstd */
		ZSTD_inBuffer in = { d->in + d->in_pos, avail, 0 };
		ZSTD_outBuffer outb = { buf, cap, 0 };
		size_t rc = ZSTD_decompressStream(d->zs, &outb, &in);
		if (ZSTD_isError(rc))
			return err_new(EXIT_FAILED, "layer: corrupt zstd data (%s)", ZSTD_getErrorName(rc));
		d->in_pos += in.pos;
		/* after a frame ends, an empty call hints at the next header:
		 * only calls that moved data say whether a frame is open */
		if (in.pos || outb.pos)
			d->zlast = rc;
		if (outb.pos) {
			sha256_update(&d->raw, buf, outb.pos);
			*got = outb.pos;
			return NULL;
		}
		if (!avail) {
			if (d->zlast != 0)
				return err_new(EXIT_FAILED, "layer: zstd stream is truncated");
			d->finished = true;
			return NULL;
		}
	}
}

err_t *decoder_finish(struct decoder *d, char diff_id[DIGEST_SIZE], uint64_t *size)
{
	unsigned char *buf = xmalloc(OUT_CHUNK);
	size_t got;
	err_t *e = NULL;
	do {
		e = decoder_read(d, buf, OUT_CHUNK, &got);
	} while (!e && got);
	free(buf);
	if (e)
		return e;
	if (size)
		*size = d->raw.bytes;
	sha256_final(&d->raw, diff_id);
	return NULL;
}

void decoder_free(struct decoder *d)
{
	if (!d)
		return;
	if (d->z_init)
		inflateEnd(&d->z);
	if (d->bz_init)
		BZ2_bzDecompressEnd(&d->bz);
	if (d->xz_init)
		lzma_end(&d->xz);
	ZSTD_freeDStream(d->zs);
	sha256_discard(&d->raw);
	free(d->in);
	free(d);
}

/* ---- encoder ---- */

struct encoder {
	int fd;
	enum compress_format fmt;
	z_stream z;
	bool z_init;
	ZSTD_CCtx *zc;
	unsigned char *out;
	struct sha256 raw, packed;
	uint64_t packed_bytes;
};

static err_t *emit(struct encoder *e, const void *data, size_t len)
{
	sha256_update(&e->packed, data, len);
	e->packed_bytes += len;
	const char *p = data;
	while (len) {
		ssize_t n = write(e->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_errno(EXIT_FAILED, "cannot write layer");
		p += n;
		len -= (size_t)n;
	}
	return NULL;
}

err_t *encoder_new(int out_fd, enum compress_format f, int level, int threads, struct encoder **out)
{
	struct encoder *e = xcalloc(1, sizeof *e);
	e->fd = out_fd;
	e->fmt = f;
	e->out = xmalloc(OUT_CHUNK);
	sha256_init(&e->raw);
	sha256_init(&e->packed);
	if (f == COMPRESS_GZIP) {
		if (deflateInit2(&e->z, level > 0 ? level : 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
			encoder_free(e);
			return err_new(EXIT_FAILED, "cannot initialise zlib");
		}
		e->z_init = true;
	} else if (f == COMPRESS_ZSTD) {
		e->zc = ZSTD_createCCtx();
		if (!e->zc) {
			encoder_free(e);
			return err_new(EXIT_FAILED, "cannot initialise zstd");
		}
		ZSTD_CCtx_setParameter(e->zc, ZSTD_c_compressionLevel, level > 0 ? level : 3);
		ZSTD_CCtx_setParameter(e->zc, ZSTD_c_checksumFlag, 1);
		/* workers >= 1 always: the output is then the same for any count */
		size_t rc = ZSTD_CCtx_setParameter(e->zc, ZSTD_c_nbWorkers, threads > 1 ? threads : 1);
		(void)rc; /* a libzstd without threads compresses in this thread */
	}
	*out = e;
	return NULL;
}

static err_t *gzip_run(struct encoder *e, const void *data, size_t len, int flush)
{
	e->z.next_in = (Bytef *)data;
	e->z.avail_in = (uInt)len;
	for (;;) {
		e->z.next_out = e->out;
		e->z.avail_out = OUT_CHUNK;
		int rc = deflate(&e->z, flush);
		if (rc == Z_STREAM_ERROR)
			return err_new(EXIT_FAILED, "gzip compression failed");
		size_t n = OUT_CHUNK - e->z.avail_out;
		if (n)
			TRY(emit(e, e->out, n));
		if (flush == Z_FINISH ? rc == Z_STREAM_END : (e->z.avail_in == 0 && e->z.avail_out != 0))
			return NULL;
	}
}

static err_t *zstd_run(struct encoder *e, const void *data, size_t len, ZSTD_EndDirective end)
{
	ZSTD_inBuffer in = { data, len, 0 };
	for (;;) {
		ZSTD_outBuffer o = { e->out, OUT_CHUNK, 0 };
		size_t rc = ZSTD_compressStream2(e->zc, &o, &in, end);
		if (ZSTD_isError(rc))
			return err_new(EXIT_FAILED, "zstd compression failed: %s", ZSTD_getErrorName(rc));
		if (o.pos)
			TRY(emit(e, e->out, o.pos));
		if (end == ZSTD_e_end ? rc == 0 : in.pos == in.size)
			return NULL;
	}
}

err_t *encoder_write(struct encoder *e, const void *data, size_t len)
{
	if (!len)
		return NULL;
	sha256_update(&e->raw, data, len);
	switch (e->fmt) {
	case COMPRESS_GZIP:
		while (len) {
			size_t n = len > (1u << 30) ? (1u << 30) : len;
			TRY(gzip_run(e, data, n, Z_NO_FLUSH));
			data = (const char *)data + n;
			len -= n;
		}
		return NULL;
	case COMPRESS_ZSTD:
		return zstd_run(e, data, len, ZSTD_e_continue);
	default:
		return emit(e, data, len);
	}
}

err_t *encoder_finish(struct encoder *e, char digest[DIGEST_SIZE], int64_t *size, char diff_id[DIGEST_SIZE],
		      int64_t *raw_size)
{
	err_t *err = NULL;
	if (e->fmt == COMPRESS_GZIP)
		err = gzip_run(e, "", 0, Z_FINISH);
	else if (e->fmt == COMPRESS_ZSTD)
		err = zstd_run(e, "", 0, ZSTD_e_end);
	if (!err) {
		if (raw_size)
			*raw_size = (int64_t)e->raw.bytes;
		if (size)
			*size = (int64_t)e->packed_bytes;
		sha256_final(&e->raw, diff_id);
		sha256_final(&e->packed, digest);
	}
	encoder_free(e);
	return err;
}

void encoder_free(struct encoder *e)
{
	if (!e)
		return;
	if (e->z_init)
		deflateEnd(&e->z);
	ZSTD_freeCCtx(e->zc);
	sha256_discard(&e->raw);
	sha256_discard(&e->packed);
	free(e->out);
	free(e);
}
