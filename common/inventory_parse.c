/* The package database parsers of the inventory (see inventory.h). Each
 * reads one file's bytes, untrusted: a record without a name or version
 * is a warning naming the file and line (the rest is kept); bytes that
 * are not the format at all are an EXIT_USAGE error naming file and line. */
#include <ctype.h>
#include <string.h>

#include "cleanup.h"
#include "inventory.h"
#include "jsonutil.h"
#include "log.h"
#include "strbuf.h"
#include "xalloc.h"

/* ---- RFC 822 style stanzas (dpkg status, METADATA) ---- */

struct field {
	const char *name;
	char *value; /* first line only (continuations are descriptions) */
};

static void fields_reset(struct field *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].value);
		f[i].value = NULL;
	}
}

static struct field *field_find(struct field *f, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(f[i].name) == len && !strncasecmp(f[i].name, name, len))
			return &f[i];
	return NULL;
}

static char *trimmed(const char *s, size_t len)
{
	while (len && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
		len--;
	return xstrndup(s, len);
}

/* Calls stanza(ctx, line) at each blank line and at the end, with the
 * fields it asked for filled (the first occurrence of each). */
typedef void (*stanza_fn)(void *ctx, struct field *f, size_t n, size_t line);

static err_t *parse_stanzas(const char *text, size_t len, const char *path, struct field *f, size_t n,
			    bool headers_only, stanza_fn fn, void *ctx)
{
	size_t line = 0, start_line = 1;
	bool any = false;
	const char *p = text, *end = text + len;
	err_t *e = NULL;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		line++;
		size_t ll = (size_t)(le - p);
		if (ll && p[ll - 1] == '\r')
			ll--;
		if (ll == 0) {
			if (any)
				fn(ctx, f, n, start_line);
			fields_reset(f, n);
			any = false;
			start_line = line + 1;
			if (headers_only)
				return NULL;
		} else if (p[0] == ' ' || p[0] == '\t') {
			if (!any) {
				e = err_new(EXIT_USAGE, "%s:%zu: a continuation line with no field before it", path, line);
				break;
			}
		} else {
			const char *colon = memchr(p, ':', ll);
			if (!colon || colon == p || memchr(p, '\0', ll)) {
				e = err_new(EXIT_USAGE, "%s:%zu: not a \"Field: value\" line", path, line);
				break;
			}
			struct field *fd = field_find(f, n, p, (size_t)(colon - p));
			if (fd && !fd->value)
				fd->value = trimmed(colon + 1, (size_t)(p + ll - colon - 1));
			if (!any)
				start_line = line;
			any = true;
		}
		p = nl ? nl + 1 : end;
	}
	if (!e && any)
		fn(ctx, f, n, start_line);
	fields_reset(f, n);
	return e;
}

static void warn_record(struct inventory *inv, const char *path, size_t line, const char *what)
{
	log_warn("%s:%zu: %s; record skipped", path, line, what);
	inv->warnings++;
}

/* ---- dpkg ---- */

struct dpkg_ctx {
	struct inventory *inv;
	const char *path, *layer;
};

enum { D_PACKAGE, D_VERSION, D_STATUS, D_SOURCE, D_ARCH, D_N };

/* "Source: name" or "Source: name (version)" */
static void split_source(const char *src, char **name, char **version)
{
	size_t nl = strcspn(src, " (");
	*name = xstrndup(src, nl);
	const char *open = strchr(src, '(');
	const char *close = open ? strchr(open, ')') : NULL;
	*version = close ? trimmed(open + 1, (size_t)(close - open - 1)) : NULL;
}

static void dpkg_stanza(void *vctx, struct field *f, size_t n, size_t line)
{
	(void)n;
	struct dpkg_ctx *ctx = vctx;
	const char *status = f[D_STATUS].value;
	/* status.d/ files (distroless) carry no Status: they are installed */
	if (status) {
		const char *last = strrchr(status, ' ');
		if (!last || strcmp(last + 1, "installed"))
			return;
	}
	if (!f[D_PACKAGE].value || !*f[D_PACKAGE].value || !f[D_VERSION].value || !*f[D_VERSION].value) {
		warn_record(ctx->inv, ctx->path, line, "a dpkg stanza without Package or Version");
		return;
	}
	_cleanup_free_ char *sname = NULL, *sversion = NULL;
	if (f[D_SOURCE].value && *f[D_SOURCE].value)
		split_source(f[D_SOURCE].value, &sname, &sversion);
	struct inv_component c = {
		.eco = INV_DEB,
		.name = f[D_PACKAGE].value,
		.version = f[D_VERSION].value,
		.arch = f[D_ARCH].value,
		.source_name = sname && *sname ? sname : f[D_PACKAGE].value,
		.source_version = sversion && *sversion ? sversion : f[D_VERSION].value,
		.path = (char *)ctx->path,
		.layer = (char *)ctx->layer,
	};
	inventory_add(ctx->inv, &c);
}

err_t *inventory_parse_dpkg_status(struct inventory *inv, const char *text, size_t len, const char *path,
				   const char *layer)
{
	struct field f[D_N] = { { "Package", NULL }, { "Version", NULL }, { "Status", NULL }, { "Source", NULL },
				{ "Architecture", NULL } };
	struct dpkg_ctx ctx = { inv, path, layer };
	return parse_stanzas(text, len, path, f, D_N, false, dpkg_stanza, &ctx);
}

/* ---- apk ---- */

err_t *inventory_parse_apk_installed(struct inventory *inv, const char *text, size_t len, const char *path,
				     const char *layer)
{
	const char *p = text, *end = text + len;
	size_t line = 0, start = 1;
	char *v[5] = { 0 }; /* P V L o A */
	static const char keys[] = "PVLoA";
	err_t *e = NULL;
	for (;;) {
		const char *nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
		const char *le = p < end ? (nl ? nl : end) : p;
		size_t ll = (size_t)(le - p);
		line++;
		if (ll == 0) {
			if (v[0] || v[1]) {
				if (!v[0] || !*v[0] || !v[1] || !*v[1]) {
					warn_record(inv, path, start, "an apk record without P: or V:");
				} else {
					struct inv_component c = {
						.eco = INV_APK,
						.name = v[0],
						.version = v[1],
						.licenses = v[2] && *v[2] ? &v[2] : NULL,
						.n_licenses = v[2] && *v[2] ? 1 : 0,
						.source_name = v[3] && *v[3] ? v[3] : v[0],
						.source_version = v[1],
						.arch = v[4],
						.path = (char *)path,
						.layer = (char *)layer,
					};
					inventory_add(inv, &c);
				}
			}
			for (size_t i = 0; i < 5; i++) {
				free(v[i]);
				v[i] = NULL;
			}
			start = line + 1;
		} else if (ll < 2 || p[1] != ':' || memchr(p, '\0', ll)) {
			e = err_new(EXIT_USAGE, "%s:%zu: not an apk \"K:value\" line", path, line);
			break;
		} else {
			const char *k = strchr(keys, p[0]);
			if (k && p[0] && !v[k - keys])
				v[k - keys] = xstrndup(p + 2, ll - 2);
		}
		if (p >= end)
			break;
		p = nl ? nl + 1 : end;
	}
	for (size_t i = 0; i < 5; i++)
		free(v[i]);
	return e;
}

/* ---- npm ---- */

/* "license": "MIT" | {"type": "MIT"}; legacy "licenses": [{"type": ...}] */
static size_t npm_licenses(const json_t *pkg, const char **out, size_t max)
{
	size_t n = 0;
	const json_t *l = json_object_get(pkg, "license");
	if (json_is_string(l) && *json_string_value(l))
		out[n++] = json_string_value(l);
	else if (json_is_string(json_object_get(l, "type")))
		out[n++] = json_string_value(json_object_get(l, "type"));
	const json_t *ls = json_object_get(pkg, "licenses"), *x;
	size_t i;
	json_array_foreach(ls, i, x) {
		const char *t = json_is_string(x) ? json_string_value(x) : json_string_value(json_object_get(x, "type"));
		if (t && *t && n < max)
			out[n++] = t;
	}
	return n;
}

/* the name a "packages" key installs: what follows its last node_modules/ */
static const char *key_name(const char *key)
{
	const char *last = NULL;
	for (const char *p = key; (p = strstr(p, "node_modules/")); p += 13)
		if (p == key || p[-1] == '/')
			last = p + 13;
	return last;
}

static bool npm_name_ok(const char *name)
{
	if (!name || !*name || strlen(name) > 214)
		return false;
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

/* Node's resolution: dep `name` required from the package at `key` is at
 * key/node_modules/name, else the same one level up, ... up to the root. */
static const json_t *resolve_v2(const json_t *pkgs, const char *key, const char *name, char **found)
{
	_cleanup_free_ char *base = xstrdup(key);
	for (;;) {
		_cleanup_free_ char *k = *base ? xasprintf("%s/node_modules/%s", base, name) : xasprintf("node_modules/%s", name);
		const json_t *p = json_object_get(pkgs, k);
		if (p) {
			*found = steal_ptr(k);
			return p;
		}
		if (!*base)
			return NULL;
		char *cut = NULL;
		for (char *q = base; (q = strstr(q, "node_modules/")); q += 13)
			if (q == base || q[-1] == '/')
				cut = q;
		if (!cut)
			*base = '\0';
		else
			*(cut == base ? cut : cut - 1) = '\0';
	}
}

static char *npm_purl_of(const json_t *pkgs, const char *key)
{
	const json_t *p = json_object_get(pkgs, key);
	const char *name = json_string_value(json_object_get(p, "name"));
	if (!name)
		name = key_name(key);
	const char *version = json_string_value(json_object_get(p, "version"));
	return name ? inventory_purl(INV_NPM, name, version, NULL, NULL, NULL) : NULL;
}

static void add_deps(const json_t *pkgs, const char *key, const json_t *pkg, char ***deps, size_t *n)
{
	static const char *const kinds[] = { "dependencies", "optionalDependencies", "peerDependencies" };
	for (size_t k = 0; k < 3; k++) {
		const json_t *d = json_object_get(pkg, kinds[k]);
		const char *dn;
		const json_t *dv;
		json_object_foreach((json_t *)d, dn, dv) {
			(void)dv;
			_cleanup_free_ char *at = NULL;
			if (!resolve_v2(pkgs, key, dn, &at))
				continue;
			char *purl = npm_purl_of(pkgs, at);
			if (!purl)
				continue;
			bool dup = false;
			for (size_t i = 0; i < *n; i++)
				dup |= !strcmp((*deps)[i], purl);
			if (dup) {
				free(purl);
				continue;
			}
			*deps = xrealloc(*deps, (*n + 1) * sizeof **deps);
			(*deps)[(*n)++] = purl;
		}
	}
}

static err_t *npm_v2(struct inventory *inv, const json_t *pkgs, const char *path, const char *layer)
{
	const char *key;
	const json_t *pkg;
	json_object_foreach((json_t *)pkgs, key, pkg) {
		const char *kn = key_name(key);
		if (!kn || !json_is_object(pkg))
			continue; /* the root project, workspaces */
		if (json_is_true(json_object_get(pkg, "link")))
			continue; /* a symlink to a workspace, listed at its own path */
		const char *name = json_string_value(json_object_get(pkg, "name"));
		if (!name)
			name = kn;
		const char *version = json_string_value(json_object_get(pkg, "version"));
		if (!npm_name_ok(name) || !version || !*version) {
			log_warn("%s: packages[\"%s\"] has no valid name or version; skipped", path, key);
			inv->warnings++;
			continue;
		}
		const char *lic[8];
		struct inv_component c = {
			.eco = INV_NPM,
			.name = (char *)name,
			.version = (char *)version,
			.licenses = (char **)lic,
			.n_licenses = npm_licenses(pkg, lic, 8),
			.path = (char *)path,
			.layer = (char *)layer,
		};
		add_deps(pkgs, key, pkg, &c.deps, &c.n_deps);
		inventory_add(inv, &c);
		for (size_t i = 0; i < c.n_deps; i++)
			free(c.deps[i]);
		free(c.deps);
	}
	return NULL;
}

/* v1: nested "dependencies"; "requires" resolve up the nesting chain */
struct v1_frame {
	const json_t *deps;
	const struct v1_frame *up;
};

static const char *v1_resolve(const struct v1_frame *f, const char *name, const json_t **out)
{
	for (; f; f = f->up) {
		const json_t *d = json_object_get(f->deps, name);
		if (d) {
			*out = d;
			return json_string_value(json_object_get(d, "version"));
		}
	}
	return NULL;
}

static void npm_v1(struct inventory *inv, const struct v1_frame *frame, const char *path, const char *layer,
		   int depth)
{
	if (depth > 64)
		return;
	const char *name;
	const json_t *pkg;
	json_object_foreach((json_t *)frame->deps, name, pkg) {
		const char *version = json_string_value(json_object_get(pkg, "version"));
		if (!npm_name_ok(name) || !version || !*version) {
			log_warn("%s: dependencies[\"%s\"] has no valid name or version; skipped", path, name);
			inv->warnings++;
			continue;
		}
		struct v1_frame inner = { json_object_get(pkg, "dependencies"), frame };
		struct inv_component c = { .eco = INV_NPM, .name = (char *)name, .version = (char *)version,
					   .path = (char *)path, .layer = (char *)layer };
		const char *rn;
		const json_t *rv;
		json_object_foreach(json_object_get(pkg, "requires"), rn, rv) {
			(void)rv;
			const json_t *d = NULL;
			const char *dv = v1_resolve(inner.deps ? &inner : frame, rn, &d);
			if (!dv)
				continue;
			c.deps = xrealloc(c.deps, (c.n_deps + 1) * sizeof *c.deps);
			c.deps[c.n_deps++] = inventory_purl(INV_NPM, rn, dv, NULL, NULL, NULL);
		}
		inventory_add(inv, &c);
		for (size_t i = 0; i < c.n_deps; i++)
			free(c.deps[i]);
		free(c.deps);
		if (json_is_object(inner.deps))
			npm_v1(inv, &inner, path, layer, depth + 1);
	}
}

err_t *inventory_parse_npm_lock(struct inventory *inv, const char *text, size_t len, const char *path,
				const char *layer)
{
	json_t *j = NULL;
	TRY(err_set_code(json_parse(text, len, path, &j), EXIT_USAGE));
	err_t *e = NULL;
	const json_t *pkgs = json_object_get(j, "packages");
	const json_t *deps = json_object_get(j, "dependencies");
	const json_t *lv = json_object_get(j, "lockfileVersion");
	if (!json_is_object(j) || !json_is_integer(lv))
		e = err_new(EXIT_USAGE, "%s: not an npm lockfile (no integer \"lockfileVersion\")", path);
	else if (json_integer_value(lv) < 1 || json_integer_value(lv) > 3)
		e = err_new(EXIT_USAGE, "%s: lockfileVersion %lld is not one we read (1, 2, 3)", path,
			    (long long)json_integer_value(lv));
	else if (json_is_object(pkgs))
		e = npm_v2(inv, pkgs, path, layer);
	else if (json_is_object(deps)) {
		struct v1_frame top = { deps, NULL };
		npm_v1(inv, &top, path, layer, 0);
	} else if (pkgs || deps)
		e = err_new(EXIT_USAGE, "%s: \"packages\" / \"dependencies\" is not an object", path);
	json_decref(j);
	return e;
}

err_t *inventory_parse_npm_package(struct inventory *inv, const char *text, size_t len, const char *path,
				   const char *layer)
{
	json_t *j = NULL;
	TRY(err_set_code(json_parse(text, len, path, &j), EXIT_USAGE));
	const char *name = json_string_value(json_object_get(j, "name"));
	const char *version = json_string_value(json_object_get(j, "version"));
	if (!npm_name_ok(name) || !version || !*version) {
		log_warn("%s: a package.json without a valid name or version; skipped", path);
		inv->warnings++;
	} else {
		const char *lic[8];
		struct inv_component c = { .eco = INV_NPM, .name = (char *)name, .version = (char *)version,
					   .licenses = (char **)lic, .n_licenses = npm_licenses(j, lic, 8),
					   .path = (char *)path, .layer = (char *)layer };
		inventory_add(inv, &c);
	}
	json_decref(j);
	return NULL;
}

/* ---- Python ---- */

enum { P_NAME, P_VERSION, P_LICENSE, P_LICENSE_EXPR, P_N };

struct py_ctx {
	struct inventory *inv;
	const char *path, *layer;
	bool done;
};

static void py_stanza(void *vctx, struct field *f, size_t n, size_t line)
{
	(void)n;
	struct py_ctx *ctx = vctx;
	if (ctx->done)
		return;
	ctx->done = true;
	if (!f[P_NAME].value || !*f[P_NAME].value || !f[P_VERSION].value || !*f[P_VERSION].value) {
		warn_record(ctx->inv, ctx->path, line, "Python metadata without Name or Version");
		return;
	}
	const char *lic = f[P_LICENSE_EXPR].value;
	if (!lic || !*lic)
		lic = f[P_LICENSE].value;
	bool use = lic && *lic && strcasecmp(lic, "UNKNOWN") && strlen(lic) < 100;
	struct inv_component c = { .eco = INV_PYPI, .name = f[P_NAME].value, .version = f[P_VERSION].value,
				   .licenses = use ? (char **)&lic : NULL, .n_licenses = use ? 1 : 0,
				   .path = (char *)ctx->path, .layer = (char *)ctx->layer };
	inventory_add(ctx->inv, &c);
}

err_t *inventory_parse_python_metadata(struct inventory *inv, const char *text, size_t len, const char *path,
				       const char *layer)
{
	struct field f[P_N] = { { "Name", NULL }, { "Version", NULL }, { "License", NULL },
				{ "License-Expression", NULL } };
	struct py_ctx ctx = { inv, path, layer, false };
	err_t *e = parse_stanzas(text, len, path, f, P_N, true, py_stanza, &ctx);
	if (!e && !ctx.done)
		warn_record(inv, path, 1, "empty Python metadata");
	return e;
}

/* ---- os-release ---- */

/* shell-like value: "quoted", 'quoted' or bare; backslash escapes in "" */
static char *os_value(const char *v, size_t len)
{
	struct strbuf sb = STRBUF_INIT;
	char q = len && (v[0] == '"' || v[0] == '\'') ? v[0] : 0;
	for (size_t i = q ? 1 : 0; i < len; i++) {
		if (q && v[i] == q)
			break;
		if (q == '"' && v[i] == '\\' && i + 1 < len)
			i++;
		sb_addc(&sb, v[i]);
	}
	return sb_detach(&sb);
}

err_t *inventory_parse_os_release(struct inventory *inv, const char *text, size_t len, const char *path)
{
	const char *p = text, *end = text + len;
	size_t line = 0;
	char *id = NULL, *ver = NULL, *name = NULL;
	err_t *e = NULL;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		line++;
		size_t ll = (size_t)(le - p);
		if (ll && p[0] != '#' && memchr(p, '\0', ll)) {
			e = err_new(EXIT_USAGE, "%s:%zu: a NUL byte in os-release", path, line);
			break;
		}
		const char *eq = ll && p[0] != '#' ? memchr(p, '=', ll) : NULL;
		if (eq) {
			size_t kl = (size_t)(eq - p);
			char **dst = kl == 2 && !strncmp(p, "ID", 2)			? &id
				     : kl == 10 && !strncmp(p, "VERSION_ID", 10)	? &ver
				     : kl == 11 && !strncmp(p, "PRETTY_NAME", 11) ? &name
										  : NULL;
			if (dst && !*dst)
				*dst = os_value(eq + 1, (size_t)(le - eq - 1));
		}
		p = nl ? nl + 1 : end;
	}
	/* the values go into JSON documents */
	char **vals[] = { &id, &ver, &name };
	for (size_t i = 0; !e && i < 3; i++)
		if (!inventory_utf8(*vals[i])) {
			log_warn("%s: a value that is not UTF-8; ignored", path);
			inv->warnings++;
			free(*vals[i]);
			*vals[i] = NULL;
		}
	if (!e && (!id || !*id)) {
		log_warn("%s: no ID= in os-release; the distribution is unknown", path);
		inv->warnings++;
	}
	if (!e && id && *id && !inv->os_id) {
		/* purl namespaces are lower case */
		for (char *c = id; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		inv->os_id = steal_ptr(id);
		inv->os_version_id = steal_ptr(ver);
		inv->os_name = steal_ptr(name);
	}
	free(id);
	free(ver);
	free(name);
	return e;
}

/* ---- our static binaries (mk/versions.sh's task_third_party) ---- */

static const char *const embed_markers[] = { " (built here from the Debian source: ", " (Debian " };

/* Whether s (len bytes) is "lib<x>.a" archives separated by single spaces. */
static bool archive_list(const char *s, size_t len)
{
	while (len) {
		const char *sp = memchr(s, ' ', len);
		size_t tl = sp ? (size_t)(sp - s) : len;
		if (tl < 6 || strncmp(s, "lib", 3) || strncmp(s + tl - 2, ".a", 2))
			return false;
		if (!sp)
			return true;
		s = sp + 1;
		len -= tl + 1;
		if (!len)
			return false;
	}
	return false;
}

/* One line exactly as mk/versions.sh writes it:
 *   "  <source> <version> (<where>: <archives>)"
 * where is "built here from the Debian source" or "Debian <binary package>"
 * and archives "lib<x>.a ...". Anything else (a compiler's .comment
 * "GCC: (Debian 12.2.0-14) 12.2.0", a string that merely contains a
 * marker) is not ours: false. */
struct embedded {
	char src[128], ver[128], bin[128];
};

static bool embedded_line(const char *line, size_t len, struct embedded *out)
{
	if (len < 4 || line[0] != ' ' || line[1] != ' ' || line[2] == ' ')
		return false;
	_cleanup_free_ char *l = xstrndup(line, len);
	char where[256], archives[256];
	int used = -1;
	if (sscanf(l, "  %127[A-Za-z0-9.+-] %127[A-Za-z0-9.+~:_-] (%255[^:)]: %255[^)])%n", out->src, out->ver,
		   where, archives, &used) != 4 ||
	    used != (int)len || !archive_list(archives, strlen(archives)))
		return false;
	out->bin[0] = '\0';
	if (strcmp(where, "built here from the Debian source")) {
		int wl = -1;
		if (strncmp(where, "Debian ", 7) || sscanf(where + 7, "%127[a-z0-9.+-]%n", out->bin, &wl) != 1 ||
		    where[7 + wl] != '\0')
			return false;
	}
	return true;
}

static bool printable(char c)
{
	return c >= 0x20 && c < 0x7f;
}

/* Each well-formed line around a marker: added to inv, or appended
 * verbatim to lines ("\n<line>\n", so that they parse again alone). */
static void scan_embedded(const char *data, size_t len, struct inventory *inv, const char *path, const char *layer,
			  struct strbuf *lines)
{
	for (size_t m = 0; m < 2; m++) {
		const char *mk = embed_markers[m];
		size_t ml = strlen(mk);
		const char *p = data, *end = data + len;
		while (p < end) {
			const char *hit = memmem(p, (size_t)(end - p), mk, ml);
			if (!hit)
				break;
			p = hit + ml;
			/* the line around it: printable bytes up to a newline
			 * (or whatever precedes the string in the binary) */
			const char *ls = hit;
			while (ls > data && printable(ls[-1]) && hit - ls < 300)
				ls--;
			const char *le = memchr(hit, '\n', (size_t)(end - hit) < 512 ? (size_t)(end - hit) : 512);
			struct embedded em;
			if (!le || !embedded_line(ls, (size_t)(le - ls), &em))
				continue;
			if (lines) {
				sb_addc(lines, '\n');
				sb_add(lines, ls, (size_t)(le - ls) + 1);
				continue;
			}
			struct inv_component c = { .eco = INV_DEB, .name = *em.bin ? em.bin : em.src, .version = em.ver,
						   .source_name = em.src, .source_version = em.ver,
						   .path = (char *)path, .layer = (char *)layer };
			inventory_add(inv, &c);
		}
	}
}

err_t *inventory_parse_static_binary(struct inventory *inv, const char *data, size_t len, const char *path,
				     const char *layer)
{
	scan_embedded(data, len, inv, path, layer, NULL);
	return NULL;
}

void inventory_static_binary_lines(const char *data, size_t len, struct strbuf *lines)
{
	scan_embedded(data, len, NULL, NULL, NULL, lines);
}

/* ---- dispatch ---- */

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

/* "<anything>/node_modules/<name>/package.json" or with "@scope/<name>" */
static bool node_module_package(const char *path)
{
	const char *nm = NULL;
	for (const char *p = path; (p = strstr(p, "node_modules/")); p += 13)
		if (p == path || p[-1] == '/')
			nm = p + 13;
	if (!nm || *nm == '.')
		return false;
	const char *slash = strchr(nm, '/');
	if (slash && nm[0] == '@')
		slash = strchr(slash + 1, '/');
	return slash && !strcmp(slash, "/package.json");
}

enum inv_file_kind inventory_file_kind(const char *path, bool in_image)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (!strcmp(path, "var/lib/dpkg/status"))
		return INV_FILE_DPKG_STATUS;
	if (!strncmp(path, "var/lib/dpkg/status.d/", 22))
		return !path[22] || strchr(path + 22, '/') || ends_with(path, ".md5sums") ? INV_FILE_NONE
											: INV_FILE_DPKG_STATUS;
	if (!strcmp(path, "lib/apk/db/installed"))
		return INV_FILE_APK_INSTALLED;
	if (!strcmp(path, "etc/os-release") || !strcmp(path, "usr/lib/os-release"))
		return INV_FILE_OS_RELEASE;
	if (!strcmp(base, "package-lock.json") || !strcmp(base, "npm-shrinkwrap.json"))
		return strstr(path, "node_modules/") && !in_image ? INV_FILE_NONE : INV_FILE_NPM_LOCK;
	if (in_image && node_module_package(path))
		return INV_FILE_NPM_PACKAGE;
	/* distutils installs "<name>.egg-info" as a file holding PKG-INFO */
	if ((!strcmp(base, "METADATA") && strstr(path, ".dist-info/") && ends_with(path, ".dist-info/METADATA")) ||
	    ends_with(path, ".egg-info/PKG-INFO") || ends_with(base, ".egg-info"))
		return INV_FILE_PYTHON_METADATA;
	return INV_FILE_NONE;
}

err_t *inventory_parse_file(struct inventory *inv, enum inv_file_kind kind, const char *text, size_t len,
			    const char *path, const char *layer)
{
	switch (kind) {
	case INV_FILE_DPKG_STATUS: return inventory_parse_dpkg_status(inv, text, len, path, layer);
	case INV_FILE_APK_INSTALLED: return inventory_parse_apk_installed(inv, text, len, path, layer);
	case INV_FILE_NPM_LOCK: return inventory_parse_npm_lock(inv, text, len, path, layer);
	case INV_FILE_NPM_PACKAGE: return inventory_parse_npm_package(inv, text, len, path, layer);
	case INV_FILE_PYTHON_METADATA: return inventory_parse_python_metadata(inv, text, len, path, layer);
	case INV_FILE_OS_RELEASE: return inventory_parse_os_release(inv, text, len, path);
	case INV_FILE_NONE: break;
	}
	return NULL;
}
