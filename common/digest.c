/* sha256 digests in OCI form (see digest.h). */
#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "xalloc.h"

void sha256_init(struct sha256 *h)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		/* only allocation can fail here */
		fprintf(stderr, "out of memory\n");
		_exit(EXIT_FAILED);
	}
	h->ctx = ctx;
	h->bytes = 0;
}

void sha256_update(struct sha256 *h, const void *data, size_t len)
{
	if (!h->ctx)
		sha256_init(h);
	if (len)
		EVP_DigestUpdate(h->ctx, data, len);
	h->bytes += len;
}

void hex_encode(const unsigned char *bin, size_t n, char *out)
{
	static const char hexdig[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdig[bin[i] >> 4];
		out[2 * i + 1] = hexdig[bin[i] & 15];
	}
	out[2 * n] = '\0';
}

void sha256_final(struct sha256 *h, char out[DIGEST_SIZE])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	if (!h->ctx)
		sha256_init(h);
	EVP_DigestFinal_ex(h->ctx, md, &mdlen);
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
	memcpy(out, DIGEST_PREFIX, sizeof DIGEST_PREFIX - 1);
	hex_encode(md, 32, out + sizeof DIGEST_PREFIX - 1);
}

void sha256_discard(struct sha256 *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

void digest_buffer(const void *data, size_t len, char out[DIGEST_SIZE])
{
	struct sha256 h = { 0 };
	sha256_init(&h);
	sha256_update(&h, data, len);
	sha256_final(&h, out);
}

err_t *digest_fd(int fd, char out[DIGEST_SIZE], uint64_t *size)
{
	struct sha256 h = { 0 };
	sha256_init(&h);
	_cleanup_free_ char *buf = xmalloc(1 << 16);
	for (;;) {
		ssize_t n = read(fd, buf, 1 << 16);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sha256_discard(&h);
			return err_errno(EXIT_FAILED, "cannot read to compute a digest");
		}
		if (n == 0)
			break;
		sha256_update(&h, buf, (size_t)n);
	}
	if (size)
		*size = h.bytes;
	sha256_final(&h, out);
	return NULL;
}

err_t *digest_file(const char *path, char out[DIGEST_SIZE], uint64_t *size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(EXIT_FAILED, "cannot open %s", path);
	err_t *e = digest_fd(fd, out, size);
	return e ? err_wrap(e, "%s", path) : NULL;
}

err_t *digest_check(const char *s, const char *what)
{
	if (!s)
		return err_new(EXIT_USAGE, "%s: missing digest", what);
	const char *colon = strchr(s, ':');
	if (!colon)
		return err_new(EXIT_USAGE, "%s: digest \"%.80s\" has no algorithm (want sha256:<64 hex>)", what, s);
	if ((size_t)(colon - s) != sizeof DIGEST_PREFIX - 2 || strncmp(s, DIGEST_PREFIX, sizeof DIGEST_PREFIX - 1))
		return err_new(EXIT_USAGE, "%s: digest algorithm \"%.*s\" is not supported (only sha256)", what,
			       (int)((colon - s) > 20 ? 20 : (colon - s)), s);
	const char *hex = colon + 1;
	size_t n = strlen(hex);
	if (n != DIGEST_HEX_LEN)
		return err_new(EXIT_USAGE, "%s: sha256 digest has %zu hex digits, want 64", what, n);
	for (size_t i = 0; i < n; i++) {
		char c = hex[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return err_new(EXIT_USAGE, "%s: sha256 digest has a character that is not lowercase hex at %zu",
				       what, i);
	}
	return NULL;
}

bool digest_valid(const char *s)
{
	err_t *e = digest_check(s, "digest");
	bool ok = !e;
	err_free(e);
	return ok;
}

const char *digest_hex(const char *s)
{
	return s + sizeof DIGEST_PREFIX - 1;
}

bool digest_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la != lb)
		return false;
	return CRYPTO_memcmp(a, b, la) == 0;
}
