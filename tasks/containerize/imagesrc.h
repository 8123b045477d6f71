/* Base images for FROM (and COPY --from=<image>): "scratch", a local OCI
 * layout ("oci:<dir>[:<tag>]", "oci-archive:<file>[:<tag>]", what buildah
 * understands too) or a registry reference. The config is read and every
 * layer blob is brought into the build's blob store (verified by digest),
 * so the build and the push read layers from one place. */
#ifndef CONTAINERIZE_IMAGESRC_H
#define CONTAINERIZE_IMAGESRC_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "error.h"
#include "imgconfig.h"
#include "oci_layout.h"
#include "registry.h"

struct layer_ref {
	char digest[DIGEST_SIZE];  /* blob in the store */
	char diff_id[DIGEST_SIZE]; /* uncompressed tar */
	int64_t size;
	char *media_type;
};

struct image_desc {
	struct imgconfig cfg;
	struct layer_ref *layers;
	size_t nlayers;
	char *name;                /* normalised reference, "" for scratch */
	char digest[DIGEST_SIZE];  /* manifest digest, "" for scratch */
};

/* platform: "os/arch[/variant]" or NULL for this host. */
err_t *imagesrc_load(const char *ref, const char *platform, struct oci_layout *store,
		     const struct registry_options *ro, struct image_desc *out);
void imagesrc_release(struct image_desc *d);
/* Fill out (zeroed) from a base image's parsed manifest m (an image, not
 * an index) and its config blob cfg_text (untrusted: one valid diff_id per
 * layer, or an error); release with imagesrc_release either way. */
err_t *imagesrc_from_manifest(const struct manifest *m, const char *cfg_text, size_t cfg_len, struct image_desc *out);
void layer_ref_copy(struct layer_ref *dst, const struct layer_ref *src);
void layer_ref_release(struct layer_ref *l);

/* This host's platform as "linux/amd64" pieces. */
void imagesrc_host_platform(const char **os, const char **arch, const char **variant);
/* Split "os/arch[/variant]" (NULL: host) into static or owned pieces. */
err_t *imagesrc_parse_platform(const char *platform, char **os, char **arch, char **variant);

/* A blob written straight to a file (the layer writer and the registry
 * client hash what they write themselves): begin gives a temp file in the
 * store, commit renames it to blobs/sha256/<hex> of the digest the writer
 * computed, abort removes it. */
err_t *store_file_begin(struct oci_layout *store, int *fd, char **tmp_path);
err_t *store_file_commit(struct oci_layout *store, int fd, char *tmp_path, const char *digest);
void store_file_abort(int fd, char *tmp_path);

/* Copy a blob held in fd into the store, verified against digest. */
err_t *imagesrc_store_fd(struct oci_layout *store, int fd, const char *digest);

#endif
