/* Admission decisions and routes (see admit.h). */
#include "admit.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "clock.h"
#include "imageref.h"
#include "log.h"
#include "review.h"
#include "strbuf.h"
#include "xalloc.h"

struct policy_ref {
	struct admission_policy *p;
	uint64_t generation;
	int refs; /* under admit.lock */
};

struct admit {
	struct verifier *v;
	pthread_mutex_t lock;
	struct policy_ref *current;
	uint64_t generation;
	char *policy_path;
	int64_t deadline_ms;
	struct server *server;
};

static struct policy_ref *ref_new(struct admission_policy *p, uint64_t generation)
{
	struct policy_ref *r = xcalloc(1, sizeof *r);
	r->p = p;
	r->generation = generation;
	r->refs = 1;
	return r;
}

struct admit *admit_new(struct verifier *v, struct admission_policy *policy, const char *policy_path, int64_t deadline_ms)
{
	struct admit *a = xcalloc(1, sizeof *a);
	a->v = v;
	pthread_mutex_init(&a->lock, NULL);
	a->generation = 1;
	a->current = ref_new(policy, a->generation);
	a->policy_path = xstrdup(policy_path);
	a->deadline_ms = deadline_ms;
	return a;
}

static void ref_put(struct admit *a, struct policy_ref *r)
{
	pthread_mutex_lock(&a->lock);
	bool last = --r->refs == 0;
	pthread_mutex_unlock(&a->lock);
	if (last) {
		admission_policy_free(r->p);
		free(r);
	}
}

static struct policy_ref *ref_get(struct admit *a)
{
	pthread_mutex_lock(&a->lock);
	struct policy_ref *r = a->current;
	r->refs++;
	pthread_mutex_unlock(&a->lock);
	return r;
}

void admit_free(struct admit *a)
{
	if (!a)
		return;
	ref_put(a, a->current);
	pthread_mutex_destroy(&a->lock);
	free(a->policy_path);
	free(a);
}

void admit_set_server(struct admit *a, struct server *s)
{
	a->server = s;
}

err_t *admit_reload(struct admit *a)
{
	struct admission_policy *p;
	TRY(err_context(admission_policy_load(a->policy_path, &p), "reloading the policy (the previous one stays)"));
	pthread_mutex_lock(&a->lock);
	struct policy_ref *old = a->current;
	a->current = ref_new(p, ++a->generation);
	pthread_mutex_unlock(&a->lock);
	ref_put(a, old);
	log_info("policy %s reloaded from %s (generation %" PRIu64 ")", p->name, a->policy_path, a->generation);
	return NULL;
}

struct pending {
	const struct review_image *img;
	struct image_ref ref;
	bool parsed, skip;
	struct check check;
};

/* A review being decided: what its answer needs, kept while its checks
 * run (the request's connection waits without a worker meanwhile). */
struct inflight {
	struct admit *a;
	struct policy_ref *pr;
	struct review r;
	bool mutate;
	int64_t t0_us;
	json_t *log; /* the access-log line so far */
	struct pending *pend;
	struct strbuf denied;
	struct server_call *call;
};

static void access_log(json_t *log, int status, int64_t t0_us)
{
	json_object_set_new(log, "status", json_integer(status));
	json_object_set_new(log, "duration_ms", json_real((double)(clock_monotonic_us() - t0_us) / 1000.0));
	log_fields(LOG_INFO, "access", log);
}

/* Start every check of f's review under its policy, with the watch w:
 * images that do not parse, are exempt or have no policy entry are
 * decided here. */
static void decide_start(struct inflight *f, struct watch *w)
{
	const struct admission_policy *p = f->pr->p;
	struct strbuf *denied = &f->denied;
	f->pend = xcalloc(f->r.n ? f->r.n : 1, sizeof *f->pend);
	for (size_t i = 0; i < f->r.n; i++) {
		struct pending *x = &f->pend[i];
		x->img = &f->r.images[i];
		err_t *e = imageref_parse(x->img->image, &x->ref);
		if (e) {
			sb_addf(denied, "%simage %s: not a valid image reference: %s", denied->len ? "; " : "",
				x->img->image, e->msg);
			err_free(e);
			continue;
		}
		x->parsed = true;
		_cleanup_free_ char *repo = imageref_name(&x->ref);
		if (admission_policy_image_exempt(p, repo)) {
			x->skip = true;
			continue;
		}
		const struct admission_rule *rule = admission_policy_rule_for(p, repo);
		if (!rule) {
			sb_addf(denied, "%simage %s: no repository entry of policy %s covers %s", denied->len ? "; " : "",
				x->img->image, p->name, repo);
			x->skip = true;
			continue;
		}
		verifier_start(f->a->v, f->pr->generation, rule, &x->ref, &x->check, w);
	}
}

/* Every check has its verdict or the deadline passed: the answer, the
 * access-log line, and f is freed. */
static void decide_finish(struct inflight *f, struct server_response *resp)
{
	struct admit *a = f->a;
	struct strbuf *denied = &f->denied;
	json_t *patch = json_array();
	size_t cached = 0;
	char *message = NULL;
	if (admission_policy_namespace_exempt(f->pr->p, f->r.namespace))
		message = xasprintf("namespace %s is exempt by policy %s", f->r.namespace, f->pr->p->name);
	for (size_t i = 0; f->pend && i < f->r.n; i++) {
		struct pending *x = &f->pend[i];
		if (!x->parsed || x->skip)
			continue;
		verifier_collect(a->v, &x->check);
		cached += x->check.cached;
		if (!x->check.ok || !x->check.digest[0]) {
			sb_addf(denied, "%simage %s%s%s: not signed by every required signer: %s", denied->len ? "; " : "",
				x->img->image, x->check.digest[0] ? " at " : "", x->check.digest,
				x->check.reason ? x->check.reason : "no verdict (fail closed)");
		} else if (f->mutate) {
			_cleanup_free_ char *pinned = imageref_pinned(&x->ref, x->check.digest);
			if (strcmp(pinned, x->img->image))
				json_array_append_new(patch, json_pack("{s:s, s:s, s:s}", "op", "replace", "path",
								       x->img->path, "value", pinned));
		}
	}
	for (size_t i = 0; f->pend && i < f->r.n; i++) {
		check_release(&f->pend[i].check);
		if (f->pend[i].parsed)
			imageref_free(&f->pend[i].ref);
	}
	free(f->pend);
	bool allowed = denied->len == 0;
	if (!allowed) {
		free(message);
		message = sb_detach(denied);
		json_array_clear(patch);
	}
	sb_release(denied);
	resp->status = 200;
	resp->body = review_response(f->r.uid, allowed, message, patch);
	json_t *log = f->log;
	json_object_set_new(log, "uid", json_string(f->r.uid));
	json_object_set_new(log, "operation", json_string(f->r.operation));
	json_object_set_new(log, "kind", json_string(f->r.kind));
	json_object_set_new(log, "namespace", json_string(f->r.namespace));
	json_object_set_new(log, "name", json_string(f->r.name));
	json_object_set_new(log, "images", json_integer((json_int_t)f->r.n));
	json_object_set_new(log, "cached", json_integer((json_int_t)cached));
	json_object_set_new(log, "allowed", json_boolean(allowed));
	json_object_set_new(log, "patched", json_integer((json_int_t)json_array_size(patch)));
	json_object_set_new(log, "policy_generation", json_integer((json_int_t)f->pr->generation));
	if (message)
		json_object_set_new(log, "reason", json_string(message));
	access_log(log, resp->status, f->t0_us);
	json_decref(log);
	ref_put(a, f->pr);
	free(message);
	json_decref(patch);
	review_free(&f->r);
	free(f);
}

/* watch_fn: a deferred review's checks are in (or its deadline passed) */
static void review_ready(void *arg)
{
	struct inflight *f = arg;
	struct server_call *call = f->call;
	struct server_response resp = { 0 };
	decide_finish(f, &resp);
	server_answer(call, &resp);
}

static char *error_body(const char *msg)
{
	json_t *o = json_pack("{s:s}", "error", msg);
	char *s = o ? json_dumps(o, JSON_COMPACT) : xstrdup("{\"error\":\"bad request\"}");
	json_decref(o);
	return s;
}

/* true: deferred, answered through call once its verifications are in;
 * takes log either way */
static bool review_route(struct admit *a, const struct httpreq *req, bool mutate, int64_t t0_us,
			 struct server_call *call, struct server_response *resp, json_t *log)
{
	struct inflight *f = xcalloc(1, sizeof *f);
	err_t *e = review_parse(req->body, req->body_len, &f->r);
	if (e) {
		resp->status = 400;
		resp->body = error_body(e->msg);
		json_object_set_new(log, "reason", json_string(e->msg));
		err_free(e);
		free(f);
		access_log(log, resp->status, t0_us);
		json_decref(log);
		return false;
	}
	f->a = a;
	f->pr = ref_get(a);
	f->mutate = mutate;
	f->t0_us = t0_us;
	f->log = log;
	f->call = call;
	if (!admission_policy_namespace_exempt(f->pr->p, f->r.namespace)) {
		struct watch *w = verifier_watch(a->v, t0_us / 1000 + a->deadline_ms, review_ready, f);
		decide_start(f, w);
		bool verifying = false;
		for (size_t i = 0; i < f->r.n; i++)
			verifying |= f->pend[i].check.job != NULL;
		if (verifying)
			server_defer(call); /* before the watch may call back */
		if (verifier_watch_arm(a->v, w))
			return true;
		if (verifying) { /* every verification ended meanwhile */
			review_ready(f);
			return true;
		}
	}
	decide_finish(f, resp);
	return false;
}

bool admit_handle(void *ctx, const struct httpreq *req, const char *remote, struct server_call *call,
		  struct server_response *resp)
{
	struct admit *a = ctx;
	int64_t t0 = clock_monotonic_us();
	bool get = !strcmp(req->method, "GET"), post = !strcmp(req->method, "POST");
	if (!strcmp(req->path, "/healthz")) { /* health probes are not worth a log line each */
		resp->status = get ? 200 : 405;
		resp->body = xstrdup(get ? "{\"status\":\"ok\"}" : "{\"error\":\"GET only\"}");
		return false;
	}
	if (!strcmp(req->path, "/readyz")) {
		bool ready = a->server && server_accepting(a->server);
		resp->status = !get ? 405 : ready ? 200 : 503;
		resp->body = xstrdup(!get ? "{\"error\":\"GET only\"}" : ready ? "{\"status\":\"ready\"}" : "{\"status\":\"stopping\"}");
		return false;
	}
	json_t *log = json_pack("{s:s, s:s, s:s}", "remote", remote, "method", req->method, "path", req->path);
	if ((!strcmp(req->path, "/validate") || !strcmp(req->path, "/mutate")) && post)
		return review_route(a, req, !strcmp(req->path, "/mutate"), t0, call, resp, log);
	if (!strcmp(req->path, "/validate") || !strcmp(req->path, "/mutate")) {
		resp->status = 405;
		resp->body = xstrdup("{\"error\":\"POST an AdmissionReview\"}");
	} else {
		resp->status = 404;
		resp->body = xstrdup("{\"error\":\"not found: /validate, /mutate, /healthz, /readyz\"}");
	}
	access_log(log, resp->status, t0);
	json_decref(log);
	return false;
}
