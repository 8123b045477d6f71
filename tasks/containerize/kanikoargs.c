/* kaniko executor flags translated to containerize's (see kanikoargs.h). */
#include "kanikoargs.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static void append(const char ***arr, size_t *n, const char *v)
{
	*arr = xrealloc(*arr, (*n + 1) * sizeof **arr);
	(*arr)[(*n)++] = v;
}

/* "true"/"false" of "--flag=VALUE", or true for a bare "--flag" */
static err_t *flag_bool(const char *flag, const char *value, bool *out)
{
	if (!value || strcmp(value, "true") == 0)
		*out = true;
	else if (strcmp(value, "false") == 0)
		*out = false;
	else
		return err_new(EXIT_USAGE, "EXTRA_ARGS: kaniko flag %s=%s: expected true or false", flag, value);
	return NULL;
}

static bool is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && memcmp(name, want, len) == 0;
}

/* name (len bytes) with its inline value ("--flag=v") or NULL; next: the
 * following item, the value of a valued flag given as "--flag v" */
static err_t *one(struct kaniko_args *k, const char *name, size_t len, const char *inline_value, const char *next,
		  bool *took_next)
{
	const char *const valued[] = { "--build-arg", "--label", "--target", "--cache-repo", "--registry-certificate",
				       NULL };
	const char *value = inline_value;
	*took_next = false;
	for (size_t i = 0; valued[i]; i++) {
		if (!is(name, len, valued[i]))
			continue;
		if (!value) {
			value = next;
			*took_next = next != NULL;
		}
		if (!value || !*value)
			return err_new(EXIT_USAGE, "EXTRA_ARGS: kaniko flag %s needs a value", valued[i]);
		break;
	}
	bool b = false;
	if (is(name, len, "--build-arg")) {
		append(&k->build_args, &k->nbuild_args, value);
	} else if (is(name, len, "--label")) {
		append(&k->labels, &k->nlabels, value);
	} else if (is(name, len, "--target")) {
		k->target = value;
	} else if (is(name, len, "--cache-repo")) {
		k->cache_repo = value;
	} else if (is(name, len, "--registry-certificate")) {
		const char *eq = strchr(value, '=');
		if (!eq || eq == value || !eq[1])
			return err_new(EXIT_USAGE, "EXTRA_ARGS: --registry-certificate=%s: expected REGISTRY=PATH", value);
		if (k->ca_file)
			return err_new(EXIT_USAGE, "EXTRA_ARGS: --registry-certificate is given twice; give one CA "
						   "bundle, trusted for every registry");
		k->ca_file = eq + 1;
	} else if (is(name, len, "--skip-tls-verify") || is(name, len, "--skip-tls-verify-pull") ||
		   is(name, len, "--insecure") || is(name, len, "--insecure-pull")) {
		TRY(flag_bool("--skip-tls-verify", value, &b));
		k->insecure = k->insecure || b;
	} else if (is(name, len, "--no-push")) {
		TRY(flag_bool("--no-push", value, &b));
		k->no_push = b;
	} else if (is(name, len, "--cache") || is(name, len, "--reproducible")) {
		/* accepted whatever their value: layers are always cached by
		 * digest, and file times come from source-date-epoch */
		TRY(flag_bool("--cache", value, &b));
	} else {
		return err_new(EXIT_USAGE, "EXTRA_ARGS: kaniko flag %.*s is not supported by this task", (int)len, name);
	}
	return NULL;
}

err_t *kaniko_args_parse(const char *const *items, size_t n, struct kaniko_args *out)
{
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < n; i++) {
		const char *it = items[i];
		if (!*it)
			continue;
		err_t *e = NULL;
		if (strncmp(it, "--", 2) != 0) {
			e = err_new(EXIT_USAGE, "EXTRA_ARGS: '%s' is not a kaniko flag", it);
		} else {
			const char *eq = strchr(it, '=');
			size_t len = eq ? (size_t)(eq - it) : strlen(it);
			const char *next = i + 1 < n && strncmp(items[i + 1], "--", 2) != 0 ? items[i + 1] : NULL;
			bool took_next = false;
			e = one(out, it, len, eq ? eq + 1 : NULL, next, &took_next);
			if (took_next)
				i++;
		}
		if (e) {
			kaniko_args_release(out);
			return e;
		}
	}
	return NULL;
}

void kaniko_args_release(struct kaniko_args *k)
{
	free(k->build_args);
	free(k->labels);
	memset(k, 0, sizeof *k);
}
