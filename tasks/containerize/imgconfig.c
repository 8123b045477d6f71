/* The OCI image config a build edits (see imgconfig.h). */
#include "imgconfig.h"

#include <string.h>

#include "xalloc.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static void ensure_parts(struct imgconfig *c)
{
	if (!json_is_object(json_object_get(c->doc, "config")))
		json_object_set_new(c->doc, "config", json_object());
	if (!json_is_array(json_object_get(c->doc, "history")))
		json_object_set_new(c->doc, "history", json_array());
	c->config = json_object_get(c->doc, "config");
	c->history = json_object_get(c->doc, "history");
}

void imgconfig_scratch(struct imgconfig *c, const char *os, const char *arch, const char *variant)
{
	c->doc = json_object();
	json_object_set_new(c->doc, "created", json_string("1970-01-01T00:00:00Z"));
	json_object_set_new(c->doc, "architecture", json_string(arch));
	if (variant && *variant)
		json_object_set_new(c->doc, "variant", json_string(variant));
	json_object_set_new(c->doc, "os", json_string(os));
	json_t *cfg = json_object();
	json_t *env = json_array();
	json_array_append_new(env, json_string(DEFAULT_PATH));
	json_object_set_new(cfg, "Env", env);
	json_object_set_new(c->doc, "config", cfg);
	json_t *rootfs = json_object();
	json_object_set_new(rootfs, "type", json_string("layers"));
	json_object_set_new(rootfs, "diff_ids", json_array());
	json_object_set_new(c->doc, "rootfs", rootfs);
	json_object_set_new(c->doc, "history", json_array());
	ensure_parts(c);
}

err_t *imgconfig_load(struct imgconfig *c, const char *json, size_t len)
{
	json_error_t jerr;
	json_t *doc = json_loadb(json, len, 0, &jerr);
	if (!doc || !json_is_object(doc)) {
		json_decref(doc);
		return err_new(EXIT_FAILED, "base image config is not a JSON object: %s", jerr.text);
	}
	c->doc = doc;
	/* Docker's container_config and friends are not carried over */
	json_object_del(doc, "container_config");
	json_object_del(doc, "container");
	json_object_del(doc, "docker_version");
	json_object_del(doc, "id");
	json_object_del(doc, "parent");
	ensure_parts(c);
	json_t *env = json_object_get(c->config, "Env");
	if (env && !json_is_array(env))
		json_object_del(c->config, "Env");
	return NULL;
}

void imgconfig_copy(struct imgconfig *dst, const struct imgconfig *src)
{
	dst->doc = json_deep_copy(src->doc);
	ensure_parts(dst);
}

void imgconfig_release(struct imgconfig *c)
{
	json_decref(c->doc);
	c->doc = c->config = c->history = NULL;
}

const char **imgconfig_env(const struct imgconfig *c, size_t *n)
{
	json_t *env = json_object_get(c->config, "Env");
	size_t cnt = json_is_array(env) ? json_array_size(env) : 0;
	const char **v = xcalloc(cnt + 1, sizeof *v);
	size_t k = 0;
	for (size_t i = 0; i < cnt; i++) {
		const char *s = json_string_value(json_array_get(env, i));
		if (s)
			v[k++] = s;
	}
	*n = k;
	return v;
}

const char *imgconfig_getenv(const struct imgconfig *c, const char *name)
{
	json_t *env = json_object_get(c->config, "Env");
	size_t nl = strlen(name);
	for (size_t i = 0; json_is_array(env) && i < json_array_size(env); i++) {
		const char *s = json_string_value(json_array_get(env, i));
		if (s && strncmp(s, name, nl) == 0 && s[nl] == '=')
			return s + nl + 1;
	}
	return NULL;
}

void imgconfig_setenv(struct imgconfig *c, const char *name, const char *value)
{
	json_t *env = json_object_get(c->config, "Env");
	if (!json_is_array(env)) {
		env = json_array();
		json_object_set_new(c->config, "Env", env);
	}
	char *kv = xasprintf("%s=%s", name, value);
	size_t nl = strlen(name);
	for (size_t i = 0; i < json_array_size(env); i++) {
		const char *s = json_string_value(json_array_get(env, i));
		if (s && strncmp(s, name, nl) == 0 && s[nl] == '=') {
			json_array_set_new(env, i, json_string(kv));
			free(kv);
			return;
		}
	}
	json_array_append_new(env, json_string(kv));
	free(kv);
}

void imgconfig_set_string(struct imgconfig *c, const char *key, const char *value)
{
	if (value)
		json_object_set_new(c->config, key, json_string(value));
	else
		json_object_del(c->config, key);
}

void imgconfig_set_array(struct imgconfig *c, const char *key, const char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	json_object_set_new(c->config, key, a);
}

void imgconfig_set_null(struct imgconfig *c, const char *key)
{
	json_object_del(c->config, key);
}

void imgconfig_add_to_set(struct imgconfig *c, const char *key, const char *member)
{
	json_t *o = json_object_get(c->config, key);
	if (!json_is_object(o)) {
		o = json_object();
		json_object_set_new(c->config, key, o);
	}
	json_object_set_new(o, member, json_object());
}

void imgconfig_set_label(struct imgconfig *c, const char *key, const char *value)
{
	json_t *o = json_object_get(c->config, "Labels");
	if (!json_is_object(o)) {
		o = json_object();
		json_object_set_new(c->config, "Labels", o);
	}
	json_object_set_new(o, key, json_string(value));
}

const char *imgconfig_get_string(const struct imgconfig *c, const char *key)
{
	return json_string_value(json_object_get(c->config, key));
}

void imgconfig_add_history(struct imgconfig *c, const char *created, const char *created_by, bool empty_layer)
{
	json_t *h = json_object();
	json_object_set_new(h, "created", json_string(created));
	json_object_set_new(h, "created_by", json_string(created_by));
	if (empty_layer)
		json_object_set_new(h, "empty_layer", json_true());
	json_array_append_new(c->history, h);
}

void imgconfig_finish(struct imgconfig *c, const char *created, const char *const *diff_ids, size_t n)
{
	json_object_set_new(c->doc, "created", json_string(created));
	json_t *rootfs = json_object();
	json_object_set_new(rootfs, "type", json_string("layers"));
	json_t *ids = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(ids, json_string(diff_ids[i]));
	json_object_set_new(rootfs, "diff_ids", ids);
	json_object_set_new(c->doc, "rootfs", rootfs);
}
