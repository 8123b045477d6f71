/* The compiled advisory index: one file, mmap-able, versioned and
 * checksummed, that va-scan looks packages up in without parsing the
 * whole database.
 *
 * Layout (integers little-endian):
 *   header, 128 bytes: magic "VASCANDB", u32 format version (2),
 *     u32 record count, u32 key count, u32 0, u64 file size, then
 *     "sha256:<hex>" and a NUL: the digest of the whole file except
 *     these 72 bytes; zeros to the end
 *   key table: key count x { u32 key offset, u32 key length,
 *     u32 record offset, u32 record length }, sorted by key bytes;
 *     offsets are into the pool that follows the table
 *   pool: keys ("<ecosystem without release>\0<package key>",
 *     osv_package_key) and records (a trimmed OSV record, osv.h, as
 *     compact JSON, deflated against a preset dictionary, after its
 *     inflated length as u32); a record appears once, keyed by every
 *     package it names.
 * Opening checks all of it (size, magic, version, checksum, bounds, key
 * order): a corrupt or truncated index is refused naming the file (exit
 * 2), never half-read. */
#ifndef VA_SCAN_VULNDB_H
#define VA_SCAN_VULNDB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "strbuf.h"

#define VULNDB_MAGIC "VASCANDB"
#define VULNDB_FORMAT 2
#define VULNDB_HEADER_SIZE 128

/* ---- building ---- */
struct vulndb_builder;
struct vulndb_builder *vulndb_builder_new(void);
void vulndb_builder_free(struct vulndb_builder *b);
/* Add trimmed records from a database path (osv_read_path). A record whose
 * id was added before is skipped (the first one wins, with a warning). */
err_t *vulndb_builder_add_path(struct vulndb_builder *b, const char *path);
/* Add one trimmed record. */
err_t *vulndb_builder_add(struct vulndb_builder *b, json_t *trimmed, const char *what);
size_t vulndb_builder_records(const struct vulndb_builder *b);
/* The index file's bytes. */
void vulndb_builder_finish(struct vulndb_builder *b, struct strbuf *out);

/* ---- reading ---- */
struct vulndb;
/* mmap and check an index file (its checksum through read(2), so the
 * pages only hashed stay out of the process's RSS). */
err_t *vulndb_open(const char *path, struct vulndb **out);
/* Check an index held in memory (not copied: data must outlive db); what
 * names it in errors. */
err_t *vulndb_from_memory(const void *data, size_t len, const char *what, struct vulndb **out);
void vulndb_close(struct vulndb *db);
size_t vulndb_records(const struct vulndb *db);
/* Whether the file starts like an index (to tell it from OSV JSON). */
bool vulndb_is_index(const char *path);

/* Records naming the package (ecosystem with or without its release):
 * fn gets each one's JSON text; stops at fn's first error. */
typedef err_t *(*vulndb_record_fn)(void *ctx, const char *json, size_t len);
err_t *vulndb_lookup(const struct vulndb *db, const char *ecosystem, const char *name, vulndb_record_fn fn,
		     void *ctx);

#endif
