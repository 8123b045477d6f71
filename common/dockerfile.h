/* Dockerfile parser: the one reader of Dockerfiles for the build frontend
 * (containerize) and the linter (docker-lint).
 *
 * It follows BuildKit's parser: parser directives at the top (# syntax=,
 * # escape=, # check=), comments (kept with their line numbers, including
 * those inside continuations, so linters can read pragmas), line
 * continuations with the escape character (comment and empty lines inside a
 * continuation are skipped), heredocs on RUN/COPY/ADD, case-insensitive
 * keywords, per-instruction flags and argument rules.
 *
 * The result is a flat list of instructions; stage grouping is left to the
 * consumer, with df_stages() as a helper. Errors are EXIT_USAGE and read
 * "file:line: message" (lines are 1-based).
 *
 * Word expansion ($var, ${var}, ${var:-x}, ${var:+x}, ${var-x}, ${var+x},
 * ${var:?x}, ${var?x}, and the glob trims ${var#p}, ${var##p}, ${var%p},
 * ${var%%p}) with quotes and escapes follows BuildKit's shell lexer;
 * variable values come from a lookup callback. */
#ifndef COMMON_DOCKERFILE_H
#define COMMON_DOCKERFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

enum df_keyword {
	DF_UNKNOWN = 0,
	DF_FROM,
	DF_RUN,
	DF_CMD,
	DF_ENTRYPOINT,
	DF_SHELL,
	DF_COPY,
	DF_ADD,
	DF_ENV,
	DF_ARG,
	DF_LABEL,
	DF_EXPOSE,
	DF_USER,
	DF_WORKDIR,
	DF_VOLUME,
	DF_STOPSIGNAL,
	DF_HEALTHCHECK,
	DF_ONBUILD,
	DF_MAINTAINER,
	DF_KEYWORD_COUNT
};

/* A --name[=value] flag before the arguments (quotes removed). value is
 * NULL for a bare boolean flag such as --link. */
struct df_flag {
	char *name;
	char *value;
};

/* One key of ENV, LABEL or ARG. value has quotes and escapes removed but
 * $variables kept as written (expand raw_value with df_expand_word for the
 * real value); both are NULL for an ARG without a default. */
struct df_kv {
	char *key;
	char *value;
	char *raw_value;
};

struct df_heredoc {
	char *name;     /* the terminator word, unquoted */
	char *body;     /* content lines, each ending in '\n'; leading tabs removed for <<- */
	bool chomp;     /* <<- */
	bool expand;    /* false when the name was quoted: no expansion in the body */
	int fd;         /* file descriptor before <<, -1 when none */
	int start_line; /* first body line; end_line is the terminator's line */
	int end_line;
};

struct df_instr {
	enum df_keyword kw;
	char *keyword;  /* as written, e.g. "run" */
	int start_line; /* 1-based, inclusive; covers continuations and heredocs */
	int end_line;
	char *raw;      /* the source text of those lines, exactly */
	char *line;     /* the logical line: continuations joined, comments inside dropped */
	char *rest;     /* the text after the keyword and its flags */
	struct df_flag *flags;
	size_t nflags;
	/* Arguments, per instruction:
	 *  FROM, EXPOSE: whitespace-separated words ("image", "AS", "name")
	 *  RUN, CMD, ENTRYPOINT, SHELL: JSON elements, or the one shell string
	 *  COPY, ADD, VOLUME: JSON elements, or words (quotes kept: expand them)
	 *  ENV, LABEL, ARG: the words as written; see kvs for the parsed pairs
	 *  USER, WORKDIR, STOPSIGNAL, MAINTAINER: the one string
	 *  HEALTHCHECK: "NONE", or "CMD" followed by the command as for CMD
	 *  ONBUILD: the trigger text; see sub */
	char **args;
	size_t nargs;
	bool json;               /* exec/JSON form */
	bool json_malformed;     /* began with '[' but was not a JSON string array */
	bool empty_continuation; /* an empty line inside a continuation (deprecated) */
	struct df_kv *kvs;
	size_t nkvs;
	bool legacy_kv;          /* ENV/LABEL "key value" form */
	struct df_heredoc *heredocs;
	size_t nheredocs;
	struct df_instr *sub;    /* ONBUILD's trigger instruction */
};

struct df_comment {
	int line;
	char *text; /* after '#', surrounding whitespace trimmed */
	bool directive;
};

struct df_directive {
	int line;
	char *name; /* lower case */
	char *value;
};

struct df_file {
	struct df_instr *instrs;
	size_t ninstrs;
	struct df_comment *comments;
	size_t ncomments;
	struct df_directive *directives;
	size_t ndirectives;
	char escape;        /* '\\' or '`' */
	const char *syntax; /* # syntax= value or NULL (points into directives) */
	const char *check;  /* # check= value or NULL */
};

/* Parse a whole Dockerfile. name is used in error messages. On error *out
 * is NULL and the error (EXIT_USAGE) reads "name:line: message". */
err_t *df_parse(const char *text, size_t len, const char *name, struct df_file **out);
/* DF_PARSE_LENIENT accepts what BuildKit would refuse but a linter wants
 * to report as findings: instructions before the first FROM, no FROM at
 * all, and ONBUILD triggers FROM/ONBUILD/MAINTAINER. */
#define DF_PARSE_LENIENT 1u
err_t *df_parse_opts(const char *text, size_t len, const char *name, unsigned flags, struct df_file **out);
void df_file_free(struct df_file *f);

const char *df_keyword_name(enum df_keyword kw); /* "RUN"; "?" for DF_UNKNOWN */
enum df_keyword df_keyword_lookup(const char *word); /* case-insensitive */

/* The value of the last flag of that name, NULL if absent; *present (may
 * be NULL) says whether it was given at all (bare boolean flags). */
const char *df_flag_get(const struct df_instr *in, const char *name, bool *present);
/* Value of key in kvs (last one wins), NULL if absent. */
const struct df_kv *df_kv_get(const struct df_instr *in, const char *key);

/* Stages: one per FROM. first/last are instruction indexes (first is the
 * FROM); base is the image word, name the AS name or NULL, platform the
 * --platform value or NULL. */
struct df_stage {
	size_t first, last;
	const char *base;
	const char *name;
	const char *platform;
};
/* Returns the number of stages; *out is allocated (free()) or NULL. */
size_t df_stages(const struct df_file *f, struct df_stage **out);

/* Word expansion. lookup returns a variable's value or NULL when unset.
 * With lookup == NULL, variable references are kept exactly as written
 * while quotes and escapes are still processed (unquoting only). */
typedef const char *(*df_lookup_fn)(const char *name, void *data);

/* One word: quotes and escapes removed, variables substituted, no
 * splitting. Errors (EXIT_USAGE) for unterminated quotes, a missing '}',
 * an unsupported modifier, or ${var:?msg} on an unset var. */
err_t *df_expand_word(const char *word, char escape, df_lookup_fn lookup, void *data, char **out);
/* Several words: split on unquoted whitespace, and on whitespace in the
 * values of unquoted variables (as BuildKit's ProcessWords). *out is a
 * NULL-terminated array; free with df_words_free. */
err_t *df_expand_words(const char *text, char escape, df_lookup_fn lookup, void *data, char ***out,
		       size_t *n);
void df_words_free(char **words);

/* Split text into words on unquoted whitespace, keeping quotes and escapes
 * as written (BuildKit's parseWords). NULL-terminated; df_words_free. */
char **df_split_words(const char *text, char escape, size_t *n);

#endif
