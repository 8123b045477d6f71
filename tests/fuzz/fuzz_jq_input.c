/* extract-value-jq's untrusted input: any bytes as a JSON value stream,
 * run through a path expression. Must never crash or leak. */
// fuzz-libs: -ljq -lonig -lm
#include <stdint.h>
#include <stdlib.h>

#include "jq_program.h"

static err_t *ignore(const char *text, size_t len, bool is_null, void *data)
{
	(void)text;
	(void)len;
	(void)is_null;
	(void)data;
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static struct jq_program *program;

static void free_program(void)
{
	jq_program_free(program); /* the jq state keeps its stack between runs */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!program) {
		struct jq_program_options opts = { 0 };
		err_t *e = jq_program_compile(".a[]?.b // .", &opts, &program);
		if (e)
			abort();
		atexit(free_program);
	}
	struct json_stream *s = json_stream_from_buffer((const char *)data, size, "fuzz");
	err_free(jq_program_run(program, s, true, ignore, NULL));
	json_stream_free(s);
	return 0;
}
