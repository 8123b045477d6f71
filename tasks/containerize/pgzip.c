/* Parallel gzip (see pgzip.h). */
#include "pgzip.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "xalloc.h"

#define BLOCK (1u << 20)
#define DICT (32u << 10)
#define MAX_THREADS 16

struct job {
	unsigned char *in;
	size_t in_len;
	const unsigned char *dict; /* last DICT bytes of the block before, or NULL */
	size_t dict_len;
	bool last;
	int level;
	unsigned char *out;
	size_t out_cap, out_len;
	uLong crc;
	int rc;
};

static void *deflate_job(void *arg)
{
	struct job *j = arg;
	z_stream z;
	memset(&z, 0, sizeof z);
	j->rc = deflateInit2(&z, j->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
	if (j->rc != Z_OK)
		return NULL;
	if (j->dict_len)
		deflateSetDictionary(&z, j->dict, (uInt)j->dict_len);
	size_t need = deflateBound(&z, (uLong)j->in_len) + 16;
	if (j->out_cap < need) {
		free(j->out);
		j->out = xmalloc(need);
		j->out_cap = need;
	}
	z.next_in = j->in;
	z.avail_in = (uInt)j->in_len;
	z.next_out = j->out;
	z.avail_out = (uInt)j->out_cap;
	int rc = deflate(&z, j->last ? Z_FINISH : Z_SYNC_FLUSH);
	j->rc = (rc == Z_STREAM_END || (rc == Z_OK && !j->last && z.avail_in == 0)) ? Z_OK : Z_BUF_ERROR;
	j->out_len = j->out_cap - z.avail_out;
	deflateEnd(&z);
	j->crc = crc32(0L, j->in, (uInt)j->in_len);
	return NULL;
}

static err_t *write_all(int fd, const void *data, size_t len, struct sha256 *h, int64_t *total)
{
	sha256_update(h, data, len);
	*total += (int64_t)len;
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_errno(EXIT_FAILED, "cannot write the compressed layer");
		p += n;
		len -= (size_t)n;
	}
	return NULL;
}

/* Fill buf with up to cap bytes (short only at the end). */
static err_t *read_full(int fd, unsigned char *buf, size_t cap, size_t *got)
{
	*got = 0;
	while (*got < cap) {
		ssize_t n = read(fd, buf + *got, cap - *got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_errno(EXIT_FAILED, "cannot read the layer stream");
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return NULL;
}

/* One batch of `threads` blocks: compressed while the next batch is read. */
struct batch {
	struct job jobs[MAX_THREADS];
	size_t n;
	bool done;
	unsigned char *dict; /* tail of the block before this batch */
	size_t dict_len;
	pthread_t tid[MAX_THREADS];
	bool started[MAX_THREADS];
};

struct reader {
	int fd;
	unsigned char *ahead; /* one block read ahead: tells which block is last */
	size_t ahead_len;
	int level;
};

/* Fill the batch (prev: the batch before, for its last block's tail). */
static err_t *read_batch(struct reader *r, struct batch *b, size_t njobs, const struct batch *prev)
{
	b->n = 0;
	b->done = false;
	b->dict_len = 0;
	if (prev && prev->n) {
		const struct job *pj = &prev->jobs[prev->n - 1];
		size_t dl = pj->in_len < DICT ? pj->in_len : DICT;
		memcpy(b->dict, pj->in + pj->in_len - dl, dl);
		b->dict_len = dl;
	}
	while (b->n < njobs && !b->done) {
		struct job *j = &b->jobs[b->n];
		unsigned char *t = j->in;
		j->in = r->ahead;
		j->in_len = r->ahead_len;
		r->ahead = t;
		size_t got;
		TRY(read_full(r->fd, r->ahead, BLOCK, &got));
		r->ahead_len = got;
		j->last = got == 0;
		j->level = r->level;
		b->done = j->last;
		if (b->n == 0) {
			j->dict = b->dict_len ? b->dict : NULL;
			j->dict_len = b->dict_len;
		} else {
			const struct job *pj = &b->jobs[b->n - 1];
			size_t dl = pj->in_len < DICT ? pj->in_len : DICT;
			j->dict = pj->in + pj->in_len - dl;
			j->dict_len = dl;
		}
		b->n++;
	}
	return NULL;
}

static void start_batch(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		b->started[i] = pthread_create(&b->tid[i], NULL, deflate_job, &b->jobs[i]) == 0;
}

static void join_batch(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		if (b->started[i])
			pthread_join(b->tid[i], NULL);
		else
			deflate_job(&b->jobs[i]);
		b->started[i] = false;
	}
}

err_t *pgzip_stream(int in_fd, int out_fd, int level, int threads, char digest[DIGEST_SIZE], int64_t *size)
{
	if (threads < 1)
		threads = 1;
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	if (level <= 0)
		level = 6;
	size_t njobs = (size_t)threads;
	struct batch *bs = xcalloc(2, sizeof *bs);
	for (int k = 0; k < 2; k++) {
		bs[k].dict = xmalloc(DICT);
		for (size_t i = 0; i < njobs; i++)
			bs[k].jobs[i].in = xmalloc(BLOCK);
	}
	struct reader r = { .fd = in_fd, .ahead = xmalloc(BLOCK), .level = level };
	struct sha256 h;
	sha256_init(&h);
	int64_t total = 0;
	uLong crc = crc32(0L, Z_NULL, 0);
	uint64_t isize = 0;
	static const unsigned char header[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };
	err_t *e = write_all(out_fd, header, sizeof header, &h, &total);
	if (!e)
		e = read_full(in_fd, r.ahead, BLOCK, &r.ahead_len);
	int cur = 0;
	if (!e)
		e = read_batch(&r, &bs[cur], njobs, NULL);
	while (!e) {
		struct batch *b = &bs[cur];
		start_batch(b);
		/* read the next batch while this one compresses */
		err_t *re = b->done ? NULL : read_batch(&r, &bs[1 - cur], njobs, b);
		join_batch(b);
		for (size_t i = 0; i < b->n && !e; i++) {
			if (b->jobs[i].rc != Z_OK) {
				e = err_new(EXIT_FAILED, "deflate failed (%d)", b->jobs[i].rc);
				break;
			}
			e = write_all(out_fd, b->jobs[i].out, b->jobs[i].out_len, &h, &total);
			crc = crc32_combine(crc, b->jobs[i].crc, (z_off_t)b->jobs[i].in_len);
			isize += b->jobs[i].in_len;
		}
		if (re) {
			err_free(e);
			e = re;
		}
		if (e || b->done)
			break;
		cur = 1 - cur;
	}
	if (!e) {
		unsigned char trailer[8];
		for (int i = 0; i < 4; i++) {
			trailer[i] = (unsigned char)((crc >> (8 * i)) & 0xff);
			trailer[4 + i] = (unsigned char)((isize >> (8 * i)) & 0xff);
		}
		e = write_all(out_fd, trailer, sizeof trailer, &h, &total);
	}
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < njobs; i++) {
			free(bs[k].jobs[i].in);
			free(bs[k].jobs[i].out);
		}
		free(bs[k].dict);
	}
	free(bs);
	free(r.ahead);
	if (e) {
		sha256_discard(&h);
		return e;
	}
	sha256_final(&h, digest);
	*size = total;
	return NULL;
}
