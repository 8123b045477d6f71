/* Shared body of the inventory parser fuzz targets (fuzz_inventory_*.c):
 * one file's bytes go through one parser of common/inventory, in an
 * exact-size copy (a read past the end is an ASan report). Whatever the
 * bytes: no crash, no leak, and what was kept is a valid inventory:
 * every component has a name, a version and a purl of its type, and the
 * CycloneDX document made of it reads back (inventory_from_cyclonedx) to
 * the same purls; the SPDX document is made too. */
#ifndef FUZZ_INVENTORY_CHECK_H
#define FUZZ_INVENTORY_CHECK_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inventory.h"
#include "log.h"
#include "xalloc.h"

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static void inventory_check_roundtrip(struct inventory *inv)
{
	inventory_finish(inv);
	for (size_t i = 0; i < inv->n; i++) {
		const struct inv_component *c = &inv->c[i];
		const char *type = inv_ecosystem_purl_type(c->eco);
		if (!c->name || !*c->name || !c->version || !c->purl || strncmp(c->purl, "pkg:", 4) ||
		    strncmp(c->purl + 4, type, strlen(type)) || c->purl[4 + strlen(type)] != '/')
			abort();
	}
	json_t *cdx = inventory_to_cyclonedx(inv, "urn:uuid:00000000-0000-4000-8000-000000000000");
	char *text = json_dumps(cdx, JSON_COMPACT);
	json_decref(cdx);
	if (!text)
		abort();
	json_error_t je;
	json_t *back_doc = json_loads(text, 0, &je);
	free(text);
	struct inventory back;
	inventory_init(&back);
	err_t *e = back_doc ? inventory_from_cyclonedx(back_doc, "fuzz", &back) : NULL;
	if (!back_doc || e)
		abort(); /* our own document must read back */
	json_decref(back_doc);
	if (back.n != inv->n || (inv->os_id && (!back.os_id || strcmp(back.os_id, inv->os_id))))
		abort();
	const char **a = xcalloc(inv->n + 1, sizeof *a), **b = xcalloc(inv->n + 1, sizeof *b);
	for (size_t i = 0; i < inv->n; i++) {
		a[i] = inv->c[i].purl;
		b[i] = back.c[i].purl;
	}
	qsort(a, inv->n, sizeof *a, cmp_str);
	qsort(b, inv->n, sizeof *b, cmp_str);
	for (size_t i = 0; i < inv->n; i++)
		if (strcmp(a[i], b[i]))
			abort();
	free(a);
	free(b);
	inventory_free(&back);
	json_t *spdx = inventory_to_spdx(inv, "00000000-0000-4000-8000-000000000000");
	if (!spdx)
		abort();
	json_decref(spdx);
}

static int inventory_fuzz_one(enum inv_file_kind kind, const uint8_t *data, size_t size)
{
	static bool quiet;
	if (!quiet) {
		log_setup("fuzz", LOG_HUMAN, LOG_ERROR);
		quiet = true;
	}
	char *copy = xmalloc(size ? size : 1);
	if (size)
		memcpy(copy, data, size);
	struct inventory inv;
	inventory_init(&inv);
	err_t *e = kind == INV_FILE_NONE ? inventory_parse_static_binary(&inv, copy, size, "fuzz", "sha256:00")
					 : inventory_parse_file(&inv, kind, copy, size, "fuzz", "sha256:00");
	err_free(e);
	inventory_check_roundtrip(&inv);
	inventory_free(&inv);
	free(copy);
	return 0;
}

#endif
