/* Admission verdicts through common/sigpolicy (see verify.h). */
#include "verify.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "cleanup.h"
#include "clock.h"
#include "keys.h"
#include "log.h"
#include "notary.h"
#include "registry.h"
#include "sigpolicy.h"
#include "strbuf.h"
#include "xalloc.h"

struct watch {
	int refs;       /* its owner's (until it calls back) and each job's it waits on; under v->lock */
	size_t waiting; /* jobs not done */
	bool armed, called;
	int64_t deadline_ms;
	watch_fn fn;
	void *arg;
	struct watch *next; /* in v->watches while armed and not called */
};

struct job {
	char *key; /* generation|repo@digest (or |image for a tag not resolved yet): requests asking for the same share it */
	int refs;  /* the thread's and each waiting request's (under v->lock) */
	bool done, ok;
	char *reason;
	char digest[DIGEST_SIZE];
	/* what to verify: copies, as the job may outlive the request and a
	 * policy reload */
	uint64_t generation;
	struct image_ref ref;
	char *repo;
	bool dct, cosign;
	char *notary_url;
	char **root_key_ids;
	size_t n_root_key_ids;
	struct sigpolicy_signers signers;
	struct verifier *v;
	struct watch **watchers; /* waiting for it */
	size_t n_watchers;
	struct job *next;
};

struct verifier {
	struct verifier_options o;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	struct job *jobs;
	size_t njobs;
	struct vcache *verdicts;
	struct vcache *timestamps; /* notary|repo -> sha256 of its timestamp.json */
	struct vcache *tags;       /* repo:tag -> the digest it named */
	struct watch *watches;     /* armed, waiting */
	pthread_cond_t timer_cond; /* the deadline timer's (CLOCK_MONOTONIC) */
	pthread_t timer;
	bool stop;
};

static void *timer_thread(void *arg);

/* the caches, locks and memory of a verifier whose threads are gone (or
 * never started) */
static void verifier_release(struct verifier *v)
{
	vcache_free(v->verdicts);
	vcache_free(v->timestamps);
	vcache_free(v->tags);
	pthread_cond_destroy(&v->timer_cond);
	pthread_cond_destroy(&v->cond);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

err_t *verifier_new(const struct verifier_options *o, struct verifier **out)
{
	struct verifier *v = xcalloc(1, sizeof *v);
	v->o = *o;
	pthread_mutex_init(&v->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&v->cond, &ca);
	pthread_cond_init(&v->timer_cond, &ca);
	pthread_condattr_destroy(&ca);
	v->verdicts = vcache_new(o->cache_size, o->cache_ttl_ms);
	v->timestamps = vcache_new(o->cache_size, o->trust_ttl_ms);
	v->tags = vcache_new(o->cache_size, o->tag_ttl_ms);
	int rc = pthread_create(&v->timer, NULL, timer_thread, v);
	if (rc) {
		verifier_release(v);
		return err_new(EXIT_FAILED, "starting the verifier's deadline timer: %s", strerror(rc));
	}
	*out = v;
	return NULL;
}

void verifier_free(struct verifier *v)
{
	if (!v)
		return;
	pthread_mutex_lock(&v->lock);
	v->stop = true;
	pthread_cond_signal(&v->timer_cond);
	pthread_mutex_unlock(&v->lock);
	pthread_join(v->timer, NULL);
	pthread_mutex_lock(&v->lock);
	while (v->njobs)
		pthread_cond_wait(&v->cond, &v->lock);
	pthread_mutex_unlock(&v->lock);
	verifier_release(v);
}

static void job_free(struct job *j)
{
	free(j->key);
	free(j->reason);
	imageref_free(&j->ref);
	free(j->repo);
	free(j->notary_url);
	for (size_t i = 0; i < j->n_root_key_ids; i++)
		free(j->root_key_ids[i]);
	free(j->root_key_ids);
	sigpolicy_signers_free(&j->signers);
	free(j->watchers);
	free(j);
}

/* under v->lock */
static void job_unref(struct job *j)
{
	if (--j->refs == 0)
		job_free(j);
}

/* under v->lock */
static void watch_unref(struct watch *w)
{
	if (--w->refs == 0)
		free(w);
}

/* under v->lock: take w off the armed list to call it back (once) */
static void watch_take(struct verifier *v, struct watch *w)
{
	for (struct watch **p = &v->watches; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	w->called = true;
	w->next = NULL;
}

/* call back each watch of the list taken (v->lock not held) and drop the
 * owner's reference */
static void watches_call(struct verifier *v, struct watch *list)
{
	while (list) {
		struct watch *w = list;
		list = w->next;
		w->fn(w->arg);
		pthread_mutex_lock(&v->lock);
		watch_unref(w);
		pthread_mutex_unlock(&v->lock);
	}
}

/* The deadline timer: calls back the watches whose deadline passed. */
static void *timer_thread(void *arg)
{
	struct verifier *v = arg;
	pthread_mutex_lock(&v->lock);
	while (!v->stop) {
		int64_t now = clock_monotonic_ms(), next = INT64_MAX;
		struct watch *due = NULL, **due_tail = &due;
		for (struct watch *w = v->watches, *n; w; w = n) {
			n = w->next;
			if (now >= w->deadline_ms) {
				watch_take(v, w);
				*due_tail = w;
				due_tail = &w->next;
			} else if (w->deadline_ms < next) {
				next = w->deadline_ms;
			}
		}
		if (due) {
			pthread_mutex_unlock(&v->lock);
			watches_call(v, due);
			pthread_mutex_lock(&v->lock);
			continue;
		}
		if (next == INT64_MAX) {
			pthread_cond_wait(&v->timer_cond, &v->lock);
		} else {
			struct timespec until = { (time_t)(next / 1000), (long)(next % 1000) * 1000000L };
			pthread_cond_timedwait(&v->timer_cond, &v->lock, &until);
		}
	}
	pthread_mutex_unlock(&v->lock);
	return NULL;
}

static char *timestamp_key(const char *notary_url, const char *repo)
{
	return xasprintf("%s|%s", notary_url ? notary_url : "-", repo);
}

/* The verdict's cache key: NULL when the trust timestamp is not known.
 * *aging when the timestamp is past half its TTL (time to read it again,
 * ahead of need). */
static char *verdict_key(struct verifier *v, uint64_t generation, bool dct, const char *notary_url,
			 const char *repo, const char *digest, int64_t now, bool *aging)
{
	char *ts = NULL;
	*aging = false;
	if (dct) {
		_cleanup_free_ char *tk = timestamp_key(notary_url, repo);
		bool ok;
		int64_t age;
		if (!vcache_get_aged(v->timestamps, tk, now, &ok, &ts, &age) || !ts)
			return NULL;
		*aging = age >= v->o.trust_ttl_ms / 2;
	}
	char *key = xasprintf("%" PRIu64 "|%s@%s|%s", generation, repo, digest, ts ? ts : "-");
	free(ts);
	return key;
}

/* The verification itself; *ok stays false unless every signer passed.
 * *cacheable when the outcome is a verdict (not an error). */
static void job_run(struct job *j, bool *ok, char **reason, bool *cacheable)
{
	struct verifier *v = j->v;
	struct registry *reg = NULL;
	struct notary *n = NULL;
	struct strbuf ts = STRBUF_INIT;
	err_t *e = NULL;
	*ok = false;
	*cacheable = false;
	if (!j->digest[0] || j->cosign) {
		struct registry_options ro = {
			.creds = v->o.registry_creds,
			.authfile = v->o.authfile,
			.insecure = v->o.insecure_registry,
			.http = { .connect_timeout_ms = v->o.deadline_ms, .total_timeout_ms = v->o.deadline_ms,
				  .ca_file = v->o.registry_ca },
		};
		e = registry_open_ref(&j->ref, &ro, &reg);
	}
	if (!e && !j->digest[0]) { /* the tag, resolved once: its digest is what is verified and pinned */
		bool exists = false;
		e = registry_head_manifest(reg, j->ref.tag, &exists, j->digest, NULL);
		if (!e && !exists) {
			*reason = xasprintf("tag %s not found in %s", j->ref.tag, j->repo);
			goto out;
		}
		if (!e && v->o.tag_ttl_ms > 0) {
			_cleanup_free_ char *tk = xasprintf("%s:%s", j->repo, j->ref.tag);
			vcache_put(v->tags, tk, clock_monotonic_ms(), true, j->digest);
		}
	}
	if (!e && j->dct) {
		struct notary_options no = { .url = j->notary_url, .ca_file = v->o.notary_ca, .timeout_ms = v->o.deadline_ms };
		bool found = false;
		e = notary_open(&no, j->repo, &n);
		if (!e)
			e = notary_get_role(n, "timestamp", &ts, &found);
		if (!e) {
			char d[DIGEST_SIZE];
			digest_buffer(ts.buf, ts.len, d);
			_cleanup_free_ char *tk = timestamp_key(j->notary_url, j->repo);
			vcache_put(v->timestamps, tk, clock_monotonic_ms(), true, found ? digest_hex(d) : "none");
		}
	}
	if (!e) {
		bool aging;
		_cleanup_free_ char *key = verdict_key(v, j->generation, j->dct, j->notary_url, j->repo, j->digest,
						       clock_monotonic_ms(), &aging);
		char *cached = NULL;
		int64_t age;
		/* the trust timestamp is the one just read: a verdict reached under
		 * it stands, unless past half its TTL (then it is reached again) */
		if (key && vcache_get_aged(v->verdicts, key, clock_monotonic_ms(), ok, &cached, &age)) {
			if (age < v->o.cache_ttl_ms / 2) {
				*reason = cached;
				goto out;
			}
			free(cached);
			*ok = false;
		}
		struct sigpolicy pol = {
			.repo = j->repo,
			.digest = j->digest,
			.dct = j->dct,
			.cosign = j->cosign,
			.notary = { .url = j->notary_url, .ca_file = v->o.notary_ca, .timeout_ms = v->o.deadline_ms },
			.notary_conn = n,
			.root_key_ids = (const char *const *)j->root_key_ids,
			.n_root_key_ids = j->n_root_key_ids,
			.registry = reg,
			.signers = j->signers.items,
			.n_signers = j->signers.n,
		};
		struct sigpolicy_verdict *vd = NULL;
		size_t nv = 0;
		e = sigpolicy_check(&pol, &vd, &nv, ok);
		if (!e) {
			*reason = *ok ? NULL : sigpolicy_failures(vd, nv);
			*cacheable = key != NULL;
			if (key)
				vcache_put(v->verdicts, key, clock_monotonic_ms(), *ok, *reason);
		}
		sigpolicy_verdicts_free(vd, nv);
	}
	if (e) {
		*ok = false;
		char *why = err_describe(e);
		*reason = xasprintf("trust data could not be verified (fail closed): %s", why);
		free(why);
	}
out:
	err_free(e);
	sb_release(&ts);
	notary_close(n);
	registry_close(reg);
}

static void *job_thread(void *arg)
{
	struct job *j = arg;
	bool ok = false, cacheable = false;
	char *reason = NULL;
	job_run(j, &ok, &reason, &cacheable);
	struct verifier *v = j->v;
	struct watch *due = NULL, **due_tail = &due;
	pthread_mutex_lock(&v->lock);
	j->ok = ok;
	j->reason = reason;
	j->done = true;
	for (struct job **p = &v->jobs; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			break;
		}
	v->njobs--;
	for (size_t i = 0; i < j->n_watchers; i++) {
		struct watch *w = j->watchers[i];
		if (--w->waiting == 0 && w->armed && !w->called) {
			watch_take(v, w);
			*due_tail = w;
			due_tail = &w->next;
		}
		watch_unref(w);
	}
	j->n_watchers = 0;
	job_unref(j);
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	watches_call(v, due);
	return NULL;
}

static struct job *job_new(struct verifier *v, char *key, uint64_t generation, const struct admission_rule *rule,
			   const struct image_ref *ref, const char *digest)
{
	struct job *j = xcalloc(1, sizeof *j);
	j->key = key;
	j->v = v;
	j->generation = generation;
	char *s = imageref_string(ref);
	err_t *e = imageref_parse(s, &j->ref); /* a copy: parsed before, so it parses */
	free(s);
	err_free(e);
	j->repo = imageref_name(ref);
	snprintf(j->digest, sizeof j->digest, "%s", digest ? digest : "");
	j->dct = rule->dct;
	j->cosign = rule->cosign;
	j->notary_url = rule->notary_url ? xstrdup(rule->notary_url) : NULL;
	j->root_key_ids = xcalloc(rule->n_root_key_ids + 1, sizeof *j->root_key_ids);
	for (size_t i = 0; i < rule->n_root_key_ids; i++)
		j->root_key_ids[i] = xstrdup(rule->root_key_ids[i]);
	j->n_root_key_ids = rule->n_root_key_ids;
	j->signers.items = xcalloc(rule->signers.n + 1, sizeof *j->signers.items);
	for (size_t i = 0; i < rule->signers.n; i++) {
		j->signers.items[i].name = xstrdup(rule->signers.items[i].name);
		if (rule->signers.items[i].pub && EVP_PKEY_up_ref(rule->signers.items[i].pub))
			j->signers.items[i].pub = rule->signers.items[i].pub;
	}
	j->signers.n = rule->signers.n;
	return j;
}

struct watch *verifier_watch(struct verifier *v, int64_t deadline_ms, watch_fn fn, void *arg)
{
	(void)v;
	struct watch *w = xcalloc(1, sizeof *w);
	w->refs = 1;
	w->deadline_ms = deadline_ms;
	w->fn = fn;
	w->arg = arg;
	return w;
}

/* under v->lock: w waits for j too */
static void watch_job(struct job *j, struct watch *w)
{
	if (j->done)
		return;
	j->watchers = xrealloc(j->watchers, (j->n_watchers + 1) * sizeof *j->watchers);
	j->watchers[j->n_watchers++] = w;
	w->refs++;
	w->waiting++;
}

/* under v->lock: start verifying (key, taken) in a thread of its own;
 * NULL when max_jobs run already. The job's references: the thread's and,
 * with caller_ref, the caller's. */
static struct job *job_launch(struct verifier *v, char *key, uint64_t generation, const struct admission_rule *rule,
			      const struct image_ref *ref, const char *digest, bool caller_ref)
{
	if (v->njobs >= v->o.max_jobs) {
		free(key);
		return NULL;
	}
	struct job *j = job_new(v, key, generation, rule, ref, digest);
	j->refs = 1 + caller_ref;
	j->next = v->jobs;
	v->jobs = j;
	v->njobs++;
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	int rc = pthread_create(&t, &attr, job_thread, j);
	pthread_attr_destroy(&attr);
	if (rc) { /* no thread: the job ends here, denied */
		j->done = true;
		j->reason = xasprintf("cannot start a verification: %s (fail closed)", strerror(rc));
		v->jobs = j->next;
		v->njobs--;
		job_unref(j);
		return caller_ref ? j : NULL;
	}
	return j;
}

/* under v->lock: the job verifying key, if one runs */
static struct job *job_find(struct verifier *v, const char *key)
{
	for (struct job *j = v->jobs; j; j = j->next)
		if (!strcmp(j->key, key))
			return j;
	return NULL;
}

/* A cached answer is getting old (the tag's resolution, the trust
 * timestamp or the verdict past half its TTL): verify again in the
 * background, nobody waiting, so that under steady traffic no review
 * waits for the refresh (the TTLs still bound what is answered). */
static void refresh_ahead(struct verifier *v, char *key, uint64_t generation, const struct admission_rule *rule,
			  const struct image_ref *ref, const char *digest)
{
	pthread_mutex_lock(&v->lock);
	if (job_find(v, key))
		free(key);
	else
		job_launch(v, key, generation, rule, ref, digest, false);
	pthread_mutex_unlock(&v->lock);
}

void verifier_start(struct verifier *v, uint64_t generation, const struct admission_rule *rule,
		    const struct image_ref *ref, struct check *c, struct watch *w)
{
	memset(c, 0, sizeof *c);
	int64_t now = clock_monotonic_ms();
	_cleanup_free_ char *repo = imageref_name(ref);
	_cleanup_free_ char *image = imageref_string(ref);
	_cleanup_free_ char *resolved = NULL; /* the tag's digest, resolved before */
	bool tag_aging = false;
	if (!ref->digest && v->o.tag_ttl_ms > 0) {
		_cleanup_free_ char *tk = xasprintf("%s:%s", repo, ref->tag);
		bool ok;
		int64_t age;
		if (vcache_get_aged(v->tags, tk, now, &ok, &resolved, &age))
			tag_aging = age >= v->o.tag_ttl_ms / 2;
	}
	const char *digest = ref->digest ? ref->digest : resolved;
	if (digest) {
		bool aging;
		_cleanup_free_ char *key = verdict_key(v, generation, rule->dct, rule->notary_url, repo, digest, now, &aging);
		int64_t age;
		if (key && vcache_get_aged(v->verdicts, key, now, &c->ok, &c->reason, &age)) {
			snprintf(c->digest, sizeof c->digest, "%s", digest);
			c->cached = true;
			if (tag_aging)
				refresh_ahead(v, xasprintf("%" PRIu64 "|%s", generation, image), generation, rule, ref, NULL);
			else if (aging || age >= v->o.cache_ttl_ms / 2)
				refresh_ahead(v, xasprintf("%" PRIu64 "|%s@%s", generation, repo, digest), generation,
					      rule, ref, digest);
			return;
		}
	}
	char *key = digest ? xasprintf("%" PRIu64 "|%s@%s", generation, repo, digest)
			   : xasprintf("%" PRIu64 "|%s", generation, image);
	pthread_mutex_lock(&v->lock);
	struct job *j = job_find(v, key);
	if (j) { /* single flight: the same verification */
		j->refs++;
		free(key);
	} else {
		j = job_launch(v, key, generation, rule, ref, digest, true);
	}
	if (!j) {
		pthread_mutex_unlock(&v->lock);
		c->reason = xasprintf("verification queue full: %zu verifications are in progress already, the most "
				      "this server runs: not verified (fail closed)",
				      v->o.max_jobs);
		return;
	}
	c->job = j;
	watch_job(j, w);
	pthread_mutex_unlock(&v->lock);
}

bool verifier_watch_arm(struct verifier *v, struct watch *w)
{
	pthread_mutex_lock(&v->lock);
	bool waits = w->waiting > 0;
	if (waits) {
		w->armed = true;
		w->next = v->watches;
		v->watches = w;
		pthread_cond_signal(&v->timer_cond);
	}
	if (!waits)
		watch_unref(w); /* else the owner's reference is the callback's */
	pthread_mutex_unlock(&v->lock);
	return waits;
}

void verifier_collect(struct verifier *v, struct check *c)
{
	struct job *j = c->job;
	if (!j)
		return;
	pthread_mutex_lock(&v->lock);
	if (j->done) {
		c->ok = j->ok;
		c->reason = j->reason ? xstrdup(j->reason) : NULL;
		snprintf(c->digest, sizeof c->digest, "%s", j->digest);
	} else {
		c->ok = false;
		c->reason = xasprintf("trust data not verified within the %" PRId64 " ms deadline (fail closed)",
				      v->o.deadline_ms);
	}
	job_unref(j);
	c->job = NULL;
	pthread_mutex_unlock(&v->lock);
}

void check_release(struct check *c)
{
	free(c->reason);
	c->reason = NULL;
}

size_t verifier_jobs(struct verifier *v)
{
	pthread_mutex_lock(&v->lock);
	size_t n = v->njobs;
	pthread_mutex_unlock(&v->lock);
	return n;
}

size_t verifier_cached(struct verifier *v)
{
	return vcache_size(v->verdicts);
}
