/* Policy (policy.h). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "jsonutil.h"
#include "log.h"
#include "policy.h"
#include "xalloc.h"
#include "yamldoc.h"

static const char *const sev_names[] = { "NONE", "UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL" };

enum va_severity va_severity_of(const char *name)
{
	for (size_t i = 0; name && i < sizeof sev_names / sizeof *sev_names; i++)
		if (!strcmp(name, sev_names[i]))
			return (enum va_severity)i;
	return VA_UNKNOWN;
}

err_t *va_threshold_param(const char *s, enum va_severity *out)
{
	static const struct { const char *name; enum va_severity sev; } t[] = {
		{ "critical", VA_CRITICAL }, { "high", VA_HIGH }, { "medium", VA_MEDIUM },
		{ "low", VA_LOW },           { "any", VA_NONE },  { "none", VA_CRITICAL + 1 },
	};
	for (size_t i = 0; s && i < sizeof t / sizeof *t; i++)
		if (!strcasecmp(s, t[i].name)) {
			*out = t[i].sev;
			return NULL;
		}
	return err_new(EXIT_USAGE, "fail-on: \"%s\" is not one of critical, high, medium, low, any, none", s ? s : "");
}

struct ignore_entry {
	char *id, *package, *reason, *where;
	time_t expires; /* 0: never */
	char expires_text[16];
};

struct vex_statement {
	char **names; /* vulnerability name, @id, aliases */
	size_t nnames;
	char **products; /* purls; none: every product */
	size_t nproducts;
	char *reason;
};

struct va_policy {
	time_t now;
	struct ignore_entry *ign;
	size_t nign;
	struct vex_statement *vex;
	size_t nvex;
};

struct va_policy *va_policy_new(time_t now)
{
	struct va_policy *p = xcalloc(1, sizeof *p);
	p->now = now;
	return p;
}

static void free_list(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

void va_policy_free(struct va_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nign; i++)
		free(p->ign[i].id), free(p->ign[i].package), free(p->ign[i].reason), free(p->ign[i].where);
	free(p->ign);
	for (size_t i = 0; i < p->nvex; i++)
		free_list(p->vex[i].names, p->vex[i].nnames), free_list(p->vex[i].products, p->vex[i].nproducts),
			free(p->vex[i].reason);
	free(p->vex);
	free(p);
}

static err_t *parse_date(const char *s, const char *where, time_t *out)
{
	struct tm tm = { 0 };
	const char *end = s ? strptime(s, "%Y-%m-%d", &tm) : NULL;
	if (!end || *end || strlen(s) != 10)
		return err_new(EXIT_USAGE, "%s: expires \"%s\" is not a date (YYYY-MM-DD)", where, s ? s : "");
	*out = timegm(&tm);
	return NULL;
}

err_t *va_policy_load_ignore(struct va_policy *p, const char *text, size_t len, const char *what)
{
	struct ydoc *y = NULL;
	TRY(ydoc_parse(text, len, what, &y));
	err_t *e = NULL;
	const struct ydoc_node *root = y->ndocs ? ydoc_deref(y->docs[0]) : NULL;
	const struct ydoc_node *list = root && ydoc_is_map(root) ? ydoc_deref(ydoc_get(root, "ignore")) : NULL;
	if (!list || !ydoc_is_seq(list))
		e = err_new(EXIT_USAGE, "%s: expected a mapping with an \"ignore\" list", what);
	for (size_t i = 0; !e && i < ydoc_count(list); i++) {
		const struct ydoc_node *it = ydoc_deref(ydoc_item(list, i));
		_cleanup_free_ char *where = xasprintf("%s:%d", what, it ? it->line : 0);
		const char *id = ydoc_str(ydoc_get(it, "id")), *pkg = ydoc_str(ydoc_get(it, "package"));
		const char *reason = ydoc_str(ydoc_get(it, "reason")), *exp = ydoc_str(ydoc_get(it, "expires"));
		if (!ydoc_is_map(it) || !id || !*id) {
			e = err_new(EXIT_USAGE, "%s: an ignore entry needs an id", where);
			break;
		}
		if (!reason || !*reason) {
			e = err_new(EXIT_USAGE, "%s: ignoring %s needs a reason", where, id);
			break;
		}
		time_t expires = 0;
		if (ydoc_get(it, "expires") && (e = parse_date(exp, where, &expires)))
			break;
		p->ign = xrealloc(p->ign, (p->nign + 1) * sizeof *p->ign);
		struct ignore_entry *ie = &p->ign[p->nign++];
		*ie = (struct ignore_entry){ xstrdup(id), pkg ? xstrdup(pkg) : NULL, xstrdup(reason), xstrdup(where),
					     expires, "" };
		if (exp)
			snprintf(ie->expires_text, sizeof ie->expires_text, "%s", exp);
	}
	ydoc_free(y);
	return e;
}

/* a string, or an object's @id / name (OpenVEX 0.2.0 writes objects) */
static const char *vex_ident(const json_t *v, const char *key)
{
	if (json_is_string(v))
		return json_string_value(v);
	return json_string_value(json_object_get(v, key));
}

err_t *va_policy_load_vex(struct va_policy *p, const char *text, size_t len, const char *what)
{
	json_t *doc = NULL;
	TRY(json_parse(text, len, what, &doc));
	json_t *stmts = json_object_get(doc, "statements");
	if (!json_is_array(stmts)) {
		json_decref(doc);
		return err_new(EXIT_USAGE, "%s: not an OpenVEX document (no statements array)", what);
	}
	size_t i;
	json_t *st;
	json_array_foreach(stmts, i, st) {
		const char *status = json_string_value(json_object_get(st, "status"));
		if (!status || strcmp(status, "not_affected"))
			continue;
		const char *just = json_string_value(json_object_get(st, "justification"));
		if (!just)
			just = json_string_value(json_object_get(st, "impact_statement"));
		if (!just || !*just) {
			log_warn("%s: statements[%zu] says not_affected without a justification: not applied", what, i);
			continue;
		}
		struct vex_statement vs = { 0 };
		json_t *vuln = json_object_get(st, "vulnerability");
		const char *names[2] = { vex_ident(vuln, "name"), json_string_value(json_object_get(vuln, "@id")) };
		for (int k = 0; k < 2; k++)
			if (names[k]) {
				vs.names = xrealloc(vs.names, (vs.nnames + 1) * sizeof *vs.names);
				vs.names[vs.nnames++] = xstrdup(names[k]);
			}
		size_t j;
		json_t *a;
		json_array_foreach(json_object_get(vuln, "aliases"), j, a)
			if (json_is_string(a)) {
				vs.names = xrealloc(vs.names, (vs.nnames + 1) * sizeof *vs.names);
				vs.names[vs.nnames++] = xstrdup(json_string_value(a));
			}
		json_array_foreach(json_object_get(st, "products"), j, a) {
			const char *purl = vex_ident(a, "@id");
			if (purl) {
				vs.products = xrealloc(vs.products, (vs.nproducts + 1) * sizeof *vs.products);
				vs.products[vs.nproducts++] = xstrdup(purl);
			}
		}
		if (!vs.nnames || !vs.nproducts) {
			log_warn("%s: statements[%zu] names no vulnerability or no product: not applied", what, i);
			free_list(vs.names, vs.nnames), free_list(vs.products, vs.nproducts);
			continue;
		}
		vs.reason = xasprintf("VEX not_affected (%s) in %s", just, what);
		p->vex = xrealloc(p->vex, (p->nvex + 1) * sizeof *p->vex);
		p->vex[p->nvex++] = vs;
	}
	json_decref(doc);
	return NULL;
}

static bool names_finding(const struct va_finding *f, const char *name)
{
	if (!strcmp(f->id, name))
		return true;
	size_t i;
	json_t *a;
	json_array_foreach(f->aliases, i, a)
		if (!strcmp(json_string_value(a), name))
			return true;
	return false;
}

/* purl equality, or the product without qualifiers / version */
static bool product_matches(const char *product, const char *purl)
{
	size_t plen = strcspn(product, "?#"), ulen = strcspn(purl, "?#");
	if (plen == ulen && !strncmp(product, purl, plen))
		return true;
	const char *at = strchr(purl, '@');
	return !memchr(product, '@', plen) && at && (size_t)(at - purl) == plen && !strncmp(product, purl, plen);
}

void va_policy_apply(const struct va_policy *p, struct va_findings *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		struct va_finding *f = &fs->f[i];
		for (size_t j = 0; j < p->nign && !f->suppressed; j++) {
			const struct ignore_entry *ie = &p->ign[j];
			if (!names_finding(f, ie->id) || (ie->package && strcmp(ie->package, f->package)))
				continue;
			if (ie->expires && p->now >= ie->expires) {
				log_warn("%s: the ignore entry for %s expired on %s: %s %s counts again", ie->where,
					 ie->id, ie->expires_text, f->package, f->version);
				continue;
			}
			f->suppressed = xasprintf("ignored (%s): %s", ie->where, ie->reason);
		}
		for (size_t j = 0; j < p->nvex && !f->suppressed; j++) {
			const struct vex_statement *vs = &p->vex[j];
			bool named = false, product = false;
			for (size_t k = 0; k < vs->nnames && !named; k++)
				named = names_finding(f, vs->names[k]);
			for (size_t k = 0; k < vs->nproducts && !product; k++)
				product = product_matches(vs->products[k], f->purl);
			if (named && product)
				f->suppressed = xstrdup(vs->reason);
		}
	}
}

size_t va_policy_failing(const struct va_findings *fs, enum va_severity threshold)
{
	size_t n = 0;
	for (size_t i = 0; i < fs->n; i++) {
		const struct va_finding *f = &fs->f[i];
		if (!f->suppressed && (f->error || va_severity_of(f->severity) >= threshold))
			n++;
	}
	return n;
}
