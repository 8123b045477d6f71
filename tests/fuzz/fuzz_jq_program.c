/* The expression param: any bytes as a jq program must compile or be
 * refused with an error, never crash. */
// fuzz-libs: -ljq -lonig -lm
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jq_program.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	struct jq_program_options opts = { 0 };
	struct jq_program *program = NULL;
	err_t *e = jq_program_compile(text, &opts, &program);
	err_free(e);
	jq_program_free(program);
	free(text);
	return 0;
}
