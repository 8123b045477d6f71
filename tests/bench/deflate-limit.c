/* The physical limit of writing a gzip layer on this machine: the work
 * containerize cannot avoid, done on every core with nothing else, over a
 * layer's tar already in memory. The same work as pgzip + the layer
 * writer's digests: libdeflate gzip members of 1 MiB blocks at the same
 * level, the sha256 of the tar (diff_id) and the sha256 of the compressed
 * stream (blob digest), both in stream order. Reading the file is not
 * timed; nothing is written.
 *
 *   deflate-limit TAR [LEVEL [THREADS]]   (defaults: 6, online CPUs)
 *
 * Prints "limit <seconds> s, <in bytes> -> <out bytes>, <threads> threads".
 * The compressors are THREADS workers taking blocks in turn; the main
 * thread hashes both streams block by block as the blocks complete, so the
 * hashing overlaps the compression as in containerize. */
#include <errno.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLOCK (1u << 20)

struct block {
	unsigned char *out;
	size_t out_len;
	int done; /* under lock */
};

static const unsigned char *data;
static size_t size, nblocks;
static struct block *blocks;
static atomic_size_t next_block;
static int level;
/* the hasher sleeps until its next block is done (no spinning: it must
 * not take a core from the compressors) */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;

static void *worker(void *arg)
{
	(void)arg;
	struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
	if (!c)
		abort();
	for (;;) {
		size_t i = atomic_fetch_add(&next_block, 1);
		if (i >= nblocks)
			break;
		size_t len = i + 1 < nblocks ? BLOCK : size - i * BLOCK;
		struct block *b = &blocks[i];
		size_t cap = libdeflate_gzip_compress_bound(c, len);
		b->out = malloc(cap);
		if (!b->out)
			abort();
		b->out_len = libdeflate_gzip_compress(c, data + i * BLOCK, len, b->out, cap);
		pthread_mutex_lock(&lock);
		b->done = 1;
		pthread_cond_broadcast(&cond);
		pthread_mutex_unlock(&lock);
	}
	libdeflate_free_compressor(c);
	return NULL;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: deflate-limit TAR [LEVEL [THREADS]]\n");
		return 2;
	}
	level = argc > 2 ? atoi(argv[2]) : 6;
	long threads = argc > 3 ? atol(argv[3]) : sysconf(_SC_NPROCESSORS_ONLN);
	if (threads < 1 || threads > 64 || level < 1 || level > 12) {
		fprintf(stderr, "deflate-limit: bad level or thread count\n");
		return 2;
	}
	int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= 0) {
		fprintf(stderr, "deflate-limit: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	size = (size_t)st.st_size;
	unsigned char *buf = malloc(size);
	for (size_t got = 0; buf && got < size;) {
		ssize_t n = read(fd, buf + got, size - got);
		if (n <= 0) {
			fprintf(stderr, "deflate-limit: cannot read %s\n", argv[1]);
			return 1;
		}
		got += (size_t)n;
	}
	close(fd);
	if (!buf)
		return 1;
	data = buf;
	nblocks = (size + BLOCK - 1) / BLOCK;
	blocks = calloc(nblocks, sizeof *blocks);
	EVP_MD_CTX *raw = EVP_MD_CTX_new(), *packed = EVP_MD_CTX_new();
	if (!blocks || !raw || !packed)
		return 1;

	double t0 = now();
	EVP_DigestInit_ex(raw, EVP_sha256(), NULL);
	EVP_DigestInit_ex(packed, EVP_sha256(), NULL);
	pthread_t *tid = calloc((size_t)threads, sizeof *tid);
	for (long i = 0; i < threads; i++)
		if (pthread_create(&tid[i], NULL, worker, NULL) != 0)
			return 1;
	size_t out_total = 0;
	for (size_t i = 0; i < nblocks; i++) {
		size_t len = i + 1 < nblocks ? BLOCK : size - i * BLOCK;
		EVP_DigestUpdate(raw, data + i * BLOCK, len);
		pthread_mutex_lock(&lock);
		while (!blocks[i].done)
			pthread_cond_wait(&cond, &lock);
		pthread_mutex_unlock(&lock);
		EVP_DigestUpdate(packed, blocks[i].out, blocks[i].out_len);
		out_total += blocks[i].out_len;
		free(blocks[i].out);
	}
	unsigned char d1[32], d2[32];
	EVP_DigestFinal_ex(raw, d1, NULL);
	EVP_DigestFinal_ex(packed, d2, NULL);
	for (long i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	double t = now() - t0;

	printf("limit %.4f s, %zu -> %zu bytes, %ld threads\n", t, size, out_total, threads);
	EVP_MD_CTX_free(raw);
	EVP_MD_CTX_free(packed);
	free(tid);
	free(blocks);
	free(buf);
	return 0;
}
