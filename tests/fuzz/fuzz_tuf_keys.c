/* Fuzz TUF key objects as they come in root.json and delegations
 * (common/tuf, common/keys): the input is a key's public value, a PEM
 * certificate ("ecdsa-x509", what notary writes) or SPKI DER ("ecdsa"),
 * base64-encoded into a key object as notary does, and also read as PEM
 * directly (a signer's --key file). Any bytes: refused or read, never a
 * crash or a leak; a certificate read both ways gives the same key, and a
 * certificate's CN is always a terminated string the checks can compare. */
#include <openssl/err.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "keys.h"
#include "tuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *key_object(const char *type, const uint8_t *data, size_t size)
{
	struct strbuf b = STRBUF_INIT;
	b64_encode(data, size, &b);
	json_t *k = json_pack("{s:s, s:{s:n, s:s}}", "keytype", type, "keyval", "private", "public", sb_str(&b));
	sb_release(&b);
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	EVP_PKEY *direct = NULL;
	err_t *e = key_public_from_pem((const char *)data, size, &direct);
	err_free(e);

	static const char *const types[] = { "ecdsa-x509", "ecdsa" };
	for (size_t t = 0; t < 2; t++) {
		json_t *k = key_object(types[t], data, size);
		char id[65];
		err_free(tuf_key_id(k, id));
		EVP_PKEY *pub = NULL;
		e = tuf_key_public(k, &pub);
		if (!e && t == 0 && direct && !key_same_public(pub, direct))
			abort(); /* the same certificate, two keys */
		err_free(e);
		EVP_PKEY_free(pub);
		struct tuf_key_cert c;
		e = tuf_key_cert_read(k, &c);
		if (!e && c.is_cert) {
			if (memchr(c.cn, '\0', sizeof c.cn) == NULL)
				abort();
			err_free(tuf_key_cert_check(&c, "registry.example/team/app", 1700000000));
			err_free(tuf_key_cert_check(&c, c.cn, c.not_before));
		}
		err_free(e);
		json_decref(k);
	}
	EVP_PKEY_free(direct);
	ERR_clear_error();
	return 0;
}
