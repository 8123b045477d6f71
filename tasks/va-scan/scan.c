/* Plumbing (scan.h). */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fsutil.h"
#include "jsonutil.h"
#include "log.h"
#include "scan.h"
#include "xalloc.h"

#define BOM_MAX (256u << 20)

/* dirname/basename of path, for fs_write_atomic */
static err_t *write_atomic(const char *path, const void *data, size_t len)
{
	_cleanup_free_ char *d = xstrdup(path), *b = xstrdup(path);
	return fs_write_atomic(dirname(d), basename(b), data, len, 0644);
}

err_t *va_db_load(const char *path, const char *save_to, struct va_db *out)
{
	memset(out, 0, sizeof *out);
	if (vulndb_is_index(path)) {
		if (save_to)
			return err_new(EXIT_USAGE, "--db %s is an index already: --index-file compiles OSV JSON or zips",
				       path);
		return vulndb_open(path, &out->db);
	}
	struct vulndb_builder *b = vulndb_builder_new();
	err_t *e = vulndb_builder_add_path(b, path);
	if (!e)
		vulndb_builder_finish(b, &out->image);
	vulndb_builder_free(b);
	if (!e && save_to) {
		e = write_atomic(save_to, out->image.buf, out->image.len);
		if (!e)
			log_info("index of %s written to %s (%zu bytes)", path, save_to, out->image.len);
	}
	if (!e)
		e = vulndb_from_memory(out->image.buf, out->image.len, path, &out->db);
	if (e)
		va_db_release(out);
	return e;
}

void va_db_release(struct va_db *d)
{
	vulndb_close(d->db);
	sb_release(&d->image);
	memset(d, 0, sizeof *d);
}

err_t *va_inventory_from_bom(const char *path, struct inventory *out)
{
	json_t *doc = NULL;
	TRY(json_parse_file(path, BOM_MAX, &doc));
	err_t *e = inventory_from_cyclonedx(doc, path, out);
	json_decref(doc);
	return e;
}

err_t *va_write_json(const char *path, const json_t *doc)
{
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!text)
		return err_new(EXIT_FAILED, "cannot serialise the report for %s", path);
	struct strbuf sb = STRBUF_INIT;
	sb_adds(&sb, text);
	sb_addc(&sb, '\n');
	free(text);
	err_t *e = write_atomic(path, sb.buf, sb.len);
	sb_release(&sb);
	return e;
}
