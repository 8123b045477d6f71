/* Fuzz the CA file reader (common/castore): any bytes, PEM or not, must be
 * read or refused cleanly; what is read is then searched by the subject of
 * each certificate it holds, as a TLS handshake would. */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "castore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct castore *s = NULL;
	err_t *e = castore_parse((const char *)data, size, &s);
	if (e) {
		err_free(e);
		return 0;
	}
	X509_STORE *store = X509_STORE_new();
	e = castore_attach(s, store);
	err_free(e);
	/* look up, through the store's own API, a name nobody has and the
	 * subject of every certificate OpenSSL itself reads from the input */
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	if (ctx && X509_STORE_CTX_init(ctx, store, NULL, NULL)) {
		X509_NAME *name = X509_NAME_new();
		X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"fuzz", -1, -1, 0);
		X509_OBJECT_free(X509_STORE_CTX_get_obj_by_subject(ctx, X509_LU_X509, name));
		X509_NAME_free(name);
		BIO *bio = BIO_new_mem_buf(data, (int)size);
		X509 *x;
		for (int i = 0; bio && i < 8 && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)); i++) {
			X509_OBJECT_free(X509_STORE_CTX_get_obj_by_subject(ctx, X509_LU_X509, X509_get_subject_name(x)));
			X509_free(x);
		}
		BIO_free(bio);
		ERR_clear_error();
	}
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	castore_free(s);
	return 0;
}
