/* Matching (match.h). */
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "jsonutil.h"
#include "log.h"
#include "match.h"
#include "osv.h"
#include "strbuf.h"
#include "version.h"
#include "xalloc.h"

static void finding_release(struct va_finding *f)
{
	free(f->id), json_decref(f->aliases), free(f->summary), free(f->severity), free(f->vector);
	free(f->ecosystem), free(f->package), free(f->version), free(f->purl), free(f->path), free(f->fixed);
	free(f->error), free(f->suppressed);
}

void va_findings_release(struct va_findings *fs)
{
	for (size_t i = 0; i < fs->n; i++)
		finding_release(&fs->f[i]);
	free(fs->f);
	memset(fs, 0, sizeof *fs);
}

enum ev_kind { EV_INTRODUCED, EV_FIXED, EV_LAST_AFFECTED, EV_LIMIT };

struct event {
	enum ev_kind kind;
	const char *v; /* NULL: introduced "0", below every version */
};

static int cmp_event(const void *a, const void *b, void *ctx)
{
	const struct event *x = a, *y = b;
	if (!x->v || !y->v)
		return (x->v != NULL) - (y->v != NULL);
	int c = 0;
	err_free(version_compare(*(enum version_scheme *)ctx, x->v, y->v, &c)); /* both checked before */
	return c;
}

static err_t *eval_range(const json_t *range, enum version_scheme s, const char *version, const char *id,
			 bool *affected, char **fixed)
{
	json_t *events = json_object_get(range, "events");
	size_t n = json_array_size(events), nev = 0;
	struct event *ev = xcalloc(n ? n : 1, sizeof *ev);
	bool has_limit = false, below_limit = false;
	err_t *e = NULL;
	for (size_t i = 0; !e && i < n; i++) {
		const char *k;
		json_t *v;
		json_object_foreach(json_array_get(events, i), k, v) {
			struct event x = { EV_INTRODUCED, json_string_value(v) };
			if (!strcmp(k, "fixed"))
				x.kind = EV_FIXED;
			else if (!strcmp(k, "last_affected"))
				x.kind = EV_LAST_AFFECTED;
			else if (!strcmp(k, "limit"))
				x.kind = EV_LIMIT;
			else if (strcmp(k, "introduced") || !x.v)
				continue;
			if (x.kind == EV_INTRODUCED && !strcmp(x.v, "0")) {
				x.v = NULL;
			} else if ((e = version_check(s, x.v))) {
				e = err_wrap(e, "advisory %s", id);
				break;
			}
			ev[nev++] = x;
		}
	}
	if (!e) {
		qsort_r(ev, nev, sizeof *ev, cmp_event, &s);
		bool aff = false;
		for (size_t i = 0; i < nev; i++) {
			int c = 1;
			if (ev[i].v)
				err_free(version_compare(s, version, ev[i].v, &c));
			switch (ev[i].kind) {
			case EV_INTRODUCED: /* affected from this version on */
				aff = aff || c >= 0;
				break;
			case EV_FIXED: /* not from this version on */
				aff = aff && c < 0;
				break;
			case EV_LAST_AFFECTED: /* not after this version */
				aff = aff && c <= 0;
				break;
			case EV_LIMIT:
				has_limit = true;
				below_limit = below_limit || c < 0;
				break;
			}
		}
		if (has_limit && !below_limit)
			aff = false;
		if (aff) {
			*affected = true;
			for (size_t i = 0; i < nev && !*fixed; i++) {
				int c = 0;
				if (ev[i].kind == EV_FIXED && ev[i].v &&
				    !version_compare(s, version, ev[i].v, &c) && c < 0)
					*fixed = xstrdup(ev[i].v);
			}
		}
	}
	free(ev);
	return e;
}

/* "Debian:12" and "Debian:11" differ; a side without a release matches any */
static bool same_ecosystem(const char *a, const char *b)
{
	size_t al = osv_ecosystem_base_len(a), bl = osv_ecosystem_base_len(b);
	if (al != bl || strncmp(a, b, al))
		return false;
	return !a[al] || !b[bl] || !strcmp(a + al, b + bl);
}

err_t *match_record(const json_t *rec, const char *eco, const char *name, const char *version, bool *affected,
		    char **fixed)
{
	*affected = false;
	*fixed = NULL;
	const char *id = json_string_value(json_object_get(rec, "id"));
	_cleanup_free_ char *key = osv_package_key(eco, name);
	err_t *first = NULL;
	size_t i;
	json_t *aff;
	json_array_foreach(json_object_get(rec, "affected"), i, aff) {
		const char *aeco = json_string_value(json_object_get(aff, "ecosystem"));
		const char *aname = json_string_value(json_object_get(aff, "name"));
		if (!aeco || !aname || !same_ecosystem(aeco, eco))
			continue;
		_cleanup_free_ char *akey = osv_package_key(aeco, aname);
		if (strcmp(akey, key))
			continue;
		size_t j;
		json_t *v;
		json_array_foreach(json_object_get(aff, "versions"), j, v)
			if (json_is_string(v) && !strcmp(json_string_value(v), version))
				*affected = true;
		enum version_scheme eco_scheme;
		bool known = version_scheme_for_ecosystem(aeco, &eco_scheme);
		if (known) { /* an invalid version is reported, never "not affected" */
			err_t *e = version_check(eco_scheme, version);
			if (e && !first)
				first = err_wrap(e, "cannot tell whether %s applies", id);
			else
				err_free(e);
		}
		json_t *range;
		json_array_foreach(json_object_get(aff, "ranges"), j, range) {
			enum version_scheme s = eco_scheme;
			if (!strcmp(json_string_value(json_object_get(range, "type")), "SEMVER"))
				s = VERSION_SEMVER;
			else if (!known) {
				if (!first)
					first = err_new(EXIT_USAGE, "advisory %s: no version ordering for ecosystem %s",
							id, aeco);
				continue;
			}
			err_t *e = version_check(s, version);
			e = e ? err_wrap(e, "cannot tell whether %s applies", id)
			      : eval_range(range, s, version, id, affected, fixed);
			if (e && !first)
				first = e;
			else
				err_free(e);
		}
	}
	if (*affected) {
		err_free(first);
		return NULL;
	}
	return first;
}

/* ---- the inventory ------------------------------------------------------ */

struct query {
	const struct inv_component *c;
	const char *eco, *name, *version;
	struct va_findings *out;
};

static void add_finding(struct query *q, const json_t *rec, const char *eco, char *fixed, err_t *e)
{
	struct va_findings *fs = q->out;
	if (fs->n == fs->cap) {
		fs->cap = fs->cap ? 2 * fs->cap : 32;
		fs->f = xrealloc(fs->f, fs->cap * sizeof *fs->f);
	}
	struct va_finding *f = &fs->f[fs->n++];
	memset(f, 0, sizeof *f);
	json_t *score = json_object_get(rec, "score");
	f->id = xstrdup(json_string_value(json_object_get(rec, "id")));
	f->aliases = json_incref(json_object_get(rec, "aliases"));
	if (!f->aliases)
		f->aliases = json_array();
	f->summary = xstrdup(json_string_value(json_object_get(rec, "summary")) ?: "");
	f->severity = xstrdup(json_string_value(json_object_get(rec, "severity")) ?: "UNKNOWN");
	f->score = json_is_number(score) ? json_number_value(score) : -1;
	const char *vector = json_string_value(json_object_get(rec, "vector"));
	f->vector = vector ? xstrdup(vector) : NULL;
	f->ecosystem = xstrdup(eco);
	f->package = xstrdup(q->name);
	f->version = xstrdup(q->version);
	f->purl = xstrdup(q->c->purl ? q->c->purl : "");
	f->path = q->c->path ? xstrdup(q->c->path) : NULL;
	f->fixed = fixed;
	if (e) {
		f->error = err_describe(e);
		err_free(e);
	}
}

static err_t *on_record(void *ctx, const char *text, size_t len)
{
	struct query *q = ctx;
	json_t *rec = NULL;
	TRY(json_parse(text, len, "advisory index record", &rec));
	bool affected = false;
	char *fixed = NULL;
	err_t *e = match_record(rec, q->eco, q->name, q->version, &affected, &fixed);
	if (affected || e) {
		/* the ecosystem the advisory gives for this package */
		const char *eco = q->eco;
		size_t i;
		json_t *aff;
		json_array_foreach(json_object_get(rec, "affected"), i, aff) {
			const char *aeco = json_string_value(json_object_get(aff, "ecosystem"));
			if (aeco && same_ecosystem(aeco, q->eco) && strchr(aeco, ':')) {
				eco = aeco;
				break;
			}
		}
		add_finding(q, rec, eco, fixed, e);
	}
	json_decref(rec);
	return NULL;
}

static int cmp_finding(const void *a, const void *b)
{
	const struct va_finding *x = a, *y = b;
	int r = strcmp(x->package, y->package);
	if (!r)
		r = strcmp(x->version, y->version);
	if (!r)
		r = strcmp(x->id, y->id);
	if (!r)
		r = strcmp(x->ecosystem, y->ecosystem);
	return r;
}

/* "3.11.6" -> 4 ("3.11") */
static size_t major_minor_len(const char *rel)
{
	const char *dot = strchr(rel, '.');
	dot = dot ? strchr(dot + 1, '.') : NULL;
	return dot ? (size_t)(dot - rel) : strlen(rel);
}

err_t *match_inventory(const struct vulndb *db, const struct inventory *inv, struct va_findings *out)
{
	size_t first = out->n;
	bool warned = false;
	for (size_t i = 0; i < inv->n; i++) {
		const struct inv_component *c = &inv->c[i];
		const char *base = inv_ecosystem_osv(c->eco);
		if (!*base || !c->name || !c->version)
			continue;
		struct query q = { c, NULL, c->name, c->version, out };
		_cleanup_free_ char *eco = NULL;
		if (c->eco == INV_DEB || c->eco == INV_APK) {
			/* Debian's and Alpine's advisories name source packages */
			if (c->source_name)
				q.name = c->source_name;
			if (c->eco == INV_DEB && c->source_version)
				q.version = c->source_version;
			const char *rel = inv->os_version_id;
			if (inv->os_id && !strcmp(inv->os_id, "ubuntu"))
				base = "Ubuntu", rel = NULL; /* Ubuntu:22.04:LTS: any release */
			if (rel && c->eco == INV_APK) /* 3.11.6 -> v3.11 */
				eco = xasprintf("Alpine:v%.*s", (int)major_minor_len(rel), rel);
			else if (rel)
				eco = xasprintf("%s:%s", base, rel);
			else if (!warned && base[0] != 'U') {
				log_warn("no OS release known (no etc/os-release): %s advisories of every release apply",
					 base);
				warned = true;
			}
		}
		q.eco = eco ? eco : base;
		TRY(vulndb_lookup(db, q.eco, q.name, on_record, &q));
	}
	if (out->n > first) /* out->f is NULL while nothing was found */
		qsort(out->f + first, out->n - first, sizeof *out->f, cmp_finding);
	/* the same package and version found at several paths: one finding */
	size_t w = first;
	for (size_t r = first; r < out->n; r++) {
		if (w > first && !cmp_finding(&out->f[w - 1], &out->f[r])) {
			finding_release(&out->f[r]);
			continue;
		}
		out->f[w++] = out->f[r];
	}
	out->n = w;
	return NULL;
}
