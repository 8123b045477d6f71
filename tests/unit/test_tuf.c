/* TUF model and chain verification (common/tuf, common/trust_verify): a
 * repository is built in memory with our own keys, then broken one rule at
 * a time; every rule must be caught with a message naming it. */
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "b64.h"
#include "fsutil.h"
#include "jsonutil.h"
#include "keys.h"
#include "testing.h"
#include "trust_verify.h"
#include "tuf.h"
#include "xalloc.h"

#define DIGEST_A "sha256:7abe730d8933f3f50dfd2b5e4d8be28fb52cad62481446b6f59860f6be7bed09"
#define DIGEST_B "sha256:73cb3858a687a8494ca3323053016282f3dad39d42cf62ca4e79dda2aac7d9ac"

enum { K_ROOT, K_ROOT2, K_TARGETS, K_SNAPSHOT, K_TIMESTAMP, K_BUILD, K_VALIDATION, K_EVIL, NKEYS };
static EVP_PKEY *keys[NKEYS];
static char ids[NKEYS][65];

#define NROLES 6
static const char *role_names[NROLES] = { "root", "targets", "snapshot", "timestamp", "targets/build",
					  "targets/validation" };

struct repo {
	struct strbuf files[NROLES];
	bool present[NROLES];
};

static void setup_keys(void)
{
	if (keys[0])
		return;
	for (int i = 0; i < NKEYS; i++) {
		err_t *e = key_generate_p256(&keys[i]);
		CHECK(!e);
		CHECK(!trust_key_id(keys[i], ids[i]));
	}
}

static err_t *sign_cb(void *ctx, const void *data, size_t len, struct strbuf *raw)
{
	return key_sign(ctx, data, len, SIG_RAW_RS, raw);
}

static void sign_into(json_t *signed_, const int *kidx, const char *const *as_ids, size_t n, struct strbuf *out)
{
	struct tuf_signer s[4];
	for (size_t i = 0; i < n; i++)
		s[i] = (struct tuf_signer){ as_ids ? as_ids[i] : ids[kidx[i]], sign_cb, keys[kidx[i]] };
	sb_reset(out);
	err_t *e = tuf_sign(signed_, s, n, out);
	CHECK(!e);
	err_free(e);
}

static char *expiry(long days)
{
	char buf[32];
	tuf_format_time(time(NULL) + days * 86400, buf);
	return xstrdup(buf);
}

static json_t *targets_with(const char *digest_hex_str, json_int_t version, long days)
{
	unsigned char d[32];
	for (int i = 0; i < 32; i++) {
		unsigned int b;
		sscanf(digest_hex_str + 7 + 2 * i, "%2x", &b);
		d[i] = (unsigned char)b;
	}
	char *exp = expiry(days);
	json_t *t = tuf_new_targets(version, time(NULL) + days * 86400);
	json_object_set_new(json_object_get(t, "targets"), "v1", tuf_target_entry(d, 1234));
	free(exp);
	return t;
}

struct opts {
	long ts_days;
	json_int_t ts_version;
	int root_threshold;
	const char *build_digest;
	bool no_validation;
	bool evil_build; /* targets/build signed by another key under build's ID */
	const char *root_cert_cn; /* root key as "ecdsa-x509": a certificate for this CN ... */
	long root_cert_days;      /* ... valid from an hour ago for this many days */
	/* versions and expiry (days from now) of the other roles; 0: default */
	json_int_t snap_version, targets_version, build_version;
	long snap_days, targets_days, build_days;
	/* the targets/build delegation: threshold (0: 1, TH_ZERO: 0), its key
	 * ID listed twice, its key ID mapped to the EVIL key (which signs),
	 * the paths it may sign (default: all) */
	int build_threshold;
	bool build_keyid_twice;
	bool build_key_evil;
	bool build_other_signs; /* EVIL listed beside build (threshold 1) and the only signer */
	const char *build_paths;
	void (*edit_snapshot_meta)(json_t *meta); /* before the snapshot is signed */
	/* a forged root: lists the real root key beside K_EVIL, threshold
	 * 1, signed by K_EVIL only (snapshot and timestamp keys kept) */
	bool forged_root;
	/* a forged root that lists the real root key's ID for K_EVIL's key
	 * object, and K_EVIL; K_EVIL signs under both IDs */
	bool swapped_root;
	bool build_cert; /* targets/build delegated to a certificate (ecdsa-x509) */
	/* the build key listed twice under two IDs, bare and as a certificate
	 * (same public key), and targets/build signed by it under both */
	bool build_key_two_forms;
	/* the root key listed twice the same way, and root signed under both */
	bool root_key_two_forms;
};
#define TH_ZERO (-1)

/* Notary's form of a root key: a self-signed certificate ("ecdsa-x509"). */
static json_t *cert_key_json(EVP_PKEY *k, const char *cn, long days)
{
	X509 *x = X509_new();
	CHECK(x && X509_set_version(x, 2) && ASN1_INTEGER_set(X509_get_serialNumber(x), 1));
	CHECK(X509_gmtime_adj(X509_getm_notBefore(x), -3600) && X509_gmtime_adj(X509_getm_notAfter(x), days * 86400));
	X509_NAME *n = X509_get_subject_name(x);
	CHECK(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0));
	CHECK(X509_set_issuer_name(x, n) && X509_set_pubkey(x, k) && X509_sign(x, k, EVP_sha256()) > 0);
	BIO *bio = BIO_new(BIO_s_mem());
	CHECK(PEM_write_bio_X509(bio, x));
	char *pem = NULL;
	long len = BIO_get_mem_data(bio, &pem);
	struct strbuf b64 = STRBUF_INIT;
	b64_encode(pem, (size_t)len, &b64);
	json_t *j = json_pack("{s:s, s:{s:s, s:n}}", "keytype", "ecdsa-x509", "keyval", "public", sb_str(&b64), "private");
	sb_release(&b64);
	BIO_free(bio);
	X509_free(x);
	return j;
}

static void build_repo(struct repo *r, const struct opts *o)
{
	setup_keys();
	memset(r, 0, sizeof *r);
	char *e10 = expiry(3650), *e3 = expiry(1000), *ets = expiry(o->ts_days ? o->ts_days : 14);
	/* root */
	json_t *jkeys = json_object();
	for (int i = K_ROOT; i <= K_TIMESTAMP; i++)
		json_object_set_new(jkeys, ids[i], tuf_key_json(keys[i]));
	char root_id[65];
	memcpy(root_id, ids[K_ROOT], sizeof root_id);
	if (o->root_cert_cn) {
		json_t *ck = cert_key_json(keys[K_ROOT], o->root_cert_cn, o->root_cert_days);
		CHECK(!tuf_key_id(ck, root_id));
		json_object_del(jkeys, ids[K_ROOT]);
		json_object_set_new(jkeys, root_id, ck);
	}
	json_t *root = json_pack("{s:s, s:b, s:s, s:o, s:{s:{s:[s,s], s:i}, s:{s:[s], s:i}, s:{s:[s], s:i}, s:{s:[s], s:i}}, s:i}",
				 "_type", "Root", "consistent_snapshot", 0, "expires", e10, "keys", jkeys, "roles", "root",
				 "keyids", root_id, ids[K_ROOT2], "threshold", o->root_threshold ? o->root_threshold : 1,
				 "targets", "keyids", ids[K_TARGETS], "threshold", 1, "snapshot", "keyids", ids[K_SNAPSHOT],
				 "threshold", 1, "timestamp", "keyids", ids[K_TIMESTAMP], "threshold", 1, "version", 1);
	int rk[] = { K_ROOT, K_EVIL };
	const char *rid[] = { root_id, ids[K_EVIL] };
	size_t nrk = 1;
	char root_cert_id[65];
	if (o->root_key_two_forms) {
		json_t *ck = cert_key_json(keys[K_ROOT], "127.0.0.1:5000/app", 30);
		CHECK(!tuf_key_id(ck, root_cert_id));
		json_object_set_new(jkeys, root_cert_id, ck);
		json_object_set_new(json_object_get(json_object_get(root, "roles"), "root"), "keyids",
				    json_pack("[s,s]", root_id, root_cert_id));
		rk[1] = K_ROOT;
		rid[1] = root_cert_id;
		nrk = 2;
	}
	if (o->forged_root || o->swapped_root) {
		json_t *rr = json_object_get(json_object_get(root, "roles"), "root");
		json_object_set_new(rr, "keyids", json_pack("[s,s]", root_id, ids[K_EVIL]));
		json_object_set_new(jkeys, ids[K_EVIL], tuf_key_json(keys[K_EVIL]));
		rk[0] = K_EVIL;
		nrk = 1 + o->swapped_root;
		if (o->swapped_root)
			json_object_set_new(jkeys, root_id, tuf_key_json(keys[K_EVIL]));
		else
			rid[0] = ids[K_EVIL];
	}
	sign_into(root, rk, rid, nrk, &r->files[0]);
	/* targets with delegations */
	json_t *targets = tuf_new_targets(o->targets_version ? o->targets_version : 2,
					  time(NULL) + (o->targets_days ? o->targets_days : 1000) * 86400);
	json_t *del = json_object_get(targets, "delegations");
	char build_id[65];
	memcpy(build_id, ids[K_BUILD], sizeof build_id);
	if (o->build_cert) {
		json_t *ck = cert_key_json(keys[K_BUILD], "build", 365);
		CHECK(!tuf_key_id(ck, build_id));
		json_object_set_new(json_object_get(del, "keys"), build_id, ck);
	} else {
		json_object_set_new(json_object_get(del, "keys"), ids[K_BUILD],
				    tuf_key_json(keys[o->build_key_evil ? K_EVIL : K_BUILD]));
	}
	json_object_set_new(json_object_get(del, "keys"), ids[K_VALIDATION], tuf_key_json(keys[K_VALIDATION]));
	json_t *bkeyids = json_pack("[s]", build_id);
	char build_cert_id[65];
	if (o->build_key_two_forms) {
		json_t *ck = cert_key_json(keys[K_BUILD], "build", 365);
		CHECK(!tuf_key_id(ck, build_cert_id));
		json_object_set_new(json_object_get(del, "keys"), build_cert_id, ck);
		json_array_append_new(bkeyids, json_string(build_cert_id));
	}
	if (o->build_keyid_twice)
		json_array_append_new(bkeyids, json_string(build_id));
	if (o->build_other_signs) {
		json_array_append_new(bkeyids, json_string(ids[K_EVIL]));
		json_object_set_new(json_object_get(del, "keys"), ids[K_EVIL], tuf_key_json(keys[K_EVIL]));
	}
	json_array_append_new(json_object_get(del, "roles"),
			      json_pack("{s:o, s:s, s:[s], s:i}", "keyids", bkeyids, "name", "targets/build", "paths",
					o->build_paths ? o->build_paths : "", "threshold",
					o->build_threshold == TH_ZERO ? 0 : o->build_threshold ? o->build_threshold : 1));
	json_array_append_new(json_object_get(del, "roles"),
			      json_pack("{s:[s], s:s, s:[s], s:i}", "keyids", ids[K_VALIDATION], "name",
					"targets/validation", "paths", "", "threshold", 1));
	int tk[] = { K_TARGETS };
	sign_into(targets, tk, NULL, 1, &r->files[1]);
	/* delegated roles */
	json_t *b = targets_with(o->build_digest ? o->build_digest : DIGEST_A, o->build_version ? o->build_version : 1,
				 o->build_days ? o->build_days : 1000);
	int bk[] = { o->evil_build || o->build_key_evil || o->build_other_signs ? K_EVIL : K_BUILD, K_BUILD };
	const char *bid[] = { o->build_other_signs ? ids[K_EVIL] : build_id, build_cert_id };
	sign_into(b, bk, bid, o->build_key_two_forms ? 2 : 1, &r->files[4]);
	json_t *v = targets_with(DIGEST_A, 1, 1000);
	int vk[] = { K_VALIDATION };
	sign_into(v, vk, NULL, 1, &r->files[5]);
	r->present[0] = r->present[1] = r->present[2] = r->present[3] = r->present[4] = true;
	r->present[5] = !o->no_validation;
	/* snapshot over what is present, timestamp over snapshot */
	json_t *meta = json_object();
	json_object_set_new(meta, "root", tuf_meta_entry(r->files[0].buf, r->files[0].len));
	json_object_set_new(meta, "targets", tuf_meta_entry(r->files[1].buf, r->files[1].len));
	json_object_set_new(meta, "targets/build", tuf_meta_entry(r->files[4].buf, r->files[4].len));
	if (r->present[5])
		json_object_set_new(meta, "targets/validation", tuf_meta_entry(r->files[5].buf, r->files[5].len));
	if (o->edit_snapshot_meta)
		o->edit_snapshot_meta(meta);
	char *esnap = o->snap_days ? expiry(o->snap_days) : xstrdup(e3);
	json_t *snap = json_pack("{s:s, s:s, s:o, s:I}", "_type", "Snapshot", "expires", esnap, "meta", meta, "version",
				 o->snap_version ? o->snap_version : (json_int_t)3);
	free(esnap);
	int sk[] = { K_SNAPSHOT };
	sign_into(snap, sk, NULL, 1, &r->files[2]);
	json_t *ts = json_pack("{s:s, s:s, s:{s:o}, s:I}", "_type", "Timestamp", "expires", ets, "meta", "snapshot",
			       tuf_meta_entry(r->files[2].buf, r->files[2].len), "version",
			       o->ts_version ? o->ts_version : (json_int_t)4);
	int tsk[] = { K_TIMESTAMP };
	sign_into(ts, tsk, NULL, 1, &r->files[3]);
	json_decref(root);
	json_decref(targets);
	json_decref(b);
	json_decref(v);
	json_decref(snap);
	json_decref(ts);
	free(e10);
	free(e3);
	free(ets);
}

static void release_repo(struct repo *r)
{
	for (int i = 0; i < NROLES; i++)
		sb_release(&r->files[i]);
}

static struct strbuf fetched = STRBUF_INIT; /* roles fetched, space-separated */

static err_t *mem_fetch(void *ctx, const char *role, struct strbuf *out, bool *found)
{
	struct repo *r = ctx;
	sb_addf(&fetched, "%s ", role);
	*found = false;
	for (int i = 0; i < NROLES; i++) {
		if (!strcmp(role, role_names[i]) && r->present[i]) {
			sb_add(out, r->files[i].buf, r->files[i].len);
			*found = true;
		}
	}
	return NULL;
}

/* Verify two signers (keys pinned unless pinned is false); returns the
 * chain error (NULL if the chain holds) and fills verdicts. */
static err_t *verify(struct repo *r, const char *state, const char *digest, struct trust_verdict v[2], int pin_build)
{
	struct trust_repo tr;
	err_t *e = trust_repo_load(mem_fetch, r, "127.0.0.1:5000/app", state, time(NULL), &tr);
	if (!e) {
		struct trust_signer s[2] = { { "build", pin_build ? keys[pin_build] : NULL },
					     { "validation", keys[K_VALIDATION] } };
		trust_verify_signers(&tr, digest, s, 2, v);
		e = trust_repo_commit(&tr);
	}
	trust_repo_release(&tr);
	return e;
}

static bool msg_has(const err_t *e, const char *needle)
{
	char *d = e ? err_describe(e) : xstrdup("");
	bool ok = strstr(d, needle) != NULL;
	if (!ok)
		fprintf(stderr, "  message '%s' lacks '%s'\n", d, needle);
	free(d);
	return ok;
}

static void remove_tree(const char *dir)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

/* Loading with the state dir, 'days' from now, is refused for 'why'. */
static void refused_later(struct repo *r, const char *dir, long days, const char *why)
{
	struct trust_repo tr;
	err_t *e = trust_repo_load(mem_fetch, r, "127.0.0.1:5000/app", dir, time(NULL) + days * 86400, &tr);
	CHECK(e && e->code == EXIT_POLICY && msg_has(e, why));
	err_free(e);
	trust_repo_release(&tr);
}

static bool reason_has(const struct trust_verdict *v, const char *needle)
{
	bool ok = v->reason && strstr(v->reason, needle);
	if (!ok)
		fprintf(stderr, "  verdict '%s' lacks '%s'\n", v->reason ? v->reason : "", needle);
	return ok;
}

static void test_valid_two_signers(void)
{
	struct repo r;
	build_repo(&r, &(struct opts){ 0 });
	struct trust_verdict v[2] = { 0 };
	err_t *e = verify(&r, NULL, DIGEST_A, v, K_BUILD);
	CHECK(!e);
	CHECK(v[0].ok && v[1].ok);
	CHECK(reason_has(&v[0], "tag 'v1' in targets/build"));
	trust_verdict_release(&v[0]);
	trust_verdict_release(&v[1]);
	err_free(e);
	release_repo(&r);
}

static void test_tampered_target_hash(void)
{
	struct repo r;
	build_repo(&r, &(struct opts){ 0 });
	/* flip one character inside the base64 target hash */
	char *p = strstr(r.files[4].buf, "\"sha256\":\"");
	CHECK(p);
	p[10] = p[10] == 'A' ? 'B' : 'A';
	struct trust_verdict v[2] = { 0 };
	err_t *e = verify(&r, NULL, DIGEST_A, v, K_BUILD);
	CHECK(!e);
	CHECK(!v[0].ok && v[1].ok);
	CHECK(reason_has(&v[0], "does not match the snapshot"));
	trust_verdict_release(&v[0]);
	trust_verdict_release(&v[1]);
	release_repo(&r);
}

static void test_forged_signature(void)
{
	struct repo r;
	build_repo(&r, &(struct opts){ .evil_build = true });
	struct trust_verdict v[2] = { 0 };
	err_t *e = verify(&r, NULL, DIGEST_A, v, 0);
	CHECK(!e);
	CHECK(!v[0].ok && v[1].ok);
	CHECK(reason_has(&v[0], "does not verify"));
	trust_verdict_release(&v[0]);
	trust_verdict_release(&v[1]);
	release_repo(&r);
}

static void test_wrong_key(void)
{
	struct repo r;
	build_repo(&r, &(struct opts){ 0 });
	struct trust_verdict v[2] = { 0 };
	err_t *e = verify(&r, NULL, DIGEST_A, v, K_EVIL);
	CHECK(!e);
	CHECK(!v[0].ok && v[1].ok);
	CHECK(reason_has(&v[0], "wrong key"));
	trust_verdict_release(&v[0]);
	trust_verdict_release(&v[1]);
	release_repo(&r);
}

static void test_expired_timestamp(void)
{
	struct repo r;
	build_repo(&r, &(struct opts){ .ts_days = -1 });
	struct trust_verdict v[2] = { 0 };
	err_t *e = verify(&r, NULL, DIGEST_A, v, K_BUILD);
	CHECK(e && e->code == EXIT_POLICY);
	CHECK(msg_has(e, "timestamp.json expired"));
	CHECK(err_is(e, ERR_KIND_EXPIRED) && !err_is(e, ERR_KIND_ROLLBACK));
	err_free(e);
	release_repo(&r);
}

static void test_rollback(void)
{
	char dir[] = "/tmp/test_tuf_XXXXXX";
	CHECK(mkdtemp(dir));
	struct repo r;
	struct trust_verdict v[2] = { 0 };
	build_repo(&r, &(struct opts){ .ts_version = 9 });
	err_t *e = verify(&r, dir, DIGEST_A, v, K_BUILD);
	CHECK(!e);
	trust_verdict_release(&v[0]);
	trust_verdict_release(&v[1]);
	release_repo(&r);
	/* same root, older timestamp: refused */
	build_repo(&r, &(struct opts){ .ts_version = 5 });
	e = verify(&r, dir, DIGEST_A, v, K_BUILD);
	CHECK(e && e->code == EXIT_POLICY);
	CHECK(e && msg_has(e, "rollback"));
	CHECK(err_is(e, ERR_KIND_ROLLBACK) && !err_is(e, ERR_KIND_EXPIRED));
	err_free(e);
	release_repo(&r);
	remove_tree(dir);
}

/* Warm state dir: only the timestamp is fetched when nothing changed; a
 * cached file that no longer matches its hash in the fresh parent is
 * fetched again, never trusted. */
static void test_warm_cache(void)
{
	char dir[] = "/tmp/test_tuf_XXXXXX";
	CHECK(mkdtemp(dir));
	struct repo r;
	struct trust_verdict v[2] = { 0 };
	build_repo(&r, &(struct opts){ 0 });
	err_t *e = verify(&r, dir, DIGEST_A, v, K_BUILD);
	CHECK(!e && v[0].ok && v[1].ok);
	trust_verdict_release(&v[0]);
	trust_verdict_release(&v[1]);
	sb_release(&fetched);
	e = verify(&r, dir, DIGEST_A, v, K_BUILD);
	CHECK(!e && v[0].ok && v[1].ok);
	CHECK_STR(sb_str(&fetched), "timestamp ");
	trust_verdict_release(&v[0]);
	trust_verdict_release(&v[1]);
	/* the cached targets/build altered: fetched again, still verified */
	char path[256];
	snprintf(path, sizeof path, "%s/127.0.0.1%%3A5000%%2Fapp_cache.targets%%2Fbuild.json", dir);
	struct strbuf bad = STRBUF_INIT;
	sb_add(&bad, r.files[4].buf, r.files[4].len);
	char *p = strstr(bad.buf, "\"sha256\":\"");
	CHECK(p);
	if (p)
		p[10] = p[10] == 'A' ? 'B' : 'A';
	FILE *f = fopen(path, "wb");
	CHECK(f && fwrite(bad.buf, 1, bad.len, f) == bad.len);
	if (f)
		fclose(f);
	sb_release(&bad);
	sb_release(&fetched);
	e = verify(&r, dir, DIGEST_A, v, K_BUILD);
	CHECK(!e && v[0].ok && v[1].ok);
	CHECK_STR(sb_str(&fetched), "timestamp targets/build ");
	trust_verdict_release(&v[0]);
	trust_verdict_release(&v[1]);
	sb_release(&fetched);
	release_repo(&r);
	remove_tree(dir);
}

/* The state dir never says that something verified: a warm run checks
 * every signature again, and a memo planted beside the cache (the
 * verified.json the state dir once kept, under its old and new names,
 * claiming every check and a verdict passed) changes nothing. */
static unsigned long checks_in(struct repo *r, const char *dir, bool *ok)
{
	struct trust_verdict v[2] = { 0 };
	unsigned long before = tuf_signature_checks();
	err_t *e = verify(r, dir, DIGEST_A, v, K_BUILD);
	*ok = !e && v[0].ok && v[1].ok;
	err_free(e);
	trust_verdict_release(&v[0]);
	trust_verdict_release(&v[1]);
	return tuf_signature_checks() - before;
}

static void write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "wb");
	CHECK(f && fwrite(data, 1, strlen(data), f) == strlen(data));
	if (f)
		fclose(f);
}

static void test_no_verified_memory(void)
{
	char dir[] = "/tmp/test_tuf_XXXXXX";
	CHECK(mkdtemp(dir));
	struct repo r;
	build_repo(&r, &(struct opts){ 0 });
	bool ok = false;
	unsigned long full = checks_in(&r, dir, &ok);
	CHECK(ok && full >= 7); /* root, timestamp, snapshot, targets, 2 delegations, pinned key */
	CHECK(checks_in(&r, dir, &ok) == full && ok); /* warm: the same checks */
	release_repo(&r);
	/* forged targets/build, with every check claimed as passed */
	build_repo(&r, &(struct opts){ .evil_build = true });
	static const char *const names[] = { "127.0.0.1_5000_app.verified.json", "127.0.0.1%3A5000%2Fapp_verified.json" };
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		char path[256];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		write_file(path, "{\"verdict any\": {\"reason\": \"planted\", \"expires\": 4102444800}}");
	}
	for (int run = 0; run < 2; run++) {
		struct trust_verdict v[2] = { 0 };
		err_t *e = verify(&r, dir, DIGEST_A, v, 0);
		CHECK(!e && !v[0].ok && v[1].ok);
		CHECK(reason_has(&v[0], "does not verify"));
		err_free(e);
		trust_verdict_release(&v[0]);
		trust_verdict_release(&v[1]);
	}
	release_repo(&r);
	sb_release(&fetched);
	remove_tree(dir);
}

/* A root key's certificate: its dates and CN are checked every time, cold
 * and warm: a later 'now' past notAfter refuses. */
static void test_root_certificate_memory(void)
{
	char dir[] = "/tmp/test_tuf_XXXXXX";
	CHECK(mkdtemp(dir));
	struct repo r;
	build_repo(&r, &(struct opts){ .root_cert_cn = "127.0.0.1:5000/app", .root_cert_days = 30 });
	struct trust_verdict v[2] = { 0 };
	for (int run = 0; run < 2; run++) { /* cold, then warm */
		err_t *e = verify(&r, dir, DIGEST_A, v, K_BUILD);
		CHECK(!e && v[0].ok && v[1].ok);
		err_free(e);
		trust_verdict_release(&v[0]);
		trust_verdict_release(&v[1]);
		memset(v, 0, sizeof v);
	}
	refused_later(&r, dir, 31, "root key certificate for '127.0.0.1:5000/app' has expired");
	release_repo(&r);
	err_t *e;
	/* a certificate for another repository: refused, cold and warm */
	build_repo(&r, &(struct opts){ .root_cert_cn = "127.0.0.1:5000/other", .root_cert_days = 30 });
	for (int run = 0; run < 2; run++) {
		e = verify(&r, dir, DIGEST_A, v, K_BUILD);
		CHECK(e && e->code == EXIT_POLICY && msg_has(e, "is for '127.0.0.1:5000/other'"));
		err_free(e);
	}
	release_repo(&r);
	remove_tree(dir);
}

static void test_root_change_needs_old_keys(void)
{
	char dir[] = "/tmp/test_tuf_XXXXXX";
	CHECK(mkdtemp(dir));
	struct repo r;
	struct trust_verdict v[2] = { 0 };
	build_repo(&r, &(struct opts){ 0 });
	err_t *e = verify(&r, dir, DIGEST_A, v, K_BUILD);
	CHECK(!e);
	trust_verdict_release(&v[0]);
	trust_verdict_release(&v[1]);
	release_repo(&r);
	/* a new root made with other keys: not signed by the trusted root */
	EVP_PKEY *saved = keys[K_ROOT];
	char saved_id[65];
	memcpy(saved_id, ids[K_ROOT], 65);
	CHECK(!key_generate_p256(&keys[K_ROOT]));
	CHECK(!trust_key_id(keys[K_ROOT], ids[K_ROOT]));
	build_repo(&r, &(struct opts){ 0 });
	e = verify(&r, dir, DIGEST_A, v, K_BUILD);
	CHECK(e && e->code == EXIT_POLICY);
	CHECK(e && msg_has(e, "previously trusted root"));
	err_free(e);
	release_repo(&r);
	EVP_PKEY_free(keys[K_ROOT]);
	keys[K_ROOT] = saved;
	memcpy(ids[K_ROOT], saved_id, 65);
	remove_tree(dir);
}

static void test_root_threshold(void)
{
	struct repo r;
	build_repo(&r, &(struct opts){ .root_threshold = 2 });
	struct trust_verdict v[2] = { 0 };
	err_t *e = verify(&r, NULL, DIGEST_A, v, K_BUILD);
	CHECK(e && e->code == EXIT_POLICY);
	CHECK(e && msg_has(e, "root: 1 of 2 required signatures"));
	CHECK(err_is(e, ERR_KIND_SIGNATURE));
	err_free(e);
	release_repo(&r);
}

/* Load the repository and check root pins (any one of pins). */
static err_t *load_pinned(struct repo *r, const char *const *pins, size_t n)
{
	struct trust_repo tr;
	err_t *e = trust_repo_load(mem_fetch, r, "127.0.0.1:5000/app", NULL, time(NULL), &tr);
	if (!e)
		e = trust_repo_check_pins(&tr, pins, n);
	trust_repo_release(&tr);
	return e;
}

static void pin_ok(struct repo *r, const char *pin)
{
	const char *pins[] = { ids[K_VALIDATION], pin }; /* any one of them */
	err_t *e = load_pinned(r, pins, 2);
	if (e) {
		char *d = err_describe(e);
		fprintf(stderr, "  pin %.12s refused: %s\n", pin, d);
		free(d);
	}
	CHECK(!e);
	err_free(e);
}

static void pin_refused(struct repo *r, const char *pin, const char *why)
{
	err_t *e = load_pinned(r, &pin, 1);
	CHECK(e && e->code == EXIT_POLICY);
	CHECK(e && msg_has(e, "not signed by a pinned root key"));
	CHECK(e && msg_has(e, why));
	err_free(e);
}

/* The pinned key ID root.json lists for its first root key. */
static void listed_root_id(const struct repo *r, char out[65])
{
	json_t *doc = NULL;
	CHECK(!json_parse(r->files[0].buf, r->files[0].len, "root", &doc));
	const char *id = json_string_value(json_array_get(
		json_object_get(json_object_get(json_object_get(json_object_get(doc, "signed"), "roles"), "root"), "keyids"), 0));
	CHECK(id && strlen(id) == 64);
	snprintf(out, 65, "%s", id ? id : "");
	json_decref(doc);
}

/* A pin means "signed by", not "listed": the forged root of issue 12
 * lists the real (pinned) root key beside the attacker's, threshold 1,
 * and carries only the attacker's signature. */
static void test_root_pin_needs_signature(void)
{
	struct repo r;
	build_repo(&r, &(struct opts){ 0 });
	pin_ok(&r, ids[K_ROOT]);
	pin_refused(&r, ids[K_ROOT2], "did not sign it");     /* listed, no signature */
	pin_refused(&r, ids[K_EVIL], "none of them pinned"); /* not listed */
	release_repo(&r);

	build_repo(&r, &(struct opts){ .forged_root = true });
	const char *none = NULL;
	err_t *e = load_pinned(&r, &none, 0);
	CHECK(!e); /* the forgery holds its own threshold: only the pin catches it */
	err_free(e);
	pin_refused(&r, ids[K_ROOT], "did not sign it");
	pin_ok(&r, ids[K_EVIL]); /* the attacker's key did sign */
	release_repo(&r);

	/* the pinned ID bound to the attacker's key object */
	build_repo(&r, &(struct opts){ .swapped_root = true });
	pin_refused(&r, ids[K_ROOT], "none of them pinned");
	release_repo(&r);
}

/* Notary's root key is a certificate (ecdsa-x509): the pin may be the ID
 * root.json lists (the certificate's) or the key's own ID (what `notary
 * key list` shows); either must have signed. */
static void test_root_pin_certificate_ids(void)
{
	struct repo r;
	char x509_id[65];
	build_repo(&r, &(struct opts){ .root_cert_cn = "127.0.0.1:5000/app", .root_cert_days = 30 });
	listed_root_id(&r, x509_id);
	CHECK(strcmp(x509_id, ids[K_ROOT]) != 0);
	pin_ok(&r, x509_id);
	pin_ok(&r, ids[K_ROOT]);
	release_repo(&r);

	build_repo(&r, &(struct opts){ .root_cert_cn = "127.0.0.1:5000/app", .root_cert_days = 30, .forged_root = true });
	listed_root_id(&r, x509_id);
	pin_refused(&r, x509_id, "did not sign it");
	pin_refused(&r, ids[K_ROOT], "did not sign it");
	release_repo(&r);
}

/* `notary delegation add ... cert.pem` lists the signer as a certificate
 * (ecdsa-x509): the signer's public key (or certificate) still matches. */
static void test_delegation_certificate(void)
{
	struct repo r;
	build_repo(&r, &(struct opts){ .build_cert = true });
	struct trust_verdict v[2] = { 0 };
	err_t *e = verify(&r, NULL, DIGEST_A, v, K_BUILD);
	CHECK(!e);
	CHECK(v[0].ok && v[1].ok);
	CHECK(reason_has(&v[0], "tag 'v1' in targets/build"));
	trust_verdict_release(&v[0]);
	trust_verdict_release(&v[1]);
	e = verify(&r, NULL, DIGEST_A, v, K_EVIL);
	CHECK(!e);
	CHECK(!v[0].ok && reason_has(&v[0], "wrong key"));
	trust_verdict_release(&v[0]);
	trust_verdict_release(&v[1]);
	release_repo(&r);
	/* signed under the certificate's ID by another key */
	build_repo(&r, &(struct opts){ .build_cert = true, .evil_build = true });
	e = verify(&r, NULL, DIGEST_A, v, K_BUILD);
	CHECK(!e);
	CHECK(!v[0].ok && reason_has(&v[0], "does not verify"));
	trust_verdict_release(&v[0]);
	trust_verdict_release(&v[1]);
	release_repo(&r);
}

/* Callers decide by kind, never by the words: a hash mismatch is
 * "inconsistent" (dct and sigpolicy re-read before calling it tampering),
 * a message that merely says so is not. */
static void test_error_kinds(void)
{
	json_t *entry = tuf_meta_entry("abc", 3);
	err_t *e = tuf_check_meta("snapshot", entry, "abd", 3);
	CHECK(e && e->code == EXIT_POLICY && trust_error_inconsistent(e));
	e = err_wrap(e, "load snapshot");
	CHECK(trust_error_inconsistent(e));
	err_free(e);
	e = tuf_check_meta("snapshot", entry, "abcd", 4);
	CHECK(e && err_is(e, ERR_KIND_INCONSISTENT));
	err_free(e);
	json_decref(entry);
	e = err_new(EXIT_POLICY, "snapshot: sha256 does not match (tampered or inconsistent)");
	CHECK(!trust_error_inconsistent(e));
	err_free(e);
	struct repo r;
	build_repo(&r, &(struct opts){ .evil_build = true });
	struct tuf_meta m;
	CHECK(!tuf_meta_parse("targets/build", r.files[4].buf, r.files[4].len, &m));
	e = tuf_verify_key("targets/build", &m, ids[K_BUILD], keys[K_BUILD]);
	CHECK(e && err_is(e, ERR_KIND_SIGNATURE) && !trust_error_inconsistent(e));
	err_free(e);
	tuf_meta_release(&m);
	release_repo(&r);
}

static void test_other_digest(void)
{
	struct repo r;
	build_repo(&r, &(struct opts){ .build_digest = DIGEST_B });
	struct trust_verdict v[2] = { 0 };
	err_t *e = verify(&r, NULL, DIGEST_A, v, K_BUILD);
	CHECK(!e);
	CHECK(!v[0].ok && v[1].ok);
	CHECK(reason_has(&v[0], "does not sign " DIGEST_A));
	trust_verdict_release(&v[0]);
	trust_verdict_release(&v[1]);
	release_repo(&r);
}

static void test_missing_signer(void)
{
	struct repo r;
	build_repo(&r, &(struct opts){ .no_validation = true });
	struct trust_verdict v[2] = { 0 };
	err_t *e = verify(&r, NULL, DIGEST_A, v, K_BUILD);
	CHECK(!e);
	CHECK(v[0].ok && !v[1].ok);
	CHECK(reason_has(&v[1], "targets/validation has signed nothing"));
	trust_verdict_release(&v[0]);
	trust_verdict_release(&v[1]);
	release_repo(&r);
}

static void test_time_parse(void)
{
	time_t t;
	CHECK(!tuf_parse_time("2036-11-22T17:22:54.617858648Z", &t));
	CHECK(t == 2110987374);
	CHECK(!tuf_parse_time("2036-11-22T18:22:54+01:00", &t));
	CHECK(t == 2110987374);
	err_t *e = tuf_parse_time("2036-11-22 17:22:54Z", &t);
	CHECK(e && e->code == EXIT_USAGE);
	err_free(e);
	e = tuf_parse_time("2036-13-22T17:22:54Z", &t);
	CHECK(e);
	err_free(e);
	char buf[32];
	tuf_format_time(2110987374, buf);
	CHECK_STR(buf, "2036-11-22T17:22:54Z");
}

static void test_b64(void)
{
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	b64_encode("hello!?", 7, &a);
	CHECK_STR(sb_str(&a), "aGVsbG8hPw==");
	CHECK(!b64_decode(a.buf, a.len, "t", &b));
	CHECK(b.len == 7 && !memcmp(b.buf, "hello!?", 7));
	err_t *e = b64_decode("aGV=bG8h", 8, "t", &b);
	CHECK(e && e->code == EXIT_USAGE);
	err_free(e);
	sb_release(&a);
	sb_release(&b);
}

static void test_key_id_is_canonical_hash(void)
{
	setup_keys();
	json_t *k = tuf_key_json(keys[K_BUILD]);
	struct strbuf c = STRBUF_INIT;
	CHECK(!json_canonical(k, &c));
	CHECK(!strncmp(sb_str(&c), "{\"keytype\":\"ecdsa\",\"keyval\":{\"private\":null,\"public\":\"MFkw", 56));
	char hex[65], want[65];
	key_sha256_hex(c.buf, c.len, want, NULL);
	CHECK(!tuf_key_id(k, hex));
	CHECK_STR(hex, want);
	EVP_PKEY *back = NULL;
	CHECK(!tuf_key_public(k, &back));
	CHECK(key_same_public(back, keys[K_BUILD]));
	EVP_PKEY_free(back);
	sb_release(&c);
	json_decref(k);
}

static void test_malformed_metadata(void)
{
	struct tuf_meta m;
	const char *bad[] = {
		"", "[]", "{\"signed\":{}}", "{\"signed\":{\"_type\":\"Root\"},\"signatures\":[]}",
		"{\"signed\":{\"_type\":\"Targets\",\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\"},\"signatures\":[]}",
		"{\"signed\":{\"_type\":\"Root\",\"version\":1,\"expires\":\"soon\"},\"signatures\":[]}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		err_t *e = tuf_meta_parse("root", bad[i], strlen(bad[i]), &m);
		CHECK(e != NULL);
		err_free(e);
	}
}

/* ---- each rule once more, where breaking its line went unnoticed before
 * (tests/mutants/core.mut names the line each of these guards) ---- */

/* Build, verify with the state dir and return the chain error; verdicts
 * in v (released by the caller). */
static err_t *verify_opts(const struct opts *o, const char *dir, struct trust_verdict v[2], int pin_build)
{
	struct repo r;
	build_repo(&r, o);
	memset(v, 0, 2 * sizeof *v);
	err_t *e = verify(&r, dir, DIGEST_A, v, pin_build);
	release_repo(&r);
	return e;
}

static void release_verdicts(struct trust_verdict v[2])
{
	trust_verdict_release(&v[0]);
	trust_verdict_release(&v[1]);
}

/* The build verdict is refused for 'why' (the chain itself holds). */
static void build_refused(const struct opts *o, int pin_build, const char *why)
{
	struct trust_verdict v[2];
	err_t *e = verify_opts(o, NULL, v, pin_build);
	CHECK(!e);
	CHECK(!v[0].ok && v[1].ok);
	CHECK(reason_has(&v[0], why));
	release_verdicts(v);
	err_free(e);
}

/* a target whose sha256 differs from the signed one in its last byte only */
static void test_target_hash_differs_in_last_byte(void)
{
	char other[] = DIGEST_A;
	char *last = other + strlen(other) - 1;
	*last = *last == '0' ? '1' : '0';
	build_refused(&(struct opts){ .build_digest = other }, K_BUILD, "does not sign " DIGEST_A);
}

/* the snapshot's sha256 of targets/build (its only hash) off in the last byte */
static void last_byte_off(json_t *meta)
{
	json_t *hashes = json_object_get(json_object_get(meta, "targets/build"), "hashes");
	json_object_del(hashes, "sha512");
	struct strbuf raw = STRBUF_INIT, b = STRBUF_INIT;
	const char *h = json_string_value(json_object_get(hashes, "sha256"));
	CHECK(h && !b64_decode(h, strlen(h), "sha256", &raw) && raw.len == 32);
	if (raw.len == 32)
		raw.buf[31] ^= 1;
	b64_encode(raw.buf, raw.len, &b);
	json_object_set_new(hashes, "sha256", json_string(sb_str(&b)));
	sb_release(&raw);
	sb_release(&b);
}

static void test_role_hash_differs_in_last_byte(void)
{
	build_refused(&(struct opts){ .edit_snapshot_meta = last_byte_off }, K_BUILD,
		      "targets/build: sha256 does not match the snapshot");
}

/* Versions v, v+1 (both accepted), then v again: refused as a rollback of
 * exactly one version, naming the role. */
static void rollback_by_one(const char *role, size_t version_field, json_int_t v)
{
	char dir[] = "/tmp/test_tuf_XXXXXX";
	CHECK(mkdtemp(dir));
	struct opts o = { 0 };
	struct trust_verdict vd[2];
	char want[128];
	snprintf(want, sizeof want, "%s.json version %lld is older than version %lld seen before (rollback)", role,
		 (long long)v, (long long)v + 1);
	json_int_t seq[] = { v, v + 1, v };
	for (int i = 0; i < 3; i++) {
		*(json_int_t *)((char *)&o + version_field) = seq[i];
		err_t *e = verify_opts(&o, dir, vd, K_BUILD);
		bool delegated = !strncmp(role, "targets/", 8);
		if (i < 2) {
			CHECK(!e && vd[0].ok && vd[1].ok);
		} else if (delegated) {
			CHECK(!e && !vd[0].ok && vd[1].ok);
			CHECK(reason_has(&vd[0], want));
		} else {
			CHECK(e && e->code == EXIT_POLICY && msg_has(e, want));
		}
		err_free(e);
		release_verdicts(vd);
	}
	remove_tree(dir);
}

static void test_rollback_by_one_each_role(void)
{
	rollback_by_one("timestamp", offsetof(struct opts, ts_version), 7);
	rollback_by_one("snapshot", offsetof(struct opts, snap_version), 5);
	rollback_by_one("targets", offsetof(struct opts, targets_version), 4);
	rollback_by_one("targets/build", offsetof(struct opts, build_version), 2);
}

/* each role expired on its own, the ones above it valid */
static void test_expired_snapshot_targets_delegation(void)
{
	struct trust_verdict v[2];
	err_t *e = verify_opts(&(struct opts){ .snap_days = -1 }, NULL, v, K_BUILD);
	CHECK(e && e->code == EXIT_POLICY && msg_has(e, "snapshot.json expired"));
	err_free(e);
	e = verify_opts(&(struct opts){ .targets_days = -1 }, NULL, v, K_BUILD);
	CHECK(e && e->code == EXIT_POLICY && msg_has(e, "targets.json expired"));
	err_free(e);
	build_refused(&(struct opts){ .build_days = -1 }, K_BUILD, "targets/build.json expired");
	build_refused(&(struct opts){ .build_days = -1 }, 0, "targets/build.json expired");
}

/* a delegation naming the build key's ID for another key (which signs) */
static void test_key_id_not_hash_of_key(void)
{
	build_refused(&(struct opts){ .build_key_evil = true }, 0, "does not hash to its key ID");
}

/* the pinned key must have signed: another key of the delegation is not it */
static void test_pinned_key_must_sign(void)
{
	build_refused(&(struct opts){ .build_other_signs = true }, K_BUILD, "no signature by key");
	struct trust_verdict v[2]; /* unpinned, the other key's signature is the delegation's */
	err_t *e = verify_opts(&(struct opts){ .build_other_signs = true }, NULL, v, 0);
	CHECK(!e && v[0].ok && v[1].ok);
	err_free(e);
	release_verdicts(v);
}

/* a key listed twice counts once towards the threshold */
static void test_threshold_counts_a_key_once(void)
{
	build_refused(&(struct opts){ .build_keyid_twice = true, .build_threshold = 2 }, 0,
		      "targets/build: 1 of 2 required signatures are valid");
}

/* one key listed under two IDs (its bare form and a certificate for it:
 * two key objects, two IDs, one key) and signing under both is still one
 * key: a threshold of 2 needs two keys, for a delegation and for root */
static void test_threshold_counts_a_public_key_once(void)
{
	build_refused(&(struct opts){ .build_key_two_forms = true, .build_threshold = 2 }, K_BUILD,
		      "targets/build: 1 of 2 required signatures are valid");
	build_refused(&(struct opts){ .build_key_two_forms = true, .build_threshold = 2 }, K_BUILD,
		      "is a key counted already under another ID");
	struct trust_verdict v[2]; /* threshold 1: the same data verifies */
	err_t *e = verify_opts(&(struct opts){ .build_key_two_forms = true }, NULL, v, K_BUILD);
	CHECK(!e && v[0].ok && v[1].ok);
	err_free(e);
	release_verdicts(v);
	e = verify_opts(&(struct opts){ .root_key_two_forms = true, .root_threshold = 2 }, NULL, v, K_BUILD);
	CHECK(e && e->code == EXIT_POLICY && msg_has(e, "root: 1 of 2 required signatures are valid"));
	err_free(e);
	release_verdicts(v);
	e = verify_opts(&(struct opts){ .root_key_two_forms = true }, NULL, v, K_BUILD);
	CHECK(!e && v[0].ok && v[1].ok);
	err_free(e);
	release_verdicts(v);
}

static void test_delegation_threshold(void)
{
	build_refused(&(struct opts){ .build_threshold = 2 }, 0, "targets/build: 1 of 2 required signatures are valid");
	build_refused(&(struct opts){ .build_threshold = TH_ZERO, .evil_build = true }, 0,
		      "targets/build: threshold 0 is below 1");
}

/* a delegation for release/ only signing the tag v1 */
static void test_delegation_paths(void)
{
	build_refused(&(struct opts){ .build_paths = "release/" }, K_BUILD, "targets/build does not sign " DIGEST_A);
}

static void teardown(void)
{
	for (int i = 0; i < NKEYS; i++)
		EVP_PKEY_free(keys[i]);
}

static void free_shared(void)
{
	teardown();
	sb_release(&fetched);
}

TEST_MAIN_TEARDOWN("tuf", free_shared, TEST(test_valid_two_signers), TEST(test_tampered_target_hash), TEST(test_forged_signature),
	  TEST(test_wrong_key), TEST(test_expired_timestamp), TEST(test_rollback), TEST(test_warm_cache), TEST(test_no_verified_memory), TEST(test_root_certificate_memory), TEST(test_root_change_needs_old_keys),
	  TEST(test_root_threshold), TEST(test_root_pin_needs_signature), TEST(test_root_pin_certificate_ids),
	  TEST(test_delegation_certificate), TEST(test_error_kinds), TEST(test_other_digest), TEST(test_missing_signer), TEST(test_time_parse),
	  TEST(test_b64), TEST(test_key_id_is_canonical_hash), TEST(test_malformed_metadata),
	  TEST(test_target_hash_differs_in_last_byte), TEST(test_role_hash_differs_in_last_byte),
	  TEST(test_rollback_by_one_each_role), TEST(test_expired_snapshot_targets_delegation),
	  TEST(test_key_id_not_hash_of_key), TEST(test_pinned_key_must_sign), TEST(test_threshold_counts_a_key_once), TEST(test_threshold_counts_a_public_key_once), TEST(test_delegation_threshold),
	  TEST(test_delegation_paths))
