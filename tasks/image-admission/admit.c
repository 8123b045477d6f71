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

struct decision {
	bool allowed;
	char *message;
	json_t *patch;
	size_t cached; /* images answered from the cache */
};

struct pending {
	const struct review_image *img;
	struct image_ref ref;
	bool parsed, skip;
	struct check check;
};

/* Decide the review r under policy; every image is checked at once, each
 * waits until the request's deadline at most. */
static void decide(struct admit *a, const struct policy_ref *pr, const struct review *r, bool mutate,
		   int64_t deadline, struct decision *d)
{
	const struct admission_policy *p = pr->p;
	struct strbuf denied = STRBUF_INIT;
	d->patch = json_array();
	if (admission_policy_namespace_exempt(p, r->namespace)) {
		d->allowed = true;
		d->message = xasprintf("namespace %s is exempt by policy %s", r->namespace, p->name);
		return;
	}
	struct pending *pend = xcalloc(r->n ? r->n : 1, sizeof *pend);
	for (size_t i = 0; i < r->n; i++) {
		struct pending *x = &pend[i];
		x->img = &r->images[i];
		err_t *e = imageref_parse(x->img->image, &x->ref);
		if (e) {
			sb_addf(&denied, "%simage %s: not a valid image reference: %s", denied.len ? "; " : "",
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
			sb_addf(&denied, "%simage %s: no repository entry of policy %s covers %s", denied.len ? "; " : "",
				x->img->image, p->name, repo);
			x->skip = true;
			continue;
		}
		verifier_start(a->v, pr->generation, rule, &x->ref, &x->check);
	}
	for (size_t i = 0; i < r->n; i++) {
		struct pending *x = &pend[i];
		if (!x->parsed || x->skip)
			continue;
		verifier_wait(a->v, &x->check, deadline);
		d->cached += x->check.cached;
		if (!x->check.ok || !x->check.digest[0]) {
			sb_addf(&denied, "%simage %s%s%s: not signed by every required signer: %s", denied.len ? "; " : "",
				x->img->image, x->check.digest[0] ? " at " : "", x->check.digest,
				x->check.reason ? x->check.reason : "no verdict (fail closed)");
		} else if (mutate) {
			_cleanup_free_ char *pinned = imageref_pinned(&x->ref, x->check.digest);
			if (strcmp(pinned, x->img->image))
				json_array_append_new(d->patch, json_pack("{s:s, s:s, s:s}", "op", "replace", "path",
									  x->img->path, "value", pinned));
		}
	}
	for (size_t i = 0; i < r->n; i++) {
		check_release(&pend[i].check);
		if (pend[i].parsed)
			imageref_free(&pend[i].ref);
	}
	free(pend);
	d->allowed = denied.len == 0;
	if (!d->allowed) {
		d->message = sb_detach(&denied);
		json_array_clear(d->patch);
	}
	sb_release(&denied);
}

static char *error_body(const char *msg)
{
	json_t *o = json_pack("{s:s}", "error", msg);
	char *s = o ? json_dumps(o, JSON_COMPACT) : xstrdup("{\"error\":\"bad request\"}");
	json_decref(o);
	return s;
}

static void review_route(struct admit *a, const struct httpreq *req, bool mutate, int64_t t0_ms,
			 struct server_response *resp, json_t *log)
{
	struct review r;
	err_t *e = review_parse(req->body, req->body_len, &r);
	if (e) {
		resp->status = 400;
		resp->body = error_body(e->msg);
		json_object_set_new(log, "reason", json_string(e->msg));
		err_free(e);
		return;
	}
	struct policy_ref *pr = ref_get(a);
	struct decision d = { 0 };
	decide(a, pr, &r, mutate, t0_ms + a->deadline_ms, &d);
	resp->status = 200;
	resp->body = review_response(r.uid, d.allowed, d.message, d.patch);
	json_object_set_new(log, "uid", json_string(r.uid));
	json_object_set_new(log, "operation", json_string(r.operation));
	json_object_set_new(log, "kind", json_string(r.kind));
	json_object_set_new(log, "namespace", json_string(r.namespace));
	json_object_set_new(log, "name", json_string(r.name));
	json_object_set_new(log, "images", json_integer((json_int_t)r.n));
	json_object_set_new(log, "cached", json_integer((json_int_t)d.cached));
	json_object_set_new(log, "allowed", json_boolean(d.allowed));
	json_object_set_new(log, "patched", json_integer((json_int_t)json_array_size(d.patch)));
	json_object_set_new(log, "policy_generation", json_integer((json_int_t)pr->generation));
	if (d.message)
		json_object_set_new(log, "reason", json_string(d.message));
	ref_put(a, pr);
	free(d.message);
	json_decref(d.patch);
	review_free(&r);
}

void admit_handle(void *ctx, const struct httpreq *req, const char *remote, struct server_response *resp)
{
	struct admit *a = ctx;
	int64_t t0 = clock_monotonic_us();
	json_t *log = json_pack("{s:s, s:s, s:s}", "remote", remote, "method", req->method, "path", req->path);
	bool get = !strcmp(req->method, "GET"), post = !strcmp(req->method, "POST");
	if (!strcmp(req->path, "/healthz")) {
		resp->status = get ? 200 : 405;
		resp->body = xstrdup(get ? "{\"status\":\"ok\"}" : "{\"error\":\"GET only\"}");
	} else if (!strcmp(req->path, "/readyz")) {
		bool ready = a->server && server_accepting(a->server);
		resp->status = !get ? 405 : ready ? 200 : 503;
		resp->body = xstrdup(!get ? "{\"error\":\"GET only\"}" : ready ? "{\"status\":\"ready\"}" : "{\"status\":\"stopping\"}");
	} else if (!strcmp(req->path, "/validate") || !strcmp(req->path, "/mutate")) {
		if (post) {
			review_route(a, req, !strcmp(req->path, "/mutate"), t0 / 1000, resp, log);
		} else {
			resp->status = 405;
			resp->body = xstrdup("{\"error\":\"POST an AdmissionReview\"}");
		}
	} else {
		resp->status = 404;
		resp->body = xstrdup("{\"error\":\"not found: /validate, /mutate, /healthz, /readyz\"}");
	}
	json_object_set_new(log, "status", json_integer(resp->status));
	json_object_set_new(log, "duration_ms", json_real((double)(clock_monotonic_us() - t0) / 1000.0));
	/* health probes are not worth a line each */
	if (strcmp(req->path, "/healthz") && strcmp(req->path, "/readyz"))
		log_fields(LOG_INFO, "access", log);
	json_decref(log);
}
