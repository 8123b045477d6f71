/* The verdict cache: a bounded, thread-safe map from a key naming what was
 * verified (policy generation, repository, digest and the trust timestamp
 * the verdict was reached under, see verify.c) to the verdict and its
 * reason. At most `capacity` entries (the oldest inserted goes first);
 * an entry older than ttl_ms is a miss. */
#ifndef IMAGE_ADMISSION_CACHE_H
#define IMAGE_ADMISSION_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vcache;

struct vcache *vcache_new(size_t capacity, int64_t ttl_ms);
void vcache_free(struct vcache *c);
/* true on a hit: *ok and *reason (a fresh copy; may be NULL) set. */
bool vcache_get(struct vcache *c, const char *key, int64_t now_ms, bool *ok, char **reason);
/* The same, and *age_ms: how long ago the entry was put. */
bool vcache_get_aged(struct vcache *c, const char *key, int64_t now_ms, bool *ok, char **reason, int64_t *age_ms);
void vcache_put(struct vcache *c, const char *key, int64_t now_ms, bool ok, const char *reason);
size_t vcache_size(struct vcache *c);

#endif
