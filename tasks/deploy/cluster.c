/* Namespace, pull secret, apply, app URL (see cluster.h). */
#include "cluster.h"

#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "cleanup.h"
#include "kubediscovery.h"
#include "log.h"
#include "regauth.h"
#include "strbuf.h"
#include "xalloc.h"

err_t *cluster_pull_secret(const char *authfile, const char *registry, const char *name, const char *ns,
			   json_t **out)
{
	struct regauth_creds c = { 0 };
	TRY(regauth_creds_lookup(authfile, registry, &c));
	err_t *e = NULL;
	if (!c.username || !c.password)
		e = err_new(EXIT_USAGE, "--pull-secret-authfile %s has no user and password for %s",
			    authfile ? authfile : "(default)", registry);
	if (!e) {
		struct strbuf up = STRBUF_INIT, auth = STRBUF_INIT, data = STRBUF_INIT;
		sb_addf(&up, "%s:%s", c.username, c.password);
		b64_encode(up.buf, up.len, &auth);
		log_secret(sb_str(&auth));
		json_t *cfg = json_pack("{s:{s:{s:s,s:s,s:s}}}", "auths", registry, "username", c.username, "password",
					c.password, "auth", sb_str(&auth));
		char *text = json_dumps(cfg, JSON_COMPACT);
		b64_encode(text, strlen(text), &data);
		log_secret(sb_str(&data));
		*out = json_pack("{s:s,s:s,s:{s:s,s:s},s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Secret", "metadata",
				 "name", name, "namespace", ns, "type", "kubernetes.io/dockerconfigjson", "data",
				 ".dockerconfigjson", sb_str(&data));
		free(text);
		json_decref(cfg);
		sb_release(&up);
		sb_release(&auth);
		sb_release(&data);
	}
	regauth_creds_free(&c);
	return e;
}

err_t *cluster_add_pull_secrets(struct manifests *m, const char *authfile, const char *registry, const char *name)
{
	const char **nss = NULL;
	size_t nns = manifests_namespaces(m, &nss);
	/* the names are borrowed from objects that prepending moves: copy */
	char **copy = xcalloc(nns ? nns : 1, sizeof *copy);
	for (size_t i = 0; i < nns; i++)
		copy[i] = xstrdup(nss[i]);
	free(nss);
	err_t *e = NULL;
	for (size_t i = 0; i < nns; i++) {
		json_t *secret = NULL;
		if (!e)
			e = cluster_pull_secret(authfile, registry, name, copy[i], &secret);
		if (!e)
			manifests_prepend(m, secret, "--pull-secret-name");
		free(copy[i]);
	}
	free(copy);
	return e;
}

err_t *cluster_discover(struct kubeapi *k, struct manifests *m)
{
	struct kubediscovery *d = kubediscovery_new(k);
	err_t *e = NULL;
	for (size_t i = 0; !e && i < m->n; i++) {
		struct kobject *o = &m->items[i];
		const char *resource = NULL;
		bool namespaced = false;
		e = err_context(kubediscovery_lookup(d, json_string_value(json_object_get(o->obj, "apiVersion")), o->kind,
						     &resource, &namespaced),
				"%s", o->source);
		if (e)
			break;
		if (!namespaced && o->namespaced) {
			o->namespaced = false;
			json_object_del(json_object_get(o->obj, "metadata"), "namespace");
		} else if (namespaced && !o->namespaced)
			e = err_new(EXIT_USAGE, "%s: kind %s is namespaced in this cluster: give %s a metadata.namespace",
				    o->source, o->kind, o->name);
		if (!e)
			o->resource = xstrdup(resource);
	}
	kubediscovery_free(d);
	return e;
}

err_t *cluster_apply(struct kubeapi *k, const struct apply_options *o, const char *const *namespaces, size_t nns,
		     const struct manifests *m, json_t **live)
{
	for (size_t i = 0; i < nns; i++) {
		json_t *nsobj = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name",
					  namespaces[i]);
		_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s", namespaces[i]);
		err_t *e = kubeapi_apply(k, path, nsobj, o->field_manager, o->force, NULL);
		json_decref(nsobj);
		TRY(err_context(e, "namespace %s", namespaces[i]));
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct kobject *obj = &m->items[i];
		_cleanup_free_ char *path = kobject_path(obj);
		TRY(err_context(kubeapi_apply(k, path, obj->obj, o->field_manager, o->force, &live[i]),
				"applying %s %s (%s)", obj->kind, obj->name, obj->source));
		log_info("applied %s %s", obj->kind, obj->name);
	}
	return NULL;
}

static const char *str_at(const json_t *j, const char *a, const char *b)
{
	return json_string_value(json_object_get(json_object_get(j, a), b));
}

static char *ingress_url(const json_t *ing)
{
	const json_t *spec = json_object_get(ing, "spec");
	const json_t *rule = json_array_get(json_object_get(spec, "rules"), 0);
	const char *host = json_string_value(json_object_get(rule, "host"));
	if (!host)
		return NULL;
	const char *path = json_string_value(
		json_object_get(json_array_get(json_object_get(json_object_get(rule, "http"), "paths"), 0), "path"));
	bool tls = json_array_size(json_object_get(spec, "tls")) > 0;
	return xasprintf("%s://%s%s", tls ? "https" : "http", host, path ? path : "/");
}

/* host of https://host:port (brackets kept for IPv6) */
static char *server_host(const char *server)
{
	const char *h = strstr(server, "://");
	h = h ? h + 3 : server;
	size_t len = strcspn(h, "/");
	const char *colon = h[0] == '[' ? strchr(h, ']') : NULL;
	if (colon)
		len = (size_t)(colon - h) + 1;
	else if (memchr(h, ':', len))
		len = (size_t)((const char *)memchr(h, ':', len) - h);
	return xstrndup(h, len);
}

static char *service_url(struct kubeapi *k, const json_t *svc, const char *path)
{
	json_t *cur = NULL;
	err_t *e = kubeapi_get(k, path, &cur);
	if (e) {
		log_warn("reading the Service for its address: %s", e->msg);
		err_free(e);
	}
	const json_t *s = cur ? cur : svc;
	const json_t *spec = json_object_get(s, "spec");
	const char *type = json_string_value(json_object_get(spec, "type"));
	const json_t *port = json_array_get(json_object_get(spec, "ports"), 0);
	json_int_t p = json_integer_value(json_object_get(port, "port"));
	char *url = NULL;
	if (type && !strcmp(type, "LoadBalancer")) {
		const json_t *lb = json_array_get(json_object_get(json_object_get(json_object_get(s, "status"), "loadBalancer"), "ingress"), 0);
		const char *addr = json_string_value(json_object_get(lb, "ip"));
		if (!addr)
			addr = json_string_value(json_object_get(lb, "hostname"));
		if (addr)
			url = xasprintf("http://%s:%lld", addr, (long long)p);
	}
	if (!url && type && (!strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer")) &&
	    json_integer_value(json_object_get(port, "nodePort"))) {
		_cleanup_free_ char *host = server_host(kubeapi_server(k));
		url = xasprintf("http://%s:%lld", host, (long long)json_integer_value(json_object_get(port, "nodePort")));
	}
	if (!url)
		url = xasprintf("http://%s.%s.svc.cluster.local:%lld", str_at(s, "metadata", "name"),
				str_at(s, "metadata", "namespace"), (long long)(p ? p : 80));
	json_decref(cur);
	return url;
}

char *cluster_app_url(struct kubeapi *k, const struct manifests *m, json_t *const *live)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->items[i].kind, "Ingress")) {
			char *u = ingress_url(live[i] ? live[i] : m->items[i].obj);
			if (u)
				return u;
		}
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->items[i].kind, "Service")) {
			_cleanup_free_ char *path = kobject_path(&m->items[i]);
			return service_url(k, live[i] ? live[i] : m->items[i].obj, path);
		}
	return NULL;
}
