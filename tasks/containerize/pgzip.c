/* Parallel gzip (see pgzip.h). */
#include "pgzip.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libdeflate.h>

#include "fsutil.h"
#include "xalloc.h"

#define BLOCK (1u << 20)
#define MAX_THREADS 16
/* blocks per worker in a batch: workers pull blocks until the batch is
 * done, so one slow block idles the others for less of the batch */
#define BLOCKS_PER_THREAD 4
#define MAX_JOBS (MAX_THREADS * BLOCKS_PER_THREAD)

struct job {
	unsigned char *in;
	size_t in_len;
	bool last;
	unsigned char *out;
	size_t out_cap, out_len;
	int rc;
};

static void deflate_job(struct libdeflate_compressor *c, struct job *j)
{
	if (!c) {
		j->rc = -4;
		return;
	}
	size_t need = libdeflate_gzip_compress_bound(c, j->in_len);
	if (j->out_cap < need) {
		free(j->out);
		j->out = xmalloc(need);
		j->out_cap = need;
	}
	j->out_len = libdeflate_gzip_compress(c, j->in, j->in_len, j->out, j->out_cap);
	j->rc = j->out_len ? 0 : -5;
}

static err_t *write_all(int fd, const void *data, size_t len, struct sha256 *h, int64_t *total)
{
	sha256_update(h, data, len);
	*total += (int64_t)len;
	return fs_write_all(fd, data, len, "the compressed layer");
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

/* One batch of blocks, compressed by `threads` workers that each take
 * the next block not taken yet, while the next batch is read. */
struct batch {
	struct job jobs[MAX_JOBS];
	size_t n;
	bool done;
	size_t next; /* the next block to take (atomic) */
	int level;
	pthread_t tid[MAX_THREADS];
	bool started[MAX_THREADS];
	size_t nworkers;
};

struct reader {
	int fd;
	unsigned char *ahead; /* one block read ahead: tells which block is last */
	size_t ahead_len;
};

/* Fill the batch with the next blocks of the stream. */
static err_t *read_batch(struct reader *r, struct batch *b, size_t njobs)
{
	b->n = 0;
	b->done = false;
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
		b->done = j->last;
		b->n++;
	}
	return NULL;
}

static void *batch_worker(void *arg)
{
	struct batch *b = arg;
	struct libdeflate_compressor *c = libdeflate_alloc_compressor(b->level);
	for (size_t i; (i = __atomic_fetch_add(&b->next, 1, __ATOMIC_RELAXED)) < b->n;)
		deflate_job(c, &b->jobs[i]);
	libdeflate_free_compressor(c);
	return NULL;
}

static void start_batch(struct batch *b, size_t workers, int level)
{
	b->next = 0;
	b->level = level;
	b->nworkers = workers < b->n ? workers : b->n;
	for (size_t i = 0; i < b->nworkers; i++)
		b->started[i] = pthread_create(&b->tid[i], NULL, batch_worker, b) == 0;
}

static void join_batch(struct batch *b)
{
	for (size_t i = 0; i < b->nworkers; i++) {
		if (b->started[i])
			pthread_join(b->tid[i], NULL);
		b->started[i] = false;
	}
	/* blocks no worker took (none could be started): done here */
	if (b->next < b->n)
		batch_worker(b);
}

err_t *pgzip_stream(int in_fd, int out_fd, int level, int threads, char digest[DIGEST_SIZE], int64_t *size)
{
	if (threads < 1)
		threads = 1;
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	if (level <= 0)
		level = 6;
	size_t njobs = (size_t)threads * BLOCKS_PER_THREAD;
	struct batch *bs = xcalloc(2, sizeof *bs);
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < njobs; i++)
			bs[k].jobs[i].in = xmalloc(BLOCK);
	}
	struct reader r = { .fd = in_fd, .ahead = xmalloc(BLOCK) };
	struct sha256 h;
	sha256_init(&h);
	int64_t total = 0;
	err_t *e = read_full(in_fd, r.ahead, BLOCK, &r.ahead_len);
	int cur = 0;
	if (!e)
		e = read_batch(&r, &bs[cur], njobs);
	while (!e) {
		struct batch *b = &bs[cur];
		start_batch(b, (size_t)threads, level);
		/* read the next batch while this one compresses */
		err_t *re = b->done ? NULL : read_batch(&r, &bs[1 - cur], njobs);
		join_batch(b);
		for (size_t i = 0; i < b->n && !e; i++) {
			if (b->jobs[i].rc != 0) {
				e = err_new(EXIT_FAILED, "gzip compression failed (%d)", b->jobs[i].rc);
				break;
			}
			e = write_all(out_fd, b->jobs[i].out, b->jobs[i].out_len, &h, &total);
		}
		if (re) {
			err_free(e);
			e = re;
		}
		if (e || b->done)
			break;
		cur = 1 - cur;
	}
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < njobs; i++) {
			free(bs[k].jobs[i].in);
			free(bs[k].jobs[i].out);
		}
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
