/* Kubernetes hardening checks (see checks.h). */
#include "checks.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "strbuf.h"
#include "xalloc.h"

#define CIS "CIS Kubernetes Benchmark "

static const struct rule_info rules[] = {
	{ "CIS-5.1.1", SEV_WARNING, CIS "5.1.1: use the cluster-admin role only where required", NULL },
	{ "CIS-5.1.3", SEV_WARNING, CIS "5.1.3: minimize wildcard use in Roles and ClusterRoles", NULL },
	{ "CIS-5.1.6", SEV_INFO, CIS "5.1.6: service account tokens are mounted only where necessary", NULL },
	{ "CIS-5.2.2", SEV_ERROR, CIS "5.2.2: do not admit privileged containers", NULL },
	{ "CIS-5.2.3", SEV_ERROR, CIS "5.2.3: do not share the host process ID namespace (hostPID)", NULL },
	{ "CIS-5.2.4", SEV_ERROR, CIS "5.2.4: do not share the host IPC namespace (hostIPC)", NULL },
	{ "CIS-5.2.5", SEV_ERROR, CIS "5.2.5: do not share the host network namespace (hostNetwork)", NULL },
	{ "CIS-5.2.6", SEV_WARNING, CIS "5.2.6: do not allow privilege escalation (allowPrivilegeEscalation: false)", NULL },
	{ "CIS-5.2.7", SEV_ERROR, CIS "5.2.7: do not run containers as root", NULL },
	{ "CIS-5.2.8", SEV_WARNING, CIS "5.2.8: drop the NET_RAW capability", NULL },
	{ "CIS-5.2.9", SEV_WARNING, CIS "5.2.9: do not add capabilities", NULL },
	{ "CIS-5.2.10", SEV_INFO, CIS "5.2.10: drop all capabilities (capabilities.drop: [ALL])", NULL },
	{ "CIS-5.2.12", SEV_ERROR, CIS "5.2.12: do not mount hostPath volumes", NULL },
	{ "CIS-5.2.13", SEV_WARNING, CIS "5.2.13: do not bind host ports (hostPort)", NULL },
	{ "CIS-5.4.1", SEV_WARNING, CIS "5.4.1: prefer secrets as files over environment variables; never literal secrets in env", NULL },
	{ "CIS-5.7.2", SEV_WARNING, CIS "5.7.2: set the seccomp profile to RuntimeDefault (or Localhost)", NULL },
	{ "CIS-5.7.4", SEV_WARNING, CIS "5.7.4: do not use the default namespace", NULL },
	{ "KS-ROFS", SEV_WARNING, "container root filesystem should be read-only (readOnlyRootFilesystem: true)", NULL },
	{ "KS-REQUESTS", SEV_WARNING, "container should request CPU and memory (resources.requests)", NULL },
	{ "KS-LIMITS", SEV_WARNING, "container should have a memory limit and a CPU limit (resources.limits)", NULL },
	{ "KS-READINESS", SEV_WARNING, "long-running container should have a readinessProbe", NULL },
	{ "KS-LIVENESS", SEV_INFO, "long-running container should have a livenessProbe", NULL },
	{ "KS-IMAGE-LATEST", SEV_ERROR, "image should name a tag other than latest, or a digest", NULL },
	{ "KS-IMAGE-DIGEST", SEV_INFO, "image should be pinned by digest (@sha256:...)", NULL },
};
#define NRULES (sizeof rules / sizeof *rules)

const struct rule_info *cis_rules(size_t *n)
{
	*n = NRULES;
	return rules;
}

int cis_rule_index(const char *id)
{
	return rule_info_find(rules, NRULES, id);
}

void cis_config_init(struct cis_config *c)
{
	c->severity = rule_severities_new(rules, NRULES);
}

void cis_config_release(struct cis_config *c)
{
	free(c->severity);
	c->severity = NULL;
}

struct ctx {
	const char *file;
	const struct cis_config *cfg;
	struct findings *out;
	const char *kind, *name;
	int obj_line;
	const char *ignore; /* the object's cis-check/ignore annotation: "ID,ID" */
};

/* Whether id is listed in the object's annotation (comma or space separated). */
static bool object_ignores(const struct ctx *c, const char *id)
{
	size_t n = strlen(id);
	for (const char *p = c->ignore; p && *p;) {
		p += strspn(p, ", \t");
		size_t k = strcspn(p, ", \t");
		if (k == n && !strncasecmp(p, id, n))
			return true;
		p += k;
	}
	return false;
}

static void report(struct ctx *c, const char *id, enum severity override, const struct ydoc_node *at, int fallback,
		   const char *path, const char *hint, const char *fmt, ...) __attribute__((format(printf, 8, 9)));
static void report(struct ctx *c, const char *id, enum severity override, const struct ydoc_node *at, int fallback,
		   const char *path, const char *hint, const char *fmt, ...)
{
	int i = cis_rule_index(id);
	if (i < 0 || c->cfg->severity[i] == SEV_IGNORE || object_ignores(c, id))
		return;
	enum severity sev = c->cfg->severity[i];
	/* a stronger severity for the worst variant of a rule, unless overridden */
	if (override != SEV_IGNORE && sev == rules[i].severity)
		sev = override;
	va_list ap;
	va_start(ap, fmt);
	struct strbuf msg = STRBUF_INIT;
	sb_vaddf(&msg, fmt, ap);
	va_end(ap);
	char *full = xasprintf("%s/%s:%s", c->kind, c->name, path);
	findings_add(c->out, rules[i].id, sev, c->file, at ? at->line : fallback, at ? at->col : 1, full, hint, "%s",
		     sb_str(&msg));
	free(full);
	sb_release(&msg);
}

#define R(c, id, at, fb, path, hint, ...) report(c, id, SEV_IGNORE, at, fb, path, hint, __VA_ARGS__)

static bool is_true(const struct ydoc_node *n)
{
	bool b = false;
	return ydoc_bool(n, &b) && b;
}

static bool is_false(const struct ydoc_node *n)
{
	bool b = true;
	return ydoc_bool(n, &b) && !b;
}

static bool seq_has(const struct ydoc_node *seq, const char *value)
{
	for (size_t i = 0; i < ydoc_count(seq); i++) {
		const char *s = ydoc_str(ydoc_item(seq, i));
		if (s && (!strcasecmp(s, value) || (!strncasecmp(s, "CAP_", 4) && !strcasecmp(s + 4, value))))
			return true;
	}
	return false;
}

/* A setting from the container's securityContext, else the pod's. */
static const struct ydoc_node *effective(const struct ydoc_node *csc, const struct ydoc_node *psc, const char *key)
{
	const struct ydoc_node *n = ydoc_get(csc, key);
	return n ? n : ydoc_get(psc, key);
}

static bool secret_like(const char *name)
{
	static const char *const words[] = { "PASSWORD", "PASSWD", "SECRET", "TOKEN", "APIKEY", "API_KEY",
					     "PRIVATE_KEY", "ACCESS_KEY", "CREDENTIAL", NULL };
	char up[256];
	size_t n = strlen(name);
	if (n >= sizeof up)
		n = sizeof up - 1;
	for (size_t i = 0; i < n; i++)
		up[i] = (char)toupper((unsigned char)name[i]);
	up[n] = '\0';
	for (const char *const *w = words; *w; w++)
		if (strstr(up, *w))
			return true;
	return false;
}

static void check_image(struct ctx *c, const struct ydoc_node *image, const char *cpath, const char *cname,
			int line)
{
	const char *img = ydoc_str(image);
	char *path = xasprintf("%s.image", cpath);
	if (!img || !*img) {
		R(c, "KS-IMAGE-LATEST", image, line, path, "set image to name:tag@sha256:<digest>",
		  "container \"%s\" has no image", cname);
		free(path);
		return;
	}
	const char *at = strchr(img, '@');
	const char *slash = strrchr(img, '/');
	const char *colon = strchr(slash ? slash : img, ':');
	if (at && colon > at)
		colon = NULL;
	if (!at) {
		size_t taglen = colon ? (size_t)((at ? at : img + strlen(img)) - colon - 1) : 0;
		if (!colon || (taglen == 6 && !strncmp(colon + 1, "latest", 6)))
			R(c, "KS-IMAGE-LATEST", image, line, path, "pin a release tag and, better, the digest: name:1.2.3@sha256:...",
			  "container \"%s\" image %s uses %s", cname, img, colon ? "the latest tag" : "no tag (latest)");
		else
			R(c, "KS-IMAGE-DIGEST", image, line, path, "deploy by digest: name@sha256:... (what was signed)",
			  "container \"%s\" image %s is not pinned by digest", cname, img);
	}
	free(path);
}

static void check_container(struct ctx *c, const struct ydoc_node *ctr, const struct ydoc_node *psc,
			    const char *cpath, bool init, bool long_running)
{
	const char *cname = ydoc_str(ydoc_get(ctr, "name"));
	if (!cname)
		cname = "?";
	int line = ctr->line;
	const struct ydoc_node *csc = ydoc_get(ctr, "securityContext");
	char *p = NULL;
#define PATH(...) (free(p), p = xasprintf(__VA_ARGS__))

	check_image(c, ydoc_get(ctr, "image"), cpath, cname, line);

	const struct ydoc_node *priv = ydoc_get(csc, "privileged");
	if (is_true(priv))
		R(c, "CIS-5.2.2", priv, line, PATH("%s.securityContext.privileged", cpath),
		  "remove privileged: true; grant only the capabilities needed", "container \"%s\" is privileged", cname);

	const struct ydoc_node *ape = ydoc_get(csc, "allowPrivilegeEscalation");
	if (!is_false(ape) && !is_true(priv))
		R(c, "CIS-5.2.6", ape, csc ? csc->line : line, PATH("%s.securityContext.allowPrivilegeEscalation", cpath),
		  "set securityContext.allowPrivilegeEscalation: false",
		  "container \"%s\" allows privilege escalation%s", cname, ape ? "" : " (not set to false)");

	/* root: an explicit UID 0 is an error; no guarantee of non-root a warning */
	const struct ydoc_node *uid = effective(csc, psc, "runAsUser");
	const struct ydoc_node *nonroot = effective(csc, psc, "runAsNonRoot");
	long long u = -1;
	bool uid_known = ydoc_int(uid, &u);
	if (uid_known && u == 0)
		report(c, "CIS-5.2.7", SEV_IGNORE, uid, line, PATH("%s.securityContext.runAsUser", cpath),
		       "run as a non-zero UID (runAsUser: 1000) with runAsNonRoot: true", "container \"%s\" runs as UID 0 (root)",
		       cname);
	else if (!is_true(nonroot) && !(uid_known && u > 0))
		report(c, "CIS-5.2.7", SEV_WARNING, nonroot, line, PATH("%s.securityContext.runAsNonRoot", cpath),
		       "set securityContext.runAsNonRoot: true and a non-zero runAsUser",
		       "container \"%s\" may run as root (runAsNonRoot is not true and no non-zero runAsUser)", cname);

	const struct ydoc_node *caps = ydoc_get(csc, "capabilities");
	const struct ydoc_node *add = ydoc_get(caps, "add");
	const struct ydoc_node *drop = ydoc_get(caps, "drop");
	for (size_t i = 0; i < ydoc_count(add); i++) {
		const char *cap = ydoc_str(ydoc_item(add, i));
		if (!cap)
			continue;
		const char *bare = !strncasecmp(cap, "CAP_", 4) ? cap + 4 : cap;
		bool severe = !strcasecmp(bare, "SYS_ADMIN") || !strcasecmp(bare, "NET_ADMIN") || !strcasecmp(bare, "ALL") ||
			      !strcasecmp(bare, "SYS_PTRACE") || !strcasecmp(bare, "SYS_MODULE");
		report(c, "CIS-5.2.9", severe ? SEV_ERROR : SEV_IGNORE, ydoc_item(add, i), line,
		       PATH("%s.securityContext.capabilities.add[%zu]", cpath, i),
		       "remove the added capability, or justify it and ignore this check for this object",
		       "container \"%s\" adds capability %s", cname, cap);
	}
	if (!seq_has(drop, "ALL")) {
		if (!seq_has(drop, "NET_RAW") && !is_true(priv))
			R(c, "CIS-5.2.8", drop ? drop : caps, csc ? csc->line : line,
			  PATH("%s.securityContext.capabilities.drop", cpath), "add capabilities.drop: [\"ALL\"]",
			  "container \"%s\" keeps the NET_RAW capability", cname);
		R(c, "CIS-5.2.10", drop ? drop : caps, csc ? csc->line : line,
		  PATH("%s.securityContext.capabilities.drop", cpath),
		  "drop: [\"ALL\"] and add back only what the app needs", "container \"%s\" does not drop all capabilities",
		  cname);
	}

	const struct ydoc_node *sp = ydoc_get(effective(csc, psc, "seccompProfile"), "type");
	const char *spt = ydoc_str(sp);
	if (!spt || (strcmp(spt, "RuntimeDefault") && strcmp(spt, "Localhost")))
		R(c, "CIS-5.7.2", sp, line, PATH("%s.securityContext.seccompProfile.type", cpath),
		  "set securityContext.seccompProfile.type: RuntimeDefault (pod or container)",
		  "container \"%s\" runs %s", cname, spt ? "with seccomp Unconfined" : "without a seccomp profile");

	const struct ydoc_node *rofs = ydoc_get(csc, "readOnlyRootFilesystem");
	if (!is_true(rofs))
		R(c, "KS-ROFS", rofs, csc ? csc->line : line, PATH("%s.securityContext.readOnlyRootFilesystem", cpath),
		  "set readOnlyRootFilesystem: true and mount an emptyDir where the app writes",
		  "container \"%s\" has a writable root filesystem", cname);

	const struct ydoc_node *ports = ydoc_get(ctr, "ports");
	for (size_t i = 0; i < ydoc_count(ports); i++) {
		const struct ydoc_node *hp = ydoc_get(ydoc_item(ports, i), "hostPort");
		long long v = 0;
		if (hp && !(ydoc_int(hp, &v) && v == 0))
			R(c, "CIS-5.2.13", hp, line, PATH("%s.ports[%zu].hostPort", cpath, i),
			  "remove hostPort; expose the port through a Service", "container \"%s\" binds host port %s", cname,
			  ydoc_str(hp) ? ydoc_str(hp) : "?");
	}

	const struct ydoc_node *env = ydoc_get(ctr, "env");
	for (size_t i = 0; i < ydoc_count(env); i++) {
		const struct ydoc_node *e = ydoc_item(env, i);
		const char *ename = ydoc_str(ydoc_get(e, "name"));
		const struct ydoc_node *val = ydoc_get(e, "value");
		if (ydoc_path(e, "valueFrom.secretKeyRef"))
			report(c, "CIS-5.4.1", SEV_INFO, e, line, PATH("%s.env[%zu].valueFrom.secretKeyRef", cpath, i),
			       "mount the secret as a file (volumes: secret) instead of an environment variable",
			       "container \"%s\" reads secret into env %s", cname, ename ? ename : "?");
		else if (ename && secret_like(ename) && ydoc_str(val) && *ydoc_str(val))
			report(c, "CIS-5.4.1", SEV_ERROR, val, line, PATH("%s.env[%zu].value", cpath, i),
			       "move the value into a Secret and mount it as a file",
			       "container \"%s\" has a literal secret in env %s", cname, ename);
	}
	for (size_t i = 0; i < ydoc_count(ydoc_get(ctr, "envFrom")); i++)
		if (ydoc_get(ydoc_item(ydoc_get(ctr, "envFrom"), i), "secretRef"))
			report(c, "CIS-5.4.1", SEV_INFO, ydoc_item(ydoc_get(ctr, "envFrom"), i), line,
			       PATH("%s.envFrom[%zu].secretRef", cpath, i),
			       "mount the secret as a file (volumes: secret) instead of environment variables",
			       "container \"%s\" loads a secret into its environment", cname);

	const struct ydoc_node *res = ydoc_get(ctr, "resources");
	const struct ydoc_node *req = ydoc_get(res, "requests");
	const struct ydoc_node *lim = ydoc_get(res, "limits");
	if (!ydoc_get(req, "cpu") || !ydoc_get(req, "memory"))
		R(c, "KS-REQUESTS", req ? req : res, line, PATH("%s.resources.requests", cpath),
		  "set resources.requests.cpu and resources.requests.memory", "container \"%s\" does not request %s", cname,
		  !ydoc_get(req, "cpu") && !ydoc_get(req, "memory") ? "CPU and memory" : !ydoc_get(req, "cpu") ? "CPU" : "memory");
	if (!ydoc_get(lim, "memory"))
		R(c, "KS-LIMITS", lim ? lim : res, line, PATH("%s.resources.limits.memory", cpath),
		  "set resources.limits.memory", "container \"%s\" has no memory limit", cname);
	if (!ydoc_get(lim, "cpu"))
		report(c, "KS-LIMITS", SEV_INFO, lim ? lim : res, line, PATH("%s.resources.limits.cpu", cpath),
		       "set resources.limits.cpu", "container \"%s\" has no CPU limit", cname);

	if (!init && long_running) {
		if (!ydoc_get(ctr, "readinessProbe"))
			R(c, "KS-READINESS", NULL, line, PATH("%s.readinessProbe", cpath),
			  "add a readinessProbe (httpGet on a health endpoint)", "container \"%s\" has no readinessProbe", cname);
		if (!ydoc_get(ctr, "livenessProbe"))
			R(c, "KS-LIVENESS", NULL, line, PATH("%s.livenessProbe", cpath), "add a livenessProbe",
			  "container \"%s\" has no livenessProbe", cname);
	}
	free(p);
#undef PATH
}

static void check_pod_spec(struct ctx *c, const struct ydoc_node *spec, const char *spath, bool long_running)
{
	char *p = NULL;
#define PATH(...) (free(p), p = xasprintf(__VA_ARGS__))
	static const char *const host_ns[][2] = { { "hostPID", "CIS-5.2.3" }, { "hostIPC", "CIS-5.2.4" },
						   { "hostNetwork", "CIS-5.2.5" } };
	for (size_t i = 0; i < 3; i++) {
		const struct ydoc_node *n = ydoc_get(spec, host_ns[i][0]);
		if (is_true(n))
			R(c, host_ns[i][1], n, spec->line, PATH("%s.%s", spath, host_ns[i][0]),
			  "remove it (the default is false)", "pod shares the host's namespace: %s: true", host_ns[i][0]);
	}
	const struct ydoc_node *vols = ydoc_get(spec, "volumes");
	for (size_t i = 0; i < ydoc_count(vols); i++) {
		const struct ydoc_node *v = ydoc_item(vols, i);
		const struct ydoc_node *hp = ydoc_get(v, "hostPath");
		if (hp)
			R(c, "CIS-5.2.12", hp, v->line, PATH("%s.volumes[%zu].hostPath", spath, i),
			  "use an emptyDir, configMap, secret or persistentVolumeClaim instead",
			  "volume \"%s\" mounts host path %s", ydoc_str(ydoc_get(v, "name")) ? ydoc_str(ydoc_get(v, "name")) : "?",
			  ydoc_str(ydoc_get(hp, "path")) ? ydoc_str(ydoc_get(hp, "path")) : "?");
	}
	const struct ydoc_node *automount = ydoc_get(spec, "automountServiceAccountToken");
	if (!is_false(automount))
		R(c, "CIS-5.1.6", automount, spec->line, PATH("%s.automountServiceAccountToken", spath),
		  "set automountServiceAccountToken: false unless the app calls the Kubernetes API",
		  "pod mounts a service account token");
	const struct ydoc_node *psc = ydoc_get(spec, "securityContext");
	static const char *const lists[] = { "initContainers", "containers", "ephemeralContainers" };
	for (size_t l = 0; l < 3; l++) {
		const struct ydoc_node *cs = ydoc_get(spec, lists[l]);
		for (size_t i = 0; i < ydoc_count(cs); i++) {
			const struct ydoc_node *ctr = ydoc_item(cs, i);
			if (!ydoc_is_map(ctr))
				continue;
			char *cpath = xasprintf("%s.%s[%zu]", spath, lists[l], i);
			check_container(c, ctr, psc, cpath, l != 1, long_running);
			free(cpath);
		}
	}
	free(p);
#undef PATH
}

/* RBAC: bindings to cluster-admin (5.1.1), wildcards in rules (5.1.3). */
static void check_rbac(struct ctx *c, const struct ydoc_node *obj, const char *kind)
{
	char *p = NULL;
	if (!strcmp(kind, "ClusterRoleBinding") || !strcmp(kind, "RoleBinding")) {
		const struct ydoc_node *ref = ydoc_get(obj, "roleRef");
		const char *role = ydoc_str(ydoc_get(ref, "name"));
		const char *rkind = ydoc_str(ydoc_get(ref, "kind"));
		if (role && !strcmp(role, "cluster-admin") && (!rkind || !strcmp(rkind, "ClusterRole")))
			R(c, "CIS-5.1.1", ydoc_get(ref, "name"), obj->line, "roleRef.name",
			  "bind a Role with only the verbs and resources the subject needs",
			  "%s %s grants cluster-admin", kind, c->name);
		free(p);
		return;
	}
	if (strcmp(kind, "ClusterRole") && strcmp(kind, "Role"))
		return;
	const struct ydoc_node *rules_n = ydoc_get(obj, "rules");
	static const char *const fields[] = { "apiGroups", "resources", "verbs" };
	for (size_t i = 0; i < ydoc_count(rules_n); i++) {
		const struct ydoc_node *rule = ydoc_item(rules_n, i);
		for (size_t f = 0; f < 3; f++) {
			const struct ydoc_node *list = ydoc_get(rule, fields[f]);
			for (size_t j = 0; j < ydoc_count(list); j++) {
				const char *v = ydoc_str(ydoc_item(list, j));
				if (v && !strcmp(v, "*")) {
					free(p);
					p = xasprintf("rules[%zu].%s[%zu]", i, fields[f], j);
					R(c, "CIS-5.1.3", ydoc_item(list, j), rule->line, p,
					  "list the exact apiGroups, resources and verbs needed",
					  "%s %s allows every %s (\"*\")", kind, c->name,
					  f == 0 ? "API group" : f == 1 ? "resource" : "verb");
				}
			}
		}
	}
	free(p);
}

static bool cluster_scoped(const char *kind)
{
	static const char *const kinds[] = { "Namespace", "Node", "PersistentVolume", "StorageClass", "ClusterRole",
					     "ClusterRoleBinding", "CustomResourceDefinition", "PriorityClass",
					     "IngressClass", "RuntimeClass", "MutatingWebhookConfiguration",
					     "ValidatingWebhookConfiguration", "APIService", "CSIDriver",
					     "PodSecurityPolicy", "ClusterIssuer", NULL };
	for (const char *const *k = kinds; *k; k++)
		if (!strcmp(kind, *k))
			return true;
	return false;
}

static void check_object(struct ctx *c, const struct ydoc_node *obj, int depth)
{
	const char *kind = ydoc_str(ydoc_get(obj, "kind"));
	if (!kind)
		return;
	if (!strcmp(kind, "List") && depth == 0) {
		const struct ydoc_node *items = ydoc_get(obj, "items");
		for (size_t i = 0; i < ydoc_count(items); i++)
			if (ydoc_is_map(ydoc_item(items, i)))
				check_object(c, ydoc_item(items, i), depth + 1);
		return;
	}
	const struct ydoc_node *meta = ydoc_get(obj, "metadata");
	const char *name = ydoc_str(ydoc_get(meta, "name"));
	if (!name)
		name = ydoc_str(ydoc_get(meta, "generateName"));
	c->kind = kind;
	c->name = name ? name : "?";
	c->obj_line = obj->line;
	c->ignore = ydoc_str(ydoc_get(ydoc_get(meta, "annotations"), "cis-check/ignore"));
	if (!cluster_scoped(kind)) {
		const struct ydoc_node *ns = ydoc_get(meta, "namespace");
		const char *nss = ydoc_str(ns);
		if (!nss || !strcmp(nss, "default"))
			R(c, "CIS-5.7.4", ns, meta ? meta->line : obj->line, "metadata.namespace",
			  "set metadata.namespace to the app's own namespace",
			  "%s %s is in the default namespace%s", kind, c->name, nss ? "" : " (no namespace set)");
	}
	check_rbac(c, obj, kind);
	const struct ydoc_node *spec = NULL;
	const char *spath = NULL;
	bool long_running = true;
	if (!strcmp(kind, "Pod")) {
		spec = ydoc_get(obj, "spec");
		spath = "spec";
	} else if (!strcmp(kind, "Deployment") || !strcmp(kind, "StatefulSet") || !strcmp(kind, "DaemonSet") ||
		   !strcmp(kind, "ReplicaSet") || !strcmp(kind, "ReplicationController")) {
		spec = ydoc_path(obj, "spec.template.spec");
		spath = "spec.template.spec";
	} else if (!strcmp(kind, "Job")) {
		spec = ydoc_path(obj, "spec.template.spec");
		spath = "spec.template.spec";
		long_running = false;
	} else if (!strcmp(kind, "CronJob")) {
		spec = ydoc_path(obj, "spec.jobTemplate.spec.template.spec");
		spath = "spec.jobTemplate.spec.template.spec";
		long_running = false;
	}
	if (spec && ydoc_is_map(spec))
		check_pod_spec(c, spec, spath, long_running);
}

void cis_check_stream(const struct ydoc *y, const char *file, const struct cis_config *cfg, struct findings *out)
{
	struct ctx c = { .file = file, .cfg = cfg, .out = out };
	for (size_t i = 0; i < y->ndocs; i++)
		if (ydoc_is_map(y->docs[i]))
			check_object(&c, y->docs[i], 0);
}
