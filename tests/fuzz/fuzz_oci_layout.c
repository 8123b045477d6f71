/* Fuzz an OCI layout's index.json and the oci:/oci-archive: references
 * that name one (common/oci_layout). Input (sections.h): index.json, the
 * tag to resolve (empty: the only entry), an "oci:..." reference.
 *
 * The index is written into a real layout directory (under $TMPDIR, made
 * once) and read as the tasks read it: open, resolve the tag; what
 * resolves is then tagged anew (index.json rewritten) and must resolve by
 * that tag to the same digest. Any bytes: no crash, no leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "oci_layout.h"
#include "sections.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *dir;

static void remove_dir(void)
{
	char *files[] = { xasprintf("%s/index.json", dir), xasprintf("%s/oci-layout", dir),
			  xasprintf("%s/blobs/sha256", dir), xasprintf("%s/blobs", dir) };
	for (size_t i = 0; i < 4; i++) {
		if (remove(files[i]) != 0 && i < 2)
			perror(files[i]);
		free(files[i]);
	}
	rmdir(dir);
	free(dir);
}

static void resolve_and_retag(const char *tag)
{
	struct oci_layout *l = NULL;
	struct descriptor d = { 0 };
	err_t *e = oci_layout_open(dir, OCI_LAYOUT_READ, &l);
	if (!e)
		e = oci_layout_resolve(l, tag, &d);
	oci_layout_close(l);
	l = NULL;
	if (e) {
		err_free(e);
		return;
	}
	/* what resolved is written back under a new tag, and reads back */
	e = oci_layout_open(dir, OCI_LAYOUT_WRITE, &l);
	if (!e)
		e = oci_layout_set_ref(l, &d, "fuzz-retagged");
	oci_layout_close(l);
	l = NULL;
	if (e)
		abort(); /* a descriptor we resolved must be writable */
	struct descriptor again = { 0 };
	e = oci_layout_open(dir, OCI_LAYOUT_READ, &l);
	if (!e)
		e = oci_layout_resolve(l, "fuzz-retagged", &again);
	if (e || strcmp(again.digest, d.digest))
		abort();
	oci_layout_close(l);
	descriptor_release(&again);
	descriptor_release(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir) {
		log_setup("fuzz_oci_layout", LOG_HUMAN, LOG_ERROR);
		const char *tmp = getenv("TMPDIR");
		dir = xasprintf("%s/fuzz-oci-layout-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(dir))
			abort();
		atexit(remove_dir);
	}
	struct sections s;
	sections_split(data, size, &s);
	size_t len, tlen, rlen;
	const char *index = sections_get(&s, 0, &len);
	const char *tag = sections_get(&s, 1, &tlen);
	const char *ref = sections_get(&s, 2, &rlen);

	err_t *e = fs_write_atomic(dir, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30, 0644);
	if (!e)
		e = fs_write_atomic(dir, "index.json", index, len, 0644);
	if (e)
		abort();
	resolve_and_retag(tlen ? tag : NULL);

	bool archive = false;
	char *path = NULL, *rtag = NULL;
	e = oci_layout_parse_ref(ref, &archive, &path, &rtag);
	if (!e && (!path || !*path || (rtag && strpbrk(rtag, ":/"))))
		abort();
	err_free(e);
	free(path);
	free(rtag);
	sections_release(&s);
	return 0;
}
