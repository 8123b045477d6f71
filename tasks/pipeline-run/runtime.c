/* What both runtimes share: --image-map (see runtime.h). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* The first item of v (NULL: none) longer than max, named what[i]. */
static err_t *check_lengths(char *const *v, const char *what, size_t max)
{
	for (size_t i = 0; v && v[i]; i++) {
		size_t n = strlen(v[i]) + 1;
		if (n > max)
			return err_new(EXIT_FAILED,
				       "%s[%zu] is %zu bytes: Linux takes at most %zu per argument or variable (pass a "
				       "large value in a workspace file instead)",
				       what, i, n - 1, max - 1);
	}
	return NULL;
}

/* The kernel takes at most 32 pages per argument or variable
 * (MAX_ARG_STRLEN, linux/binfmts.h) and fails execve with E2BIG, which
 * names neither. A Pod's container meets the same limit, so a Task that
 * passes a large param as an argument fails in a cluster too: say which
 * one, before trying. */
err_t *step_check_arg_lengths(char *const *argv, char *const *env)
{
	size_t max = 32 * (size_t)sysconf(_SC_PAGESIZE);
	TRY(check_lengths(argv, "argv", max));
	return check_lengths(env, "env", max);
}
