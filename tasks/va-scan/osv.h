/* OSV advisories (https://ossf.github.io/osv-schema/) read from a JSON
 * file, a directory of them, or the per-ecosystem all.zip of the OSV data
 * dumps (libarchive), each record validated and reduced to what matching
 * needs ("trimmed": id, aliases, summary, severity, and the affected
 * packages with their ECOSYSTEM/SEMVER ranges and explicit versions).
 * Withdrawn records are dropped here. Every error names the file (and the
 * zip entry) it is about; bad input is EXIT_USAGE. */
#ifndef VA_SCAN_OSV_H
#define VA_SCAN_OSV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Receives each trimmed record (borrowed: keep a reference to hold it). */
struct osv_sink {
	err_t *(*record)(void *ctx, json_t *trimmed, const char *what);
	void *ctx;
	size_t records;   /* passed to record() */
	size_t withdrawn; /* dropped */
};

/* One record -> its trimmed form, or *out = NULL when withdrawn.
 *   {"id","aliases":[...],"summary","severity":"HIGH","score":7.5,
 *    "vector":"CVSS:4.0/...","affected":[{"ecosystem","name",
 *    "ranges":[{"type","events":[{"introduced":"0"},...]}],"versions":[...]}]}
 * severity: computed from a CVSS v4 vector, else a v3 one, else the
 * advisory's own rating (database_specific / ecosystem_specific
 * "severity"), else "UNKNOWN" (which ranks below LOW: only --fail-on=any
 * fails on it). */
err_t *osv_trim(const json_t *rec, const char *what, json_t **out);

/* One JSON document (a record, or an array of records). */
err_t *osv_read_json(const char *text, size_t len, const char *what, struct osv_sink *sink);
/* Every *.json entry of a zip (other entries are ignored). */
err_t *osv_read_zip(const char *path, struct osv_sink *sink);
/* A .json file, a .zip, or a directory: its *.json and *.zip files,
 * recursively, in name order. */
err_t *osv_read_path(const char *path, struct osv_sink *sink);

/* The ecosystem without its release ("Debian:12" -> "Debian"), len only. */
size_t osv_ecosystem_base_len(const char *ecosystem);
/* The name as the ecosystem compares it: PyPI names normalised (PEP 503:
 * lower case, runs of "-_." as "-"); every other ecosystem as spelled
 * (npm is case-sensitive: "Axios" is not "axios"). Caller frees. */
char *osv_package_key(const char *ecosystem, const char *name);

#endif
