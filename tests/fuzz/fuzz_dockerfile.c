/* libFuzzer target for common/dockerfile: parse any bytes as a Dockerfile,
 * walk the result, and run word expansion over every argument. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dockerfile.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *lookup(const char *name, void *data)
{
	(void)data;
	return name[0] == 'A' ? "a b" : name[0] == 'E' ? "" : NULL;
}

static void expand_all(const char *s, char esc)
{
	char *out = NULL;
	err_t *e = df_expand_word(s, esc, lookup, NULL, &out);
	err_free(e);
	free(out);
	e = df_expand_word(s, esc, NULL, NULL, &out);
	err_free(e);
	free(out);
	char **words = NULL;
	size_t n = 0;
	e = df_expand_words(s, esc, lookup, NULL, &words, &n);
	err_free(e);
	df_words_free(words);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct df_file *f = NULL;
	err_t *e = df_parse((const char *)data, size, "fuzz", &f);
	if (e) {
		err_free(e);
		/* the raw bytes as one word too */
		char *s = xstrndup((const char *)data, size);
		expand_all(s, '\\');
		free(s);
		return 0;
	}
	for (size_t i = 0; i < f->ninstrs; i++) {
		const struct df_instr *in = &f->instrs[i];
		if (in->start_line < 1 || in->end_line < in->start_line)
			abort();
		for (size_t a = 0; a < in->nargs; a++)
			expand_all(in->args[a], f->escape);
		for (size_t k = 0; k < in->nkvs; k++)
			if (in->kvs[k].raw_value)
				expand_all(in->kvs[k].raw_value, f->escape);
		(void)df_flag_get(in, "from", NULL);
	}
	struct df_stage *st = NULL;
	size_t n = df_stages(f, &st);
	for (size_t i = 0; i < n; i++)
		if (st[i].first > st[i].last || st[i].last >= f->ninstrs)
			abort();
	free(st);
	df_file_free(f);
	return 0;
}
