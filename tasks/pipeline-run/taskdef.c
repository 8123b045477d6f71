/* Tekton v1 Task YAML -> struct tk_task, with Tekton's Task validation
 * (see taskdef.h). */
#include "taskdef.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "strbuf.h"
#include "xalloc.h"

#define TASK_FILE_MAX (4u << 20)

struct ctx {
	const char *file;
};

err_t *taskdef_bad(const char *file, const struct ydoc_node *n, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	err_t *e = err_new(EXIT_USAGE, "%s:%d: %s", file, n ? n->line : 1, sb_str(&sb));
	sb_release(&sb);
	return e;
}

/* Tekton: "must only contain alphanumeric characters, hyphens (-),
 * underscores (_), and dots (.), and must begin with a letter or an
 * underscore (_)" */
static bool param_name_ok(const char *s)
{
	if (!(isalpha((unsigned char)*s) || *s == '_'))
		return false;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '-' || *s == '.'))
			return false;
	return true;
}

/* Tekton's result name: ^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$ */
static bool result_name_ok(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return false;
	return true;
}

const char *tk_type_name(enum tk_type t)
{
	return t == TK_ARRAY ? "array" : t == TK_OBJECT ? "object" : "string";
}

static err_t *parse_type(const struct ctx *c, const struct ydoc_node *n, enum tk_type *out)
{
	const char *s = ydoc_str(n);
	if (!s || !strcmp(s, "string"))
		*out = TK_STRING;
	else if (!strcmp(s, "array"))
		*out = TK_ARRAY;
	else if (!strcmp(s, "object"))
		*out = TK_OBJECT;
	else
		return taskdef_bad(c->file, n, "type '%s' is not string, array or object", s);
	return NULL;
}

/* Scalars only: numbers and booleans are strings to Tekton. */
static err_t *want_str(const struct ctx *c, const struct ydoc_node *n, const char *what, char **out)
{
	n = ydoc_deref(n);
	if (!n || ydoc_is_null(n)) {
		*out = NULL;
		return NULL;
	}
	if (n->kind != YDOC_SCALAR)
		return taskdef_bad(c->file, n, "%s must be a string", what);
	*out = xstrdup(n->value);
	return NULL;
}

static err_t *want_value(const struct ctx *c, const struct ydoc_node *n, const char *what, struct tk_value *out)
{
	n = ydoc_deref(n);
	memset(out, 0, sizeof *out);
	if (ydoc_is_seq(n)) {
		out->type = TK_ARRAY;
		out->n = ydoc_count(n);
		out->items = xcalloc(out->n + 1, sizeof *out->items);
		for (size_t i = 0; i < out->n; i++) {
			const struct ydoc_node *it = ydoc_deref(ydoc_item(n, i));
			if (!it || it->kind != YDOC_SCALAR)
				return taskdef_bad(c->file, it ? it : n, "%s: array items must be strings", what);
			out->items[i] = xstrdup(it->value);
		}
		return NULL;
	}
	if (ydoc_is_map(n)) {
		out->type = TK_OBJECT;
		out->n = ydoc_count(n);
		out->items = xcalloc(out->n + 1, sizeof *out->items);
		out->keys = xcalloc(out->n + 1, sizeof *out->keys);
		for (size_t i = 0; i < out->n; i++) {
			const struct ydoc_node *k = ydoc_deref(ydoc_key(n, i)), *v = ydoc_deref(ydoc_value(n, i));
			if (!k || k->kind != YDOC_SCALAR || !v || v->kind != YDOC_SCALAR)
				return taskdef_bad(c->file, k ? k : n, "%s: object members must be strings", what);
			out->keys[i] = xstrdup(k->value);
			out->items[i] = xstrdup(v->value);
		}
		return NULL;
	}
	out->type = TK_STRING;
	out->str = xstrdup(n && n->kind == YDOC_SCALAR ? n->value : "");
	return NULL;
}

void tk_value_free(struct tk_value *v)
{
	free(v->str);
	for (size_t i = 0; i < v->n; i++) {
		free(v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	memset(v, 0, sizeof *v);
}

void tk_value_copy(struct tk_value *dst, const struct tk_value *src)
{
	memset(dst, 0, sizeof *dst);
	dst->type = src->type;
	dst->str = src->str ? xstrdup(src->str) : NULL;
	dst->n = src->n;
	if (src->items) {
		dst->items = xcalloc(src->n + 1, sizeof *dst->items);
		for (size_t i = 0; i < src->n; i++)
			dst->items[i] = xstrdup(src->items[i]);
	}
	if (src->keys) {
		dst->keys = xcalloc(src->n + 1, sizeof *dst->keys);
		for (size_t i = 0; i < src->n; i++)
			dst->keys[i] = xstrdup(src->keys[i]);
	}
}

static err_t *want_strs(const struct ctx *c, const struct ydoc_node *n, const char *what, struct tk_strs *out)
{
	n = ydoc_deref(n);
	if (!n || ydoc_is_null(n))
		return NULL;
	if (!ydoc_is_seq(n))
		return taskdef_bad(c->file, n, "%s must be a list of strings", what);
	out->n = ydoc_count(n);
	out->v = xcalloc(out->n + 1, sizeof *out->v);
	out->lines = xcalloc(out->n + 1, sizeof *out->lines);
	for (size_t i = 0; i < out->n; i++) {
		const struct ydoc_node *it = ydoc_deref(ydoc_item(n, i));
		if (!it || it->kind != YDOC_SCALAR)
			return taskdef_bad(c->file, it ? it : n, "%s: items must be strings", what);
		out->v[i] = xstrdup(it->value);
		out->lines[i] = it->line;
	}
	return NULL;
}

static void strs_free(struct tk_strs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	free(s->lines);
	memset(s, 0, sizeof *s);
}

/* Fields this runner does not implement are refused, not ignored: a Task
 * that relies on them would behave differently here than in a cluster. */
static err_t *known_keys(const struct ctx *c, const struct ydoc_node *map, const char *what, const char *const *keys)
{
	for (size_t i = 0; i < ydoc_count(map); i++) {
		const char *k = ydoc_str(ydoc_key(map, i));
		bool ok = false;
		for (size_t j = 0; k && keys[j] && !ok; j++)
			ok = !strcmp(k, keys[j]);
		if (!ok)
			return taskdef_bad(c->file, ydoc_key(map, i), "%s: field '%s' is unknown or not supported by pipeline-run", what,
				   k ? k : "?");
	}
	return NULL;
}

static err_t *tri(const struct ctx *c, const struct ydoc_node *map, const char *key, int *out)
{
	const struct ydoc_node *n = ydoc_deref(ydoc_get(map, key));
	bool b;
	*out = -1;
	if (!n)
		return NULL;
	if (!ydoc_bool(n, &b))
		return taskdef_bad(c->file, n, "securityContext.%s must be true or false", key);
	*out = b;
	return NULL;
}

static err_t *parse_security(const struct ctx *c, const struct ydoc_node *n, struct tk_security *s)
{
	static const char *const keys[] = { "runAsNonRoot", "runAsUser", "runAsGroup", "allowPrivilegeEscalation",
					    "readOnlyRootFilesystem", "privileged", "capabilities",
					    "seccompProfile", NULL };
	memset(s, 0, sizeof *s);
	s->run_as_user = s->run_as_group = -1;
	s->run_as_non_root = s->allow_privilege_escalation = s->read_only_root = s->privileged = -1;
	n = ydoc_deref(n);
	if (!n)
		return NULL;
	if (!ydoc_is_map(n))
		return taskdef_bad(c->file, n, "securityContext must be a mapping");
	s->present = true;
	s->line = n->line;
	TRY(known_keys(c, n, "securityContext", keys));
	TRY(tri(c, n, "runAsNonRoot", &s->run_as_non_root));
	TRY(tri(c, n, "allowPrivilegeEscalation", &s->allow_privilege_escalation));
	TRY(tri(c, n, "readOnlyRootFilesystem", &s->read_only_root));
	TRY(tri(c, n, "privileged", &s->privileged));
	const struct ydoc_node *u = ydoc_deref(ydoc_get(n, "runAsUser"));
	if (u) {
		if (!ydoc_int(u, &s->run_as_user))
			return taskdef_bad(c->file, u, "securityContext.runAsUser must be an integer");
		s->user_line = u->line;
	}
	const struct ydoc_node *g = ydoc_deref(ydoc_get(n, "runAsGroup"));
	if (g && !ydoc_int(g, &s->run_as_group))
		return taskdef_bad(c->file, g, "securityContext.runAsGroup must be an integer");
	const struct ydoc_node *caps = ydoc_deref(ydoc_get(n, "capabilities"));
	if (caps) {
		static const char *const cap_keys[] = { "add", "drop", NULL };
		if (!ydoc_is_map(caps))
			return taskdef_bad(c->file, caps, "securityContext.capabilities must be a mapping");
		TRY(known_keys(c, caps, "capabilities", cap_keys));
		TRY(want_strs(c, ydoc_get(caps, "drop"), "capabilities.drop", &s->cap_drop));
		TRY(want_strs(c, ydoc_get(caps, "add"), "capabilities.add", &s->cap_add));
	}
	const struct ydoc_node *sp = ydoc_deref(ydoc_get(n, "seccompProfile"));
	if (sp) {
		if (!ydoc_is_map(sp))
			return taskdef_bad(c->file, sp, "securityContext.seccompProfile must be a mapping");
		s->seccomp_line = sp->line;
		TRY(want_str(c, ydoc_get(sp, "type"), "seccompProfile.type", &s->seccomp_type));
		TRY(want_str(c, ydoc_get(sp, "localhostProfile"), "seccompProfile.localhostProfile",
			     &s->seccomp_localhost));
	}
	return NULL;
}

static void security_free(struct tk_security *s)
{
	strs_free(&s->cap_drop);
	strs_free(&s->cap_add);
	free(s->seccomp_type);
	free(s->seccomp_localhost);
}

static err_t *parse_env(const struct ctx *c, const struct ydoc_node *n, struct tk_env *env)
{
	static const char *const keys[] = { "name", "value", "valueFrom", NULL };
	if (!ydoc_is_map(n))
		return taskdef_bad(c->file, n, "env items must be mappings");
	env->line = n->line;
	TRY(known_keys(c, n, "env", keys));
	TRY(want_str(c, ydoc_get(n, "name"), "env.name", &env->name));
	if (!env->name)
		return taskdef_bad(c->file, n, "env: missing field 'name'");
	TRY(want_str(c, ydoc_get(n, "value"), "env.value", &env->value));
	const struct ydoc_node *vf = ydoc_deref(ydoc_get(n, "valueFrom"));
	if (!vf) {
		if (!env->value)
			env->value = xstrdup("");
		return NULL;
	}
	if (env->value)
		return taskdef_bad(c->file, vf, "env %s: 'value' and 'valueFrom' are mutually exclusive (Kubernetes)", env->name);
	if (!ydoc_is_map(vf) || ydoc_count(vf) != 1)
		return taskdef_bad(c->file, vf, "env %s: valueFrom must hold exactly one source (Kubernetes)", env->name);
	const struct ydoc_node *src = ydoc_deref(ydoc_value(vf, 0));
	env->from_kind = xstrdup(ydoc_str(ydoc_key(vf, 0)) ? ydoc_str(ydoc_key(vf, 0)) : "");
	if (!ydoc_is_map(src))
		return taskdef_bad(c->file, vf, "env %s: valueFrom.%s must be a mapping", env->name, env->from_kind);
	TRY(want_str(c, ydoc_get(src, "name"), "valueFrom name", &env->from_name));
	TRY(want_str(c, ydoc_get(src, "key"), "valueFrom key", &env->from_key));
	bool opt = false;
	const struct ydoc_node *o = ydoc_deref(ydoc_get(src, "optional"));
	if (o && !ydoc_bool(o, &opt))
		return taskdef_bad(c->file, o, "env %s: optional must be true or false", env->name);
	env->from_optional = opt;
	return NULL;
}

static err_t *parse_volume_mount(const struct ctx *c, const struct ydoc_node *n, struct tk_volume_mount *m)
{
	static const char *const keys[] = { "name", "mountPath", "readOnly", NULL };
	if (!ydoc_is_map(n))
		return taskdef_bad(c->file, n, "volumeMounts items must be mappings");
	m->line = n->line;
	TRY(known_keys(c, n, "volumeMount", keys));
	TRY(want_str(c, ydoc_get(n, "name"), "volumeMount name", &m->name));
	TRY(want_str(c, ydoc_get(n, "mountPath"), "mountPath", &m->mount_path));
	if (!m->name || !m->mount_path || m->mount_path[0] != '/')
		return taskdef_bad(c->file, n, "volumeMount: name and an absolute mountPath are required (Kubernetes)");
	const struct ydoc_node *ro = ydoc_deref(ydoc_get(n, "readOnly"));
	if (ro && !ydoc_bool(ro, &m->read_only))
		return taskdef_bad(c->file, ro, "volumeMount %s: readOnly must be true or false", m->name);
	return NULL;
}

static err_t *parse_volume(const struct ctx *c, const struct ydoc_node *n, struct tk_volume *v)
{
	static const char *const keys[] = { "name", "emptyDir", NULL };
	static const char *const empty_keys[] = { "medium", "sizeLimit", NULL };
	if (!ydoc_is_map(n))
		return taskdef_bad(c->file, n, "volumes items must be mappings");
	v->line = n->line;
	TRY(known_keys(c, n, "volume (only emptyDir volumes)", keys));
	TRY(want_str(c, ydoc_get(n, "name"), "volume name", &v->name));
	if (!v->name || !k8s_dns1123_label(v->name))
		return taskdef_bad(c->file, n, "volume name '%s' is not a DNS-1123 label (Kubernetes)", v->name ? v->name : "");
	const struct ydoc_node *ed = ydoc_deref(ydoc_get(n, "emptyDir"));
	if (!ed || !(ydoc_is_map(ed) || ydoc_is_null(ed)))
		return taskdef_bad(c->file, n, "volume %s: only emptyDir volumes are supported by pipeline-run", v->name);
	if (ydoc_is_map(ed))
		TRY(known_keys(c, ed, "emptyDir", empty_keys));
	return NULL;
}

static err_t *parse_step(const struct ctx *c, const struct ydoc_node *n, size_t index, struct tk_step *s)
{
	static const char *const keys[] = { "name", "image", "command", "args", "script", "workingDir", "env",
					    "securityContext", "onError", "imagePullPolicy", "computeResources",
					    "resources", "volumeMounts", NULL };
	if (!ydoc_is_map(n))
		return taskdef_bad(c->file, n, "steps[%zu] must be a mapping", index);
	s->line = n->line;
	TRY(known_keys(c, n, "step", keys));
	TRY(want_str(c, ydoc_get(n, "name"), "step name", &s->name));
	if (!s->name || !*s->name) {
		free(s->name);
		s->name = xasprintf("unnamed-%zu", index);
	} else if (!k8s_dns1123_label(s->name)) {
		return taskdef_bad(c->file, ydoc_get(n, "name"),
			   "step name '%s' is not a DNS-1123 label (lower case alphanumerics and '-', at most 63)",
			   s->name);
	}
	const struct ydoc_node *img = ydoc_get(n, "image");
	TRY(want_str(c, img, "image", &s->image));
	if (!s->image || !*s->image)
		return taskdef_bad(c->file, n, "steps[%zu] (%s): missing field 'image' (Tekton: a step needs an image)", index,
			   s->name);
	s->image_line = ydoc_deref(img)->line;
	TRY(want_strs(c, ydoc_get(n, "command"), "command", &s->command));
	TRY(want_strs(c, ydoc_get(n, "args"), "args", &s->args));
	const struct ydoc_node *sc = ydoc_get(n, "script");
	TRY(want_str(c, sc, "script", &s->script));
	if (s->script) {
		s->script_line = ydoc_deref(sc)->line;
		if (s->command.n)
			return taskdef_bad(c->file, sc, "step %s: script cannot be used with command (Tekton)", s->name);
	}
	const struct ydoc_node *wd = ydoc_get(n, "workingDir");
	TRY(want_str(c, wd, "workingDir", &s->working_dir));
	if (s->working_dir)
		s->working_dir_line = ydoc_deref(wd)->line;
	const struct ydoc_node *env = ydoc_deref(ydoc_get(n, "env"));
	if (env && !ydoc_is_seq(env))
		return taskdef_bad(c->file, env, "step %s: env must be a list", s->name);
	s->nenv = ydoc_count(env);
	s->env = xcalloc(s->nenv + 1, sizeof *s->env);
	for (size_t i = 0; i < s->nenv; i++)
		TRY(parse_env(c, ydoc_deref(ydoc_item(env, i)), &s->env[i]));
	TRY(parse_security(c, ydoc_get(n, "securityContext"), &s->sec));
	const struct ydoc_node *vm = ydoc_deref(ydoc_get(n, "volumeMounts"));
	if (vm && !ydoc_is_seq(vm))
		return taskdef_bad(c->file, vm, "step %s: volumeMounts must be a list", s->name);
	s->nmounts = ydoc_count(vm);
	s->mounts = xcalloc(s->nmounts + 1, sizeof *s->mounts);
	for (size_t i = 0; i < s->nmounts; i++)
		TRY(parse_volume_mount(c, ydoc_deref(ydoc_item(vm, i)), &s->mounts[i]));
	const struct ydoc_node *oe = ydoc_get(n, "onError");
	TRY(want_str(c, oe, "onError", &s->on_error));
	if (s->on_error && strcmp(s->on_error, "continue") && strcmp(s->on_error, "stopAndFail"))
		return taskdef_bad(c->file, oe, "step %s: onError '%s' is not continue or stopAndFail (Tekton)", s->name,
			   s->on_error);
	return NULL;
}

static err_t *parse_param(const struct ctx *c, const struct ydoc_node *n, struct tk_param *p)
{
	static const char *const keys[] = { "name", "type", "default", "description", "properties", "enum", NULL };
	if (!ydoc_is_map(n))
		return taskdef_bad(c->file, n, "params items must be mappings");
	p->line = n->line;
	TRY(known_keys(c, n, "param", keys));
	TRY(want_str(c, ydoc_get(n, "name"), "param name", &p->name));
	if (!p->name)
		return taskdef_bad(c->file, n, "param: missing field 'name'");
	if (!param_name_ok(p->name))
		return taskdef_bad(c->file, n,
			   "param name '%s' is invalid: Tekton allows alphanumerics, '-', '_' and '.', starting "
			   "with a letter or '_'",
			   p->name);
	const struct ydoc_node *type = ydoc_get(n, "type"), *def = ydoc_deref(ydoc_get(n, "default"));
	TRY(parse_type(c, type, &p->type));
	if (def) {
		p->has_default = true;
		TRY(want_value(c, def, p->name, &p->def));
		/* Tekton's defaulting: no type given, the default's shape decides */
		if (!type)
			p->type = p->def.type;
		else if (p->def.type != p->type)
			return taskdef_bad(c->file, def, "param %s: default is of type %s, the param is declared %s (Tekton)",
				   p->name, tk_type_name(p->def.type), tk_type_name(p->type));
	}
	const struct ydoc_node *props = ydoc_deref(ydoc_get(n, "properties"));
	if (props) {
		if (p->type != TK_OBJECT || !ydoc_is_map(props))
			return taskdef_bad(c->file, props, "param %s: properties are for object params (a mapping)", p->name);
		p->nkeys = ydoc_count(props);
		p->keys = xcalloc(p->nkeys + 1, sizeof *p->keys);
		for (size_t i = 0; i < p->nkeys; i++)
			p->keys[i] = xstrdup(ydoc_str(ydoc_key(props, i)) ? ydoc_str(ydoc_key(props, i)) : "");
	} else if (p->type == TK_OBJECT) {
		return taskdef_bad(c->file, n, "param %s: an object param needs properties (Tekton)", p->name);
	}
	return NULL;
}

static err_t *parse_workspace(const struct ctx *c, const struct ydoc_node *n, struct tk_workspace *w)
{
	static const char *const keys[] = { "name", "description", "mountPath", "readOnly", "optional", NULL };
	if (!ydoc_is_map(n))
		return taskdef_bad(c->file, n, "workspaces items must be mappings");
	w->line = n->line;
	TRY(known_keys(c, n, "workspace", keys));
	TRY(want_str(c, ydoc_get(n, "name"), "workspace name", &w->name));
	if (!w->name || !k8s_dns1123_label(w->name))
		return taskdef_bad(c->file, n, "workspace name '%s' is not a DNS-1123 label", w->name ? w->name : "");
	TRY(want_str(c, ydoc_get(n, "mountPath"), "mountPath", &w->mount_path));
	if (w->mount_path && w->mount_path[0] != '/')
		return taskdef_bad(c->file, ydoc_get(n, "mountPath"), "workspace %s: mountPath '%s' is not absolute", w->name,
			   w->mount_path);
	const struct ydoc_node *ro = ydoc_deref(ydoc_get(n, "readOnly")), *opt = ydoc_deref(ydoc_get(n, "optional"));
	if (ro && !ydoc_bool(ro, &w->read_only))
		return taskdef_bad(c->file, ro, "workspace %s: readOnly must be true or false", w->name);
	if (opt && !ydoc_bool(opt, &w->optional))
		return taskdef_bad(c->file, opt, "workspace %s: optional must be true or false", w->name);
	return NULL;
}

static err_t *parse_result(const struct ctx *c, const struct ydoc_node *n, struct tk_result *r)
{
	static const char *const keys[] = { "name", "type", "description", "properties", NULL };
	if (!ydoc_is_map(n))
		return taskdef_bad(c->file, n, "results items must be mappings");
	r->line = n->line;
	TRY(known_keys(c, n, "result", keys));
	TRY(want_str(c, ydoc_get(n, "name"), "result name", &r->name));
	if (!r->name || !result_name_ok(r->name))
		return taskdef_bad(c->file, n,
			   "result name '%s' is invalid: Tekton wants alphanumerics, '-', '_' and '.', starting "
			   "and ending with an alphanumeric",
			   r->name ? r->name : "");
	return parse_type(c, ydoc_get(n, "type"), &r->type);
}

/* Each list: a sequence of mappings, names unique. */
#define PARSE_LIST(c, spec, key, arr, count, fn)                                                        \
	do {                                                                                            \
		const struct ydoc_node *l_ = ydoc_deref(ydoc_get(spec, key));                          \
		if (l_ && !ydoc_is_seq(l_) && !ydoc_is_null(l_))                                        \
			return taskdef_bad(c->file, l_, "spec." key " must be a list");                               \
		count = ydoc_count(l_);                                                                 \
		arr = xcalloc(count + 1, sizeof *arr);                                                  \
		for (size_t i_ = 0; i_ < count; i_++) {                                                 \
			TRY(fn(c, ydoc_deref(ydoc_item(l_, i_)), &arr[i_]));                            \
			for (size_t j_ = 0; j_ < i_; j_++)                                              \
				if (!strcmp(arr[j_].name, arr[i_].name))                                \
					return taskdef_bad(c->file, ydoc_item(l_, i_),                                \
						   key " name '%s' appears more than once (Tekton)",    \
						   arr[i_].name);                                       \
		}                                                                                       \
	} while (0)

static err_t *parse_spec(const struct ctx *c, const struct ydoc_node *spec, struct tk_task *t)
{
	static const char *const keys[] = { "description", "displayName", "params", "workspaces", "results",
					    "steps", "stepTemplate", "volumes", NULL };
	if (!ydoc_is_map(spec))
		return taskdef_bad(c->file, spec, "spec must be a mapping");
	TRY(known_keys(c, spec, "spec", keys));
	PARSE_LIST(c, spec, "params", t->params, t->nparams, parse_param);
	PARSE_LIST(c, spec, "workspaces", t->workspaces, t->nworkspaces, parse_workspace);
	PARSE_LIST(c, spec, "results", t->results, t->nresults, parse_result);
	PARSE_LIST(c, spec, "volumes", t->volumes, t->nvolumes, parse_volume);
	for (size_t i = 0; i < t->nworkspaces; i++)
		for (size_t j = 0; j < i; j++)
			if (t->workspaces[i].mount_path && t->workspaces[j].mount_path &&
			    !strcmp(t->workspaces[i].mount_path, t->workspaces[j].mount_path))
				return err_new(EXIT_USAGE, "%s:%d: workspace mountPath '%s' must be unique (Tekton)",
					       c->file, t->workspaces[i].line, t->workspaces[i].mount_path);

	const struct ydoc_node *tmpl = ydoc_deref(ydoc_get(spec, "stepTemplate"));
	if (tmpl) {
		static const char *const tkeys[] = { "securityContext", NULL };
		if (!ydoc_is_map(tmpl))
			return taskdef_bad(c->file, tmpl, "stepTemplate must be a mapping");
		TRY(known_keys(c, tmpl, "stepTemplate", tkeys));
	}
	TRY(parse_security(c, tmpl ? ydoc_get(tmpl, "securityContext") : NULL, &t->pod_sec));

	const struct ydoc_node *steps = ydoc_deref(ydoc_get(spec, "steps"));
	if (!steps || !ydoc_is_seq(steps) || ydoc_count(steps) == 0)
		return taskdef_bad(c->file, steps ? steps : spec, "spec.steps: a Task needs at least one step (Tekton)");
	t->nsteps = ydoc_count(steps);
	t->steps = xcalloc(t->nsteps + 1, sizeof *t->steps);
	for (size_t i = 0; i < t->nsteps; i++) {
		TRY(parse_step(c, ydoc_deref(ydoc_item(steps, i)), i, &t->steps[i]));
		for (size_t j = 0; j < i; j++)
			if (!strcmp(t->steps[j].name, t->steps[i].name))
				return taskdef_bad(c->file, ydoc_item(steps, i), "step name '%s' appears more than once (Tekton)",
					   t->steps[i].name);
		for (size_t k = 0; k < t->steps[i].nmounts; k++) {
			const struct tk_volume_mount *m = &t->steps[i].mounts[k];
			bool declared = false;
			for (size_t v = 0; v < t->nvolumes && !declared; v++)
				declared = !strcmp(t->volumes[v].name, m->name);
			if (!declared)
				return err_new(EXIT_USAGE, "%s:%d: step %s mounts volume '%s', which spec.volumes "
							   "does not declare (Kubernetes)",
					       c->file, m->line, t->steps[i].name, m->name);
		}
	}
	return NULL;
}

err_t *taskdef_from_node(const struct ydoc_node *node, const char *file, bool spec_only, struct tk_task *out)
{
	struct ctx c = { file };
	memset(out, 0, sizeof *out);
	out->file = xstrdup(file);
	node = ydoc_deref(node);
	out->line = node ? node->line : 1;
	err_t *e = NULL;
	if (!ydoc_is_map(node)) {
		e = taskdef_bad(c.file, node, "not a Tekton Task (a mapping)");
	} else if (spec_only) {
		out->name = xstrdup("");
		e = parse_spec(&c, node, out);
	} else {
		const char *api = ydoc_str(ydoc_get(node, "apiVersion"));
		const char *kind = ydoc_str(ydoc_get(node, "kind"));
		const struct ydoc_node *md = ydoc_deref(ydoc_get(node, "metadata"));
		const char *name = ydoc_str(ydoc_get(md, "name"));
		if (!api || (strcmp(api, "tekton.dev/v1") && strcmp(api, "tekton.dev/v1beta1")))
			e = taskdef_bad(c.file, node, "apiVersion '%s' is not tekton.dev/v1", api ? api : "");
		else if (!kind || strcmp(kind, "Task"))
			e = taskdef_bad(c.file, node, "kind '%s' is not Task", kind ? kind : "");
		else if (!name || !k8s_dns1123_subdomain(name))
			e = taskdef_bad(c.file, md ? md : node,
				"metadata.name '%s' is not a DNS-1123 subdomain (Kubernetes object names)",
				name ? name : "");
		else if (strlen(name) > K8S_DNS1123_LABEL_MAX)
			e = taskdef_bad(c.file, md ? md : node, "metadata.name '%s' is longer than 63 characters (%s)", name,
				TEKTON_NAME_RULE);
		else if (!ydoc_get(node, "spec"))
			e = taskdef_bad(c.file, node, "missing field 'spec'");
		if (!e) {
			out->name = xstrdup(name);
			e = parse_spec(&c, ydoc_deref(ydoc_get(node, "spec")), out);
		}
	}
	if (e)
		taskdef_free(out);
	return e;
}

err_t *taskdef_load(const char *path, struct tk_task *out)
{
	struct strbuf text = STRBUF_INIT;
	struct ydoc *y = NULL;
	memset(out, 0, sizeof *out);
	err_t *e = fs_read_file(path, TASK_FILE_MAX, &text);
	if (!e)
		e = ydoc_parse(sb_str(&text), text.len, path, &y);
	if (!e && (y->ndocs != 1 || !y->docs[0]))
		e = err_new(EXIT_USAGE, "%s: expected one YAML document holding a Task, found %zu", path, y->ndocs);
	if (!e)
		e = taskdef_from_node(y->docs[0], path, false, out);
	ydoc_free(y);
	sb_release(&text);
	return e;
}

void taskdef_param_free(struct tk_param *p)
{
	free(p->name);
	tk_value_free(&p->def);
	for (size_t k = 0; k < p->nkeys; k++)
		free(p->keys[k]);
	free(p->keys);
	memset(p, 0, sizeof *p);
}

void taskdef_free(struct tk_task *t)
{
	for (size_t i = 0; i < t->nparams; i++)
		taskdef_param_free(&t->params[i]);
	for (size_t i = 0; i < t->nworkspaces; i++) {
		free(t->workspaces[i].name);
		free(t->workspaces[i].mount_path);
	}
	for (size_t i = 0; i < t->nresults; i++)
		free(t->results[i].name);
	for (size_t i = 0; i < t->nsteps; i++) {
		struct tk_step *s = &t->steps[i];
		free(s->name);
		free(s->image);
		strs_free(&s->command);
		strs_free(&s->args);
		free(s->script);
		free(s->working_dir);
		for (size_t k = 0; k < s->nenv; k++) {
			free(s->env[k].name);
			free(s->env[k].value);
			free(s->env[k].from_kind);
			free(s->env[k].from_name);
			free(s->env[k].from_key);
		}
		free(s->env);
		security_free(&s->sec);
		free(s->on_error);
		for (size_t k = 0; k < s->nmounts; k++) {
			free(s->mounts[k].name);
			free(s->mounts[k].mount_path);
		}
		free(s->mounts);
	}
	for (size_t i = 0; i < t->nvolumes; i++)
		free(t->volumes[i].name);
	free(t->volumes);
	security_free(&t->pod_sec);
	free(t->params);
	free(t->workspaces);
	free(t->results);
	free(t->steps);
	free(t->name);
	free(t->file);
	memset(t, 0, sizeof *t);
}

err_t *taskdef_param_node(const struct ydoc_node *n, const char *file, struct tk_param *out)
{
	struct ctx c = { file };
	memset(out, 0, sizeof *out);
	return parse_param(&c, ydoc_deref(n), out);
}

err_t *taskdef_value_node(const struct ydoc_node *n, const char *file, const char *what, struct tk_value *out)
{
	struct ctx c = { file };
	return want_value(&c, n, what, out);
}

err_t *taskdef_known_keys(const struct ydoc_node *map, const char *file, const char *what, const char *const *keys)
{
	struct ctx c = { file };
	return known_keys(&c, map, what, keys);
}

bool taskdef_result_name_ok(const char *s)
{
	return result_name_ok(s);
}

const struct tk_param *taskdef_param(const struct tk_task *t, const char *name)
{
	for (size_t i = 0; i < t->nparams; i++)
		if (!strcmp(t->params[i].name, name))
			return &t->params[i];
	return NULL;
}

const struct tk_workspace *taskdef_workspace(const struct tk_task *t, const char *name)
{
	for (size_t i = 0; i < t->nworkspaces; i++)
		if (!strcmp(t->workspaces[i].name, name))
			return &t->workspaces[i];
	return NULL;
}

const struct tk_result *taskdef_result(const struct tk_task *t, const char *name)
{
	for (size_t i = 0; i < t->nresults; i++)
		if (!strcmp(t->results[i].name, name))
			return &t->results[i];
	return NULL;
}
