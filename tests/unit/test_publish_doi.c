/* Unit tests for publish-doi's evidence checks: the DSSE PAE (the spec's
 * vector), envelopes opened only when signed by a trusted key over the PAE
 * of an in-toto Statement v1 about the digest, the local store's content
 * check and concurrent writers, and the gate counting only verified
 * evidence. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "b64.h"
#include "../../tasks/publish-doi/dsse.h"
#include "../../tasks/publish-doi/evidence.h"
#include "fsutil.h"
#include "keys.h"
#include "../../tasks/publish-doi/policy.h"
#include "../../tasks/publish-doi/record.h"
#include "../../tasks/publish-doi/store.h"
#include "testing.h"
#include "vault.h"

// unit-sources: tasks/publish-doi/dsse.c tasks/publish-doi/evidence.c tasks/publish-doi/policy.c tasks/publish-doi/record.c tasks/publish-doi/store.c

#define HEX "4d2b9a0c87a4e7a8b6a0f1d3c5b7e9f10213243546576879a0b1c2d3e4f5a6b7"
#define DIGEST "sha256:" HEX
#define OTHER "sha256:0000000000000000000000000000000000000000000000000000000000000000"

static char tmp[] = "/tmp/test_publish_doi.XXXXXX";
static struct vault *vault;
static struct vault_config vcfg;
static struct signer_key *signer, *rogue;
static EVP_PKEY *signer_pub;

static void setup(void)
{
	if (vault)
		return;
	if (!mkdtemp(tmp))
		abort();
	static char ks[64];
	snprintf(ks, sizeof ks, "%s/ks", tmp);
	vcfg = (struct vault_config){ .kind = "file", .dir = ks, .passphrase = strdup("unit-test-passphrase") };
	if (vault_open(&vcfg, &vault) || vault_create(vault, "build") || vault_create(vault, "rogue") ||
	    vault_signer(vault, "build", &signer) || vault_signer(vault, "rogue", &rogue) ||
	    vault_public(vault, "build", &signer_pub))
		abort();
}

static void trusted(struct dsse_keys *k)
{
	k->keys = calloc(1, sizeof(*k->keys));
	k->names = calloc(1, sizeof(*k->names));
	EVP_PKEY_up_ref(signer_pub);
	k->keys[0] = signer_pub;
	k->names[0] = strdup("build");
	k->n = 1;
}

static json_t *statement(const char *digest, const char *env, const char *status)
{
	struct record_input in = { .kind = "deploy", .name = "reg.example/app", .digest = digest, .environment = env,
				   .status = status, .time = "2026-01-01T10:00:00Z" };
	json_t *st = NULL;
	err_t *e = record_statement(&in, &st);
	CHECK(!e);
	err_free(e);
	return st;
}

static char *sign(const json_t *st, const struct signer_key *k)
{
	struct strbuf env = STRBUF_INIT;
	err_t *e = dsse_sign(st, k, &env);
	CHECK(!e);
	err_free(e);
	return sb_detach(&env);
}

/* dsse_open's verdict: NULL when opened, else the reason (caller frees). */
static char *open_reason(const char *env, const char *digest)
{
	struct dsse_keys k = { 0 };
	trusted(&k);
	struct dsse_opened o;
	err_t *e = dsse_open(env, strlen(env), "t", &k, digest, &o);
	char *why = e ? strdup(e->msg) : NULL;
	if (e)
		CHECK(e->code == EXIT_POLICY);
	else
		CHECK_STR(o.signer, "build");
	err_free(e);
	dsse_opened_release(&o);
	dsse_keys_release(&k);
	return why;
}

/* The envelope with its payload replaced by base64 of text. */
static char *with_payload(const char *env, const char *text)
{
	json_error_t je;
	json_t *j = json_loads(env, 0, &je);
	struct strbuf p64 = STRBUF_INIT;
	b64_encode(text, strlen(text), &p64);
	json_object_set_new(j, "payload", json_string(sb_str(&p64)));
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	sb_release(&p64);
	return s;
}

static void test_pae_vector(void)
{
	/* the DSSE protocol's example (protocol.md, "Test vector") */
	struct strbuf pae = STRBUF_INIT;
	dsse_pae("http://example.com/HelloWorld", "hello world", 11, &pae);
	CHECK_STR(sb_str(&pae), "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
	sb_release(&pae);
}

static void test_signature_over_pae(void)
{
	setup();
	json_t *st = statement(DIGEST, "prod", "success");
	char *env = sign(st, signer);
	json_error_t je;
	json_t *j = json_loads(env, 0, &je);
	const char *p64 = json_string_value(json_object_get(j, "payload"));
	const char *s64 = json_string_value(json_object_get(json_array_get(json_object_get(j, "signatures"), 0), "sig"));
	struct strbuf payload = STRBUF_INIT, sig = STRBUF_INIT, pae = STRBUF_INIT;
	REQUIRE(p64 && s64 && !b64_decode(p64, strlen(p64), "p", &payload) && !b64_decode(s64, strlen(s64), "s", &sig));
	sb_addf(&pae, "DSSEv1 28 application/vnd.in-toto+json %zu ", payload.len);
	sb_add(&pae, payload.buf, payload.len);
	err_t *e = key_verify(signer_pub, pae.buf, pae.len, sig.buf, sig.len, SIG_DER);
	CHECK(!e); /* over the PAE... */
	err_free(e);
	e = key_verify(signer_pub, payload.buf, payload.len, sig.buf, sig.len, SIG_DER);
	CHECK(e); /* ...not over the payload alone */
	err_free(e);
	char *why = open_reason(env, DIGEST);
	CHECK(!why);
	free(why);
	sb_release(&payload);
	sb_release(&sig);
	sb_release(&pae);
	json_decref(j);
	json_decref(st);
	free(env);
}

static void test_tampered_wrong_key_other_digest(void)
{
	setup();
	json_t *st = statement(DIGEST, "prod", "fail");
	char *env = sign(st, signer);
	/* tampered: the statement changed after signing */
	json_object_set_new(json_object_get(st, "predicate"), "status", json_string("success"));
	char *forged_text = json_dumps(st, JSON_COMPACT);
	char *forged = with_payload(env, forged_text);
	char *why = open_reason(forged, DIGEST);
	CHECK(why && strstr(why, "no signature by a trusted key over the envelope"));
	free(why);
	/* signed by a key that is not trusted */
	char *renv = sign(st, rogue);
	why = open_reason(renv, DIGEST);
	CHECK(why && strstr(why, "no signature by a trusted key"));
	free(why);
	/* a valid envelope read for another digest */
	why = open_reason(env, OTHER);
	CHECK(why && strstr(why, "no subject of the statement is " OTHER));
	free(why);
	free(forged_text);
	free(forged);
	free(renv);
	free(env);
	json_decref(st);
}

static void test_statement_shape_checked(void)
{
	setup();
	/* signed, for the digest, but not a Statement v1 / not in-toto */
	json_t *st = statement(DIGEST, "prod", "success");
	json_object_set_new(st, "_type", json_string("https://in-toto.io/Statement/v0.1"));
	char *env = sign(st, signer);
	char *why = open_reason(env, DIGEST);
	CHECK(why && strstr(why, "statement _type is not https://in-toto.io/Statement/v1"));
	free(why);
	free(env);
	json_decref(st);
	/* another payloadType, validly signed over its own PAE */
	const char *text = "{\"_type\":\"https://in-toto.io/Statement/v1\"}";
	struct strbuf pae = STRBUF_INIT, sig = STRBUF_INIT, p64 = STRBUF_INIT, s64 = STRBUF_INIT;
	dsse_pae("text/plain", text, strlen(text), &pae);
	err_t *e = signer_key_sign(signer, pae.buf, pae.len, SIG_DER, &sig);
	REQUIRE(!e);
	b64_encode(text, strlen(text), &p64);
	b64_encode(sig.buf, sig.len, &s64);
	json_t *j = json_pack("{s:s, s:s, s:[{s:s}]}", "payloadType", "text/plain", "payload", sb_str(&p64),
			      "signatures", "sig", sb_str(&s64));
	char *s = json_dumps(j, JSON_COMPACT);
	why = open_reason(s, DIGEST);
	CHECK(why && strstr(why, "payloadType is text/plain"));
	free(why);
	free(s);
	json_decref(j);
	sb_release(&pae);
	sb_release(&sig);
	sb_release(&p64);
	sb_release(&s64);
}

static size_t count_valid(const struct evidence *ev)
{
	size_t n = 0;
	for (size_t i = 0; i < ev->n; i++)
		n += !ev->items[i].invalid;
	return n;
}

static void test_store_content_checked(void)
{
	setup();
	char dir[128];
	snprintf(dir, sizeof dir, "%s/store1", tmp);
	json_t *st = statement(DIGEST, "prod", "success");
	char *env = sign(st, signer);
	char hex[65];
	err_t *e = store_put(dir, DIGEST, env, strlen(env), hex);
	REQUIRE(!e);
	e = store_put(dir, DIGEST, env, strlen(env), NULL); /* once, however often published */
	REQUIRE(!e);
	struct dsse_keys k = { 0 };
	trusted(&k);
	struct evidence ev = { 0 };
	e = store_read(dir, DIGEST, &ev);
	REQUIRE(!e);
	evidence_verify(&ev, &k, DIGEST);
	CHECK(ev.n == 1 && count_valid(&ev) == 1);
	evidence_release(&ev);
	/* truncate the record */
	char path[512];
	snprintf(path, sizeof path, "%s/index/sha256-%s/%s", dir, HEX, hex);
	CHECK(truncate(path, 40) == 0);
	e = store_read(dir, DIGEST, &ev);
	REQUIRE(!e);
	evidence_verify(&ev, &k, DIGEST);
	CHECK(ev.n == 1 && count_valid(&ev) == 0);
	CHECK(ev.n == 1 && ev.items[0].invalid && strstr(ev.items[0].invalid, "truncated or altered"));
	evidence_release(&ev);
	dsse_keys_release(&k);
	free(env);
	json_decref(st);
}

static void test_store_concurrent_writers(void)
{
	setup();
	char dir[128];
	snprintf(dir, sizeof dir, "%s/store2", tmp);
	char *envs[10];
	for (int i = 0; i < 10; i++) {
		char name[16];
		snprintf(name, sizeof name, "env%d", i);
		json_t *st = statement(DIGEST, name, "success");
		envs[i] = sign(st, signer);
		json_decref(st);
	}
	pid_t pids[10];
	for (int i = 0; i < 10; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			err_t *e = store_put(dir, DIGEST, envs[i], strlen(envs[i]), NULL);
			_exit(e ? 1 : 0);
		}
	}
	int failed = 0;
	for (int i = 0; i < 10; i++) {
		int status = 0;
		waitpid(pids[i], &status, 0);
		failed += !WIFEXITED(status) || WEXITSTATUS(status);
	}
	CHECK(failed == 0);
	struct dsse_keys k = { 0 };
	trusted(&k);
	struct evidence ev = { 0 };
	err_t *e = store_read(dir, DIGEST, &ev);
	REQUIRE(!e);
	evidence_verify(&ev, &k, DIGEST);
	CHECK(ev.n == 10 && count_valid(&ev) == 10);
	evidence_release(&ev);
	dsse_keys_release(&k);
	for (int i = 0; i < 10; i++)
		free(envs[i]);
}

/* Evaluate policy text over envelopes; verdict lines joined by '\n'. */
static bool gate(const char *policy, char **envs, size_t n, char **verdicts)
{
	struct dsse_keys k = { 0 };
	trusted(&k);
	struct evidence ev = { 0 };
	for (size_t i = 0; i < n; i++)
		evidence_add(&ev, "t", envs[i], strlen(envs[i]), NULL);
	evidence_prepare(&ev, &k, DIGEST); /* as evaluate: the rules verify */
	struct policy pol;
	err_t *e = policy_parse(policy, strlen(policy), "p", &pol);
	CHECK(!e);
	err_free(e);
	struct policy_verdict *v = NULL;
	policy_evaluate(&pol, &ev, &v);
	bool all = true;
	struct strbuf out = STRBUF_INIT;
	for (size_t i = 0; i < pol.n; i++) {
		all &= v[i].ok;
		sb_addf(&out, "%s %s: %s\n", v[i].ok ? "PASS" : "FAIL", pol.rules[i].text, v[i].reason);
	}
	*verdicts = sb_detach(&out);
	policy_verdicts_free(v, pol.n);
	policy_release(&pol);
	evidence_release(&ev);
	dsse_keys_release(&k);
	return all;
}

static char *test_record(const char *filetype, const char *report, const char *time, const struct signer_key *k)
{
	const char *pt = NULL;
	json_t *pred = NULL;
	err_t *e = record_test_predicate(filetype, report, strlen(report), "r", NULL, time, &pt, &pred);
	CHECK(!e);
	err_free(e);
	json_t *st = json_pack("{s:s, s:[{s:s, s:{s:s}}], s:s, s:o}", "_type", INTOTO_STATEMENT_V1, "subject", "name",
			       "app", "digest", "sha256", HEX, "predicateType", pt, "predicate", pred);
	char *env = sign(st, k);
	json_decref(st);
	return env;
}

static void test_gate_counts_only_verified(void)
{
	setup();
	static const char pass_xml[] = "<testsuite tests=\"1\"><testcase classname=\"a\" name=\"b\"/></testsuite>";
	static const char fail_xml[] =
		"<testsuite tests=\"1\"><testcase classname=\"a\" name=\"b\"><failure message=\"x\"/></testcase></testsuite>";
	char *envs[4];
	envs[0] = test_record("unittest", fail_xml, "2026-01-01T10:00:00Z", signer);
	char *out = NULL;
	CHECK(!gate("tests-passed unittest\n", envs, 1, &out));
	CHECK(out && strstr(out, "FAIL tests-passed unittest: the latest unittest record's result is FAILED"));
	free(out);
	/* a later pass signed by an untrusted key never counts */
	envs[1] = test_record("unittest", pass_xml, "2026-01-01T11:00:00Z", rogue);
	CHECK(!gate("tests-passed unittest\n", envs, 2, &out));
	CHECK(out && strstr(out, "result is FAILED"));
	free(out);
	/* a later pass by the trusted key does */
	envs[2] = test_record("unittest", pass_xml, "2026-01-01T12:00:00Z", signer);
	CHECK(gate("tests-passed unittest\n", envs, 3, &out));
	free(out);
	/* vulnerabilities, findings: counts at or above a severity */
	envs[3] = test_record("vulnerabilityadvisor",
			      "{\"vulnerabilities\":[{\"id\":\"CVE-1\",\"severity\":\"HIGH\"},{\"id\":\"CVE-2\",\"severity\":\"low\"}]}",
			      "2026-01-01T12:00:00Z", signer);
	CHECK(gate("max-vulnerabilities critical 0\nmax-vulnerabilities high 1\n", envs, 4, &out));
	free(out);
	CHECK(!gate("max-vulnerabilities high 0\n", envs, 4, &out));
	CHECK(out && strstr(out, "has 1 at high or above (at most 0)"));
	free(out);
	CHECK(!gate("max-vulnerabilities low 1\n", envs, 4, &out));
	free(out);
	for (int i = 0; i < 4; i++)
		free(envs[i]);
}

/* evaluate verifies lazily: the newest candidate first, the next when it
 * does not count, and no other record. */
static void test_gate_verifies_newest_first(void)
{
	setup();
	static const char pass_xml[] = "<testsuite tests=\"1\"><testcase classname=\"a\" name=\"b\"/></testsuite>";
	char *envs[3];
	envs[0] = test_record("unittest", pass_xml, "2026-01-01T10:00:00Z", signer);
	envs[1] = test_record("unittest", pass_xml, "2026-01-01T11:00:00Z", signer);
	envs[2] = test_record("unittest", pass_xml, "2026-01-01T12:00:00Z", rogue);
	struct dsse_keys k = { 0 };
	trusted(&k);
	struct evidence ev = { 0 };
	for (size_t i = 0; i < 3; i++)
		evidence_add(&ev, "t", envs[i], strlen(envs[i]), NULL);
	evidence_prepare(&ev, &k, DIGEST);
	CHECK(!ev.items[0].verified && !ev.items[0].invalid && !ev.items[2].invalid);
	struct policy pol;
	err_t *e = policy_parse("tests-passed unittest\n", 22, "p", &pol);
	REQUIRE(!e);
	struct policy_verdict *v = NULL;
	policy_evaluate(&pol, &ev, &v);
	CHECK(v[0].ok);
	/* the newest (untrusted) was checked and refused, the next counts */
	CHECK(ev.items[2].invalid && strstr(ev.items[2].invalid, "no signature by a trusted key"));
	CHECK(ev.items[1].verified && !ev.items[1].invalid);
	CHECK(!ev.items[0].verified && !ev.items[0].invalid);
	policy_verdicts_free(v, pol.n);
	policy_release(&pol);
	evidence_release(&ev);
	dsse_keys_release(&k);
	for (int i = 0; i < 3; i++)
		free(envs[i]);
}

static void test_gate_branch_and_deploy(void)
{
	setup();
	struct record_input in = { .kind = "build", .name = "app", .digest = DIGEST, .builder_id = "https://b.example",
				   .git_repo = "https://git.example/app.git", .git_branch = "feature", .time = "2026-01-01T10:00:00Z" };
	json_t *st = NULL;
	err_t *e = record_statement(&in, &st);
	REQUIRE(!e);
	char *envs[3];
	envs[0] = sign(st, signer);
	json_decref(st);
	json_t *dst = statement(DIGEST, "prod", "fail");
	envs[1] = sign(dst, signer);
	json_decref(dst);
	/* the deploy record of another digest, in this digest's evidence */
	dst = statement(OTHER, "prod", "success");
	envs[2] = sign(dst, signer);
	json_decref(dst);
	char *out = NULL;
	CHECK(!gate("built-from-branch main\ndeployed-to prod\n", envs, 3, &out));
	CHECK(out && strstr(out, "FAIL built-from-branch main: the latest build record is from branch 'feature'"));
	CHECK(out && strstr(out, "FAIL deployed-to prod: the latest deploy record for prod has status 'fail'"));
	free(out);
	CHECK(gate("built-from-branch feature\n", envs, 3, &out));
	free(out);
	/* main of which repository: the record's, exactly */
	CHECK(gate("built-from-branch feature\nbuilt-from-repository https://git.example/app.git\n", envs, 3, &out));
	free(out);
	CHECK(!gate("built-from-branch feature\nbuilt-from-repository https://git.example/fork.git\n", envs, 3, &out));
	CHECK(out && strstr(out, "FAIL built-from-repository https://git.example/fork.git: the latest build record is "
				 "from repository 'https://git.example/app.git'"));
	CHECK(out && strstr(out, "PASS built-from-branch feature"));
	free(out);
	CHECK(!gate("built-from-repository https://git.example/app\n", envs, 3, &out));
	free(out);
	CHECK(!gate("built-from-repository https://git.example/app.git\n", envs + 1, 2, &out));
	CHECK(out && strstr(out, "built-from-repository https://git.example/app.git: no verified build record"));
	free(out);
	for (int i = 0; i < 3; i++)
		free(envs[i]);
}

static void test_va_scan_reports(void)
{
	/* va-scan's JSON: a suppressed finding (VEX) is not counted */
	static const char va[] =
		"{\"tool\":{\"name\":\"va-scan\"},\"counts\":{},\"findings\":["
		"{\"id\":\"GHSA-1\",\"package\":\"axios\",\"severity\":\"CRITICAL\"},"
		"{\"id\":\"GHSA-2\",\"package\":\"qs\",\"severity\":\"HIGH\",\"suppressed\":\"not reachable\"},"
		"{\"id\":\"GHSA-3\",\"package\":\"ms\",\"severity\":\"MEDIUM\"}]}";
	/* its CycloneDX form: ratings[].severity, analysis not_affected skipped */
	static const char cdx[] =
		"{\"bomFormat\":\"CycloneDX\",\"vulnerabilities\":["
		"{\"id\":\"GHSA-1\",\"ratings\":[{\"severity\":\"critical\"}],\"affects\":[{\"ref\":\"pkg:npm/axios@0.21.0\"}]},"
		"{\"id\":\"GHSA-2\",\"ratings\":[{\"severity\":\"high\"}],\"analysis\":{\"state\":\"not_affected\"}},"
		"{\"id\":\"GHSA-3\",\"ratings\":[{\"severity\":\"medium\"}]}]}";
	const char *reports[] = { va, cdx };
	for (int i = 0; i < 2; i++) {
		const char *pt = NULL;
		json_t *pred = NULL;
		err_t *e = record_test_predicate("vulnerabilityadvisor", reports[i], strlen(reports[i]), "r", NULL,
						 "2026-01-01T00:00:00Z", &pt, &pred);
		CHECK(!e);
		err_free(e);
		CHECK_STR(pt, PT_VULN);
		char *sum = json_dumps(json_object_get(json_object_get(json_object_get(pred, "scanner"), "result"), "summary"),
				       JSON_COMPACT | JSON_SORT_KEYS);
		CHECK_STR(sum, "{\"critical\":1,\"medium\":1}");
		free(sum);
		json_decref(pred);
	}
}

static void teardown(void)
{
	signer_key_free(signer);
	signer_key_free(rogue);
	EVP_PKEY_free(signer_pub);
	vault_close(vault);
	vault_config_release(&vcfg);
	fs_remove_tree(tmp);
}

TEST_MAIN_TEARDOWN("publish_doi", teardown, TEST(test_pae_vector), TEST(test_signature_over_pae),
		   TEST(test_tampered_wrong_key_other_digest), TEST(test_statement_shape_checked),
		   TEST(test_store_content_checked), TEST(test_store_concurrent_writers),
		   TEST(test_gate_counts_only_verified), TEST(test_gate_verifies_newest_first),
		   TEST(test_gate_branch_and_deploy),
		   TEST(test_va_scan_reports))
