/* Fuzz the TUF metadata parser and verifier (common/tuf): any bytes, read
 * as each role, must parse or fail cleanly; what parses as root is checked
 * against its own keys, delegations against the keys they list, and the
 * meta entries against the input. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tuf.h"

static const char *roles[] = { "root", "targets", "snapshot", "timestamp", "targets/releases" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (size_t r = 0; r < sizeof roles / sizeof *roles; r++) {
		struct tuf_meta m;
		err_t *e = tuf_meta_parse(roles[r], (const char *)data, size, &m);
		if (e) {
			err_free(e);
			continue;
		}
		json_t *s = m.signed_;
		if (!strcmp(roles[r], "root")) {
			json_t *role = json_object_get(json_object_get(s, "roles"), "root");
			json_t *th = json_object_get(role, "threshold");
			e = tuf_verify_threshold("root", &m, json_object_get(s, "keys"), json_object_get(role, "keyids"),
						 json_is_integer(th) ? json_integer_value(th) : 1);
			err_free(e);
		} else if (!strcmp(roles[r], "targets")) {
			json_t *d = json_object_get(s, "delegations");
			size_t i;
			json_t *role;
			json_array_foreach(json_object_get(d, "roles"), i, role) {
				e = tuf_verify_threshold("targets", &m, json_object_get(d, "keys"),
							 json_object_get(role, "keyids"), 1);
				err_free(e);
				(void)tuf_path_allowed(role, "v1");
			}
			const char *name;
			json_t *t;
			unsigned char zero[32] = { 0 };
			json_object_foreach(json_object_get(s, "targets"), name, t) (void)tuf_target_matches(t, zero);
		} else {
			const char *name;
			json_t *entry;
			json_object_foreach(json_object_get(s, "meta"), name, entry) {
				e = tuf_check_meta(name, entry, (const char *)data, size);
				err_free(e);
			}
		}
		tuf_meta_release(&m);
	}
	return 0;
}
