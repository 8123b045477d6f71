#include "dct.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "cleanup.h"
#include "jsonutil.h"
#include "log.h"
#include "trust_verify.h"
#include "tuf.h"
#include "xalloc.h"

static err_t *sign_with(void *ctx, const void *data, size_t len, struct strbuf *raw)
{
	return signer_key_sign(ctx, data, len, SIG_RAW_RS, raw);
}

/* keyid NULL: the key's own "ecdsa" key ID (root uses its certificate's). */
static err_t *sign_role_as(json_t *signed_, struct signer_key *k, const char *keyid, struct strbuf *out)
{
	char id[65];
	if (!keyid) {
		TRY(trust_key_id(signer_key_public(k), id));
		keyid = id;
	}
	struct tuf_signer s = { keyid, sign_with, k };
	return tuf_sign(signed_, &s, 1, out);
}

static err_t *sign_role(json_t *signed_, struct signer_key *k, struct strbuf *out)
{
	return sign_role_as(signed_, k, NULL, out);
}

static void set_expires(json_t *signed_, time_t t)
{
	char buf[32];
	tuf_format_time(t, buf);
	json_object_set_new(signed_, "expires", json_string(buf));
}

/* Sleep a little before retrying after a conflict (jitter spreads writers). */
static void conflict_pause(int attempt)
{
	unsigned char r = 0;
	RAND_bytes(&r, 1);
	usleep((useconds_t)(50000 * (attempt + 1) + r * 400));
}

static err_t *root_key_json(struct signer_key *root, const char *gun, json_t **key, char id[65])
{
	struct strbuf pem = STRBUF_INIT, b = STRBUF_INIT;
	TRY(signer_key_certificate(root, gun, DCT_ROOT_DAYS, &pem));
	b64_encode(pem.buf, pem.len, &b);
	*key = json_pack("{s:s, s:{s:n, s:s}}", "keytype", "ecdsa-x509", "keyval", "private", "public", sb_str(&b));
	sb_release(&pem);
	sb_release(&b);
	return tuf_key_id(*key, id);
}

static json_t *role_entry(const char *id)
{
	return json_pack("{s:[s], s:i}", "keyids", id, "threshold", 1);
}

/* Set delegation role `name` to keyids (replacing), creating it if needed. */
static void put_delegation(json_t *delegations, const char *name, json_t *keyids /* stolen */)
{
	json_t *roles = json_object_get(delegations, "roles");
	size_t i;
	json_t *d;
	json_array_foreach(roles, i, d) {
		if (!strcmp(json_string_value(json_object_get(d, "name")) ?: "", name)) {
			json_object_set_new(d, "keyids", keyids);
			return;
		}
	}
	json_array_append_new(roles, json_pack("{s:o, s:s, s:[s], s:i}", "keyids", keyids, "name", name, "paths", "",
					       "threshold", 1));
}

static json_t *find_role(json_t *delegations, const char *name, size_t *index)
{
	json_t *roles = json_object_get(delegations, "roles");
	size_t i;
	json_t *d;
	json_array_foreach(roles, i, d) {
		if (!strcmp(json_string_value(json_object_get(d, "name")) ?: "", name)) {
			if (index)
				*index = i;
			return d;
		}
	}
	return NULL;
}

static bool array_has(const json_t *a, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) {
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return true;
	}
	return false;
}

/* Whether any role other than skip1/skip2 lists keyid. */
static bool key_used_elsewhere(json_t *delegations, const char *keyid, const char *skip1, const char *skip2)
{
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(delegations, "roles"), i, d) {
		const char *name = json_string_value(json_object_get(d, "name")) ?: "";
		if (!strcmp(name, skip1) || !strcmp(name, skip2))
			continue;
		if (array_has(json_object_get(d, "keyids"), keyid))
			return true;
	}
	return false;
}

/* Drop keys no role lists any more. */
static void prune_keys(json_t *delegations)
{
	json_t *keys = json_object_get(delegations, "keys");
	const char *id;
	json_t *v, *tmp;
	json_object_foreach_safe(keys, tmp, id, v) {
		if (!key_used_elsewhere(delegations, id, "", ""))
			json_object_del(keys, id);
	}
}

/* Edit delegations of a targets signed part for signer name -> pub. */
static err_t *edit_signer(json_t *signed_, const char *name, EVP_PKEY *pub)
{
	json_t *delegations = json_object_get(signed_, "delegations");
	if (!json_is_object(delegations)) {
		delegations = json_pack("{s:{}, s:[]}", "keys", "roles");
		json_object_set_new(signed_, "delegations", delegations);
	}
	if (!json_is_object(json_object_get(delegations, "keys")))
		json_object_set_new(delegations, "keys", json_object());
	if (!json_is_array(json_object_get(delegations, "roles")))
		json_object_set_new(delegations, "roles", json_array());
	_cleanup_free_ char *role = xasprintf("targets/%s", name);
	json_t *releases = find_role(delegations, "targets/releases", NULL);
	size_t idx = 0;
	json_t *old = find_role(delegations, role, &idx);
	/* the signer's old keys leave releases unless another signer uses them */
	if (old) {
		size_t i;
		json_t *k;
		json_array_foreach(json_object_get(old, "keyids"), i, k) {
			const char *id = json_string_value(k);
			if (!id || !releases || key_used_elsewhere(delegations, id, role, "targets/releases"))
				continue;
			json_t *rk = json_object_get(releases, "keyids");
			for (size_t j = json_array_size(rk); j-- > 0;)
				if (!strcmp(json_string_value(json_array_get(rk, j)) ?: "", id))
					json_array_remove(rk, j);
		}
		if (!pub)
			json_array_remove(json_object_get(delegations, "roles"), idx);
	} else if (!pub) {
		return err_new(EXIT_USAGE, "signer '%s' is not delegated", name);
	}
	if (pub) {
		char id[65];
		TRY(trust_key_id(pub, id));
		json_object_set_new(json_object_get(delegations, "keys"), id, tuf_key_json(pub));
		put_delegation(delegations, role, json_pack("[s]", id));
		releases = find_role(delegations, "targets/releases", NULL);
		if (!releases)
			put_delegation(delegations, "targets/releases", json_pack("[s]", id));
		else if (!array_has(json_object_get(releases, "keyids"), id))
			json_array_append_new(json_object_get(releases, "keyids"), json_string(id));
	}
	releases = find_role(delegations, "targets/releases", &idx);
	if (releases && json_array_size(json_object_get(releases, "keyids")) == 0)
		json_array_remove(json_object_get(delegations, "roles"), idx);
	prune_keys(delegations);
	return NULL;
}

/* A new snapshot: the current one (repo NULL: none yet) with the entries of
 * the files being published replaced, signed by the snapshot key. */
static err_t *local_snapshot(struct trust_repo *repo, struct signer_key *snapshot, const struct notary_file *files,
			     size_t n, time_t now, struct strbuf *out)
{
	json_t *s = repo ? json_deep_copy(repo->snapshot.signed_)
			 : json_pack("{s:s, s:{}, s:i}", "_type", "Snapshot", "meta", "version", 0);
	json_t *meta = json_object_get(s, "meta");
	for (size_t i = 0; i < n; i++)
		json_object_set_new(meta, files[i].role, tuf_meta_entry(files[i].data, files[i].len));
	json_object_set_new(s, "version", json_integer(json_integer_value(json_object_get(s, "version")) + 1));
	set_expires(s, now + (time_t)DCT_TARGETS_DAYS * 86400);
	err_t *e = sign_role(s, snapshot, out);
	json_decref(s);
	return e;
}

/* Whether root names our snapshot key as the snapshot role's (the
 * snapshot is then ours to sign); a root that holds a snapshot key we do
 * not have and the server does not either is the caller's problem. */
static err_t *snapshot_is_local(struct trust_repo *repo, struct signer_key *snapshot, bool *local)
{
	*local = false;
	if (!snapshot)
		return NULL;
	char id[65];
	TRY(trust_key_id(signer_key_public(snapshot), id));
	json_t *ids = json_object_get(json_object_get(json_object_get(repo->root.signed_, "roles"), "snapshot"), "keyids");
	*local = array_has(ids, id);
	return NULL;
}

err_t *dct_init(struct notary *n, struct signer_key *root, struct signer_key *targets, struct signer_key *snapshot,
		const struct dct_signer *signers, size_t count, time_t now, int conflict_retries)
{
	const char *gun = notary_gun(n);
	struct strbuf existing = STRBUF_INIT;
	bool found = false;
	TRY(notary_get_role(n, "root", &existing, &found));
	json_t *rkey = NULL;
	char rid[65];
	err_t *e = root_key_json(root, gun, &rkey, rid);
	if (!e && found) {
		/* already initialised: fine if it is ours (same root key) */
		struct tuf_meta m;
		e = tuf_meta_parse("root", existing.buf, existing.len, &m);
		if (!e) {
			json_t *rk = json_object_get(json_object_get(m.signed_, "roles"), "root");
			json_t *keys = json_object_get(m.signed_, "keys");
			bool ours = false;
			size_t i;
			json_t *k;
			json_array_foreach(json_object_get(rk, "keyids"), i, k) {
				json_t *ko = json_object_get(keys, json_string_value(k) ?: "");
				EVP_PKEY *p = NULL;
				err_t *ke = ko ? tuf_key_public(ko, &p) : NULL;
				if (!ke && p && key_same_public(p, signer_key_public(root)))
					ours = true;
				err_free(ke);
				EVP_PKEY_free(p);
			}
			tuf_meta_release(&m);
			if (!ours)
				e = err_new(EXIT_POLICY, "%s already has trust data with another root key; refusing to overwrite it", gun);
		}
		sb_release(&existing);
		json_decref(rkey);
		for (size_t i = 0; !e && i < count; i++)
			e = dct_set_signer(n, targets, snapshot, signers[i].name, signers[i].pub, now, conflict_retries);
		if (!e)
			log_info("%s already had trust data with this root key; signers updated", gun);
		return e;
	}
	sb_release(&existing);
	json_t *tskey = NULL, *snkey = NULL;
	if (!e)
		e = notary_get_key(n, "timestamp", &tskey);
	if (!e && snapshot)
		snkey = tuf_key_json(signer_key_public(snapshot));
	else if (!e)
		e = notary_get_key(n, "snapshot", &snkey);
	char tsid[65], snid[65], tid[65];
	if (!e)
		e = tuf_key_id(tskey, tsid);
	if (!e)
		e = tuf_key_id(snkey, snid);
	if (!e)
		e = trust_key_id(signer_key_public(targets), tid);
	struct strbuf rootb = STRBUF_INIT, targb = STRBUF_INIT, snapb = STRBUF_INIT;
	json_t *rs = NULL, *ts = NULL;
	if (!e) {
		char exp[32];
		tuf_format_time(now + (time_t)DCT_ROOT_DAYS * 86400, exp);
		rs = json_pack("{s:s, s:b, s:s, s:{s:O, s:o, s:O, s:O}, s:{s:o, s:o, s:o, s:o}, s:i}", "_type", "Root",
			       "consistent_snapshot", 0, "expires", exp, "keys", rid, rkey, tid,
			       tuf_key_json(signer_key_public(targets)), tsid, tskey, snid, snkey, "roles", "root",
			       role_entry(rid), "targets", role_entry(tid), "snapshot", role_entry(snid), "timestamp",
			       role_entry(tsid), "version", 1);
		ts = tuf_new_targets(1, now + (time_t)DCT_TARGETS_DAYS * 86400);
		for (size_t i = 0; !e && i < count; i++)
			e = edit_signer(ts, signers[i].name, signers[i].pub);
	}
	if (!e)
		e = sign_role_as(rs, root, rid, &rootb);
	if (!e)
		e = sign_role(ts, targets, &targb);
	if (!e) {
		struct notary_file files[] = {
			{ "root", rootb.buf, rootb.len },
			{ "targets", targb.buf, targb.len },
			{ "snapshot", NULL, 0 },
		};
		if (snapshot) {
			e = local_snapshot(NULL, snapshot, files, 2, now, &snapb);
			files[2].data = snapb.buf;
			files[2].len = snapb.len;
		}
		if (!e)
			e = notary_publish(n, files, snapshot ? 3 : 2, NULL);
	}
	if (!e)
		log_info("created trust data for %s: root key %.12s, targets key %.12s, %zu signer%s", gun, rid, tid, count,
			 count == 1 ? "" : "s");
	json_decref(rs);
	json_decref(ts);
	json_decref(rkey);
	json_decref(tskey);
	json_decref(snkey);
	sb_release(&rootb);
	sb_release(&targb);
	sb_release(&snapb);
	return e;
}

err_t *dct_set_signer(struct notary *n, struct signer_key *targets, struct signer_key *snapshot, const char *name,
		      EVP_PKEY *pub, time_t now, int conflict_retries)
{
	for (int attempt = 0;; attempt++) {
		struct trust_repo repo;
		err_t *e = trust_repo_load(notary_fetch, n, notary_gun(n), NULL, now, &repo);
		json_t *ts = NULL;
		struct strbuf out = STRBUF_INIT;
		bool conflict = false;
		if (!e) {
			ts = json_deep_copy(repo.targets.signed_);
			json_object_set_new(ts, "version", json_integer(repo.targets.version + 1));
			set_expires(ts, now + (time_t)DCT_TARGETS_DAYS * 86400);
			e = edit_signer(ts, name, pub);
		}
		if (!e)
			e = sign_role(ts, targets, &out);
		struct strbuf snapb = STRBUF_INIT;
		if (!e) {
			struct notary_file f[2] = { { "targets", out.buf, out.len }, { "snapshot", NULL, 0 } };
			bool local = false;
			e = snapshot_is_local(&repo, snapshot, &local);
			if (!e && local) {
				e = local_snapshot(&repo, snapshot, f, 1, now, &snapb);
				f[1].data = snapb.buf;
				f[1].len = snapb.len;
			}
			if (!e)
				e = notary_publish(n, f, local ? 2 : 1, &conflict);
		}
		sb_release(&snapb);
		json_decref(ts);
		sb_release(&out);
		trust_repo_release(&repo);
		if (e && (conflict || trust_error_inconsistent(e)) && attempt < conflict_retries) {
			log_warn("%s: another writer published first; retrying", notary_gun(n));
			err_free(e);
			conflict_pause(attempt);
			continue;
		}
		return e;
	}
}

struct role_update {
	char *role;
	struct strbuf bytes;
};

/* The manifest's length: from a target of this verified role with the
 * same sha256 (the same bytes, so the same length: a re-sign need not
 * wait for the registry), else from the request's callback. */
static err_t *resolve_length(const struct dct_sign_request *req, const json_t *signed_, int64_t *length)
{
	if (*length >= 0)
		return NULL;
	const char *name;
	json_t *t;
	json_object_foreach(json_object_get(signed_, "targets"), name, t) {
		json_t *len = json_object_get(t, "length");
		if (tuf_target_matches(t, req->sha256) && json_is_integer(len) && json_integer_value(len) >= 0) {
			*length = json_integer_value(len);
			return NULL;
		}
	}
	return req->length_fn(req->length_ctx, length);
}

static err_t *prepare_role(struct trust_repo *repo, const char *role, const char *keyid,
			   const struct dct_sign_request *req, int64_t *length, bool *delegated, struct strbuf *out)
{
	struct signer_key *key = req->key;
	const char *tag = req->tag;
	time_t now = req->now;
	struct tuf_meta m = { 0 };
	bool found = false;
	const json_t *delegation = NULL;
	err_t *e = trust_repo_role(repo, role, &m, &found, &delegation);
	/* the ID the delegation lists for our key: its own, or that of a
	 * certificate of it (delegations the notary CLI adds) */
	char listed[65] = "";
	const json_t *dkeys = json_object_get(json_object_get(repo->targets.signed_, "delegations"), "keys");
	*delegated = delegation && tuf_find_key(dkeys, json_object_get(delegation, "keyids"), keyid, listed, NULL);
	json_int_t stale_version = 0;
	if (e && *delegated && err_is(e, ERR_KIND_SIGNATURE)) {
		/* signed by keys the delegation no longer lists (a rotated signer
		 * key) or tampered: never re-sign what does not verify; start the
		 * role afresh above the server's version */
		struct strbuf raw = STRBUF_INIT;
		bool there = false;
		struct tuf_meta old;
		err_t *fe = repo->fetch(repo->ctx, role, &raw, &there);
		if (!fe && there)
			fe = tuf_meta_parse(role, raw.buf, raw.len, &old);
		if (!fe && there) {
			stale_version = old.version;
			tuf_meta_release(&old);
		}
		err_free(fe);
		sb_release(&raw);
		log_warn("%s does not verify with its current keys (rotated signer key?); starting it afresh at version %lld",
			 role, (long long)stale_version + 1);
		err_free(e);
		e = NULL;
		found = false;
	}
	if (e || !*delegated) {
		if (found)
			tuf_meta_release(&m);
		return e;
	}
	if (!tuf_path_allowed(delegation, tag)) {
		if (found)
			tuf_meta_release(&m);
		return err_new(EXIT_POLICY, "%s may not sign target '%s' (delegation paths)", role, tag);
	}
	e = resolve_length(req, found ? m.signed_ : NULL, length);
	if (e) {
		if (found)
			tuf_meta_release(&m);
		return e;
	}
	json_t *signed_ = found ? json_deep_copy(m.signed_) : tuf_new_targets(0, now);
	json_int_t version = found ? m.version : stale_version;
	if (found)
		tuf_meta_release(&m);
	json_t *targets = json_object_get(signed_, "targets");
	if (!json_is_object(targets)) {
		targets = json_object();
		json_object_set_new(signed_, "targets", targets);
	}
	json_object_set_new(targets, tag, tuf_target_entry(req->sha256, *length));
	json_object_set_new(signed_, "version", json_integer(version + 1));
	set_expires(signed_, now + (time_t)DCT_TARGETS_DAYS * 86400);
	e = sign_role_as(signed_, key, listed, out);
	json_decref(signed_);
	return e;
}

struct remember_job {
	struct trust_repo *repo;
	const struct notary_file *files;
	size_t count;
	err_t *err;
};

static void *remember(void *arg)
{
	struct remember_job *job = arg;
	for (size_t i = 0; i < job->count; i++)
		trust_repo_cache_published(job->repo, job->files[i].role, job->files[i].data, job->files[i].len);
	job->err = trust_repo_commit(job->repo);
	return NULL;
}

/* Publish files; with a state dir, remember the versions seen and cache
 * the files while the server works on the update. Caching files that end
 * up refused is harmless: a cached role is only used when a fresh
 * snapshot names exactly its bytes. */
static err_t *publish_remembering(struct notary *n, struct trust_repo *repo, const struct notary_file *files,
				  size_t count, bool *conflict)
{
	struct remember_job job = { repo, files, count, NULL };
	pthread_t t;
	bool threaded = repo->state_dir && !pthread_create(&t, NULL, remember, &job);
	if (repo->state_dir && !threaded)
		remember(&job);
	err_t *e = notary_publish(n, files, count, conflict);
	if (threaded)
		pthread_join(t, NULL);
	if (job.err) /* only the state dir's memory: the update stands */
		log_warn("%s: %s", notary_gun(n), job.err->msg);
	err_free(job.err);
	return e;
}

err_t *dct_sign(struct notary *n, const struct dct_sign_request *req, char **roles)
{
	const char *signer = req->signer;
	int64_t length = -1;
	char keyid[65];
	TRY(trust_key_id(signer_key_public(req->key), keyid));
	_cleanup_free_ char *own = xasprintf("targets/%s", signer);
	bool gated = !req->before_publish;
	for (int attempt = 0;; attempt++) {
		struct trust_repo repo;
		struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
		bool delegated = false, rel = false, conflict = false;
		if (!req->state_dir || !*req->state_dir) {
			/* nothing cached: every role this signing reads is asked for
			 * at once (by name, as the sequential reads would); the
			 * answers are verified below in TUF order, as fetched ones */
			const char *want[] = { "root", "timestamp", "snapshot", "targets", own, "targets/releases" };
			notary_prefetch_roles(n, want, req->with_releases ? 6 : 5);
		}
		err_t *e = trust_repo_load(notary_fetch, n, notary_gun(n), req->state_dir, req->now, &repo);
		if (!e)
			e = prepare_role(&repo, own, keyid, req, &length, &delegated, &a);
		if (!e && !delegated)
			e = err_new(EXIT_POLICY,
				    "key %.12s of signer '%s' is not delegated as %s in %s (run dct-init --action=add-signer)",
				    keyid, signer, own, notary_gun(n));
		if (!e && req->with_releases) {
			e = prepare_role(&repo, "targets/releases", keyid, req, &length, &rel, &b);
			if (e && e->code == EXIT_POLICY && !find_role(json_object_get(repo.targets.signed_, "delegations"),
								      "targets/releases", NULL)) {
				err_free(e); /* no releases role: only the signer's own */
				e = NULL;
				rel = false;
			}
		}
		struct strbuf snapb = STRBUF_INIT;
		if (!e) {
			struct notary_file files[3] = { { own, a.buf, a.len }, { "targets/releases", b.buf, b.len },
							{ "snapshot", NULL, 0 } };
			size_t nf = rel ? 2 : 1;
			bool local = false;
			e = snapshot_is_local(&repo, req->snapshot, &local);
			if (!e && local) {
				e = local_snapshot(&repo, req->snapshot, files, nf, req->now, &snapb);
				files[nf].data = snapb.buf;
				files[nf].len = snapb.len;
			}
			nf += local ? 1 : 0;
			if (!e && !gated) {
				gated = true;
				e = req->before_publish(req->before_publish_ctx);
			}
			if (!e)
				e = publish_remembering(n, &repo, files, nf, &conflict);
			if (e && !conflict && !req->snapshot && err_is(e, ERR_KIND_REJECTED))
				e = err_wrap(e, "the server did not accept the update without a snapshot; if %s signs its "
						"snapshots locally, give the vault's snapshot key", notary_gun(n));
		}
		sb_release(&snapb);
		trust_repo_release(&repo);
		sb_release(&a);
		sb_release(&b);
		if (e && (conflict || trust_error_inconsistent(e)) && attempt < req->conflict_retries) {
			log_warn("%s: another signer published first; re-reading and retrying", notary_gun(n));
			err_free(e);
			conflict_pause(attempt);
			continue;
		}
		if (!e && roles)
			*roles = rel ? xasprintf("%s,targets/releases", own) : xstrdup(own);
		return e;
	}
}
