/* The layer cache. A key is a sha256 chained over the parent (base image
 * digest, then every instruction before), the instruction as expanded,
 * the build args and config it runs with, and for COPY/ADD the content
 * digest of every source. A hit gives the layer that instruction produced
 * (or "no change"), so the instruction is not run and nothing is unpacked
 * unless a later instruction misses.
 *
 * Stores: a local directory (cache-dir: an OCI layout holding the layer
 * blobs, plus keys/<hex> files), and/or a registry repository (cache-repo:
 * one tag "cache-<hex>" per key, an OCI manifest whose only layer is the
 * cached layer; empty results are an artifact with no layers). */
#ifndef CONTAINERIZE_CACHE_H
#define CONTAINERIZE_CACHE_H

#include <stdbool.h>

#include "digest.h"
#include "error.h"
#include "imagesrc.h"
#include "oci_layout.h"
#include "registry.h"

struct cache;

/* dir and/or repo may be NULL. store: the build's blob store (a hit's blob
 * is brought there). */
err_t *cache_open(const char *dir, const char *repo, const struct registry_options *ro, struct oci_layout *store,
		  struct cache **out);
void cache_close(struct cache *c);

/* Look key up. *hit; when hit, *empty (the instruction changed nothing) or
 * *out (the layer, its blob now in the store). Lookup failures of a remote
 * cache are warnings, never errors. */
err_t *cache_get(struct cache *c, const char *key, bool *hit, bool *empty, struct layer_ref *out);
/* Record key -> layer (NULL: no change). Remote failures are warnings. */
err_t *cache_put(struct cache *c, const char *key, const struct layer_ref *layer);

/* What a store gives back, read as cache_get reads it: a keys/<hex> file's
 * entry ({"digest","diff_id","size","mediaType"} or {"empty":true}), and a
 * cache-repo tag's manifest (media_type from the registry, may be NULL)
 * carrying one. out is filled (owned) only when the entry has a layer. */
err_t *cache_entry_parse(const char *text, size_t len, bool *empty, struct layer_ref *out);
err_t *cache_entry_from_manifest(const char *body, size_t len, const char *media_type, const char *tag, bool *empty,
				 struct layer_ref *out);

/* Chain: out = sha256(prev || "\n" || text). */
void cache_chain(const char *prev, const char *text, size_t len, char out[DIGEST_SIZE]);

#endif
