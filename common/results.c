#include "results.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "xalloc.h"

struct result_value {
	char *data; /* NULL: not set */
	size_t len;
};

struct results {
	const struct task_spec *spec;
	struct result_value *values;
	bool verdict;
};

static size_t result_count(const struct task_spec *spec)
{
	size_t n = 0;
	while (spec->results[n].name)
		n++;
	return n;
}

static size_t result_index(const struct task_spec *spec, const char *name)
{
	for (size_t i = 0; spec->results[i].name; i++)
		if (!strcmp(spec->results[i].name, name))
			return i;
	fprintf(stderr, "bug: result '%s' is not declared\n", name);
	abort();
}

struct results *results_new(const struct task_spec *spec)
{
	struct results *r = xcalloc(1, sizeof *r);
	r->spec = spec;
	r->values = xcalloc(result_count(spec) + 1, sizeof *r->values);
	return r;
}

void results_free(struct results *r)
{
	if (!r)
		return;
	for (size_t i = 0; r->spec->results[i].name; i++)
		free(r->values[i].data);
	free(r->values);
	free(r);
}

void results_set(struct results *r, const char *name, const char *value, size_t len)
{
	struct result_value *v = &r->values[result_index(r->spec, name)];
	free(v->data);
	v->data = xmalloc(len + 1);
	memcpy(v->data, value, len);
	v->data[len] = '\0';
	v->len = len;
}

void results_sets(struct results *r, const char *name, const char *value)
{
	results_set(r, name, value, strlen(value));
}

void results_set_artifact(struct results *r, const char *uri, const char *digest)
{
	json_t *o = json_pack("{s:s, s:s}", "uri", uri, "digest", digest);
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (!s)
		abort(); /* only out of memory or invalid UTF-8 from our own refs */
	results_sets(r, "ARTIFACT_OUTPUTS", s);
	free(s);
	json_decref(o);
}

void results_mark_verdict(struct results *r)
{
	r->verdict = true;
}

bool results_are_verdict(const struct results *r)
{
	return r->verdict;
}

const char *results_get(const struct results *r, const char *name)
{
	return r->values[result_index(r->spec, name)].data;
}

const char *results_get_len(const struct results *r, const char *name, size_t *len)
{
	const struct result_value *v = &r->values[result_index(r->spec, name)];
	*len = v->len;
	return v->data;
}

const struct task_spec *results_spec(const struct results *r)
{
	return r->spec;
}

err_t *results_commit(const struct results *r, const char *dir)
{
	TRY(fs_mkdir_p(dir, 0755));
	for (size_t i = 0; r->spec->results[i].name; i++) {
		if (!r->values[i].data)
			continue;
		err_t *e = fs_write_atomic(dir, r->spec->results[i].name, r->values[i].data, r->values[i].len, 0644);
		if (!e)
			continue;
		for (size_t j = 0; j < i; j++) {
			if (!r->values[j].data)
				continue;
			_cleanup_free_ char *path = xasprintf("%s/%s", dir, r->spec->results[j].name);
			unlink(path);
		}
		return err_wrap(e, "cannot write results");
	}
	return NULL;
}
