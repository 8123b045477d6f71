/* pipeline-run's command line (see cli.h). */
#include "cli.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

err_t *cli_rewrite(int argc, char **argv, enum cli_command *cmd, int *out_argc, char ***out_argv)
{
	static const struct {
		const char *s, *l;
	} shorts[] = { { "-f", "--file" }, { "-p", "--param" }, { "-w", "--workspace" } };
	char **v = xcalloc((size_t)argc + 1, sizeof *v);
	int n = 0;
	*cmd = CLI_NONE;
	v[n++] = xstrdup(argv[0]);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool done = false;
		if (*cmd == CLI_NONE && (!strcmp(a, "taskrun") || !strcmp(a, "pipelinerun"))) {
			*cmd = !strcmp(a, "taskrun") ? CLI_TASKRUN : CLI_PIPELINERUN;
			continue;
		}
		for (size_t k = 0; k < sizeof shorts / sizeof *shorts && !done; k++) {
			if (strcmp(a, shorts[k].s))
				continue;
			if (i + 1 >= argc) {
				cli_free_argv(v);
				return err_new(EXIT_USAGE, "%s needs a value", a);
			}
			v[n++] = xasprintf("%s=%s", shorts[k].l, argv[++i]);
			done = true;
		}
		if (!done)
			v[n++] = xstrdup(a);
	}
	v[n] = NULL;
	*out_argc = n;
	*out_argv = v;
	return NULL;
}

void cli_free_argv(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

static err_t *split(const char *flag, const char *item, char **name, char **value)
{
	const char *eq = strchr(item, '=');
	if (!eq || eq == item)
		return err_new(EXIT_USAGE, "--%s '%s': expected NAME=VALUE", flag, item);
	*name = xstrndup(item, (size_t)(eq - item));
	*value = xstrdup(eq + 1);
	return NULL;
}

static err_t *json_value(const char *name, const char *text, enum tk_type want, struct tk_value *out)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	if (!j || (want == TK_ARRAY ? !json_is_array(j) : !json_is_object(j))) {
		json_decref(j);
		return err_new(EXIT_USAGE, "--param %s: the Task declares it %s: give it as JSON (%s)", name,
			       tk_type_name(want), want == TK_ARRAY ? "[\"a\",\"b\"]" : "{\"key\":\"value\"}");
	}
	size_t n = want == TK_ARRAY ? json_array_size(j) : json_object_size(j);
	out->type = want;
	out->items = xcalloc(n + 1, sizeof *out->items);
	if (want == TK_OBJECT)
		out->keys = xcalloc(n + 1, sizeof *out->keys);
	err_t *e = NULL;
	if (want == TK_ARRAY) {
		size_t i;
		json_t *it;
		json_array_foreach(j, i, it)
		{
			if (!json_is_string(it) && !e)
				e = err_new(EXIT_USAGE, "--param %s: array items must be strings", name);
			out->items[out->n++] = xstrdup(json_is_string(it) ? json_string_value(it) : "");
		}
	} else {
		const char *k;
		json_t *it;
		json_object_foreach(j, k, it)
		{
			if (!json_is_string(it) && !e)
				e = err_new(EXIT_USAGE, "--param %s: object members must be strings", name);
			out->keys[out->n] = xstrdup(k);
			out->items[out->n++] = xstrdup(json_is_string(it) ? json_string_value(it) : "");
		}
	}
	json_decref(j);
	return e;
}

err_t *cli_params(const struct params *p, const struct tk_task *task, struct tr_param **out, size_t *n)
{
	const char *const *items;
	size_t count = params_list(p, "param", &items);
	return cli_params_of(items, count, task, out, n);
}

err_t *cli_params_of(const char *const *items, size_t count, const struct tk_task *task, struct tr_param **out,
		     size_t *n)
{
	struct tr_param *v = xcalloc(count + 1, sizeof *v);
	*out = v;
	*n = 0;
	for (size_t i = 0; i < count; i++) {
		char *name, *value;
		TRY(split("param", items[i], &name, &value));
		struct tr_param *tp = &v[(*n)++];
		tp->name = name;
		for (size_t k = 0; k + 1 < *n; k++)
			if (!strcmp(v[k].name, name)) {
				free(value);
				return err_new(EXIT_USAGE, "--param %s is given twice", name);
			}
		const struct tk_param *decl = taskdef_param(task, name);
		if (decl && decl->type != TK_STRING) {
			err_t *e = json_value(name, value, decl->type, &tp->value);
			free(value);
			TRY(e);
			continue;
		}
		tp->value.type = TK_STRING;
		tp->value.str = value;
	}
	return NULL;
}

void cli_params_free(struct tr_param *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		tk_value_free(&v[i].value);
	}
	free(v);
}

static err_t *bindings_of(const struct params *p, const char *flag, bool secret, struct tr_binding **v, size_t *n)
{
	const char *const *items;
	size_t count = params_list(p, flag, &items);
	*v = xrealloc(*v, (*n + count + 1) * sizeof **v);
	for (size_t i = 0; i < count; i++) {
		struct tr_binding *b = &(*v)[*n];
		TRY(split(flag, items[i], &b->name, &b->dir));
		b->secret = secret;
		++*n;
		/* steps change directory (workingDir): a relative DIR would
		 * then name another place; Kubernetes volumes exist up front */
		char *abs = realpath(b->dir, NULL);
		if (!abs)
			return err_errno(EXIT_USAGE, "--%s %s=%s", flag, b->name, b->dir);
		free(b->dir);
		b->dir = abs;
		for (size_t k = 0; k + 1 < *n; k++)
			if (!strcmp((*v)[k].name, b->name))
				return err_new(EXIT_USAGE, "--%s %s: the name is bound twice", flag, b->name);
	}
	return NULL;
}

err_t *cli_bindings(const struct params *p, struct tr_binding **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	TRY(bindings_of(p, "workspace", false, out, n));
	return bindings_of(p, "secret-workspace", true, out, n);
}

err_t *cli_secrets(const struct params *p, struct tr_binding **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return bindings_of(p, "secret", true, out, n);
}

void cli_bindings_free(struct tr_binding *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].dir);
	}
	free(v);
}

err_t *cli_image_map(const struct params *p, struct image_map **out, size_t *n)
{
	const char *const *items;
	size_t count = params_list(p, "image-map", &items);
	*out = xcalloc(count + 1, sizeof **out);
	*n = 0;
	for (size_t i = 0; i < count; i++) {
		TRY(split("image-map", items[i], &(*out)[*n].image, &(*out)[*n].target));
		++*n;
	}
	return NULL;
}

void cli_image_map_free(struct image_map *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].image);
		free(v[i].target);
	}
	free(v);
}
