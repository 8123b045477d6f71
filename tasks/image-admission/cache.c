/* Verdict cache (see cache.h): an open hash table of chains plus a ring
 * of the entries in insertion order for eviction. */
#include "cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

struct entry {
	char *key, *reason;
	bool ok;
	int64_t at_ms;
	uint64_t hash;
	struct entry *next; /* chain */
};

struct vcache {
	pthread_mutex_t lock;
	size_t capacity, nbuckets, n, head; /* ring[head] is the oldest when full */
	int64_t ttl_ms;
	struct entry **buckets;
	struct entry **ring;
};

static uint64_t hash_key(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

struct vcache *vcache_new(size_t capacity, int64_t ttl_ms)
{
	struct vcache *c = xcalloc(1, sizeof *c);
	pthread_mutex_init(&c->lock, NULL);
	c->capacity = capacity ? capacity : 1;
	c->nbuckets = 2 * c->capacity + 1;
	c->ttl_ms = ttl_ms;
	c->buckets = xcalloc(c->nbuckets, sizeof *c->buckets);
	c->ring = xcalloc(c->capacity, sizeof *c->ring);
	return c;
}

static void entry_free(struct entry *e)
{
	free(e->key);
	free(e->reason);
	free(e);
}

void vcache_free(struct vcache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->capacity; i++)
		if (c->ring[i])
			entry_free(c->ring[i]);
	free(c->ring);
	free(c->buckets);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static struct entry **find(struct vcache *c, const char *key, uint64_t h)
{
	struct entry **p = &c->buckets[h % c->nbuckets];
	while (*p && ((*p)->hash != h || strcmp((*p)->key, key)))
		p = &(*p)->next;
	return p;
}

bool vcache_get(struct vcache *c, const char *key, int64_t now_ms, bool *ok, char **reason)
{
	int64_t age;
	return vcache_get_aged(c, key, now_ms, ok, reason, &age);
}

bool vcache_get_aged(struct vcache *c, const char *key, int64_t now_ms, bool *ok, char **reason, int64_t *age_ms)
{
	uint64_t h = hash_key(key);
	bool hit = false;
	pthread_mutex_lock(&c->lock);
	struct entry *e = *find(c, key, h);
	if (e && now_ms - e->at_ms < c->ttl_ms) {
		hit = true;
		*ok = e->ok;
		*reason = e->reason ? xstrdup(e->reason) : NULL;
		*age_ms = now_ms - e->at_ms;
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

void vcache_put(struct vcache *c, const char *key, int64_t now_ms, bool ok, const char *reason)
{
	uint64_t h = hash_key(key);
	pthread_mutex_lock(&c->lock);
	struct entry *e = *find(c, key, h);
	if (e) { /* refresh in place (keeps its place in the ring) */
		free(e->reason);
		e->reason = reason ? xstrdup(reason) : NULL;
		e->ok = ok;
		e->at_ms = now_ms;
		pthread_mutex_unlock(&c->lock);
		return;
	}
	size_t slot = (c->head + c->n) % c->capacity;
	if (c->n == c->capacity) { /* evict the oldest */
		struct entry *old = c->ring[c->head];
		struct entry **p = find(c, old->key, old->hash);
		*p = old->next;
		entry_free(old);
		slot = c->head;
		c->head = (c->head + 1) % c->capacity;
		c->n--;
	}
	e = xcalloc(1, sizeof *e);
	e->key = xstrdup(key);
	e->reason = reason ? xstrdup(reason) : NULL;
	e->ok = ok;
	e->at_ms = now_ms;
	e->hash = h;
	struct entry **b = &c->buckets[h % c->nbuckets];
	e->next = *b;
	*b = e;
	c->ring[slot] = e;
	c->n++;
	pthread_mutex_unlock(&c->lock);
}

size_t vcache_size(struct vcache *c)
{
	pthread_mutex_lock(&c->lock);
	size_t n = c->n;
	pthread_mutex_unlock(&c->lock);
	return n;
}
