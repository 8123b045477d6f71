/* Walking DER without decoding it: the elements of a structure one by one
 * (OpenSSL's ASN1_get_object, with the bounds a caller needs checked). */
#ifndef COMMON_DER_H
#define COMMON_DER_H

#include <stdbool.h>

/* The next element at *p, within *left bytes: its tag, class and content
 * length; *p moves to its content and *left shrinks by its header. Returns
 * ASN1_get_object's flags (V_ASN1_CONSTRUCTED, and 1 for an indefinite
 * length), or -1 when the header is malformed or the content runs past
 * *left. */
int der_next(const unsigned char **p, long *left, int *tag, int *cls, long *len);
/* Step over the next element whole; false as der_next fails. */
bool der_skip(const unsigned char **p, long *left);

#endif
