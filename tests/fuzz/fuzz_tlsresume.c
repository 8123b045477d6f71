/* Fuzz the TLS session file reader (common/tlsresume): any bytes must be
 * refused or give a session, never crash or leak. The key the reader
 * expects is taken from the input's second line, so the fuzzer reaches the
 * session's DER as easily as the header. */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tlsresume.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nl = memchr(text, '\n', size);
	const char *end = nl ? memchr(nl + 1, '\n', size - (size_t)(nl + 1 - text)) : NULL;
	char key[256] = "127.0.0.1:443";
	if (end && (size_t)(end - nl - 1) < sizeof key) {
		memcpy(key, nl + 1, (size_t)(end - nl - 1));
		key[end - nl - 1] = '\0';
	}
	SSL_SESSION_free(tls_resume_parse(text, size, key, 1700000000));
	ERR_clear_error();
	return 0;
}
