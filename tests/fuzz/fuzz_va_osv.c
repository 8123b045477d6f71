/* OSV records (tasks/va-scan/osv.c) as va-scan reads them from a database:
 * any bytes must be read or refused cleanly; what is read is compiled into
 * an index (vulndb.c), read back, and every record is matched
 * (match_record) against a few versions of the packages it names. */
// fuzz-sources: tasks/va-scan/osv.c tasks/va-scan/vulndb.c tasks/va-scan/match.c tasks/va-scan/cvss.c
// fuzz-libs: -lyaml -lm
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../tasks/va-scan/match.h"
#include "../../tasks/va-scan/osv.h"
#include "../../tasks/va-scan/vulndb.h"
#include "jsonutil.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static err_t *add(void *ctx, json_t *t, const char *what)
{
	return vulndb_builder_add(ctx, t, what);
}

static err_t *match_all(void *ctx, const char *text, size_t len)
{
	(void)ctx;
	static const char *const versions[] = { "1.0.0", "0", "1:2.3-4~deb11u1", "2.0rc1", "1.2.3a_rc1-r2", "" };
	json_t *rec = NULL;
	TRY(json_parse(text, len, "record", &rec));
	size_t i;
	json_t *aff;
	json_array_foreach(json_object_get(rec, "affected"), i, aff) {
		const char *eco = json_string_value(json_object_get(aff, "ecosystem"));
		const char *name = json_string_value(json_object_get(aff, "name"));
		for (size_t v = 0; eco && name && v < sizeof versions / sizeof *versions; v++) {
			bool affected;
			char *fixed = NULL;
			err_free(match_record(rec, eco, name, versions[v], &affected, &fixed));
			free(fixed);
		}
	}
	json_decref(rec);
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	log_setup("fuzz_va_osv", LOG_HUMAN, LOG_ERROR);
	struct vulndb_builder *b = vulndb_builder_new();
	struct osv_sink sink = { .record = add, .ctx = b };
	err_t *e = osv_read_json((const char *)data, size, "fuzz.json", &sink);
	err_free(e);
	struct strbuf img = STRBUF_INIT;
	vulndb_builder_finish(b, &img);
	vulndb_builder_free(b);
	struct vulndb *db = NULL;
	e = vulndb_from_memory(img.buf, img.len, "fuzz.idx", &db);
	if (e)
		abort(); /* what we write we must read */
	static const char *const keys[][2] = { { "npm", "a" }, { "PyPI", "A_b" }, { "Debian:12", "x" }, { "Alpine:v3.18", "x" } };
	for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
		err_free(vulndb_lookup(db, keys[k][0], keys[k][1], match_all, NULL));
	vulndb_close(db);
	sb_release(&img);
	return 0;
}
