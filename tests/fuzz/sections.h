/* Fuzz inputs that hold several files: the parts are separated by a line
 * "--" ("a\n--\nb"), so seeds stay readable and the fuzzer can grow or
 * shrink any part. Each part is NUL-terminated in a private copy. */
#ifndef FUZZ_SECTIONS_H
#define FUZZ_SECTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define SECTIONS_MAX 8

struct sections {
	char *copy;
	const char *part[SECTIONS_MAX];
	size_t len[SECTIONS_MAX];
	size_t n; /* parts found (at least 1); the last one runs to the end */
};

static inline void sections_split(const uint8_t *data, size_t size, struct sections *s)
{
	s->copy = xmalloc(size + 1);
	memcpy(s->copy, data, size);
	s->copy[size] = '\0';
	char *p = s->copy, *end = s->copy + size;
	s->n = 0;
	for (;;) {
		s->part[s->n] = p;
		char *sep = s->n + 1 < SECTIONS_MAX ? memmem(p, (size_t)(end - p), "\n--\n", 4) : NULL;
		if (!sep) {
			s->len[s->n++] = (size_t)(end - p);
			return;
		}
		*sep = '\0';
		s->len[s->n++] = (size_t)(sep - p);
		p = sep + 4;
	}
}

/* Part i, or "" when the input has fewer parts. */
static inline const char *sections_get(const struct sections *s, size_t i, size_t *len)
{
	if (i >= s->n) {
		*len = 0;
		return "";
	}
	*len = s->len[i];
	return s->part[i];
}

static inline void sections_release(struct sections *s)
{
	free(s->copy);
}

#endif
