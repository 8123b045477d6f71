/* The app's container for a local run (see localspec.h). */
#include "localspec.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "log.h"
#include "xalloc.h"

static char **string_list(const json_t *a, size_t *n)
{
	size_t k = json_is_array(a) ? json_array_size(a) : 0;
	char **v = xcalloc(k + 1, sizeof *v);
	size_t j = 0;
	for (size_t i = 0; i < k; i++) {
		const char *s = json_string_value(json_array_get(a, i));
		if (s)
			v[j++] = xstrdup(s);
	}
	if (n)
		*n = j;
	return v;
}

static void strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

/* The container's securityContext field, else the pod's (NULL: neither). */
static json_t *sc_field(const json_t *pod_sc, const json_t *sc, const char *key)
{
	json_t *v = json_object_get(sc, key);
	return v ? v : json_object_get(pod_sc, key);
}

/* A probe's port: a number, or the name of one of the container's ports. */
static err_t *probe_port(const json_t *c, const json_t *port, const char *where, int *out)
{
	json_int_t n = -1;
	if (json_is_integer(port))
		n = json_integer_value(port);
	else if (json_is_string(port)) {
		size_t i;
		json_t *p;
		json_array_foreach(json_object_get(c, "ports"), i, p)
			if (json_is_string(json_object_get(p, "name")) &&
			    !strcmp(json_string_value(json_object_get(p, "name")), json_string_value(port)))
				n = json_integer_value(json_object_get(p, "containerPort"));
	}
	if (n < 1 || n > 65535)
		return err_new(EXIT_USAGE, "%s: port is not a port number or the name of a containerPort", where);
	*out = (int)n;
	return NULL;
}

static long seconds_ms(const json_t *probe, const char *key, long dflt)
{
	json_t *v = json_object_get(probe, key);
	return json_is_integer(v) && json_integer_value(v) >= 0 ? (long)json_integer_value(v) * 1000 : dflt;
}

static err_t *parse_probe(const json_t *c, const char *where, struct local_probe *p)
{
	const json_t *probe = json_object_get(c, "readinessProbe");
	if (!json_is_object(probe))
		return NULL;
	json_t *http = json_object_get(probe, "httpGet"), *tcp = json_object_get(probe, "tcpSocket"),
	       *exec = json_object_get(probe, "exec");
	/* the kubelet's defaults, but a period of one second: deploy waits on it */
	p->initial_delay_ms = seconds_ms(probe, "initialDelaySeconds", 0);
	p->period_ms = seconds_ms(probe, "periodSeconds", 1000);
	p->timeout_ms = seconds_ms(probe, "timeoutSeconds", 1000);
	if (p->period_ms == 0)
		p->period_ms = 1000;
	if (p->timeout_ms == 0)
		p->timeout_ms = 1000;
	if (json_is_object(http)) {
		p->kind = PROBE_HTTP;
		const char *path = json_string_value(json_object_get(http, "path"));
		const char *scheme = json_string_value(json_object_get(http, "scheme"));
		p->path = xstrdup(path && *path == '/' ? path : "/");
		p->https = scheme && !strcasecmp(scheme, "HTTPS");
		return probe_port(c, json_object_get(http, "port"), where, &p->port);
	}
	if (json_is_object(tcp)) {
		p->kind = PROBE_TCP;
		return probe_port(c, json_object_get(tcp, "port"), where, &p->port);
	}
	if (json_is_object(exec)) {
		size_t n;
		p->kind = PROBE_EXEC;
		p->command = string_list(json_object_get(exec, "command"), &n);
		if (!n)
			return err_new(EXIT_USAGE, "%s: exec probe without a command", where);
		return NULL;
	}
	return err_new(EXIT_USAGE, "%s: readinessProbe has no httpGet, tcpSocket or exec (grpc is not supported locally)",
		       where);
}

static err_t *parse_env(const json_t *c, const char *where, struct local_spec *s)
{
	if (json_object_get(c, "envFrom"))
		return err_new(EXIT_USAGE, "%s: envFrom is not supported by --target=local (no ConfigMaps or Secrets here)",
			       where);
	const json_t *env = json_object_get(c, "env");
	size_t n = json_is_array(env) ? json_array_size(env) : 0;
	s->env = xcalloc(n + 1, sizeof *s->env);
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(env, i);
		const char *name = json_string_value(json_object_get(e, "name"));
		const json_t *value = json_object_get(e, "value");
		if (!name || !*name || strchr(name, '='))
			return err_new(EXIT_USAGE, "%s: env[%zu] has no valid name", where, i);
		if (json_object_get(e, "valueFrom"))
			return err_new(EXIT_USAGE, "%s: env %s: valueFrom is not supported by --target=local", where, name);
		if (value && !json_is_string(value))
			return err_new(EXIT_USAGE, "%s: env %s: value is not a string", where, name);
		s->env[i] = xasprintf("%s=%s", name, value ? json_string_value(value) : "");
	}
	return NULL;
}

static err_t *parse_security(const json_t *pod, const json_t *c, const char *where, struct local_spec *s)
{
	const json_t *pod_sc = json_object_get(pod, "securityContext"), *sc = json_object_get(c, "securityContext");
	json_t *v;
	if (json_is_true(json_object_get(sc, "privileged")))
		return err_new(EXIT_USAGE, "%s: a privileged container is not run by --target=local", where);
	s->run_as_user = (v = sc_field(pod_sc, sc, "runAsUser")) && json_is_integer(v) ? json_integer_value(v) : -1;
	s->run_as_group = (v = sc_field(pod_sc, sc, "runAsGroup")) && json_is_integer(v) ? json_integer_value(v) : -1;
	s->run_as_non_root = json_is_true(sc_field(pod_sc, sc, "runAsNonRoot"));
	s->read_only_root = json_is_true(json_object_get(sc, "readOnlyRootFilesystem"));
	v = json_object_get(sc, "allowPrivilegeEscalation");
	s->allow_privilege_escalation = !json_is_false(v); /* Kubernetes' default: allowed */
	const char *seccomp = json_string_value(json_object_get(sc_field(pod_sc, sc, "seccompProfile"), "type"));
	if (seccomp && !strcmp(seccomp, "Localhost"))
		return err_new(EXIT_USAGE, "%s: seccompProfile Localhost is not supported by --target=local", where);
	s->seccomp_runtime_default = seccomp && !strcmp(seccomp, "RuntimeDefault");
	json_t *caps = json_object_get(sc, "capabilities");
	s->cap_drop = string_list(json_object_get(caps, "drop"), &s->ncap_drop);
	s->cap_add = string_list(json_object_get(caps, "add"), &s->ncap_add);
	return NULL;
}

static err_t *parse_container(const struct kobject *o, const json_t *pod, const json_t *c, struct local_spec *s)
{
	_cleanup_free_ char *where = xasprintf("%s: %s %s, container %s", o->source, o->kind, o->name, s->container);
	if (json_array_size(json_object_get(c, "volumeMounts")))
		return err_new(EXIT_USAGE, "%s: volumeMounts are not supported by --target=local", where);
	if (json_object_size(json_object_get(json_object_get(c, "resources"), "limits")))
		log_warn("%s: resources.limits are not enforced by --target=local (crun runs without a cgroup manager)",
			 where);
	json_t *port = json_object_get(json_array_get(json_object_get(c, "ports"), 0), "containerPort");
	s->port = json_is_integer(port) && json_integer_value(port) > 0 && json_integer_value(port) < 65536
			  ? (int)json_integer_value(port)
			  : 0;
	const char *wd = json_string_value(json_object_get(c, "workingDir"));
	s->working_dir = wd && *wd ? wd : NULL;
	/* command replaces the image's Entrypoint (and its Cmd); args its Cmd */
	json_t *cmd = json_object_get(c, "command"), *args = json_object_get(c, "args");
	if (json_array_size(cmd) || json_array_size(args)) {
		size_t nc = 0, na = 0;
		char **vc = string_list(cmd, &nc), **va = string_list(args, &na);
		s->argv = xcalloc(nc + na + 1, sizeof *s->argv);
		memcpy(s->argv, vc, nc * sizeof *vc);
		memcpy(s->argv + nc, va, na * sizeof *va);
		s->argv[nc + na] = NULL;
		free(vc);
		free(va);
		s->args_only = !nc; /* the image's Entrypoint goes first (local_spec_argv) */
	}
	TRY(parse_env(c, where, s));
	TRY(parse_security(pod, c, where, s));
	return parse_probe(c, where, &s->probe);
}

err_t *local_spec_find(const struct manifests *m, const char *pinned, struct local_spec *out)
{
	memset(out, 0, sizeof *out);
	out->run_as_user = out->run_as_group = -1;
	for (size_t i = 0; i < m->n; i++) {
		const struct kobject *o = &m->items[i];
		if (strcmp(o->kind, "Deployment"))
			continue;
		json_t *pod = manifests_pod_spec(o->obj, o->kind);
		size_t j;
		json_t *c;
		json_array_foreach(json_object_get(pod, "containers"), j, c) {
			const char *image = json_string_value(json_object_get(c, "image"));
			const char *name = json_string_value(json_object_get(c, "name"));
			if (!image || strcmp(image, pinned))
				continue;
			out->workload = o;
			out->container = name ? name : "?";
			if (json_array_size(json_object_get(pod, "containers")) > 1)
				log_warn("%s %s: only container %s (the pinned image) runs locally", o->kind, o->name,
					 out->container);
			return parse_container(o, pod, c, out);
		}
	}
	return err_new(EXIT_USAGE, "no Deployment in the manifests runs %s: --target=local runs a Deployment's pod",
		       pinned);
}

err_t *local_spec_argv(struct local_spec *s, const struct image_root *img)
{
	if (s->argv && !s->args_only)
		return NULL;
	size_t ne = 0, nr = 0;
	for (char **p = img->entrypoint; p && *p; p++)
		ne++;
	char **rest = s->argv ? s->argv : img->cmd;
	for (char **p = rest; p && *p; p++)
		nr++;
	char **argv = xcalloc(ne + nr + 1, sizeof *argv);
	for (size_t i = 0; i < ne; i++)
		argv[i] = xstrdup(img->entrypoint[i]);
	for (size_t i = 0; i < nr; i++)
		argv[ne + i] = xstrdup(rest[i]);
	strv_free(s->argv);
	s->argv = argv;
	s->args_only = false;
	if (!argv[0])
		return err_new(EXIT_USAGE, "%s %s, container %s: no command, and the image has no Entrypoint or Cmd",
			       s->workload->kind, s->workload->name, s->container);
	return NULL;
}

err_t *local_spec_container(const struct local_spec *s, const struct image_root *img, struct oci_container *out)
{
	_cleanup_free_ char *what = xasprintf("container %s", s->container);
	long long uid, gid;
	TRY(oci_user(img->user, s->run_as_user, s->run_as_group, s->run_as_non_root, what, &uid, &gid));
	*out = (struct oci_container){
		.root = img->root,
		.hostname = s->workload->name,
		.argv = s->argv,
		.image_env = img->env,
		.env = s->env,
		.cwd = s->working_dir ? s->working_dir : img->workdir,
		.uid = uid,
		.gid = gid,
		.cap_drop = s->cap_drop,
		.ncap_drop = s->ncap_drop,
		.cap_add = s->cap_add,
		.ncap_add = s->ncap_add,
		.allow_privilege_escalation = s->allow_privilege_escalation,
		.seccomp_runtime_default = s->seccomp_runtime_default,
		.read_only_root = s->read_only_root,
	};
	return NULL;
}

void local_spec_free(struct local_spec *s)
{
	strv_free(s->argv);
	strv_free(s->env);
	strv_free(s->cap_drop);
	strv_free(s->cap_add);
	strv_free(s->probe.command);
	free(s->probe.path);
	memset(s, 0, sizeof *s);
}
