/* The inventory model, purls, and the CycloneDX / SPDX documents (see
 * inventory.h). Parsers are in inventory_parse.c, sources in
 * inventory_source.c. */
#include "inventory.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "cleanup.h"
#include "log.h"
#include "spdx_licenses.h"
#include "strbuf.h"
#include "xalloc.h"

const char *inv_ecosystem_purl_type(enum inv_ecosystem e)
{
	switch (e) {
	case INV_DEB: return "deb";
	case INV_APK: return "apk";
	case INV_NPM: return "npm";
	case INV_PYPI: return "pypi";
	case INV_GENERIC: break;
	}
	return "generic";
}

const char *inv_ecosystem_osv(enum inv_ecosystem e)
{
	switch (e) {
	case INV_DEB: return "Debian";
	case INV_APK: return "Alpine";
	case INV_NPM: return "npm";
	case INV_PYPI: return "PyPI";
	case INV_GENERIC: break;
	}
	return "";
}

void inventory_init(struct inventory *inv)
{
	memset(inv, 0, sizeof *inv);
}

static void free_list(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

static void component_release(struct inv_component *c)
{
	free(c->name);
	free(c->version);
	free(c->purl);
	free(c->arch);
	free(c->source_name);
	free(c->source_version);
	free_list(c->licenses, c->n_licenses);
	free(c->layer);
	free(c->path);
	free_list(c->deps, c->n_deps);
}

void inventory_free(struct inventory *inv)
{
	json_decref(inv->index);
	for (size_t i = 0; i < inv->n; i++)
		component_release(&inv->c[i]);
	free(inv->c);
	free(inv->os_id);
	free(inv->os_version_id);
	free(inv->os_name);
	free(inv->subject);
	free(inv->subject_digest);
	memset(inv, 0, sizeof *inv);
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static char **dup_list(char *const *l, size_t n)
{
	if (!n)
		return NULL;
	char **out = xcalloc(n, sizeof *out);
	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(l[i]);
	return out;
}

bool inventory_utf8(const char *s)
{
	if (!s)
		return true;
	json_t *j = json_string(s); /* jansson validates UTF-8 */
	json_decref(j);
	return j != NULL;
}

static bool list_utf8(char *const *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!inventory_utf8(l[i]))
			return false;
	return true;
}

/* What makes a component a duplicate: purl, layer and path (NULL apart
 * from ""), length-prefixed so that no two triples give the same key. */
static char *dup_key(const char *purl, const char *layer, const char *path)
{
	return xasprintf("%zu:%s%zu:%s%c%s", strlen(purl), purl, layer ? strlen(layer) + 1 : 0, layer ? layer : "",
			 path ? '+' : '-', path ? path : "");
}

/* index: duplicate key -> position, rebuilt when positions or purls change */
static void reindex(struct inventory *inv)
{
	json_decref(inv->index);
	inv->index = json_object();
	for (size_t i = inv->n; i-- > 0;) { /* the first of equal keys wins */
		_cleanup_free_ char *k = dup_key(inv->c[i].purl, inv->c[i].layer, inv->c[i].path);
		json_object_set_new_nocheck(inv->index, k, json_integer((json_int_t)i));
	}
}

/* purl -> position of the first component with it (callers decref) */
static json_t *purl_index(const struct inventory *inv)
{
	json_t *idx = json_object();
	for (size_t i = inv->n; i-- > 0;)
		json_object_set_new_nocheck(idx, inv->c[i].purl, json_integer((json_int_t)i));
	return idx;
}

static const struct inv_component *by_purl(const struct inventory *inv, const json_t *idx, const char *purl)
{
	const json_t *at = json_object_get(idx, purl);
	return at ? &inv->c[json_integer_value(at)] : NULL;
}

struct inv_component *inventory_add(struct inventory *inv, const struct inv_component *c)
{
	/* the documents are JSON: bytes that are not UTF-8 (hostile or
	 * mis-encoded files) cannot be written as they are, and a changed
	 * name would be a package that does not exist */
	if (!inventory_utf8(c->name) || !inventory_utf8(c->version) || !inventory_utf8(c->arch) ||
	    !inventory_utf8(c->source_name) || !inventory_utf8(c->source_version) || !inventory_utf8(c->path) ||
	    !inventory_utf8(c->layer) || !inventory_utf8(c->purl) || !list_utf8(c->licenses, c->n_licenses) ||
	    !list_utf8(c->deps, c->n_deps)) {
		log_warn("%s: a %s record with bytes that are not UTF-8; skipped",
			 c->path && inventory_utf8(c->path) ? c->path : "(a file whose name is not UTF-8)",
			 inv_ecosystem_purl_type(c->eco));
		inv->warnings++;
		return NULL;
	}
	_cleanup_free_ char *purl = c->purl ? xstrdup(c->purl)
					    : inventory_purl(c->eco, c->name, c->version, inv->os_id,
							     inv->os_version_id, c->arch);
	if (!inv->index)
		reindex(inv);
	_cleanup_free_ char *key = dup_key(purl, c->layer, c->path);
	const json_t *at = json_object_get(inv->index, key);
	if (at)
		return &inv->c[json_integer_value(at)];
	json_object_set_new_nocheck(inv->index, key, json_integer((json_int_t)inv->n));
	if (inv->n == inv->cap) {
		inv->cap = inv->cap ? inv->cap * 2 : 64;
		inv->c = xrealloc(inv->c, inv->cap * sizeof *inv->c);
	}
	struct inv_component *d = &inv->c[inv->n++];
	*d = (struct inv_component){
		.eco = c->eco,
		.name = xstrdup(c->name),
		.version = xstrdup(c->version ? c->version : ""),
		.purl = steal_ptr(purl),
		.arch = dup_or_null(c->arch),
		.source_name = dup_or_null(c->source_name),
		.source_version = dup_or_null(c->source_version),
		.licenses = dup_list(c->licenses, c->n_licenses),
		.n_licenses = c->n_licenses,
		.layer = dup_or_null(c->layer),
		.path = dup_or_null(c->path),
		.deps = dup_list(c->deps, c->n_deps),
		.n_deps = c->n_deps,
	};
	return d;
}

static int cmp_null(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int cmp_component(const void *pa, const void *pb)
{
	const struct inv_component *a = pa, *b = pb;
	int r;
	if (a->eco != b->eco)
		return a->eco < b->eco ? -1 : 1;
	if ((r = strcmp(a->name, b->name)) || (r = strcmp(a->version, b->version)) ||
	    (r = cmp_null(a->path, b->path)) || (r = cmp_null(a->layer, b->layer)))
		return r;
	return 0;
}

void inventory_sort(struct inventory *inv)
{
	if (inv->n)
		qsort(inv->c, inv->n, sizeof *inv->c, cmp_component);
	reindex(inv);
}

/* purl-spec: percent-encode anything but the unreserved set; ":" and "/"
 * too (inside a name or version they are data). */
static void purl_encode(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (isalnum(ch) || ch == '.' || ch == '-' || ch == '_' || ch == '~')
			sb_addc(sb, (char)ch);
		else
			sb_addf(sb, "%%%02X", ch);
	}
}

/* PEP 503 normalised name */
static char *pep503(const char *name)
{
	struct strbuf sb = STRBUF_INIT;
	bool sep = false;
	for (const char *p = name; *p; p++) {
		if (*p == '-' || *p == '_' || *p == '.') {
			sep = true;
			continue;
		}
		if (sep && sb.len)
			sb_addc(&sb, '-');
		sep = false;
		sb_addc(&sb, (char)tolower((unsigned char)*p));
	}
	return sb.len ? sb_detach(&sb) : (sb_release(&sb), xstrdup(name));
}

char *inventory_purl(enum inv_ecosystem eco, const char *name, const char *version, const char *os_id,
		     const char *os_version_id, const char *arch)
{
	struct strbuf sb = STRBUF_INIT;
	sb_addf(&sb, "pkg:%s/", inv_ecosystem_purl_type(eco));
	bool q = false;
	switch (eco) {
	case INV_DEB:
	case INV_APK:
		purl_encode(&sb, os_id && *os_id ? os_id : eco == INV_DEB ? "debian" : "alpine");
		sb_addc(&sb, '/');
		purl_encode(&sb, name);
		break;
	case INV_NPM: {
		const char *slash = name[0] == '@' ? strchr(name, '/') : NULL;
		if (slash) {
			_cleanup_free_ char *ns = xstrndup(name, (size_t)(slash - name));
			purl_encode(&sb, ns);
			sb_addc(&sb, '/');
			purl_encode(&sb, slash + 1);
		} else {
			purl_encode(&sb, name);
		}
		break;
	}
	case INV_PYPI: {
		_cleanup_free_ char *n = pep503(name);
		purl_encode(&sb, n);
		break;
	}
	case INV_GENERIC:
		purl_encode(&sb, name);
		break;
	}
	if (version && *version) {
		sb_addc(&sb, '@');
		purl_encode(&sb, version);
	}
	/* qualifiers sorted by key: arch, distro */
	if ((eco == INV_DEB || eco == INV_APK) && arch && *arch) {
		sb_adds(&sb, "?arch=");
		purl_encode(&sb, arch);
		q = true;
	}
	if ((eco == INV_DEB || eco == INV_APK) && os_id && *os_id && os_version_id && *os_version_id) {
		sb_adds(&sb, q ? "&distro=" : "?distro=");
		purl_encode(&sb, os_id);
		sb_addc(&sb, '-');
		purl_encode(&sb, os_version_id);
	}
	return sb_detach(&sb);
}

void inventory_finish(struct inventory *inv)
{
	for (size_t i = 0; i < inv->n; i++) {
		struct inv_component *c = &inv->c[i];
		if (c->eco != INV_DEB && c->eco != INV_APK)
			continue;
		free(c->purl);
		c->purl = inventory_purl(c->eco, c->name, c->version, inv->os_id, inv->os_version_id, c->arch);
	}
	inventory_sort(inv);
}

/* ---- documents ---- */

static char *uuid4(void)
{
	unsigned char b[16] = { 0 };
	if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
		/* no entropy source: still unique enough per run for a serial */
		unsigned long long t = (unsigned long long)time(NULL);
		memcpy(b, &t, sizeof t);
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	return xasprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
			 b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static char *now_utc(void)
{
	char buf[32];
	time_t t = time(NULL);
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	if (sde && *sde)
		t = (time_t)strtoll(sde, NULL, 10);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return xstrdup(buf);
}

static void add_property(json_t *props, const char *name, const char *value)
{
	if (value && *value)
		json_array_append_new(props, json_pack("{s:s, s:s}", "name", name, "value", value));
}

/* An SPDX 2.3 license expression (Annex D) whose ids are all on the SPDX
 * list ("(MIT OR Apache-2.0)", "GPL-2.0-only WITH Classpath-exception-2.0",
 * "GPL-2.0+", "LicenseRef-x"), appended to out with the list's spelling
 * of each id; false (out unchanged) for anything else. */
static bool spdx_expression(const char *s, struct strbuf *out)
{
	size_t start = out->len, ids = 0;
	int depth = 0;
	bool want_id = true; /* an id or "(" next, else an operator or ")" */
	for (const char *p = s; *p;) {
		if (*p == ' ') {
			p++;
			continue;
		}
		if (*p == '(' || *p == ')') {
			if ((*p == '(') != want_id || (*p == ')' && depth == 0))
				goto no;
			depth += *p == '(' ? 1 : -1;
			sb_addc(out, *p++);
			continue;
		}
		size_t n = strcspn(p, " ()");
		_cleanup_free_ char *w = xstrndup(p, n);
		p += n;
		if (!want_id) {
			if (strcmp(w, "AND") && strcmp(w, "OR") && strcmp(w, "WITH"))
				goto no;
			sb_addf(out, " %s ", w);
			want_id = true;
			continue;
		}
		bool plus = w[n - 1] == '+' && n > 1;
		if (plus)
			w[n - 1] = '\0';
		const char *id = spdx_license_id(w);
		if (id)
			sb_adds(out, id);
		else if (!strncmp(w, "LicenseRef-", 11) && w[11] &&
			 !w[11 + strspn(w + 11, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")])
			sb_adds(out, w);
		else
			goto no;
		if (plus)
			sb_addc(out, '+');
		ids++;
		want_id = false;
	}
	if (ids && !want_id && depth == 0)
		return true;
no:
	out->len = start;
	if (out->buf)
		out->buf[start] = '\0';
	return false;
}

/* Declared licenses as CycloneDX 1.5 licenseChoice: an id of the SPDX
 * list as "id" (the schema's enum, in its spelling), one expression of
 * listed ids as the lone "expression", anything else as "name". */
static json_t *cdx_licenses(const struct inv_component *c)
{
	json_t *a = json_array();
	struct strbuf sb = STRBUF_INIT;
	if (c->n_licenses == 1 && !spdx_license_id(c->licenses[0]) && spdx_expression(c->licenses[0], &sb)) {
		json_array_append_new(a, json_pack("{s:s}", "expression", sb_str(&sb)));
		sb_release(&sb);
		return a;
	}
	for (size_t i = 0; i < c->n_licenses; i++) {
		const char *id = spdx_license_id(c->licenses[i]);
		json_t *lic = id ? json_pack("{s:s}", "id", id) : json_pack("{s:s}", "name", c->licenses[i]);
		json_array_append_new(a, json_pack("{s:o}", "license", lic));
	}
	sb_release(&sb); /* what a failed expression left */
	return a;
}

/* bom-refs must be unique in a document: the purl, suffixed when the same
 * package occurs at several places (two layers, two paths). */
static char **bom_refs(const struct inventory *inv)
{
	char **refs = xcalloc(inv->n ? inv->n : 1, sizeof *refs);
	json_t *seen = json_object(); /* purl -> times seen */
	for (size_t i = 0; i < inv->n; i++) {
		json_t *n = json_object_get(seen, inv->c[i].purl);
		json_int_t dup = n ? json_integer_value(n) : 0;
		refs[i] = dup ? xasprintf("%s#%lld", inv->c[i].purl, (long long)dup + 1) : xstrdup(inv->c[i].purl);
		json_object_set_new_nocheck(seen, inv->c[i].purl, json_integer(dup + 1));
	}
	json_decref(seen);
	return refs;
}

json_t *inventory_to_cyclonedx(const struct inventory *inv, const char *serial)
{
	_cleanup_free_ char *uuid = serial ? NULL : uuid4();
	_cleanup_free_ char *ts = now_utc();
	_cleanup_free_ char *urn = serial ? xstrdup(serial) : xasprintf("urn:uuid:%s", uuid);
	json_t *tools = json_pack("{s:[{s:s, s:s, s:s}]}", "components", "type", "application", "name", "bom",
				  "version", PIPELINE_VERSION);
	json_t *meta = json_pack("{s:s, s:o}", "timestamp", ts, "tools", tools);
	if (inv->subject) {
		json_t *subj = json_pack("{s:s, s:s, s:s}", "type", inv->subject_digest ? "container" : "application",
					 "bom-ref", "subject", "name", inv->subject);
		if (inv->subject_digest)
			json_object_set_new(subj, "version", json_string(inv->subject_digest));
		json_object_set_new(meta, "component", subj);
	}
	json_t *comps = json_array(), *deps = json_array();
	char **refs = bom_refs(inv);
	json_t *first = purl_index(inv); /* deps name purls: the first one's ref */
	if (inv->os_id) {
		json_t *os = json_pack("{s:s, s:s, s:s}", "type", "operating-system", "bom-ref", "os", "name", inv->os_id);
		if (inv->os_version_id)
			json_object_set_new(os, "version", json_string(inv->os_version_id));
		if (inv->os_name)
			json_object_set_new(os, "description", json_string(inv->os_name));
		json_array_append_new(comps, os);
	}
	for (size_t i = 0; i < inv->n; i++) {
		const struct inv_component *c = &inv->c[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "library", "bom-ref", refs[i], "name",
				      c->name, "version", c->version, "purl", c->purl);
		if (c->n_licenses)
			json_object_set_new(o, "licenses", cdx_licenses(c));
		json_t *props = json_array();
		add_property(props, "bom:layer", c->layer);
		add_property(props, "bom:path", c->path);
		add_property(props, "bom:source-name", c->source_name);
		add_property(props, "bom:source-version", c->source_version);
		if (json_array_size(props))
			json_object_set_new(o, "properties", props);
		else
			json_decref(props);
		json_array_append_new(comps, o);
		if (c->eco == INV_NPM) {
			json_t *on = json_array();
			for (size_t k = 0; k < c->n_deps; k++) {
				const struct inv_component *d = by_purl(inv, first, c->deps[k]);
				if (d)
					json_array_append_new(on, json_string(refs[d - inv->c]));
			}
			json_array_append_new(deps, json_pack("{s:s, s:o}", "ref", refs[i], "dependsOn", on));
		}
	}
	free_list(refs, inv->n);
	json_decref(first);
	json_t *doc = json_pack("{s:s, s:s, s:s, s:i, s:o, s:o}", "bomFormat", "CycloneDX", "specVersion", "1.5",
				"serialNumber", urn, "version", 1, "metadata", meta, "components", comps);
	if (json_array_size(deps))
		json_object_set_new(doc, "dependencies", deps);
	else
		json_decref(deps);
	return doc;
}

/* SPDXID: "SPDXRef-" + [A-Za-z0-9.-]+ (SPDX 2.3 section 7.2) */
static char *spdx_id(size_t i, const struct inv_component *c)
{
	struct strbuf sb = STRBUF_INIT;
	sb_addf(&sb, "SPDXRef-Package-%s-", inv_ecosystem_purl_type(c->eco));
	for (const char *p = c->name; *p; p++)
		sb_addc(&sb, isalnum((unsigned char)*p) || *p == '.' || *p == '-' ? *p : '-');
	sb_addf(&sb, "-%zu", i + 1);
	return sb_detach(&sb);
}

/* licenseDeclared (SPDX 2.3 clause 7.15): the declared licenses ANDed
 * when each is a listed id or an expression of them, else NOASSERTION
 * (a name would need a LicenseRef with its text, which we do not have). */
static char *spdx_license(const struct inv_component *c)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < c->n_licenses; i++) {
		if (i)
			sb_adds(&sb, " AND ");
		bool group = c->n_licenses > 1 && !spdx_license_id(c->licenses[i]);
		if (group)
			sb_addc(&sb, '(');
		if (!spdx_expression(c->licenses[i], &sb)) {
			sb_release(&sb);
			return xstrdup("NOASSERTION");
		}
		if (group)
			sb_addc(&sb, ')');
	}
	return sb.len ? sb_detach(&sb) : (sb_release(&sb), xstrdup("NOASSERTION"));
}

json_t *inventory_to_spdx(const struct inventory *inv, const char *namespace_uuid)
{
	_cleanup_free_ char *uuid = namespace_uuid ? xstrdup(namespace_uuid) : uuid4();
	_cleanup_free_ char *ts = now_utc();
	const char *subject = inv->subject ? inv->subject : "inventory";
	_cleanup_free_ char *ns = xasprintf("https://spdx.org/spdxdocs/bom-%s", uuid);
	_cleanup_free_ char *tool = xasprintf("Tool: bom-%s", PIPELINE_VERSION);
	json_t *pkgs = json_array(), *rels = json_array();
	char **ids = xcalloc(inv->n ? inv->n : 1, sizeof *ids);
	for (size_t i = 0; i < inv->n; i++) {
		const struct inv_component *c = &inv->c[i];
		ids[i] = spdx_id(i, c);
		_cleanup_free_ char *lic = spdx_license(c);
		json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:[{s:s, s:s, s:s}]}", "SPDXID", ids[i],
				      "name", c->name, "versionInfo", c->version, "downloadLocation", "NOASSERTION",
				      "filesAnalyzed", 0, "licenseConcluded", "NOASSERTION", "licenseDeclared", lic,
				      "copyrightText", "NOASSERTION", "externalRefs", "referenceCategory",
				      "PACKAGE-MANAGER", "referenceType", "purl", "referenceLocator", c->purl);
		if (c->path || c->layer) {
			_cleanup_free_ char *where = xasprintf("found at %s%s%s", c->path ? c->path : "",
								 c->layer ? " in layer " : "", c->layer ? c->layer : "");
			json_object_set_new(p, "comment", json_string(where));
		}
		if (c->source_name && c->eco == INV_DEB)
			json_object_set_new(p, "sourceInfo", json_string(c->source_name));
		json_array_append_new(pkgs, p);
		json_array_append_new(rels, json_pack("{s:s, s:s, s:s}", "spdxElementId", "SPDXRef-DOCUMENT",
						      "relationshipType", "DESCRIBES", "relatedSpdxElement", ids[i]));
	}
	json_t *first = purl_index(inv);
	for (size_t i = 0; i < inv->n; i++) {
		const struct inv_component *c = &inv->c[i];
		for (size_t k = 0; k < c->n_deps; k++) {
			const struct inv_component *d = by_purl(inv, first, c->deps[k]);
			if (d)
				json_array_append_new(rels, json_pack("{s:s, s:s, s:s}", "spdxElementId", ids[i],
								      "relationshipType", "DEPENDS_ON", "relatedSpdxElement",
								      ids[d - inv->c]));
		}
	}
	json_decref(first);
	free_list(ids, inv->n);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:[s]}, s:o, s:o}", "spdxVersion", "SPDX-2.3",
			 "dataLicense", "CC0-1.0", "SPDXID", "SPDXRef-DOCUMENT", "name", subject, "documentNamespace", ns,
			 "creationInfo", "created", ts, "creators", tool, "packages", pkgs, "relationships", rels);
}

/* ---- reading CycloneDX ---- */

static bool purl_type(const char *purl, enum inv_ecosystem *eco)
{
	static const struct {
		const char *prefix;
		enum inv_ecosystem eco;
	} types[] = { { "pkg:deb/", INV_DEB }, { "pkg:apk/", INV_APK }, { "pkg:npm/", INV_NPM }, { "pkg:pypi/", INV_PYPI } };
	for (size_t i = 0; i < sizeof types / sizeof *types; i++)
		if (!strncmp(purl, types[i].prefix, strlen(types[i].prefix))) {
			*eco = types[i].eco;
			return true;
		}
	*eco = INV_GENERIC;
	return false;
}

static const char *property(const json_t *comp, const char *name)
{
	const json_t *props = json_object_get(comp, "properties");
	size_t i;
	const json_t *p;
	json_array_foreach(props, i, p)
		if (same(json_string_value(json_object_get(p, "name")), name))
			return json_string_value(json_object_get(p, "value"));
	return NULL;
}

/* the qualifier key=value of a purl ("distro"), decoded minimally */
static char *purl_qualifier(const char *purl, const char *key)
{
	const char *q = strchr(purl, '?');
	size_t kl = strlen(key);
	while (q) {
		q++;
		if (!strncmp(q, key, kl) && q[kl] == '=') {
			const char *v = q + kl + 1;
			return xstrndup(v, strcspn(v, "&#"));
		}
		q = strchr(q, '&');
	}
	return NULL;
}

static err_t *read_component(const json_t *comp, const char *what, const char *pointer,
			     struct inventory *out, json_t *ref_to_purl)
{
	if (!json_is_object(comp))
		return err_new(EXIT_USAGE, "%s: %s is not an object", what, pointer);
	const char *name = json_string_value(json_object_get(comp, "name"));
	const char *version = json_string_value(json_object_get(comp, "version"));
	const char *purl = json_string_value(json_object_get(comp, "purl"));
	const char *type = json_string_value(json_object_get(comp, "type"));
	const char *ref = json_string_value(json_object_get(comp, "bom-ref"));
	if (!name)
		return err_new(EXIT_USAGE, "%s: %s has no \"name\" (CycloneDX 1.5 requires it)", what, pointer);
	if (type && !strcmp(type, "operating-system")) {
		if (!out->os_id) {
			out->os_id = xstrdup(name);
			out->os_version_id = dup_or_null(version);
		}
		return NULL;
	}
	if (!purl)
		return NULL; /* nothing to match it by */
	struct inv_component c = {
		.name = (char *)name,
		.version = (char *)(version ? version : ""),
		.purl = (char *)purl,
		.layer = (char *)property(comp, "bom:layer"),
		.path = (char *)property(comp, "bom:path"),
		.source_name = (char *)property(comp, "bom:source-name"),
		.source_version = (char *)property(comp, "bom:source-version"),
	};
	purl_type(purl, &c.eco);
	/* other tools: the deb source as purl qualifier upstream=name@version
	 * (syft), else the binary's own */
	_cleanup_free_ char *upstream = c.eco == INV_DEB ? purl_qualifier(purl, "upstream") : NULL;
	_cleanup_free_ char *up_name = NULL, *up_version = NULL;
	if (upstream && !c.source_name) {
		char *at = strstr(upstream, "%40");
		up_name = at ? xstrndup(upstream, (size_t)(at - upstream)) : xstrdup(upstream);
		up_version = at ? xstrdup(at + 3) : NULL;
		c.source_name = up_name;
		c.source_version = up_version;
	}
	if (c.eco == INV_DEB && !c.source_name) {
		c.source_name = c.name;
		c.source_version = c.version;
	}
	const json_t *lics = json_object_get(comp, "licenses");
	size_t i;
	const json_t *l;
	char **names = xcalloc(json_array_size(lics) + 1, sizeof *names);
	json_array_foreach(lics, i, l) {
		const json_t *lic = json_object_get(l, "license");
		const char *s = json_string_value(json_object_get(lic, "id"));
		if (!s)
			s = json_string_value(json_object_get(lic, "name"));
		if (!s)
			s = json_string_value(json_object_get(l, "expression"));
		if (s)
			names[c.n_licenses++] = (char *)s;
	}
	c.licenses = names;
	inventory_add(out, &c);
	free(names);
	if (ref)
		json_object_set_new(ref_to_purl, ref, json_string(purl));
	const json_t *sub = json_object_get(comp, "components");
	const json_t *s;
	json_array_foreach(sub, i, s) {
		_cleanup_free_ char *p = xasprintf("%s/components/%zu", pointer, i);
		TRY(read_component(s, what, p, out, ref_to_purl));
	}
	return NULL;
}

err_t *inventory_from_cyclonedx(const json_t *doc, const char *what, struct inventory *out)
{
	if (!json_is_object(doc) || !same(json_string_value(json_object_get(doc, "bomFormat")), "CycloneDX"))
		return err_new(EXIT_USAGE, "%s: not a CycloneDX JSON document (bomFormat is not \"CycloneDX\")", what);
	const char *spec = json_string_value(json_object_get(doc, "specVersion"));
	if (!spec || strncmp(spec, "1.", 2))
		return err_new(EXIT_USAGE, "%s: CycloneDX specVersion \"%s\" is not one we read (1.x)", what,
			       spec ? spec : "(missing)");
	const json_t *meta = json_object_get(doc, "metadata");
	const json_t *subj = json_object_get(meta, "component");
	if (json_string_value(json_object_get(subj, "name")) && !out->subject)
		out->subject = xstrdup(json_string_value(json_object_get(subj, "name")));
	json_t *refs = json_object();
	const json_t *comps = json_object_get(doc, "components"), *comp;
	size_t i;
	err_t *e = NULL;
	if (comps && !json_is_array(comps))
		e = err_new(EXIT_USAGE, "%s: \"components\" is not an array", what);
	json_array_foreach(comps, i, comp) {
		_cleanup_free_ char *p = xasprintf("/components/%zu", i);
		if ((e = read_component(comp, what, p, out, refs)))
			break;
	}
	const json_t *deps = json_object_get(doc, "dependencies"), *d;
	json_t *first = purl_index(out);
	json_array_foreach(deps, i, d) {
		if (e)
			break;
		const char *purl = json_string_value(json_object_get(refs, json_string_value(json_object_get(d, "ref")) ?: ""));
		struct inv_component *c = purl ? (struct inv_component *)by_purl(out, first, purl) : NULL;
		if (!c)
			continue;
		const json_t *on = json_object_get(d, "dependsOn"), *r;
		size_t k;
		json_array_foreach(on, k, r) {
			const char *dp = json_string_value(json_object_get(refs, json_string_value(r) ?: ""));
			if (!dp)
				continue;
			c->deps = xrealloc(c->deps, (c->n_deps + 1) * sizeof *c->deps);
			c->deps[c->n_deps++] = xstrdup(dp);
		}
	}
	json_decref(first);
	json_decref(refs);
	return e;
}
