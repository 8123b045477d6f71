/* jq's command line as the tektoncd catalog's jq Task gives it: its
 * options param (jq 1.6's flags, parsed here rather than by a jq binary)
 * and its params as its shell step reads them. */
#ifndef EXTRACT_VALUE_JQ_JQCLI_H
#define EXTRACT_VALUE_JQ_JQCLI_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "jq_program.h"

struct jqcli {
	struct jq_format format; /* jq's default (indented) unless changed */
	bool slurp;              /* -s */
	bool null_input;         /* -n */
	bool exit_status;        /* -e */
	char **args;             /* --arg NAME VALUE as "NAME=VALUE" */
	size_t nargs;
	char **argjson; /* --argjson NAME JSON as "NAME=JSON" */
	size_t nargjson;
};

/* Parse jq options split at blanks: -r -j -c -S -C -M -a -s -n -e,
 * clusters of them (-rc), their long forms, --tab, --indent N, --arg NAME
 * VALUE, --argjson NAME JSON, --unbuffered. Any other option is refused by
 * name (EXIT_USAGE), as is anything that is not an option. */
err_t *jqcli_parse(const char *options, struct jqcli *out);
void jqcli_release(struct jqcli *c);

/* text as the shell reads it between double quotes ("$(params.x)" in the
 * catalog Task's script, after Tekton substituted it): \" \\ \$ \` stand
 * for the character and backslash-newline for nothing. An unescaped '"'
 * (it would end the quoted word), '`' or '$' starting an expansion is
 * refused, naming the param: the shell would have changed the text. */
err_t *jqcli_shell_dquoted(const char *param, const char *text, char **out);
/* text between single quotes ('$(params.filter)'): refused if it holds a
 * single quote. */
err_t *jqcli_shell_squoted(const char *param, const char *text);

#endif
