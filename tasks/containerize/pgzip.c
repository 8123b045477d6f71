/* Parallel gzip (see pgzip.h). */
#include "pgzip.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>

#include "cleanup.h"
#include "fsutil.h"
#include "xalloc.h"

#define BLOCK (1u << 20)
#define MAX_THREADS 16
/* blocks in flight per worker: one slow block stalls the in-order writes
 * only once the others have run this far ahead */
#define BLOCKS_PER_THREAD 4

struct block {
	unsigned char *in, *out;
	size_t in_len, out_cap, out_len;
	bool done; /* compressed, not written yet (under the lock) */
	int rc;
};

/* Blocks are numbered in stream order; number k lives in ring[k % nring].
 * The writer fills block `queued` and queues it; workers take `taken`;
 * block `written` is the next to write. queued - written <= nring. */
struct pgzip {
	struct layer_sink sink;
	int fd, level;
	struct block *ring;
	size_t nring, fill; /* bytes in the block being filled */
	uint64_t queued, taken, written;
	bool closing, flushing;
	err_t *err; /* the first write error (under the lock) */
	bool failed; /* the writer has seen err */
	pthread_mutex_t lock;
	pthread_cond_t work, space;
	pthread_t tid[MAX_THREADS];
	size_t nworkers;
	struct sha256 in_hash, out_hash;
	int64_t out_size;
};

static void compress_block(struct libdeflate_compressor *c, struct block *b)
{
	if (!c) {
		b->rc = -4;
		return;
	}
	size_t need = libdeflate_gzip_compress_bound(c, b->in_len);
	if (b->out_cap < need) {
		free(b->out);
		b->out = xmalloc(need);
		b->out_cap = need;
	}
	b->out_len = libdeflate_gzip_compress(c, b->in, b->in_len, b->out, b->out_cap);
	b->rc = b->out_len ? 0 : -5;
}

/* Hash and write block b (the next in stream order). Lock not held. */
static err_t *write_block(struct pgzip *z, const struct block *b)
{
	if (b->rc != 0)
		return err_new(EXIT_FAILED, "gzip compression failed (%d)", b->rc);
	sha256_update(&z->in_hash, b->in, b->in_len);
	sha256_update(&z->out_hash, b->out, b->out_len);
	z->out_size += (int64_t)b->out_len;
	return fs_write_all(z->fd, b->out, b->out_len, "the compressed layer");
}

/* With the lock held: unless another thread is at it, write the blocks
 * that are done, in order (dropping them after an error). */
static void flush_locked(struct pgzip *z)
{
	if (z->flushing)
		return;
	z->flushing = true;
	while (z->written < z->queued && z->ring[z->written % z->nring].done) {
		struct block *b = &z->ring[z->written % z->nring];
		bool skip = z->err != NULL;
		pthread_mutex_unlock(&z->lock);
		err_t *e = skip ? NULL : write_block(z, b);
		pthread_mutex_lock(&z->lock);
		if (e && !z->err)
			z->err = e;
		else
			err_free(e);
		b->done = false;
		z->written++;
		pthread_cond_broadcast(&z->space);
	}
	z->flushing = false;
}

static void *worker(void *arg)
{
	struct pgzip *z = arg;
	struct libdeflate_compressor *c = libdeflate_alloc_compressor(z->level);
	pthread_mutex_lock(&z->lock);
	for (;;) {
		while (z->taken == z->queued && !z->closing)
			pthread_cond_wait(&z->work, &z->lock);
		if (z->taken == z->queued)
			break;
		struct block *b = &z->ring[z->taken++ % z->nring];
		pthread_mutex_unlock(&z->lock);
		compress_block(c, b);
		pthread_mutex_lock(&z->lock);
		b->done = true;
		flush_locked(z);
	}
	pthread_mutex_unlock(&z->lock);
	libdeflate_free_compressor(c);
	return NULL;
}

/* Queue the block being filled and wait until the next one is free. */
static err_t *queue_block(struct pgzip *z)
{
	err_t *e = NULL;
	pthread_mutex_lock(&z->lock);
	z->ring[z->queued % z->nring].in_len = z->fill;
	z->queued++;
	z->fill = 0;
	pthread_cond_signal(&z->work);
	while (z->queued - z->written >= z->nring)
		pthread_cond_wait(&z->space, &z->lock);
	if (z->err && !z->failed) {
		z->failed = true;
		e = steal_ptr(z->err);
		z->err = err_new(EXIT_FAILED, "the compressed layer was not written");
	}
	pthread_mutex_unlock(&z->lock);
	return e;
}

static err_t *sink_write(void *ctx, const void *data, size_t len)
{
	struct pgzip *z = ctx;
	const unsigned char *p = data;
	while (len) {
		size_t n = BLOCK - z->fill < len ? BLOCK - z->fill : len;
		memcpy(z->ring[z->queued % z->nring].in + z->fill, p, n);
		z->fill += n;
		p += n;
		len -= n;
		if (z->fill == BLOCK)
			TRY(queue_block(z));
	}
	return NULL;
}

const struct layer_sink *pgzip_sink(struct pgzip *z)
{
	return &z->sink;
}

err_t *pgzip_new(int out_fd, int level, int threads, struct pgzip **out)
{
	struct pgzip *z = xcalloc(1, sizeof *z);
	z->sink = (struct layer_sink){ .write = sink_write, .ctx = z };
	z->fd = out_fd;
	z->level = level > 0 ? level : 6;
	threads = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
	z->nring = (size_t)threads * BLOCKS_PER_THREAD;
	z->ring = xcalloc(z->nring, sizeof *z->ring);
	for (size_t i = 0; i < z->nring; i++)
		z->ring[i].in = xmalloc(BLOCK);
	pthread_mutex_init(&z->lock, NULL);
	pthread_cond_init(&z->work, NULL);
	pthread_cond_init(&z->space, NULL);
	sha256_init(&z->in_hash);
	sha256_init(&z->out_hash);
	while (z->nworkers < (size_t)threads && pthread_create(&z->tid[z->nworkers], NULL, worker, z) == 0)
		z->nworkers++;
	if (z->nworkers == 0) {
		pgzip_abort(z);
		return err_new(EXIT_FAILED, "cannot start the compression threads");
	}
	*out = z;
	return NULL;
}

/* Let the workers finish what is queued, then end them. */
static void stop(struct pgzip *z)
{
	pthread_mutex_lock(&z->lock);
	z->closing = true;
	pthread_cond_broadcast(&z->work);
	pthread_mutex_unlock(&z->lock);
	for (size_t i = 0; i < z->nworkers; i++)
		pthread_join(z->tid[i], NULL);
	z->nworkers = 0;
}

static void release(struct pgzip *z)
{
	for (size_t i = 0; i < z->nring; i++) {
		free(z->ring[i].in);
		free(z->ring[i].out);
	}
	free(z->ring);
	pthread_mutex_destroy(&z->lock);
	pthread_cond_destroy(&z->work);
	pthread_cond_destroy(&z->space);
	err_free(z->err);
	free(z);
}

err_t *pgzip_finish(struct pgzip *z, char digest[DIGEST_SIZE], int64_t *size, char diff_id[DIGEST_SIZE],
		    int64_t *in_size)
{
	/* the last block, partial; an empty stream is one empty member */
	err_t *e = z->fill || z->queued == 0 ? queue_block(z) : NULL;
	stop(z);
	if (!e)
		e = steal_ptr(z->err);
	if (e) {
		sha256_discard(&z->in_hash);
		sha256_discard(&z->out_hash);
		release(z);
		return e;
	}
	*in_size = (int64_t)z->in_hash.bytes;
	*size = z->out_size;
	sha256_final(&z->in_hash, diff_id);
	sha256_final(&z->out_hash, digest);
	release(z);
	return NULL;
}

void pgzip_abort(struct pgzip *z)
{
	if (!z)
		return;
	pthread_mutex_lock(&z->lock);
	if (!z->err)
		z->err = err_new(EXIT_FAILED, "aborted");
	pthread_mutex_unlock(&z->lock);
	stop(z);
	sha256_discard(&z->in_hash);
	sha256_discard(&z->out_hash);
	release(z);
}
