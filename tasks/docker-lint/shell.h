/* A small POSIX shell reader for RUN commands: enough structure (simple
 * commands, their words, the operators between them, redirections, quoting
 * and expansions) for the lint rules and the ShellCheck-style checks. It is
 * not an interpreter: compound commands are flattened into the simple
 * commands they contain, and keywords (if, then, do, ...) are skipped. */
#ifndef DOCKER_LINT_SHELL_H
#define DOCKER_LINT_SHELL_H

#include <stdbool.h>
#include <stddef.h>

enum sh_sep {
	SH_END,  /* end of script */
	SH_SEMI, /* ; or newline */
	SH_AND,  /* && */
	SH_OR,   /* || */
	SH_PIPE, /* | or |& */
	SH_BG,   /* & */
	SH_GROUP /* ( ) { } boundaries */
};

struct sh_word {
	char *text;          /* quotes removed, expansions kept as written */
	bool quoted;         /* some part was quoted */
	bool unquoted_var;   /* $name / ${name} outside quotes */
	bool unquoted_subst; /* $(...) or `...` outside quotes */
	bool glob;           /* unquoted * ? [ */
};

struct sh_cmd {
	struct sh_word *words; /* arguments, redirections removed */
	size_t nwords;
	size_t name;      /* index of the command name (after assignments); == nwords if none */
	enum sh_sep sep;  /* operator after this command */
	enum sh_sep prev; /* operator before it (SH_END for the first) */
};

struct sh_script {
	struct sh_cmd *cmds;
	size_t n;
};

void sh_parse(const char *text, struct sh_script *out);
void sh_release(struct sh_script *s);

/* The command name ("" when the command is only assignments). */
const char *sh_name(const struct sh_cmd *c);
/* argument i after the name (0-based), or NULL */
const char *sh_arg(const struct sh_cmd *c, size_t i);
size_t sh_nargs(const struct sh_cmd *c);
/* An option among the arguments: a short letter inside a "-abc" cluster or
 * an exact long "--name" (also "--name=value"). Either may be NULL. Stops
 * at "--". */
bool sh_has_opt(const struct sh_cmd *c, const char *shorts, const char *const *longs);
/* The positional arguments, skipping options; options listed in
 * with_value (e.g. "-o", "--target") take the next word as their value.
 * Returns a NULL-terminated array of pointers into c (free() the array). */
const char **sh_positionals(const struct sh_cmd *c, const char *const *with_value, size_t *n);
/* Whether any command in the script is named name (with optional first
 * positional subcommand sub, which may be NULL). */
bool sh_uses(const struct sh_script *s, const char *name, const char *sub);

#endif
