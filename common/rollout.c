/* Rollout status, failure reasons, undo (see rollout.h). */
#include "rollout.h"

#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "clock.h"
#include "http.h"
#include "log.h"
#include "strbuf.h"
#include "xalloc.h"

#define REVISION_ANNOTATION "deployment.kubernetes.io/revision"

static json_int_t num(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* kubectl's rule for a StatefulSet (RollingUpdate; other strategies have
 * no rollout to wait for) */
static bool statefulset_done(const json_t *d, char **why)
{
	const json_t *meta = json_object_get(d, "metadata");
	const json_t *spec = json_object_get(d, "spec");
	const json_t *st = json_object_get(d, "status");
	const json_t *strategy = json_object_get(spec, "updateStrategy");
	const char *type = json_string_value(json_object_get(strategy, "type"));
	*why = NULL;
	if (type && strcmp(type, "RollingUpdate"))
		return true;
	if (!num(st, "observedGeneration") || num(meta, "generation") > num(st, "observedGeneration")) {
		*why = xstrdup("waiting for the statefulset spec update to be observed");
		return false;
	}
	json_int_t want = json_is_integer(json_object_get(spec, "replicas")) ? num(spec, "replicas") : 1;
	const json_t *partition = json_object_get(json_object_get(strategy, "rollingUpdate"), "partition");
	const char *cur = json_string_value(json_object_get(st, "currentRevision"));
	const char *upd = json_string_value(json_object_get(st, "updateRevision"));
	if (num(st, "readyReplicas") < want)
		*why = xasprintf("%lld of %lld pods are ready", (long long)num(st, "readyReplicas"), (long long)want);
	else if (json_is_integer(partition)) {
		if (num(st, "updatedReplicas") < want - json_integer_value(partition))
			*why = xasprintf("%lld of %lld partitioned pods are updated", (long long)num(st, "updatedReplicas"),
					 (long long)(want - json_integer_value(partition)));
	} else if (!cur || !upd || strcmp(cur, upd))
		*why = xasprintf("%lld of %lld pods are updated to revision %s", (long long)num(st, "updatedReplicas"),
				 (long long)want, upd ? upd : "?");
	return !*why;
}

bool rollout_done(const json_t *d, bool *failed, char **why)
{
	const char *kind = json_string_value(json_object_get(d, "kind"));
	*failed = false;
	if (kind && !strcmp(kind, "StatefulSet"))
		return statefulset_done(d, why);
	const json_t *meta = json_object_get(d, "metadata");
	const json_t *spec = json_object_get(d, "spec");
	const json_t *st = json_object_get(d, "status");
	*why = NULL;
	if (num(meta, "generation") > num(st, "observedGeneration")) {
		*why = xstrdup("waiting for the deployment spec update to be observed");
		return false;
	}
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(st, "conditions"), i, c) {
		const char *type = json_string_value(json_object_get(c, "type"));
		const char *reason = json_string_value(json_object_get(c, "reason"));
		if (type && reason && !strcmp(type, "Progressing") && !strcmp(reason, "ProgressDeadlineExceeded")) {
			const char *msg = json_string_value(json_object_get(c, "message"));
			*failed = true;
			*why = xasprintf("ProgressDeadlineExceeded: %s", msg ? msg : "the rollout made no progress");
			return false;
		}
	}
	json_int_t want = json_is_integer(json_object_get(spec, "replicas")) ? num(spec, "replicas") : 1;
	json_int_t updated = num(st, "updatedReplicas"), total = num(st, "replicas"), avail = num(st, "availableReplicas");
	if (updated < want)
		*why = xasprintf("%lld of %lld updated replicas are available", (long long)updated, (long long)want);
	else if (total > updated)
		*why = xasprintf("%lld old replicas are pending termination", (long long)(total - updated));
	else if (avail < updated)
		*why = xasprintf("%lld of %lld updated replicas are available", (long long)avail, (long long)updated);
	return !*why;
}

/* "app=web,tier=x" from spec.selector.matchLabels, URL-encoded */
static char *selector_query(const json_t *d)
{
	struct strbuf sb = STRBUF_INIT;
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(json_object_get(json_object_get(d, "spec"), "selector"), "matchLabels"), k, v)
		sb_addf(&sb, "%s%s=%s", sb.len ? "," : "", k, json_string_value(v) ? json_string_value(v) : "");
	char *enc = http_urlencode(sb_str(&sb));
	sb_release(&sb);
	return enc;
}

static void pod_reasons(struct kubeapi *k, const char *ns, const json_t *d, struct strbuf *out)
{
	_cleanup_free_ char *sel = selector_query(d);
	_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/pods?labelSelector=%s", ns, sel);
	json_t *list = NULL;
	err_t *e = kubeapi_get(k, path, &list);
	if (e) {
		sb_addf(out, "\n  (pods unreadable: %s)", e->msg);
		err_free(e);
		return;
	}
	size_t i, j;
	json_t *pod, *cs;
	json_array_foreach(json_object_get(list, "items"), i, pod) {
		const char *pname = json_string_value(json_object_get(json_object_get(pod, "metadata"), "name"));
		json_array_foreach(json_object_get(json_object_get(pod, "status"), "containerStatuses"), j, cs) {
			const json_t *state = json_object_get(cs, "state");
			const json_t *w = json_object_get(state, "waiting");
			const json_t *t = json_object_get(state, "terminated");
			const char *cname = json_string_value(json_object_get(cs, "name"));
			const char *msg = json_string_value(json_object_get(w ? w : t, "message"));
			if (w)
				sb_addf(out, "\n  pod %s container %s: waiting: %s%s%s", pname, cname,
					json_string_value(json_object_get(w, "reason")), msg ? ": " : "", msg ? msg : "");
			else if (t)
				sb_addf(out, "\n  pod %s container %s: terminated: %s (exit code %lld)%s%s", pname, cname,
					json_string_value(json_object_get(t, "reason")), (long long)num(t, "exitCode"),
					msg ? ": " : "", msg ? msg : "");
		}
	}
	json_decref(list);
}

/* The last few events about the deployment, its replica sets and pods
 * (named after it). */
static void last_events(struct kubeapi *k, const char *ns, const char *name, struct strbuf *out)
{
	_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/events", ns);
	json_t *list = NULL;
	err_t *e = kubeapi_get(k, path, &list);
	if (e) {
		sb_addf(out, "\n  (events unreadable: %s)", e->msg);
		err_free(e);
		return;
	}
	size_t prefix = strlen(name), n = 0, i;
	json_t *ev, *items = json_object_get(list, "items");
	const json_t *picked[5];
	for (i = json_array_size(items); i-- > 0 && n < 5;) {
		ev = json_array_get(items, i);
		const char *obj = json_string_value(json_object_get(json_object_get(ev, "involvedObject"), "name"));
		if (obj && !strncmp(obj, name, prefix) && (!obj[prefix] || obj[prefix] == '-'))
			picked[n++] = ev;
	}
	while (n-- > 0) {
		ev = (json_t *)picked[n];
		sb_addf(out, "\n  event %s %s/%s: %s: %s", json_string_value(json_object_get(ev, "type")),
			json_string_value(json_object_get(json_object_get(ev, "involvedObject"), "kind")),
			json_string_value(json_object_get(json_object_get(ev, "involvedObject"), "name")),
			json_string_value(json_object_get(ev, "reason")), json_string_value(json_object_get(ev, "message")));
	}
	json_decref(list);
}

struct wait_state {
	const char *what, *ns, *name;
	json_t *last;
	bool done, failed;
	char *why;
	char *rv;
};

static void observe(struct wait_state *w, json_t *d)
{
	json_decref(w->last);
	w->last = json_incref(d);
	free(w->why);
	w->done = rollout_done(d, &w->failed, &w->why);
	const char *rv = json_string_value(json_object_get(json_object_get(d, "metadata"), "resourceVersion"));
	if (rv) {
		free(w->rv);
		w->rv = xstrdup(rv);
	}
	if (!w->done && !w->failed)
		log_info("rollout: %s", w->why);
}

static err_t *on_event(const char *type, json_t *obj, void *ctx, bool *stop)
{
	struct wait_state *w = ctx;
	if (!strcmp(type, "BOOKMARK")) {
		const char *rv = json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
		if (rv) {
			free(w->rv);
			w->rv = xstrdup(rv);
		}
		return NULL;
	}
	if (!strcmp(type, "DELETED"))
		return err_new(EXIT_FAILED, "%s %s/%s was deleted during the rollout", w->what, w->ns, w->name);
	observe(w, obj);
	*stop = w->done || w->failed;
	return NULL;
}

/* The workload kinds a rollout is waited for and undone on, as the API and
 * kubectl name them. A Deployment's history is its ReplicaSets (revision
 * annotation, the pod template in spec.template); a StatefulSet's its
 * ControllerRevisions (.revision, the template in data.spec.template). */
struct history_kind {
	const char *workloads, *what, *history;
	bool statefulset;
};

static struct history_kind history_kind_of(const char *kind)
{
	return strcmp(kind, "StatefulSet") ? (struct history_kind){ "deployments", "deployment", "replicasets", false }
					   : (struct history_kind){ "statefulsets", "statefulset", "controllerrevisions", true };
}

err_t *rollout_wait(struct kubeapi *k, const char *kind, const char *ns, const char *name, long timeout_ms,
		    char **revision)
{
	const struct history_kind h = history_kind_of(kind);
	const char *what = h.what;
	struct wait_state w = { .what = what, .ns = ns, .name = name };
	_cleanup_free_ char *path = xasprintf("/apis/apps/v1/namespaces/%s/%s/%s", ns, h.workloads, name);
	_cleanup_free_ char *coll =
		xasprintf("/apis/apps/v1/namespaces/%s/%s?fieldSelector=metadata.name%%3D%s", ns, h.workloads, name);
	json_t *d = NULL;
	err_t *e = kubeapi_get(k, path, &d);
	if (!e) {
		observe(&w, d);
		json_decref(d);
	}
	long deadline = (long)clock_monotonic_ms() + timeout_ms;
	while (!e && !w.done && !w.failed) {
		long left = deadline - (long)clock_monotonic_ms();
		if (left <= 0)
			break;
		bool stopped = false;
		e = kubeapi_watch(k, coll, w.rv, (left + 999) / 1000, on_event, &w, &stopped);
	}
	if (!e && !w.done) {
		struct strbuf msg = STRBUF_INIT;
		if (w.failed)
			sb_addf(&msg, "rollout of %s %s/%s failed: %s", what, ns, name, w.why);
		else
			sb_addf(&msg, "rollout of %s %s/%s did not finish within %lds: %s", what, ns, name,
				(timeout_ms + 999) / 1000, w.why ? w.why : "no status");
		pod_reasons(k, ns, w.last, &msg);
		last_events(k, ns, name, &msg);
		e = err_new(EXIT_FAILED, "%s", sb_str(&msg));
		sb_release(&msg);
	}
	if (!e) {
		const char *rev = json_string_value(
			json_object_get(json_object_get(json_object_get(w.last, "metadata"), "annotations"), REVISION_ANNOTATION));
		if (!rev)
			rev = json_string_value(json_object_get(json_object_get(w.last, "status"), "updateRevision"));
		*revision = xstrdup(rev ? rev : "");
	}
	json_decref(w.last);
	free(w.why);
	free(w.rv);
	return e;
}

static long revision_of(const json_t *o)
{
	const char *r = json_string_value(
		json_object_get(json_object_get(json_object_get(o, "metadata"), "annotations"), REVISION_ANNOTATION));
	return r ? strtol(r, NULL, 10) : 0;
}

/* an object the workload controls: its controller ownerReference is the
 * workload's uid (a ReplicaSet or ControllerRevision that only matches the
 * selector belongs to another workload, as kubectl's history rule says) */
static bool controlled_by(const json_t *o, const char *uid)
{
	size_t i;
	const json_t *ref;
	json_array_foreach(json_object_get(json_object_get(o, "metadata"), "ownerReferences"), i, ref)
		if (json_is_true(json_object_get(ref, "controller")) &&
		    !strcmp(json_string_value(json_object_get(ref, "uid")) ?: "", uid))
			return true;
	return false;
}

static long history_revision(const struct history_kind *h, const json_t *o)
{
	return h->statefulset ? (long)num(o, "revision") : revision_of(o);
}

static json_t *history_template(const struct history_kind *h, const json_t *o)
{
	const json_t *holder = h->statefulset ? json_object_get(o, "data") : o;
	json_t *tmpl = json_deep_copy(json_object_get(json_object_get(holder, "spec"), "template"));
	if (h->statefulset)
		json_object_del(tmpl, "$patch"); /* the strategic-merge directive the controller stores */
	else
		json_object_del(json_object_get(json_object_get(tmpl, "metadata"), "labels"), "pod-template-hash");
	return tmpl;
}

err_t *rollout_undo(struct kubeapi *k, const char *kind, const char *ns, const char *name, char **to_revision)
{
	const struct history_kind h = history_kind_of(kind);
	bool sts = h.statefulset;
	_cleanup_free_ char *path = xasprintf("/apis/apps/v1/namespaces/%s/%s/%s", ns, h.workloads, name);
	json_t *d = NULL, *list = NULL;
	TRY(kubeapi_get(k, path, &d));
	const char *uid = json_string_value(json_object_get(json_object_get(d, "metadata"), "uid")) ?: "";
	_cleanup_free_ char *sel = selector_query(d);
	_cleanup_free_ char *lpath = xasprintf("/apis/apps/v1/namespaces/%s/%s?labelSelector=%s", ns, h.history, sel);
	err_t *e = kubeapi_get(k, lpath, &list);
	/* the current revision: a Deployment's annotation, a StatefulSet's
	 * newest ControllerRevision (kubectl: the last of the sorted history) */
	long current = sts ? 0 : revision_of(d);
	size_t i;
	json_t *o;
	if (sts)
		json_array_foreach(json_object_get(list, "items"), i, o)
			if (controlled_by(o, uid) && history_revision(&h, o) > current)
				current = history_revision(&h, o);
	const json_t *prev = NULL;
	long best = 0;
	json_array_foreach(json_object_get(list, "items"), i, o) {
		long r = history_revision(&h, o);
		if (controlled_by(o, uid) && r < current && r > best) {
			best = r;
			prev = o;
		}
	}
	if (!e && !prev)
		e = err_new(EXIT_FAILED, "no revision of %s %s/%s before revision %ld to roll back to", h.what, ns, name,
			    current);
	if (!e) {
		json_t *patch = json_pack("[{s:s,s:s,s:o}]", "op", "replace", "path", "/spec/template", "value",
					  history_template(&h, prev));
		e = err_context(kubeapi_patch(k, path, "application/json-patch+json", patch, NULL),
				"rolling back %s %s/%s", h.what, ns, name);
		json_decref(patch);
		if (!e)
			*to_revision = xasprintf("%ld", best);
	}
	json_decref(d);
	json_decref(list);
	return e;
}

static bool pod_ready(const json_t *pod)
{
	size_t i;
	const json_t *c;
	json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), i, c)
		if (!strcmp(json_string_value(json_object_get(c, "type")) ?: "", "Ready"))
			return !strcmp(json_string_value(json_object_get(c, "status")) ?: "", "True");
	return false;
}

struct pods_state {
	json_t *ready; /* pod name -> true/false */
	json_int_t want;
	char *rv;
};

static size_t ready_count(const struct pods_state *w)
{
	size_t n = 0;
	const char *key;
	json_t *v;
	json_object_foreach(w->ready, key, v)
		n += json_is_true(v);
	return n;
}

static err_t *on_pod_event(const char *type, json_t *obj, void *ctx, bool *stop)
{
	struct pods_state *w = ctx;
	const json_t *meta = json_object_get(obj, "metadata");
	const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
	if (rv) {
		free(w->rv);
		w->rv = xstrdup(rv);
	}
	const char *name = json_string_value(json_object_get(meta, "name"));
	if (!strcmp(type, "BOOKMARK") || !name)
		return NULL;
	if (!strcmp(type, "DELETED"))
		json_object_del(w->ready, name);
	else
		json_object_set_new(w->ready, name, json_boolean(pod_ready(obj)));
	*stop = (json_int_t)ready_count(w) >= w->want;
	return NULL;
}

err_t *rollout_wait_pods_ready(struct kubeapi *k, const char *ns, const char *name, long timeout_ms)
{
	long deadline = (long)clock_monotonic_ms() + timeout_ms;
	_cleanup_free_ char *path = xasprintf("/apis/apps/v1/namespaces/%s/deployments/%s", ns, name);
	json_t *d = NULL, *list = NULL;
	TRY(kubeapi_get(k, path, &d));
	_cleanup_free_ char *sel = selector_query(d);
	_cleanup_free_ char *pods = xasprintf("/api/v1/namespaces/%s/pods?labelSelector=%s", ns, sel);
	const json_t *r = json_object_get(json_object_get(d, "spec"), "replicas");
	struct pods_state w = { json_object(), json_is_integer(r) ? json_integer_value(r) : 1, NULL };
	err_t *e = kubeapi_get(k, pods, &list);
	if (!e) {
		size_t i;
		json_t *pod;
		json_array_foreach(json_object_get(list, "items"), i, pod)
			json_object_set_new(w.ready, json_string_value(json_object_get(json_object_get(pod, "metadata"), "name")) ?: "",
					    json_boolean(pod_ready(pod)));
		const char *rv = json_string_value(json_object_get(json_object_get(list, "metadata"), "resourceVersion"));
		w.rv = rv ? xstrdup(rv) : NULL;
	}
	while (!e && (json_int_t)ready_count(&w) < w.want) {
		long left = deadline - (long)clock_monotonic_ms();
		if (left <= 0)
			break;
		bool stopped = false;
		e = kubeapi_watch(k, pods, w.rv, (left + 999) / 1000, on_pod_event, &w, &stopped);
	}
	if (!e && (json_int_t)ready_count(&w) < w.want) {
		struct strbuf msg = STRBUF_INIT;
		sb_addf(&msg, "pods of deployment %s/%s not Ready within %lds: %zu of %lld", ns, name,
			(timeout_ms + 999) / 1000, ready_count(&w), (long long)w.want);
		pod_reasons(k, ns, d, &msg);
		last_events(k, ns, name, &msg);
		e = err_new(EXIT_FAILED, "%s", sb_str(&msg));
		sb_release(&msg);
	}
	json_decref(w.ready);
	free(w.rv);
	json_decref(d);
	json_decref(list);
	return e;
}
