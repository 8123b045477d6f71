/* libFuzzer target for the catalog jq drop-in's reading of its params
 * (tasks/extract-value-jq/jqcli.c), which come from any PipelineRun: the
 * options string as jq's flags, and text as the catalog's shell step reads
 * it between double or single quotes. Any bytes: no crash, no leak; text
 * accepted between double quotes is never longer than given, and jq's
 * --indent stays within what libjq's dump flags hold. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../tasks/extract-value-jq/jqcli.h"

// fuzz-sources: tasks/extract-value-jq/jqcli.c

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0'; /* params are C strings: a NUL ends them */

	struct jqcli cli;
	err_t *e = jqcli_parse(text, &cli);
	if (!e) {
		if (cli.format.dump_flags & ~(JV_PRINT_PRETTY | JV_PRINT_ASCII | JV_PRINT_COLOR | JV_PRINT_SORTED |
					      JV_PRINT_TAB | JV_PRINT_INDENT_FLAGS(7)))
			abort();
		for (size_t i = 0; i < cli.nargs; i++)
			if (!strchr(cli.args[i], '='))
				abort();
		jqcli_release(&cli);
	}
	err_free(e);

	char *out = NULL;
	e = jqcli_shell_dquoted("input", text, &out);
	if (!e && strlen(out) > strlen(text))
		abort();
	free(out);
	err_free(e);
	err_free(jqcli_shell_squoted("filter", text));
	free(text);
	return 0;
}
