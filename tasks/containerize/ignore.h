/* .dockerignore: which files of the build context COPY and ADD may see.
 * Patterns as Docker reads them: one per line, '#' comments, leading '/'
 * and "./" dropped, cleaned; '*', '?', '[...]' within a path component,
 * '**' across any number of components, '!' re-includes; the last matching
 * pattern wins, and a pattern matching a directory covers all under it.
 * Also the glob matching of COPY sources (one component at a time). */
#ifndef CONTAINERIZE_IGNORE_H
#define CONTAINERIZE_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct ignore;

/* Read <context>/.dockerignore (missing: nothing is ignored). */
err_t *ignore_load(const char *context_dir, struct ignore **out);
/* From text (tests). */
struct ignore *ignore_parse(const char *text);
void ignore_free(struct ignore *ig);
/* Is the context-relative path (no leading "/") excluded? */
bool ignore_match(const struct ignore *ig, const char *path);
/* Could anything below the excluded directory path be re-included by a
 * '!' pattern? (false: the walk may skip the whole directory) */
bool ignore_may_reinclude(const struct ignore *ig, const char *dir);
/* Does the text contain '*', '?' or '['? */
bool glob_has_magic(const char *s);
/* fnmatch-like match of one path against a pattern, '/' never matched by
 * wildcards, "**" (whole component) matching any number of components. */
bool glob_match(const char *pattern, const char *path);

#endif
