/* va-scan's plumbing between main.c's story and the modules: the advisory
 * database (an index file, or OSV JSON / zips compiled in memory and
 * optionally saved), the inventory (a CycloneDX file or common/inventory's
 * sources), and writing reports to files. */
#ifndef VA_SCAN_SCAN_H
#define VA_SCAN_SCAN_H

#include <jansson.h>

#include "error.h"
#include "inventory.h"
#include "strbuf.h"
#include "vulndb.h"

struct va_db {
	struct vulndb *db;
	struct strbuf image; /* the index bytes when compiled in memory */
};

/* path: an index file, or OSV JSON / zips / a directory of them; when
 * save_to is set the compiled index is written there (atomically). */
err_t *va_db_load(const char *path, const char *save_to, struct va_db *out);
void va_db_release(struct va_db *d);

/* A CycloneDX JSON file as an inventory. */
err_t *va_inventory_from_bom(const char *path, struct inventory *out);

/* Write a JSON document to path atomically (pretty, with a newline). */
err_t *va_write_json(const char *path, const json_t *doc);

#endif
