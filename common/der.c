#include "der.h"

#include <openssl/asn1.h>

int der_next(const unsigned char **p, long *left, int *tag, int *cls, long *len)
{
	const unsigned char *start = *p;
	int r = ASN1_get_object(p, len, tag, cls, *left);
	if (r & 0x80)
		return -1;
	*left -= (long)(*p - start);
	return *len <= *left ? r : -1;
}

bool der_skip(const unsigned char **p, long *left)
{
	int tag, cls;
	long len;
	if (der_next(p, left, &tag, &cls, &len) < 0)
		return false;
	*p += len;
	*left -= len;
	return true;
}
