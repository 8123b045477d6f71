/* Software inventory: what is installed in an image or a source tree.
 * bin/bom writes it as CycloneDX 1.5 or SPDX 2.3; bin/va-scan matches it
 * against advisories. Both build it through inventory_build() from the
 * same inputs, or va-scan reads a CycloneDX file (inventory_from_cyclonedx),
 * so the BOM and the scan can never disagree.
 *
 * API (for callers):
 *   struct inventory inv; inventory_init(&inv);
 *   struct inventory_source src = { .source_dir = "app" };   // or .image / .oci_layout
 *   err_t *e = inventory_build(&src, &inv);
 *   for (size_t i = 0; i < inv.n; i++) inv.c[i].eco, .name, .version, .purl,
 *        .source_name/.source_version (deb: the Source: package, for
 *        Debian advisories; the binary's own name/version when absent),
 *        .licenses, .layer (layer digest, NULL for a tree), .path, .deps
 *   json_t *cdx = inventory_to_cyclonedx(&inv);       // CycloneDX 1.5 document
 *   inventory_from_cyclonedx(cdx, "bom.json", &inv2); // any CycloneDX 1.5 JSON
 *   inventory_free(&inv);
 *
 * Parsers (each takes one file's bytes; untrusted input): a malformed
 * record is a per-file warning (logged, the file's good records kept) or
 * an error for a file that is not the format at all; never a crash.
 *   dpkg status (var/lib/dpkg/status, var/lib/dpkg/status.d/<pkg>): only
 *     "install ok installed" stanzas (status.d files have no Status:);
 *     Source: "name" or "name (version)" -> source_name/source_version.
 *   apk installed db (lib/apk/db/installed): P: V: L: o: (origin = source).
 *   npm package-lock.json v1 ("dependencies" tree), v2/v3 ("packages"),
 *     and node_modules/<name>/package.json found in images.
 *   Python *.dist-info/METADATA, *.egg-info/PKG-INFO and *.egg-info files
 *     (RFC 822 headers).
 *   etc/os-release (ID, VERSION_ID, VERSION_CODENAME): the purl distro
 *     qualifier of deb/apk components ("debian-12", "alpine-3.19").
 *   our static binaries: the third-party sources mk/versions.sh embeds
 *     (task_third_party, the lines --version prints), as deb components
 *     (they are Debian source packages) found at the binary's path. */
#ifndef COMMON_INVENTORY_H
#define COMMON_INVENTORY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "registry.h"

enum inv_ecosystem {
	INV_DEB,
	INV_APK,
	INV_NPM,
	INV_PYPI,
	INV_GENERIC,
};

/* "deb", "apk", "npm", "pypi", "generic" (the purl type) */
const char *inv_ecosystem_purl_type(enum inv_ecosystem e);
/* OSV ecosystem names: "Debian", "Alpine", "npm", "PyPI", "" */
const char *inv_ecosystem_osv(enum inv_ecosystem e);

struct inv_component {
	enum inv_ecosystem eco;
	char *name;
	char *version;
	char *purl;           /* pkg:<type>/<ns>/<name>@<version>?<qualifiers> */
	char *arch;           /* deb/apk architecture, else NULL */
	char *source_name;    /* deb: Source: package (else name); apk: origin; else NULL */
	char *source_version; /* deb: Source: version (else version); else NULL */
	char **licenses;      /* as declared (SPDX ids or names) */
	size_t n_licenses;
	char *layer;          /* digest of the image layer it came from; NULL for a tree */
	char *path;           /* the file it was found in ("var/lib/dpkg/status") */
	char **deps;          /* npm: purls of the packages it depends on */
	size_t n_deps;
};

struct inventory {
	struct inv_component *c;
	size_t n, cap;
	/* etc/os-release, when found (else NULL) */
	char *os_id, *os_version_id, *os_name;
	char *subject; /* what was inventoried: the image reference or directory */
	char *subject_digest; /* image manifest digest, NULL for a tree */
	size_t warnings; /* malformed records skipped (each was logged) */
	json_t *index;   /* private to inventory.c: finds duplicates */
};

void inventory_init(struct inventory *inv);
void inventory_free(struct inventory *inv);

/* Add a component (fields copied; purl computed when NULL); duplicates
 * (same purl, layer and path) are dropped. Returns the stored component,
 * or NULL for one with a string that is not UTF-8 (a warning, counted). */
struct inv_component *inventory_add(struct inventory *inv, const struct inv_component *c);
/* Whether s (NULL: yes) is valid UTF-8, as JSON strings must be. */
bool inventory_utf8(const char *s);
/* Sort by ecosystem, name, version, path (deterministic output). */
void inventory_sort(struct inventory *inv);

/* The purl of a package (https://github.com/package-url/purl-spec):
 * deb/apk get namespace = distro id ("debian", "alpine") and a distro=
 * qualifier ("debian-12") when known; npm scopes ("@scope/x") become the
 * namespace, percent-encoded "%40scope"; pypi names are normalised (PEP
 * 503: lower case, runs of -_. to "-"). Caller frees. */
char *inventory_purl(enum inv_ecosystem eco, const char *name, const char *version, const char *os_id,
		     const char *os_version_id, const char *arch);

/* ---- parsers: one file's bytes each; found at path in layer (may be NULL) ---- */
err_t *inventory_parse_dpkg_status(struct inventory *inv, const char *text, size_t len, const char *path,
				   const char *layer);
err_t *inventory_parse_apk_installed(struct inventory *inv, const char *text, size_t len, const char *path,
				     const char *layer);
err_t *inventory_parse_npm_lock(struct inventory *inv, const char *text, size_t len, const char *path,
				const char *layer);
err_t *inventory_parse_npm_package(struct inventory *inv, const char *text, size_t len, const char *path,
				   const char *layer);
err_t *inventory_parse_python_metadata(struct inventory *inv, const char *text, size_t len, const char *path,
				       const char *layer);
err_t *inventory_parse_os_release(struct inventory *inv, const char *text, size_t len, const char *path);
/* Third-party sources embedded by mk/versions.sh in a binary's bytes (no
 * error when there are none). */
err_t *inventory_parse_static_binary(struct inventory *inv, const char *data, size_t len, const char *path,
				     const char *layer);
/* The same lines, verbatim ("\n<line>\n" each), appended to lines: a
 * binary read in windows keeps only these for the parse above. */
struct strbuf;
void inventory_static_binary_lines(const char *data, size_t len, struct strbuf *lines);
/* Which parser a path (relative, no leading "/") is for: 0 none. */
enum inv_file_kind {
	INV_FILE_NONE,
	INV_FILE_DPKG_STATUS,
	INV_FILE_APK_INSTALLED,
	INV_FILE_NPM_LOCK,
	INV_FILE_NPM_PACKAGE,
	INV_FILE_PYTHON_METADATA,
	INV_FILE_OS_RELEASE,
};
enum inv_file_kind inventory_file_kind(const char *path, bool in_image);
/* Run the parser for kind. */
err_t *inventory_parse_file(struct inventory *inv, enum inv_file_kind kind, const char *text, size_t len,
			    const char *path, const char *layer);
/* Fill purls of deb/apk components with the distro found later (the
 * os-release file may come after the status file). */
void inventory_finish(struct inventory *inv);

/* ---- sources ---- */
struct inventory_source {
	const char *source_dir; /* a source tree or an unpacked rootfs */
	const char *image;      /* a registry reference */
	const char *oci_layout; /* "oci:<dir>[:tag]", "oci-archive:<file>[:tag]", or a layout dir */
	struct registry_options registry; /* for .image */
	const char *platform;   /* index pick ("linux/amd64"); NULL: this machine's */
};
/* Exactly one of source_dir, image, oci_layout. Image layers are streamed
 * (common/layer's reader, whiteouts applied), never unpacked. */
err_t *inventory_build(const struct inventory_source *src, struct inventory *out);

/* ---- documents ---- */
/* CycloneDX 1.5 JSON (https://cyclonedx.org/docs/1.5/json/): components
 * with bom-ref = purl (unique), purl, version, licenses, properties
 * "bom:layer", "bom:path", "bom:source-name", "bom:source-version";
 * dependencies[] for npm. serial is "urn:uuid:..." (NULL: random). */
json_t *inventory_to_cyclonedx(const struct inventory *inv, const char *serial);
/* SPDX 2.3 JSON: packages with SPDXID, purl externalRefs, DESCRIBES and
 * DEPENDS_ON relationships. */
json_t *inventory_to_spdx(const struct inventory *inv, const char *namespace_uuid);
/* Read any CycloneDX 1.4/1.5/1.6 JSON: components (nested too) with a purl
 * of a type we know; others kept as generic. what names it in errors. */
err_t *inventory_from_cyclonedx(const json_t *doc, const char *what, struct inventory *out);

#endif
