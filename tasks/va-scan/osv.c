/* OSV records: reading, validation and trimming (osv.h). */
#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "cvss.h"
#include "fsutil.h"
#include "jsonutil.h"
#include "log.h"
#include "osv.h"
#include "strbuf.h"
#include "xalloc.h"

#define OSV_FILE_MAX (64u << 20)  /* one record or JSON file */
#define OSV_SUMMARY_MAX 200

size_t osv_ecosystem_base_len(const char *ecosystem)
{
	return strcspn(ecosystem, ":");
}

char *osv_package_key(const char *ecosystem, const char *name)
{
	size_t base = osv_ecosystem_base_len(ecosystem);
	if (base != 4 || strncmp(ecosystem, "PyPI", 4))
		return xstrdup(name);
	struct strbuf sb = STRBUF_INIT;
	for (const char *p = name; *p; p++) {
		if (*p == '-' || *p == '_' || *p == '.') {
			while (p[1] == '-' || p[1] == '_' || p[1] == '.')
				p++;
			sb_addc(&sb, '-');
		} else {
			sb_addc(&sb, (char)tolower((unsigned char)*p));
		}
	}
	return sb_detach(&sb);
}

/* a string member without NULs, or NULL when absent; an error when present
 * and not a string */
static err_t *opt_string(const json_t *obj, const char *key, const char *what, const char **out)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return err_new(EXIT_USAGE, "%s: %s is not a string", what, key);
	*out = json_string_value(v);
	return NULL;
}

static const char *const event_kinds[] = { "introduced", "fixed", "last_affected", "limit" };

static err_t *trim_range(const json_t *range, const char *what, json_t **out)
{
	*out = NULL;
	const char *type;
	TRY(json_get_string(range, "type", what, &type));
	if (strcmp(type, "ECOSYSTEM") && strcmp(type, "SEMVER"))
		return NULL; /* GIT ranges name commits, not versions */
	json_t *events;
	TRY(json_get_array(range, "events", what, &events));
	json_t *tevents = json_array();
	size_t i;
	json_t *ev;
	json_array_foreach(events, i, ev) {
		const char *kind = NULL, *val = NULL;
		const char *k;
		json_t *v;
		if (!json_is_object(ev)) {
			json_decref(tevents);
			return err_new(EXIT_USAGE, "%s.events[%zu]: not an object", what, i);
		}
		json_object_foreach((json_t *)ev, k, v) {
			for (size_t j = 0; j < sizeof event_kinds / sizeof *event_kinds; j++) {
				if (strcmp(k, event_kinds[j]))
					continue;
				if (kind || !json_is_string(v) || !json_string_length(v) ||
				    strlen(json_string_value(v)) != json_string_length(v)) {
					json_decref(tevents);
					return err_new(EXIT_USAGE,
						       "%s.events[%zu]: needs exactly one of introduced, fixed, "
						       "last_affected, limit, a non-empty string",
						       what, i);
				}
				kind = event_kinds[j], val = json_string_value(v);
			}
		}
		if (!kind) {
			json_decref(tevents);
			return err_new(EXIT_USAGE, "%s.events[%zu]: no introduced, fixed, last_affected or limit", what,
				       i);
		}
		json_array_append_new(tevents, json_pack("{ss}", kind, val));
	}
	*out = json_pack("{ssso}", "type", type, "events", tevents);
	return NULL;
}

static err_t *trim_affected(const json_t *aff, const char *what, json_t **out)
{
	*out = NULL;
	json_t *pkg = json_object_get(aff, "package");
	if (!pkg)
		return NULL; /* an affected entry for a git repository only */
	const char *eco, *name;
	_cleanup_free_ char *pwhat = xasprintf("%s.package", what);
	TRY(json_get_string(pkg, "ecosystem", pwhat, &eco));
	TRY(json_get_string(pkg, "name", pwhat, &name));
	if (!*eco || !*name || strlen(eco) != json_string_length(json_object_get(pkg, "ecosystem")) ||
	    strlen(name) != json_string_length(json_object_get(pkg, "name")))
		return err_new(EXIT_USAGE, "%s: empty ecosystem or name, or one with a NUL", pwhat);
	json_t *ranges = json_array(), *versions = json_array();
	json_t *r = json_object_get(aff, "ranges"), *v = json_object_get(aff, "versions");
	err_t *e = NULL;
	if (r && !json_is_array(r))
		e = err_new(EXIT_USAGE, "%s.ranges: not an array", what);
	if (v && !json_is_array(v))
		e = e ? e : err_new(EXIT_USAGE, "%s.versions: not an array", what);
	size_t i;
	json_t *item;
	json_array_foreach(r, i, item) {
		if (e)
			break;
		_cleanup_free_ char *rwhat = xasprintf("%s.ranges[%zu]", what, i);
		json_t *t = NULL;
		e = trim_range(item, rwhat, &t);
		if (t)
			json_array_append_new(ranges, t);
	}
	json_array_foreach(v, i, item) {
		if (e)
			break;
		if (!json_is_string(item))
			e = err_new(EXIT_USAGE, "%s.versions[%zu]: not a string", what, i);
		else
			json_array_append(versions, item);
	}
	if (e) {
		json_decref(ranges), json_decref(versions);
		return e;
	}
	json_t *t = json_pack("{ssss}", "ecosystem", eco, "name", name);
	if (json_array_size(ranges))
		json_object_set(t, "ranges", ranges);
	if (json_array_size(versions))
		json_object_set(t, "versions", versions);
	json_decref(ranges), json_decref(versions);
	/* an advisory's rating per package (GHSA puts it in database_specific,
	 * Ubuntu / Debian in ecosystem_specific) */
	const char *sev = NULL;
	json_t *spec = json_object_get(aff, "ecosystem_specific");
	if (json_is_object(spec) && json_is_string(json_object_get(spec, "severity")))
		sev = json_string_value(json_object_get(spec, "severity"));
	spec = json_object_get(aff, "database_specific");
	if (!sev && json_is_object(spec) && json_is_string(json_object_get(spec, "severity")))
		sev = json_string_value(json_object_get(spec, "severity"));
	if (sev)
		json_object_set_new(t, "rating", json_string(sev));
	*out = t;
	return NULL;
}

/* "MODERATE" (GHSA), "medium", "Critical" -> our names; NULL for others */
static const char *normalise_rating(const char *s)
{
	static const char *const names[][2] = {
		{ "critical", "CRITICAL" }, { "high", "HIGH" },       { "important", "HIGH" }, { "moderate", "MEDIUM" },
		{ "medium", "MEDIUM" },     { "low", "LOW" },         { "negligible", "LOW" }, { "unimportant", "LOW" },
	};
	for (size_t i = 0; s && i < sizeof names / sizeof *names; i++)
		if (!strcasecmp(s, names[i][0]))
			return names[i][1];
	return NULL;
}

/* the record's first valid vector of a CVSS version ("CVSS_V4" /
 * "CVSS_V3"), scored; false when it has none (an invalid one is logged) */
static bool score_vector(const json_t *rec, const char *type, err_t *(*score_fn)(const char *, double *),
			 const char *what, json_t *t)
{
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(rec, "severity"), i, s) {
		const char *stype = json_string_value(json_object_get(s, "type"));
		const char *vec = json_string_value(json_object_get(s, "score"));
		if (!stype || !vec || strcmp(stype, type))
			continue;
		double score;
		err_t *e = score_fn(vec, &score);
		if (e) {
			log_warn("%s: %s (not used)", what, e->msg);
			err_free(e);
			continue;
		}
		json_object_set_new(t, "severity", json_string(cvss_rating(score)));
		json_object_set_new(t, "score", json_real(score));
		json_object_set_new(t, "vector", json_string(vec));
		return true;
	}
	return false;
}

/* severity from the record's CVSS v4 vector (the newer version, as the
 * advisory databases show it), else its v3 one, else its own rating */
static void set_severity(const json_t *rec, json_t *t, const char *what)
{
	if (score_vector(rec, "CVSS_V4", cvss4_base_score, what, t) ||
	    score_vector(rec, "CVSS_V3", cvss3_base_score, what, t))
		return;
	const char *rating = NULL;
	json_t *db = json_object_get(rec, "database_specific");
	if (json_is_object(db))
		rating = normalise_rating(json_string_value(json_object_get(db, "severity")));
	size_t i;
	json_t *aff;
	json_array_foreach(json_object_get(t, "affected"), i, aff)
		if (!rating)
			rating = normalise_rating(json_string_value(json_object_get(aff, "rating")));
	json_object_set_new(t, "severity", json_string(rating ? rating : "UNKNOWN"));
}

err_t *osv_trim(const json_t *rec, const char *what, json_t **out)
{
	*out = NULL;
	if (!json_is_object(rec))
		return err_new(EXIT_USAGE, "%s: an OSV record is a JSON object", what);
	const char *id, *withdrawn, *summary, *details;
	TRY(json_get_string(rec, "id", what, &id));
	if (!*id || strlen(id) != json_string_length(json_object_get(rec, "id")))
		return err_new(EXIT_USAGE, "%s: empty id", what);
	TRY(opt_string(rec, "withdrawn", what, &withdrawn));
	if (withdrawn)
		return NULL;
	TRY(opt_string(rec, "summary", what, &summary));
	TRY(opt_string(rec, "details", what, &details));
	json_t *aliases = json_object_get(rec, "aliases"), *affected = json_object_get(rec, "affected");
	if (aliases && !json_is_array(aliases) && !json_is_null(aliases))
		return err_new(EXIT_USAGE, "%s (%s): aliases is not an array", what, id);
	if (affected && !json_is_array(affected) && !json_is_null(affected))
		return err_new(EXIT_USAGE, "%s (%s): affected is not an array", what, id);
	json_t *t = json_pack("{ss}", "id", id);
	json_t *ta = json_array(), *taff = json_array();
	json_object_set_new(t, "aliases", ta);
	json_object_set_new(t, "affected", taff);
	size_t i;
	json_t *item;
	json_array_foreach(aliases, i, item) {
		if (!json_is_string(item)) {
			json_decref(t);
			return err_new(EXIT_USAGE, "%s (%s): aliases[%zu] is not a string", what, id, i);
		}
		json_array_append(ta, item);
	}
	const char *text = summary && *summary ? summary : details ? details : "";
	size_t n = strcspn(text, "\n");
	json_object_set_new(t, "summary", json_stringn(text, n > OSV_SUMMARY_MAX ? OSV_SUMMARY_MAX : n));
	json_array_foreach(affected, i, item) {
		_cleanup_free_ char *awhat = xasprintf("%s (%s): affected[%zu]", what, id, i);
		json_t *a = NULL;
		err_t *e = json_is_object(item) ? trim_affected(item, awhat, &a)
						: err_new(EXIT_USAGE, "%s: not an object", awhat);
		if (e) {
			json_decref(t);
			return e;
		}
		if (a)
			json_array_append_new(taff, a);
	}
	set_severity(rec, t, what);
	*out = t;
	return NULL;
}

static err_t *deliver(const json_t *rec, const char *what, struct osv_sink *sink)
{
	json_t *t = NULL;
	TRY(osv_trim(rec, what, &t));
	if (!t) {
		sink->withdrawn++;
		return NULL;
	}
	err_t *e = sink->record(sink->ctx, t, what);
	json_decref(t);
	sink->records += !e;
	return e;
}

err_t *osv_read_json(const char *text, size_t len, const char *what, struct osv_sink *sink)
{
	json_t *doc = NULL;
	TRY(json_parse(text, len, what, &doc));
	err_t *e = NULL;
	if (json_is_array(doc)) {
		size_t i;
		json_t *rec;
		json_array_foreach(doc, i, rec) {
			_cleanup_free_ char *w = xasprintf("%s[%zu]", what, i);
			if ((e = deliver(rec, w, sink)))
				break;
		}
	} else {
		e = deliver(doc, what, sink);
	}
	json_decref(doc);
	return e;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

/* libarchive converts each zip entry's DOS time with mktime(), and glibc's
 * mktime() stats the time zone file again on every call while TZ is unset:
 * two system calls per entry, 15% of an index build's CPU time. Naming the
 * same default zone in TZ lets glibc keep what it read (the times are not
 * used anyway). */
static void keep_time_zone(void)
{
	if (!getenv("TZ"))
		setenv("TZ", ":/etc/localtime", 0);
}

err_t *osv_read_zip(const char *path, struct osv_sink *sink)
{
	keep_time_zone();
	struct archive *a = archive_read_new();
	/* the seekable reader: the central directory must be there (a truncated
	 * zip is refused, never read as the entries before the cut) */
	archive_read_support_format_zip_seekable(a);
	err_t *e = NULL;
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		e = err_new(EXIT_USAGE, "%s: not a readable zip (truncated, or no zip at all): %s", path,
			   archive_error_string(a));
		archive_read_free(a);
		return e;
	}
	struct strbuf buf = STRBUF_INIT;
	struct archive_entry *ent;
	size_t entries = 0;
	int r;
	while (!e && (r = archive_read_next_header(a, &ent)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(ent);
		entries++;
		if (!name || archive_entry_filetype(ent) != AE_IFREG || !ends_with(name, ".json"))
			continue;
		if (archive_entry_size_is_set(ent) && archive_entry_size(ent) > (la_int64_t)OSV_FILE_MAX) {
			e = err_new(EXIT_USAGE, "%s: entry %s: larger than %u bytes", path, name, OSV_FILE_MAX);
			break;
		}
		sb_reset(&buf);
		char chunk[1 << 14];
		la_ssize_t got;
		while ((got = archive_read_data(a, chunk, sizeof chunk)) > 0) {
			if (buf.len + (size_t)got > OSV_FILE_MAX) {
				got = -1;
				break;
			}
			sb_add(&buf, chunk, (size_t)got);
		}
		if (got < 0) {
			e = err_new(EXIT_USAGE, "%s: entry %s: %s", path, name,
				    archive_error_string(a) ? archive_error_string(a) : "too large");
			break;
		}
		_cleanup_free_ char *what = xasprintf("%s: entry %s", path, name);
		e = osv_read_json(sb_str(&buf), buf.len, what, sink);
	}
	if (!e && r != ARCHIVE_EOF)
		e = err_new(EXIT_USAGE, "%s: corrupt zip after %zu entries: %s", path, entries,
			    archive_error_string(a) ? archive_error_string(a) : "unreadable");
	sb_release(&buf);
	archive_read_free(a);
	return e;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static err_t *read_dir(const char *dir, struct osv_sink *sink, int depth)
{
	if (depth > 16)
		return err_new(EXIT_USAGE, "%s: directories nested too deep", dir);
	DIR *d = opendir(dir);
	if (!d)
		return err_errno(EXIT_USAGE, "cannot read advisory directory %s", dir);
	char **names = NULL;
	size_t n = 0;
	for (struct dirent *de; (de = readdir(d));) {
		if (de->d_name[0] == '.')
			continue;
		names = xrealloc(names, (n + 1) * sizeof *names);
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_names);
	err_t *e = NULL;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", dir, names[i]);
		struct stat st;
		if (!e && lstat(p, &st) == 0) {
			if (S_ISDIR(st.st_mode))
				e = read_dir(p, sink, depth + 1);
			else if (S_ISREG(st.st_mode) && (ends_with(p, ".json") || ends_with(p, ".zip")))
				e = osv_read_path(p, sink);
		}
		free(names[i]);
	}
	free(names);
	return e;
}

err_t *osv_read_path(const char *path, struct osv_sink *sink)
{
	struct stat st;
	if (stat(path, &st))
		return err_errno(EXIT_USAGE, "advisory database %s", path);
	if (S_ISDIR(st.st_mode))
		return read_dir(path, sink, 0);
	if (ends_with(path, ".zip"))
		return osv_read_zip(path, sink);
	struct strbuf sb = STRBUF_INIT;
	err_t *e = fs_read_file(path, OSV_FILE_MAX, &sb);
	if (!e)
		e = osv_read_json(sb_str(&sb), sb.len, path, sink);
	sb_release(&sb);
	return e;
}
