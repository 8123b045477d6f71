/* containerize's parallel gzip (tasks/containerize/pgzip.c) against an
 * oracle computed here: libdeflate's gzip of each 1 MiB block of the input
 * at the same level, concatenated (an empty input: one empty member). The
 * output must be exactly that for every thread count and however the input
 * is cut into writes; it must read back (common/compress's decoder) as
 * the input; the digests must be the sha256 of the input and of the
 * output; a write error must come back naming what failed. */
// unit-sources: tasks/containerize/pgzip.c
#include <errno.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../tasks/containerize/pgzip.h"
#include "compress.h"
#include "testing.h"
#include "xalloc.h"

#define BLOCK (1u << 20)

/* REQUIRE for the helpers below, which return values: the test stops */
#define MUST(cond)                                                                        \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "  %s:%d: MUST(%s) failed\n", __FILE__, __LINE__, #cond); \
			abort();                                                          \
		}                                                                         \
	} while (0)

static unsigned char *text(size_t n, unsigned seed)
{
	unsigned char *p = xmalloc(n ? n : 1);
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (unsigned char)"abcdefgh \n"[(x >> 16) % 10];
	}
	return p;
}

/* the oracle: libdeflate gzip members of 1 MiB blocks, level 6 */
static unsigned char *expected(const unsigned char *in, size_t n, size_t *out_len)
{
	struct libdeflate_compressor *c = libdeflate_alloc_compressor(6);
	size_t cap = (n / BLOCK + 1) * libdeflate_gzip_compress_bound(c, BLOCK), len = 0;
	unsigned char *out = xmalloc(cap);
	size_t off = 0;
	do {
		size_t b = n - off < BLOCK ? n - off : BLOCK;
		size_t got = libdeflate_gzip_compress(c, in + off, b, out + len, cap - len);
		MUST(got > 0);
		len += got;
		off += b;
	} while (off < n);
	libdeflate_free_compressor(c);
	*out_len = len;
	return out;
}

static void sha256_of(const void *p, size_t n, char out[DIGEST_SIZE])
{
	struct sha256 h;
	sha256_init(&h);
	sha256_update(&h, p, n);
	sha256_final(&h, out);
}

/* pgzip over in, written in pieces of step bytes (0: varying), into a
 * memfd; returns its content */
static unsigned char *run(const unsigned char *in, size_t n, int threads, size_t step, size_t *out_len,
			  char digest[DIGEST_SIZE], char diff_id[DIGEST_SIZE], int64_t *in_size)
{
	int fd = memfd_create("pgzip", MFD_CLOEXEC);
	MUST(fd >= 0);
	struct pgzip *z = NULL;
	MUST(pgzip_new(fd, 6, threads, &z) == NULL);
	const struct layer_sink *s = pgzip_sink(z);
	size_t off = 0, k = 0;
	while (off < n) {
		size_t len = step ? step : (k * 7919) % 300000 + 1;
		if (len > n - off)
			len = n - off;
		MUST(s->write(s->ctx, in + off, len) == NULL);
		off += len;
		k++;
	}
	int64_t size = -1;
	MUST(pgzip_finish(z, digest, &size, diff_id, in_size) == NULL);
	off_t end = lseek(fd, 0, SEEK_END);
	MUST(end == size);
	unsigned char *out = xmalloc((size_t)end + 1);
	MUST(pread(fd, out, (size_t)end, 0) == end);
	close(fd);
	*out_len = (size_t)end;
	return out;
}

/* decodes back to in (common/compress: multi-member gzip) */
static bool reads_back(const unsigned char *gz, size_t len, const unsigned char *in, size_t n)
{
	int fd = memfd_create("gz", MFD_CLOEXEC);
	MUST(fd >= 0);
	MUST(write(fd, gz, len) == (ssize_t)len);
	lseek(fd, 0, SEEK_SET);
	struct decoder *d = NULL;
	MUST(decoder_new(fd, false, &d) == NULL);
	unsigned char *back = xmalloc(n + 1);
	size_t total = 0, got;
	bool ok = true;
	do {
		err_t *e = decoder_read(d, back + total, n + 1 - total, &got);
		if (e) {
			err_free(e);
			ok = false;
			break;
		}
		total += got;
	} while (got && total <= n);
	ok = ok && total == n && memcmp(back, in, n) == 0;
	decoder_free(d);
	free(back);
	close(fd);
	return ok;
}

static void check_size(size_t n, size_t step)
{
	unsigned char *in = text(n, (unsigned)n);
	size_t want_len;
	unsigned char *want = expected(in, n, &want_len);
	char want_digest[DIGEST_SIZE], want_diff[DIGEST_SIZE];
	sha256_of(want, want_len, want_digest);
	sha256_of(in, n, want_diff);
	static const int threads[] = { 1, 2, 3, 8 };
	for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
		size_t len;
		char digest[DIGEST_SIZE], diff_id[DIGEST_SIZE];
		int64_t in_size = -1;
		unsigned char *out = run(in, n, threads[t], step, &len, digest, diff_id, &in_size);
		if (len != want_len || memcmp(out, want, len) != 0) {
			fprintf(stderr, "  %zu bytes, %d threads: output differs from 1 MiB members (%zu vs %zu bytes)\n",
				n, threads[t], len, want_len);
			testing_failed_ = 1;
		}
		CHECK(reads_back(out, len, in, n));
		CHECK_STR(digest, want_digest);
		CHECK_STR(diff_id, want_diff);
		CHECK(in_size == (int64_t)n);
		free(out);
	}
	free(want);
	free(in);
}

static void test_members_of_1mib_any_threads(void)
{
	check_size(3 * BLOCK + 12345, 0);
}

static void test_block_boundaries(void)
{
	check_size(2 * BLOCK, 10240); /* no empty member after the last block */
	check_size(BLOCK - 1, BLOCK); /* one write, one partial block */
	check_size(BLOCK + 1, 3);
	check_size(9 * BLOCK, BLOCK); /* more blocks than 1 thread's ring holds */
}

static void test_empty_stream(void)
{
	check_size(0, 1);
}

static void test_write_error_named(void)
{
	int p[2];
	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	close(p[0]); /* writes fail: EPIPE (SIGPIPE ignored below) */
	signal(SIGPIPE, SIG_IGN);
	unsigned char *in = text(4 * BLOCK, 1);
	struct pgzip *z = NULL;
	REQUIRE(pgzip_new(p[1], 6, 2, &z) == NULL);
	const struct layer_sink *s = pgzip_sink(z);
	err_t *e = NULL;
	for (size_t off = 0; off < 4 * BLOCK && !e; off += 65536)
		e = s->write(s->ctx, in + off, 65536);
	char digest[DIGEST_SIZE], diff_id[DIGEST_SIZE];
	int64_t size, in_size;
	if (!e)
		e = pgzip_finish(z, digest, &size, diff_id, &in_size);
	else
		pgzip_abort(z);
	REQUIRE(e != NULL);
	char *msg = err_describe(e);
	CHECK(strstr(msg, "cannot write the compressed layer") != NULL);
	CHECK(strstr(msg, strerror(EPIPE)) != NULL);
	if (!strstr(msg, "compressed layer"))
		fprintf(stderr, "  got: %s\n", msg);
	free(msg);
	err_free(e);
	free(in);
	close(p[1]);
}

TEST_MAIN("pgzip", TEST(test_members_of_1mib_any_threads), TEST(test_block_boundaries), TEST(test_empty_stream),
	  TEST(test_write_error_named))
