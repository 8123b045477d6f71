/* Base64 (RFC 4648, standard alphabet, padded): TUF signatures, key values
 * and target hashes, and cosign signature annotations are all written in it. */
#ifndef COMMON_B64_H
#define COMMON_B64_H

#include <stddef.h>

#include "error.h"
#include "strbuf.h"

void b64_encode(const void *data, size_t len, struct strbuf *out);
/* Strict decode (no whitespace); bad input is EXIT_USAGE naming what. */
err_t *b64_decode(const char *text, size_t len, const char *what, struct strbuf *out);

#endif
