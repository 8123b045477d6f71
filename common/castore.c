#include "castore.h"

#include <dirent.h>
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "der.h"
#include "fsutil.h"
#include "strbuf.h"
#include "xalloc.h"

#define CA_FILE_MAX (16 * 1024 * 1024)

struct anchor {
	X509_NAME *subject;
	unsigned char *der;
	long len;
	X509 *cert; /* decoded the first time its subject is asked for */
};

struct castore {
	pthread_mutex_t lock; /* lookups may come from several connections' threads */
	struct anchor *a;
	size_t n;
};

/* The subject of a DER certificate, without decoding the rest (its public
 * key above all): Certificate { TBSCertificate { [0] version, serial,
 * signature, issuer, validity, subject, ... } ... }. */
static X509_NAME *subject_of(const unsigned char *der, long len)
{
	const unsigned char *p = der;
	long left = len, l;
	int tag, cls;
	if (der_next(&p, &left, &tag, &cls, &l) < 0 || tag != V_ASN1_SEQUENCE) /* Certificate */
		return NULL;
	if (der_next(&p, &left, &tag, &cls, &l) < 0 || tag != V_ASN1_SEQUENCE) /* TBSCertificate */
		return NULL;
	left = l;
	const unsigned char *peek = p;
	long peek_left = left;
	if (der_next(&peek, &peek_left, &tag, &cls, &l) < 0)
		return NULL;
	if (cls == V_ASN1_CONTEXT_SPECIFIC && tag == 0 && !der_skip(&p, &left)) /* [0] version */
		return NULL;
	for (int i = 0; i < 4; i++) /* serial, signature, issuer, validity */
		if (!der_skip(&p, &left))
			return NULL;
	return d2i_X509_NAME(NULL, &p, left);
}

static void add_anchor(struct castore *s, unsigned char *der, long len)
{
	X509_NAME *subject = subject_of(der, len);
	if (!subject) {
		OPENSSL_free(der); /* not a certificate we can name: X509 would not take it either */
		return;
	}
	s->a = xrealloc(s->a, (s->n + 1) * sizeof *s->a);
	s->a[s->n++] = (struct anchor){ subject, der, len, NULL };
}

/* A directory is read as containers' certs.d / buildah's --cert-dir reads
 * one: every regular "*.crt" file in it is a CA bundle (in name order, so
 * errors name the same file on every run); other files are not CAs. */
bool castore_is_ca_name(const char *name)
{
	size_t len = strlen(name);
	return len > 4 && !strcmp(name + len - 4, ".crt");
}

static err_t *read_ca_dir(const char *path, struct strbuf *text)
{
	struct dirent **names = NULL;
	int n = scandir(path, &names, NULL, alphasort);
	if (n < 0)
		return err_errno(EXIT_USAGE, "cannot list the directory");
	err_t *e = NULL;
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		if (!e && castore_is_ca_name(name)) {
			_cleanup_free_ char *file = xasprintf("%s/%s", path, name);
			struct stat st;
			if (stat(file, &st) == 0 && S_ISREG(st.st_mode)) {
				e = fs_read_file(file, CA_FILE_MAX - text->len, text);
				if (!e)
					sb_addc(text, '\n');
			}
		}
		free(names[i]);
	}
	free(names);
	return e;
}

err_t *castore_load(const char *path, struct castore **out)
{
	struct strbuf text = STRBUF_INIT;
	struct stat st;
	bool dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
	err_t *e = dir ? read_ca_dir(path, &text) : fs_read_file(path, CA_FILE_MAX, &text);
	if (e)
		return err_wrap(e, "CA %s %s", dir ? "directory" : "file", path);
	e = castore_parse(text.buf ? text.buf : "", text.len, out);
	sb_release(&text);
	if (e && dir)
		return err_context(e, "CA directory %s (its *.crt files)", path);
	return err_context(e, "CA file %s", path);
}

err_t *castore_parse(const char *pem, size_t len, struct castore **out)
{
	if (len > CA_FILE_MAX)
		return err_new(EXIT_USAGE, "larger than %d bytes", CA_FILE_MAX);
	struct castore *s = xcalloc(1, sizeof *s);
	pthread_mutex_init(&s->lock, NULL);
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	char *name = NULL, *header = NULL;
	unsigned char *der = NULL;
	long der_len = 0;
	while (bio && PEM_read_bio(bio, &name, &header, &der, &der_len)) {
		if (!strcmp(name, "CERTIFICATE") || !strcmp(name, "TRUSTED CERTIFICATE"))
			add_anchor(s, der, der_len);
		else
			OPENSSL_free(der);
		OPENSSL_free(name);
		OPENSSL_free(header);
	}
	ERR_clear_error(); /* the end of the file reads as a PEM error */
	BIO_free(bio);
	if (!s->n) {
		castore_free(s);
		return err_new(EXIT_USAGE, "holds no PEM certificate");
	}
	*out = s;
	return NULL;
}

void castore_free(struct castore *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		X509_NAME_free(s->a[i].subject);
		OPENSSL_free(s->a[i].der);
		X509_free(s->a[i].cert);
	}
	free(s->a);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

size_t castore_count(const struct castore *s)
{
	return s->n;
}

/* X509_LOOKUP get_by_subject: every anchor with that subject goes into the
 * store (as a trusted certificate), the first one is returned (borrowed,
 * as OpenSSL's own lookups return theirs). */
static int by_subject(X509_LOOKUP *lu, X509_LOOKUP_TYPE type, const X509_NAME *name, X509_OBJECT *ret)
{
	struct castore *s = X509_LOOKUP_get_method_data(lu);
	X509_STORE *store = X509_LOOKUP_get_store(lu);
	if (type != X509_LU_X509 || !s || !store)
		return 0;
	X509 *first = NULL;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n; i++) {
		struct anchor *a = &s->a[i];
		if (X509_NAME_cmp(a->subject, name))
			continue;
		if (!a->cert) {
			const unsigned char *p = a->der;
			a->cert = d2i_X509(NULL, &p, a->len);
		}
		if (a->cert && X509_STORE_add_cert(store, a->cert) && !first)
			first = a->cert;
	}
	int ok = first && X509_OBJECT_set1_X509(ret, first);
	if (ok)
		X509_free(first); /* borrowed: the store and this castore hold it */
	pthread_mutex_unlock(&s->lock);
	ERR_clear_error(); /* "already in the store" is not an error here */
	return ok;
}

static X509_LOOKUP_METHOD *method;
static pthread_once_t method_once = PTHREAD_ONCE_INIT;

static void method_init(void)
{
	method = X509_LOOKUP_meth_new("secure-pipeline castore");
	if (method && !X509_LOOKUP_meth_set_get_by_subject(method, by_subject)) {
		X509_LOOKUP_meth_free(method);
		method = NULL;
	}
}

err_t *castore_attach(struct castore *s, X509_STORE *store)
{
	pthread_once(&method_once, method_init);
	X509_LOOKUP *lu = method ? X509_STORE_add_lookup(store, method) : NULL;
	if (!lu || !X509_LOOKUP_set_method_data(lu, s)) {
		ERR_clear_error();
		return err_new(EXIT_FAILED, "cannot set up the CA lookup");
	}
	return NULL;
}
