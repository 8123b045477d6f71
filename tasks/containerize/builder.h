/* The build engine: runs a parsed Dockerfile stage by stage into an image
 * whose blobs are in the build's store.
 *
 * Only the stages the target needs are built (FROM <stage> and COPY
 * --from=<stage> dependencies). Each instruction either edits the config
 * (ENV, LABEL, USER, CMD, ...) or changes the root filesystem (RUN, COPY,
 * ADD, WORKDIR): those are looked up in the cache first, and on a miss run
 * against the stage root, whose stat snapshot before and after gives the
 * layer (written straight from the root, compressed in the same pass).
 * Stage roots are unpacked lazily: a build whose every filesystem step hits
 * the cache never unpacks anything. */
#ifndef CONTAINERIZE_BUILDER_H
#define CONTAINERIZE_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "error.h"
#include "imagesrc.h"
#include "layer.h"
#include "oci_layout.h"
#include "registry.h"
#include "runner.h"

struct build_options {
	const char *context;    /* build context directory */
	const char *dockerfile; /* path of the Dockerfile */
	const char *target;     /* stage name or NULL: the last */
	const char *platform;   /* NULL: host */
	const char *const *build_args; /* NAME=value (or NAME: from our env) */
	size_t nbuild_args;
	const char *const *labels; /* key=value added to the final config */
	size_t nlabels;
	enum layer_compression compression;
	int compression_level;
	int threads;
	int64_t source_date_epoch; /* <0: none */
	enum isolation isolation;
	const struct run_userns *userns; /* started as root: the RUN steps' user namespace */
	struct net_config network; /* RUN's network (network.h) */
	const char *workdir;    /* where stage roots are unpacked */
	struct oci_layout *store;
	struct cache *cache;    /* NULL: no cache */
	const struct registry_options *registry; /* for FROM from a registry */
	/* rootless without a subordinate id range: only uid/gid 0 exist in
	 * our user namespace, so an owner other than root is an error */
	bool only_root_mapped;
};

struct build_result {
	char manifest_digest[DIGEST_SIZE];
	char *manifest; /* exact bytes (also in the store) */
	size_t manifest_len;
	char config_digest[DIGEST_SIZE];
	int64_t config_size;
	struct layer_ref *layers;
	size_t nlayers;
	size_t cache_hits, cache_misses;
};

err_t *builder_build(const struct build_options *o, struct build_result *out);
void build_result_release(struct build_result *r);

#endif
