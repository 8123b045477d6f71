#include "b64.h"

#include <stdint.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void b64_encode(const void *data, size_t len, struct strbuf *out)
{
	const unsigned char *p = data;
	sb_grow(out, (len + 2) / 3 * 4);
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		sb_addc(out, alphabet[(v >> 18) & 63]);
		sb_addc(out, alphabet[(v >> 12) & 63]);
		sb_addc(out, i + 1 < len ? alphabet[(v >> 6) & 63] : '=');
		sb_addc(out, i + 2 < len ? alphabet[v & 63] : '=');
	}
}

static int value_of(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

err_t *b64_decode(const char *text, size_t len, const char *what, struct strbuf *out)
{
	if (len % 4)
		return err_new(EXIT_USAGE, "%s: not base64 (length %zu is not a multiple of 4)", what, len);
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		int pad = 0;
		for (int j = 0; j < 4; j++) {
			unsigned char c = (unsigned char)text[i + j];
			if (c == '=' && i + 4 == len && j >= 2) {
				v[j] = 0;
				pad++;
				continue;
			}
			if (pad)
				return err_new(EXIT_USAGE, "%s: not base64 (data after padding)", what);
			v[j] = value_of(c);
			if (v[j] < 0)
				return err_new(EXIT_USAGE, "%s: not base64 (byte %zu)", what, i + (size_t)j);
		}
		uint32_t n = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		sb_addc(out, (char)(n >> 16));
		if (pad < 2)
			sb_addc(out, (char)(n >> 8 & 0xff));
		if (pad < 1)
			sb_addc(out, (char)(n & 0xff));
	}
	return NULL;
}
