#include "trust_verify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "fsutil.h"
#include "jsonutil.h"
#include "keys.h"
#include "log.h"
#include "statedir.h"
#include "xalloc.h"

err_t *trust_dir_fetch(void *dir, const char *role, struct strbuf *out, bool *found)
{
	_cleanup_free_ char *path = xasprintf("%s/%s.json", (const char *)dir, role);
	*found = false;
	FILE *f = fopen(path, "rb");
	if (!f) {
		if (errno == ENOENT)
			return NULL;
		return err_errno(EXIT_FAILED, "cannot open %s", path);
	}
	fclose(f);
	TRY(fs_read_file(path, TUF_METADATA_MAX, out));
	*found = true;
	return NULL;
}

err_t *trust_key_id(EVP_PKEY *pub, char hex[65])
{
	json_t *k = tuf_key_json(pub);
	err_t *e = tuf_key_id(k, hex);
	json_decref(k);
	return e;
}

/* The name of a state file of r's GUN: "<gun>_<suffix>", the GUN encoded
 * injectively (statedir_name: '_' never appears in it unencoded, so the
 * first '_' ends it and reg/a_b and reg/a/b have different files). */
static char *state_name(const struct trust_repo *r, const char *suffix)
{
	_cleanup_free_ char *gun = statedir_name(r->gun);
	return xasprintf("%s_%s", gun, suffix);
}

/* Read a state file (false: none, or not safe to use: see statedir.h). */
static bool state_read(const struct trust_repo *r, const char *suffix, struct strbuf *out)
{
	if (!r->state_dir)
		return false;
	_cleanup_free_ char *name = state_name(r, suffix);
	return statedir_read(r->state_fd, r->state_dir, name, TUF_METADATA_MAX, out);
}

static err_t *state_write(const struct trust_repo *r, const char *suffix, const char *buf, size_t len, bool durable)
{
	_cleanup_free_ char *name = state_name(r, suffix);
	return statedir_write(r->state_fd, r->state_dir, name, buf, len, durable);
}

static err_t *fetch_role(struct trust_repo *r, const char *role, struct strbuf *out, bool *found)
{
	return err_context(r->fetch(r->ctx, role, out, found), "fetch %s.json", role);
}

static err_t *check_fresh(struct trust_repo *r, const char *role, const struct tuf_meta *m)
{
	if (m->expires <= r->now) {
		char t[32];
		tuf_format_time(m->expires, t);
		return err_kind_new(EXIT_POLICY, ERR_KIND_EXPIRED, "%s.json expired at %s (stale or frozen metadata)", role, t);
	}
	json_t *seen = json_object_get(r->versions, role);
	if (json_is_integer(seen) && m->version < json_integer_value(seen))
		return err_kind_new(EXIT_POLICY, ERR_KIND_ROLLBACK, "%s.json version %lld is older than version %lld seen before (rollback)", role,
			       (long long)m->version, (long long)json_integer_value(seen));
	return NULL;
}

static void remember(struct trust_repo *r, const char *role, const struct tuf_meta *m)
{
	json_t *seen = json_object_get(r->versions, role);
	if (!json_is_integer(seen) || json_integer_value(seen) < m->version)
		json_object_set_new(r->versions, role, json_integer(m->version));
}

/* Verify meta by root's role entry (keys from root). */
static err_t *verify_by_root(const struct tuf_meta *root, const char *role, const struct tuf_meta *m)
{
	json_t *keys = json_object_get(root->signed_, "keys");
	json_t *entry = json_object_get(json_object_get(root->signed_, "roles"), role);
	if (!json_is_object(entry))
		return err_new(EXIT_POLICY, "root.json has no %s role", role);
	json_t *th = json_object_get(entry, "threshold");
	if (!json_is_integer(th))
		return err_new(EXIT_POLICY, "root.json: %s role has no threshold", role);
	return tuf_verify_threshold(role, m, keys, json_object_get(entry, "keyids"), json_integer_value(th));
}

/* Role files are cached in the state dir under their hash-checked bytes:
 * a role whose entry in a freshly verified parent (timestamp -> snapshot
 * -> targets, delegations) matches the cached file's hash and length is
 * not fetched again (TUF's consistent caching; every signature, expiry
 * and version check still runs on those bytes). */
static char *cache_suffix(const char *role)
{
	_cleanup_free_ char *enc = statedir_name(role);
	return xasprintf("cache.%s.json", enc);
}

static bool cache_get(const struct trust_repo *r, const char *role, const json_t *meta_entry, struct strbuf *out)
{
	if (!r->state_dir || !meta_entry)
		return false;
	_cleanup_free_ char *suffix = cache_suffix(role);
	if (!state_read(r, suffix, out))
		return false;
	err_t *e = tuf_check_meta(role, meta_entry, out->buf ? out->buf : "", out->len);
	if (e) {
		err_free(e);
		sb_release(out);
		return false;
	}
	return true;
}

static void cache_write(const struct trust_repo *r, const char *role, const char *data, size_t len)
{
	if (!r->state_dir)
		return;
	_cleanup_free_ char *suffix = cache_suffix(role);
	/* no fsync: a torn or stale file fails its hash check and is fetched */
	err_free(state_write(r, suffix, data ? data : "", len, false)); /* only a cache */
}

static void cache_put(const struct trust_repo *r, const char *role, const struct strbuf *data)
{
	cache_write(r, role, data->buf, data->len);
}

static err_t *root_signed(struct trust_repo *r, const char *role, const struct tuf_meta *m)
{
	return verify_by_root(&r->root, role, m);
}

static err_t *load_role_keep(struct trust_repo *r, const char *role, struct tuf_meta *m, const json_t *meta_entry,
			     struct strbuf *keep)
{
	struct strbuf sb = STRBUF_INIT;
	bool found = false, cached = cache_get(r, role, meta_entry, &sb);
	err_t *e = cached ? NULL : fetch_role(r, role, &sb, &found);
	if (!e && !cached && !found)
		e = err_new(EXIT_POLICY, "%s.json is missing from the trust data of %s", role, r->gun);
	if (!e && meta_entry && !cached) {
		e = tuf_check_meta(role, meta_entry, sb.buf ? sb.buf : "", sb.len);
		if (!e)
			cache_put(r, role, &sb);
	}
	if (!e)
		e = tuf_meta_parse(role, sb.buf ? sb.buf : "", sb.len, m);
	if (!e && keep)
		sb_add(keep, sb.buf, sb.len);
	sb_release(&sb);
	return e;
}

static err_t *load_role(struct trust_repo *r, const char *role, struct tuf_meta *m, const json_t *meta_entry)
{
	return load_role_keep(r, role, m, meta_entry, NULL);
}

/* A root key's certificate (CN = the GUN, valid now). */
static err_t *check_root_cert(struct trust_repo *r, const json_t *key)
{
	struct tuf_key_cert c = { 0 };
	TRY(tuf_key_cert_read(key, &c));
	return tuf_key_cert_check(&c, r->gun, r->now);
}

/* Root: self-signed by its threshold; if we trusted another root before,
 * the new one must also carry that root's threshold (a key rotation is
 * signed by the old keys). */
static err_t *check_root(struct trust_repo *r)
{
	TRY(root_signed(r, "root", &r->root));
	json_t *rkeys = json_object_get(r->root.signed_, "keys");
	size_t i;
	json_t *id;
	json_array_foreach(json_object_get(json_object_get(json_object_get(r->root.signed_, "roles"), "root"), "keyids"), i, id) {
		json_t *k = json_object_get(rkeys, json_string_value(id) ?: "");
		if (k)
			TRY(check_root_cert(r, k));
	}
	return NULL;
}

static err_t *load_root(struct trust_repo *r)
{
	TRY(load_role_keep(r, "root", &r->root, NULL, &r->root_bytes));
	TRY(check_root(r));
	if (r->state_dir) {
		struct strbuf old = STRBUF_INIT;
		err_t *e = NULL;
		if (state_read(r, "root.json", &old)) {
			struct tuf_meta prev;
			e = tuf_meta_parse("root", old.buf, old.len, &prev);
			if (!e && memcmp(prev.sha256, r->root.sha256, 32)) {
				e = err_context(verify_by_root(&prev, "root", &r->root),
						"root.json changed and is not signed by the previously trusted root keys");
			}
			if (!e && !memcmp(prev.sha256, r->root.sha256, 32))
				r->root_unchanged = true;
			if (!e || prev.doc)
				tuf_meta_release(&prev);
		} /* else first use: trust on first use */
		sb_release(&old);
		TRY(e);
	}
	return check_fresh(r, "root", &r->root);
}

/* The root trusted before (state dir), checked as a fetched one would be;
 * the snapshot must then name exactly it (else the full path runs). */
static err_t *load_root_from_state(struct trust_repo *r)
{
	if (!state_read(r, "root.json", &r->root_bytes))
		return err_new(EXIT_FAILED, "no root.json trusted before");
	TRY(tuf_meta_parse("root", r->root_bytes.buf, r->root_bytes.len, &r->root));
	TRY(check_root(r));
	r->root_unchanged = true;
	return check_fresh(r, "root", &r->root);
}

static err_t *load_versions(struct trust_repo *r)
{
	r->versions = json_object();
	if (!r->state_dir)
		return NULL;
	struct strbuf sb = STRBUF_INIT;
	if (!state_read(r, "versions.json", &sb))
		return NULL;
	json_t *v = NULL;
	_cleanup_free_ char *name = state_name(r, "versions.json");
	err_t *e = json_parse(sb.buf, sb.len, name, &v);
	sb_release(&sb);
	if (e)
		return e;
	if (json_is_object(v)) {
		json_decref(r->versions);
		r->versions = v;
	} else {
		json_decref(v);
	}
	r->versions_loaded = json_dumps(r->versions, JSON_COMPACT | JSON_SORT_KEYS);
	return NULL;
}

static err_t *load_chain(trust_fetch_fn fetch, void *ctx, const char *gun, const char *state_dir, time_t now,
			 bool cached_root, struct trust_repo *out)
{
	memset(out, 0, sizeof *out);
	out->gun = xstrdup(gun);
	out->fetch = fetch;
	out->ctx = ctx;
	out->now = now;
	out->state_fd = statedir_open(state_dir, "trust state dir", true);
	out->state_dir = out->state_fd >= 0 ? xstrdup(state_dir) : NULL;
	TRY(load_versions(out));
	TRY(cached_root ? load_root_from_state(out) : load_root(out));
	TRY(load_role(out, "timestamp", &out->timestamp, NULL));
	TRY(root_signed(out, "timestamp", &out->timestamp));
	TRY(check_fresh(out, "timestamp", &out->timestamp));
	json_t *tmeta = json_object_get(out->timestamp.signed_, "meta");
	json_t *snap_entry = json_object_get(tmeta, "snapshot");
	if (!snap_entry)
		return err_new(EXIT_POLICY, "timestamp.json does not list snapshot");
	TRY(load_role(out, "snapshot", &out->snapshot, snap_entry));
	TRY(root_signed(out, "snapshot", &out->snapshot));
	TRY(check_fresh(out, "snapshot", &out->snapshot));
	json_t *smeta = json_object_get(out->snapshot.signed_, "meta");
	json_t *targets_entry = json_object_get(smeta, "targets");
	if (!targets_entry)
		return err_new(EXIT_POLICY, "snapshot.json does not list targets");
	json_t *root_entry = json_object_get(smeta, "root");
	if (cached_root && !root_entry)
		return err_new(EXIT_POLICY, "snapshot.json does not pin root: fetch it");
	if (root_entry) {
		/* the snapshot pins the root it was made with */
		TRY(tuf_check_meta("root", root_entry, sb_str(&out->root_bytes), out->root_bytes.len));
	}
	TRY(load_role(out, "targets", &out->targets, targets_entry));
	TRY(root_signed(out, "targets", &out->targets));
	TRY(check_fresh(out, "targets", &out->targets));
	remember(out, "root", &out->root);
	remember(out, "timestamp", &out->timestamp);
	remember(out, "snapshot", &out->snapshot);
	remember(out, "targets", &out->targets);
	return NULL;
}

err_t *trust_repo_load(trust_fetch_fn fetch, void *ctx, const char *gun, const char *state_dir, time_t now,
		       struct trust_repo *out)
{
	if (state_dir && *state_dir) {
		/* warm: the root trusted before, if the fresh timestamp and
		 * snapshot still name it; any doubt runs the full path */
		err_t *e = load_chain(fetch, ctx, gun, state_dir, now, true, out);
		if (!e)
			return NULL;
		trust_repo_release(out);
		err_free(e);
	}
	err_t *e = load_chain(fetch, ctx, gun, state_dir, now, false, out);
	if (e)
		trust_repo_release(out);
	return e;
}

static const json_t *find_delegation(const struct trust_repo *r, const char *role)
{
	json_t *roles = json_object_get(json_object_get(r->targets.signed_, "delegations"), "roles");
	size_t i;
	json_t *d;
	json_array_foreach(roles, i, d) {
		const char *name = json_string_value(json_object_get(d, "name"));
		if (name && !strcmp(name, role))
			return d;
	}
	return NULL;
}

err_t *trust_repo_role(struct trust_repo *r, const char *role, struct tuf_meta *out, bool *found,
		       const json_t **delegation)
{
	*found = false;
	*delegation = find_delegation(r, role);
	if (!*delegation)
		return err_new(EXIT_POLICY, "%s is not delegated in targets.json of %s", role, r->gun);
	json_t *entry = json_object_get(json_object_get(r->snapshot.signed_, "meta"), role);
	if (!entry)
		return NULL; /* no file yet: nothing signed */
	TRY(load_role(r, role, out, entry));
	*found = true;
	json_t *keys = json_object_get(json_object_get(r->targets.signed_, "delegations"), "keys");
	json_t *th = json_object_get(*delegation, "threshold");
	err_t *e = tuf_verify_threshold(role, out, keys, json_object_get(*delegation, "keyids"),
					json_is_integer(th) ? json_integer_value(th) : 0);
	if (!e)
		e = check_fresh(r, role, out);
	if (e) {
		tuf_meta_release(out);
		*found = false;
		return e;
	}
	remember(r, role, out);
	return NULL;
}

void trust_repo_cache_published(const struct trust_repo *r, const char *role, const char *data, size_t len)
{
	cache_write(r, role, data, len);
}

err_t *trust_repo_commit(struct trust_repo *r)
{
	if (!r->state_dir)
		return NULL;
	char *dump = json_dumps(r->versions, JSON_COMPACT | JSON_SORT_KEYS);
	bool versions_same = r->versions_loaded && !strcmp(dump, r->versions_loaded);
	if (versions_same && r->root_unchanged) {
		free(dump);
		return NULL; /* nothing new to remember */
	}
	err_t *e = versions_same ? NULL : state_write(r, "versions.json", dump, strlen(dump), true);
	free(dump);
	if (!e && !r->root_unchanged)
		e = state_write(r, "root.json", r->root_bytes.buf ? r->root_bytes.buf : "", r->root_bytes.len, true);
	return e;
}

void trust_repo_release(struct trust_repo *r)
{
	tuf_meta_release(&r->root);
	tuf_meta_release(&r->timestamp);
	tuf_meta_release(&r->snapshot);
	tuf_meta_release(&r->targets);
	json_decref(r->versions);
	free(r->versions_loaded);
	sb_release(&r->root_bytes);
	free(r->gun);
	if (r->state_dir)
		close(r->state_fd);
	free(r->state_dir);
	memset(r, 0, sizeof *r);
}

void trust_verdict_release(struct trust_verdict *v)
{
	free(v->reason);
	v->reason = NULL;
}

static void verdict_for(struct trust_repo *r, const char *digest, const struct trust_signer *s,
			const unsigned char want[32], struct trust_verdict *v)
{
	_cleanup_free_ char *role = xasprintf("targets/%s", s->name);
	struct tuf_meta m = { 0 };
	bool found = false;
	const json_t *delegation = find_delegation(r, role);
	char keyid[65] = "", listed_id[65] = "";
	err_t *e = NULL;
	/* a pinned key the delegation does not list (bare, or in a
	 * certificate) is the clearest answer */
	if (delegation && s->pub) {
		json_t *dkeys = json_object_get(json_object_get(r->targets.signed_, "delegations"), "keys");
		e = trust_key_id(s->pub, keyid);
		if (!e && !tuf_find_key(dkeys, json_object_get(delegation, "keyids"), keyid, listed_id, NULL))
			e = err_new(EXIT_POLICY, "the required key %.12s is not a key of %s (wrong key)", keyid, role);
	}
	if (!e)
		e = trust_repo_role(r, role, &m, &found, &delegation);
	if (!e && !found)
		e = err_new(EXIT_POLICY, "%s has signed nothing", role);
	if (!e && s->pub)
		e = tuf_verify_key(role, &m, listed_id, s->pub);
	if (e) {
		v->reason = err_describe(e);
		err_free(e);
		if (found)
			tuf_meta_release(&m);
		return;
	}
	const char *tag;
	json_t *entry;
	json_t *targets = json_object_get(m.signed_, "targets");
	json_object_foreach(targets, tag, entry) {
		if (tuf_target_matches(entry, want) && tuf_path_allowed(delegation, tag)) {
			v->ok = true;
			v->reason = xasprintf("signed as tag '%s' in %s (version %lld)", tag, role, (long long)m.version);
			break;
		}
	}
	if (!v->ok)
		v->reason = xasprintf("%s does not sign %s (%zu other target%s)", role, digest, json_object_size(targets),
				      json_object_size(targets) == 1 ? "" : "s");
	tuf_meta_release(&m);
}

void trust_verify_signers(struct trust_repo *r, const char *digest, const struct trust_signer *signers, size_t n,
			  struct trust_verdict *out)
{
	unsigned char want[32];
	bool good = digest_valid(digest);
	for (size_t i = 0; good && i < 32; i++) {
		unsigned int byte;
		good = sscanf(digest + 7 + 2 * i, "%2x", &byte) == 1;
		want[i] = (unsigned char)byte;
	}
	for (size_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof out[i]);
		if (!good) {
			out[i].reason = xasprintf("'%s' is not a sha256 digest", digest);
			continue;
		}
		verdict_for(r, digest, &signers[i], want, &out[i]);
	}
}

bool trust_error_inconsistent(const err_t *e)
{
	return err_is(e, ERR_KIND_INCONSISTENT);
}

/* A pin holds when a pinned key, listed as a root key (by its listed ID
 * or its own key ID), made a valid signature over this root.json: a root
 * that merely lists a pinned key beside keys of its own, and is signed by
 * those, is a forgery. */
err_t *trust_repo_check_pins(const struct trust_repo *r, const char *const *ids, size_t n)
{
	if (!n)
		return NULL;
	json_t *keys = json_object_get(r->root.signed_, "keys");
	json_t *keyids = json_object_get(json_object_get(json_object_get(r->root.signed_, "roles"), "root"), "keyids");
	err_t *why = NULL;
	for (size_t i = 0; i < n; i++) {
		char listed[65];
		EVP_PKEY *pub = NULL;
		if (!tuf_find_key(keys, keyids, ids[i], listed, &pub))
			continue;
		err_t *e = tuf_verify_key("root", &r->root, listed, pub);
		EVP_PKEY_free(pub);
		err_free(why);
		if (!e)
			return NULL;
		why = err_wrap(e, "it lists pinned root key %.12s, but that key did not sign it (forged root?)", ids[i]);
	}
	if (!why) {
		const char *first = json_string_value(json_array_get(keyids, 0));
		why = err_new(EXIT_POLICY, "it lists root key %.12s%s, none of them pinned", first ? first : "(none)",
			      json_array_size(keyids) > 1 ? " and others" : "");
	}
	return err_wrap(why, "root.json of %s is not signed by a pinned root key", r->gun);
}

char *trust_state_tls_dir(const char *state_dir)
{
	return state_dir && *state_dir ? xasprintf("%s/tls-sessions", state_dir) : NULL;
}
