/* Results beyond Tekton's size cap (see results.h). A module of its own:
 * the digest it names pulls in libcrypto, which tasks whose results are
 * always small do not link. */
#include "results.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "digest.h"
#include "fsutil.h"
#include "xalloc.h"

size_t results_message_size(const struct results *r)
{
	const struct task_spec *spec = results_spec(r);
	json_t *msg = json_array();
	for (size_t i = 0; spec->results[i].name; i++) {
		size_t len = 0;
		const char *v = results_get_len(r, spec->results[i].name, &len);
		if (v)
			json_array_append_new(msg, json_pack("{s:s, s:s%, s:i}", "key", spec->results[i].name, "value", v,
							       len, "type", 1));
	}
	char *text = json_dumps(msg, JSON_COMPACT);
	/* a value that is not UTF-8 cannot go into the message at all */
	size_t n = text ? strlen(text) : SIZE_MAX;
	free(text);
	json_decref(msg);
	return n;
}

err_t *results_spill(struct results *r, const char *overflow_dir)
{
	const struct task_spec *spec = results_spec(r);
	while (results_message_size(r) > RESULTS_TEKTON_MAX) {
		const char *name = NULL;
		size_t biggest = 0;
		for (size_t i = 0; spec->results[i].name; i++) {
			size_t len = 0;
			if (results_get_len(r, spec->results[i].name, &len) && (!name || len > biggest)) {
				name = spec->results[i].name;
				biggest = len;
			}
		}
		_cleanup_free_ char *path = name ? xasprintf("%s/%s", overflow_dir, name) : NULL;
		if (!name || biggest <= DIGEST_SIZE + strlen(path))
			return err_new(EXIT_FAILED, "the results do not fit Tekton's %d bytes even with values in %s",
				       RESULTS_TEKTON_MAX, overflow_dir);
		const char *value = results_get(r, name);
		TRY(fs_mkdir_p(overflow_dir, 0755));
		TRY(err_context(fs_write_atomic(overflow_dir, name, value, biggest, 0644), "result %s", name));
		char d[DIGEST_SIZE];
		digest_buffer(value, biggest, d);
		_cleanup_free_ char *ref = xasprintf("%s %s", path, d);
		results_sets(r, name, ref);
	}
	return NULL;
}
