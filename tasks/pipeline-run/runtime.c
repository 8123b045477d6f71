/* What both runtimes share: --image-map (see runtime.h). */
#include <stdlib.h>
#include <string.h>

#include "imageref.h"
#include "runtime.h"
#include "xalloc.h"

static bool same_image(const char *a, const char *b)
{
	if (!strcmp(a, b))
		return true;
	struct image_ref ra = { 0 }, rb = { 0 };
	bool same = false;
	err_t *e = imageref_parse(a, &ra);
	if (!e)
		e = imageref_parse(b, &rb);
	if (!e) {
		char *na = imageref_name(&ra), *nb = imageref_name(&rb);
		/* a map entry without tag or digest matches every version */
		bool bare = rb.tag_implied && !rb.digest;
		same = !strcmp(na, nb) && (bare || !strcmp(imageref_reference(&ra), imageref_reference(&rb)));
		free(na);
		free(nb);
	}
	err_free(e);
	imageref_free(&ra);
	imageref_free(&rb);
	return same;
}

const char *image_map_find(const struct taskrun_options *o, const char *image)
{
	for (size_t i = 0; i < o->nimages; i++)
		if (!strcmp(o->images[i].image, image))
			return o->images[i].target;
	for (size_t i = 0; i < o->nimages; i++)
		if (same_image(image, o->images[i].image))
			return o->images[i].target;
	return NULL;
}
