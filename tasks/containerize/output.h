/* Where a built image goes: pushed to a registry repository, and/or
 * written to a local OCI layout. Either way every blob and the manifest are
 * in place before the first tag is written. */
#ifndef CONTAINERIZE_OUTPUT_H
#define CONTAINERIZE_OUTPUT_H

#include <stddef.h>

#include "builder.h"
#include "error.h"
#include "imageref.h"
#include "oci_layout.h"
#include "registry.h"

/* dest: "<dir>", "oci:<dir>" or "oci-archive:<file>" (a ":tag" suffix
 * there is added to tags). */
err_t *output_oci_layout(struct oci_layout *store, const char *dest, const struct build_result *r,
			 const char *const *tags, size_t ntags);

/* Push to ref's registry and repository; tags written last. */
err_t *output_push(struct oci_layout *store, const struct image_ref *ref, const struct registry_options *ro,
		   const struct build_result *r, const char *const *tags, size_t ntags);

#endif
