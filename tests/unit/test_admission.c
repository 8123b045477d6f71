/* Unit tests for image-admission's parsers and decisions' building
 * blocks: AdmissionReview (every workload kind, malformed bodies), the
 * policy resource (exemptions, repository matching), the verdict cache
 * (keying, TTL, bound) and the HTTP request parser (limits). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "keys.h"
#include "../../tasks/image-admission/cache.h"
#include "../../tasks/image-admission/httpreq.h"
#include "admission_policy.h"
#include "../../tasks/image-admission/review.h"
#include "testing.h"

// unit-sources: tasks/image-admission/review.c tasks/image-admission/cache.c tasks/image-admission/httpreq.c

#define CONTAINERS "{\"initContainers\":[{\"name\":\"i\",\"image\":\"reg.local/init:1\"}],\"containers\":[{\"name\":\"a\",\"image\":\"reg.local/app:v1\"},{\"name\":\"b\",\"image\":\"reg.local/side@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}]}"

static char *review_json(const char *kind, const char *object)
{
	char *s = NULL;
	size_t n = strlen(kind) + strlen(object) + 512;
	s = malloc(n);
	snprintf(s, n,
		 "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u-1\","
		 "\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"%s\"},\"operation\":\"CREATE\",\"namespace\":\"team\","
		 "\"name\":\"x\",\"object\":%s}}",
		 kind, object);
	return s;
}

static void check_images(const char *kind, const char *object, const char *prefix)
{
	char *j = review_json(kind, object);
	struct review r;
	err_t *e = review_parse(j, strlen(j), &r);
	CHECK(!e);
	if (!e) {
		CHECK(r.n == 3);
		CHECK_STR(r.uid, "u-1");
		CHECK_STR(r.namespace, "team");
		char want[256];
		snprintf(want, sizeof want, "%s/initContainers/0/image", prefix);
		CHECK(r.n > 0 && !strcmp(r.images[0].path, want));
		CHECK(r.n > 0 && !strcmp(r.images[0].image, "reg.local/init:1"));
		snprintf(want, sizeof want, "%s/containers/1/image", prefix);
		CHECK(r.n > 2 && !strcmp(r.images[2].path, want));
		review_free(&r);
	}
	err_free(e);
	free(j);
}

static void test_review_kinds(void)
{
	check_images("Pod", "{\"kind\":\"Pod\",\"spec\":" CONTAINERS "}", "/spec");
	const char *templated[] = { "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job" };
	for (size_t i = 0; i < 5; i++)
		check_images(templated[i], "{\"spec\":{\"template\":{\"spec\":" CONTAINERS "}}}", "/spec/template/spec");
	check_images("CronJob", "{\"spec\":{\"jobTemplate\":{\"spec\":{\"template\":{\"spec\":" CONTAINERS "}}}}}",
		     "/spec/jobTemplate/spec/template/spec");
	/* a kind without pods: nothing to check */
	char *j = review_json("ConfigMap", "{\"data\":{}}");
	struct review r;
	err_t *e = review_parse(j, strlen(j), &r);
	CHECK(!e && r.n == 0);
	if (!e)
		review_free(&r);
	err_free(e);
	free(j);
}

static void bad_review(const char *body, const char *want)
{
	struct review r;
	err_t *e = review_parse(body, strlen(body), &r);
	CHECK(e != NULL);
	if (e) {
		char *m = err_describe(e);
		if (!strstr(m, want)) {
			fprintf(stderr, "  message '%s' lacks '%s'\n", m, want);
			CHECK(!"message names the reason");
		}
		free(m);
		CHECK(e->code == EXIT_USAGE);
	} else {
		review_free(&r);
	}
	err_free(e);
}

static void test_review_malformed(void)
{
	bad_review("not json", "invalid JSON");
	bad_review("{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\"}", "is not admission.k8s.io/v1");
	bad_review("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"Other\"}", "is not AdmissionReview");
	bad_review("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}", "request");
	char *j = review_json("Pod", "{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}");
	bad_review(j, "/spec/containers/0 has no image string");
	free(j);
	j = review_json("Deployment", "{\"spec\":{}}");
	bad_review(j, "Deployment object has no pod spec at /spec/template");
	free(j);
	j = review_json("Pod", "{\"spec\":{\"containers\":{}}}");
	bad_review(j, "containers is not a list");
	free(j);
}

static void test_review_response(void)
{
	json_t *patch = json_pack("[{s:s, s:s, s:s}]", "op", "replace", "path", "/spec/containers/0/image", "value",
				  "reg.local/app@sha256:bb");
	char *s = review_response("u-9", true, NULL, patch);
	json_t *o = json_loads(s, 0, NULL);
	CHECK_STR(json_string_value(json_object_get(o, "apiVersion")), "admission.k8s.io/v1");
	json_t *resp = json_object_get(o, "response");
	CHECK_STR(json_string_value(json_object_get(resp, "uid")), "u-9");
	CHECK(json_is_true(json_object_get(resp, "allowed")));
	CHECK_STR(json_string_value(json_object_get(resp, "patchType")), "JSONPatch");
	const char *p64 = json_string_value(json_object_get(resp, "patch"));
	struct strbuf dec = STRBUF_INIT;
	err_t *e = b64_decode(p64 ? p64 : "", p64 ? strlen(p64) : 0, "patch", &dec);
	CHECK(!e);
	err_free(e);
	json_t *back = json_loads(sb_str(&dec), 0, NULL);
	CHECK(json_equal(back, patch));
	json_decref(back);
	sb_release(&dec);
	json_decref(o);
	free(s);
	s = review_response("u-9", false, "image x: build (dct): not signed", NULL);
	o = json_loads(s, 0, NULL);
	resp = json_object_get(o, "response");
	CHECK(json_is_false(json_object_get(resp, "allowed")));
	CHECK(!json_object_get(resp, "patch"));
	CHECK(json_integer_value(json_object_get(json_object_get(resp, "status"), "code")) == 403);
	CHECK_STR(json_string_value(json_object_get(json_object_get(resp, "status"), "message")),
		  "image x: build (dct): not signed");
	json_decref(o);
	json_decref(patch);
	free(s);
}

#define POLICY(spec) "{\"apiVersion\":\"policy.secure-pipeline.dev/v1\",\"kind\":\"ImageAdmissionPolicy\",\"metadata\":{\"name\":\"p\"},\"spec\":" spec "}"

static void test_policy_matching(void)
{
	const char *text = POLICY("{\"exemptNamespaces\":[\"kube-system\"],\"exemptImages\":[\"registry.k8s.io/*\"],"
				  "\"repositories\":[{\"name\":\"reg.local/team/*\",\"notaryServer\":\"https://n:4443\","
				  "\"signers\":[{\"name\":\"build\"},{\"name\":\"validation\"}]},"
				  "{\"name\":\"reg.local/other\",\"format\":\"cosign\",\"signers\":[{\"name\":\"build\"}]}]}");
	struct admission_policy *p = NULL;
	err_t *e = admission_policy_parse(text, strlen(text), "test", &p);
	CHECK(!e);
	err_free(e);
	if (!p)
		return;
	CHECK(admission_policy_namespace_exempt(p, "kube-system"));
	CHECK(!admission_policy_namespace_exempt(p, "kube-system2"));
	CHECK(!admission_policy_namespace_exempt(p, "kube"));
	CHECK(admission_policy_image_exempt(p, "registry.k8s.io/pause"));
	CHECK(admission_policy_image_exempt(p, "registry.k8s.io/a/b"));
	CHECK(!admission_policy_image_exempt(p, "registry.k8s.io.evil.com/pause"));
	CHECK(!admission_policy_image_exempt(p, "evil.com/registry.k8s.io/pause"));
	const struct admission_rule *r = admission_policy_rule_for(p, "reg.local/team/app");
	CHECK(r && r->dct && !r->cosign && r->signers.n == 2);
	r = admission_policy_rule_for(p, "reg.local/other");
	CHECK(r && !r->dct && r->cosign);
	CHECK(!admission_policy_rule_for(p, "reg.local/other2"));
	CHECK(!admission_policy_rule_for(p, "reg.local/teamx/app"));
	admission_policy_free(p);
}

/* what admission_policy_to_json writes, parsed back, is the same policy */
static void test_policy_round_trip(void)
{
	EVP_PKEY *k = NULL;
	err_t *e = key_generate_p256(&k);
	CHECK(!e);
	err_free(e);
	struct strbuf pem = STRBUF_INIT;
	key_public_pem(k, &pem);
	json_t *doc = json_pack("{s:s, s:s, s:{s:s}, s:{s:[s], s:[s], s:[{s:s, s:s, s:s, s:[s], s:[{s:s, s:s}, {s:s}]},"
				" {s:s, s:s, s:[{s:s, s:s}]}]}}",
				"apiVersion", POLICY_API_VERSION, "kind", POLICY_KIND, "metadata", "name", "rt", "spec",
				"exemptNamespaces", "kube-system", "exemptImages", "registry.k8s.io/*", "repositories",
				"name", "reg.local/team/*", "format", "both", "notaryServer", "https://n:4443", "rootKeyIds",
				"abc", "signers", "name", "build", "publicKey", sb_str(&pem), "name", "validation",
				"name", "reg.local/other", "format", "cosign", "signers", "name", "build", "publicKey",
				sb_str(&pem));
	char *text = json_dumps(doc, 0);
	struct admission_policy *p = NULL, *q = NULL;
	e = admission_policy_parse(text, strlen(text), "first", &p);
	CHECK(!e);
	err_free(e);
	json_t *written = p ? admission_policy_to_json(p) : NULL;
	char *again = written ? json_dumps(written, 0) : NULL;
	e = again ? admission_policy_parse(again, strlen(again), "written", &q) : NULL;
	CHECK(!e && q);
	err_free(e);
	if (p && q) {
		CHECK(json_equal(written, doc));
		CHECK_STR(q->name, "rt");
		CHECK(q->n_rules == 2 && q->n_exempt_namespaces == 1 && q->n_exempt_images == 1);
		CHECK(q->rules[0].dct && q->rules[0].cosign && !q->rules[1].dct && q->rules[1].cosign);
		CHECK_STR(q->rules[0].notary_url, "https://n:4443");
		CHECK(q->rules[0].n_root_key_ids == 1 && !strcmp(q->rules[0].root_key_ids[0], "abc"));
		CHECK(q->rules[0].signers.n == 2 && q->rules[0].signers.items[0].pub &&
		      key_same_public(q->rules[0].signers.items[0].pub, k) && !q->rules[0].signers.items[1].pub);
		CHECK_STR(q->rules[0].signers.items[1].name, "validation");
	}
	admission_policy_free(p);
	admission_policy_free(q);
	json_decref(written);
	json_decref(doc);
	free(text);
	free(again);
	sb_release(&pem);
	EVP_PKEY_free(k);
}

static void bad_policy(const char *text, const char *want)
{
	struct admission_policy *p = NULL;
	err_t *e = admission_policy_parse(text, strlen(text), "test", &p);
	CHECK(e && !p);
	if (e) {
		char *m = err_describe(e);
		if (!strstr(m, want)) {
			fprintf(stderr, "  message '%s' lacks '%s'\n", m, want);
			CHECK(!"message names the reason");
		}
		free(m);
	}
	err_free(e);
	admission_policy_free(p);
}

static void test_policy_malformed(void)
{
	bad_policy(POLICY("{\"repositories\":[{\"name\":\"r\",\"format\":\"cosign\",\"signers\":[]}]}"),
		   "a non-empty list of required signers is needed");
	bad_policy(POLICY("{\"repositories\":[{\"name\":\"r\",\"signers\":[{\"name\":\"build\"}]}]}"), "needs notaryServer");
	bad_policy(POLICY("{\"repositories\":[{\"name\":\"r\",\"format\":\"gpg\",\"signers\":[{\"name\":\"b\"}]}]}"),
		   "is not dct, cosign or both");
	bad_policy(POLICY("{\"repositories\":[{\"name\":\"r\",\"format\":\"cosign\",\"signers\":[{\"name\":\"b\",\"publicKey\":\"nope\"}]}]}"),
		   "signer 'b'");
	bad_policy("{\"apiVersion\":\"v2\",\"kind\":\"ImageAdmissionPolicy\",\"spec\":{}}", "is not policy.secure-pipeline.dev/v1");
	bad_policy(POLICY("{}"), "repositories");
}

static void test_cache(void)
{
	struct vcache *c = vcache_new(2, 1000);
	bool ok = false;
	char *why = NULL;
	CHECK(!vcache_get(c, "1|r@sha256:a|ts1", 0, &ok, &why));
	vcache_put(c, "1|r@sha256:a|ts1", 0, true, NULL);
	vcache_put(c, "1|r@sha256:b|ts1", 0, false, "build (dct): missing");
	CHECK(vcache_get(c, "1|r@sha256:a|ts1", 10, &ok, &why) && ok && !why);
	CHECK(vcache_get(c, "1|r@sha256:b|ts1", 10, &ok, &why) && !ok);
	CHECK_STR(why, "build (dct): missing");
	free(why);
	why = NULL;
	/* another trust timestamp, another policy generation: a miss */
	CHECK(!vcache_get(c, "1|r@sha256:a|ts2", 10, &ok, &why));
	CHECK(!vcache_get(c, "2|r@sha256:a|ts1", 10, &ok, &why));
	/* expired */
	CHECK(!vcache_get(c, "1|r@sha256:a|ts1", 1000, &ok, &why));
	/* bounded: the oldest goes */
	vcache_put(c, "1|r@sha256:c|ts1", 20, true, NULL);
	CHECK(vcache_size(c) == 2);
	CHECK(!vcache_get(c, "1|r@sha256:a|ts1", 30, &ok, &why));
	CHECK(vcache_get(c, "1|r@sha256:c|ts1", 30, &ok, &why) && ok);
	for (int i = 0; i < 100; i++) {
		char k[32];
		snprintf(k, sizeof k, "k%d", i);
		vcache_put(c, k, 40, true, "x");
	}
	CHECK(vcache_size(c) == 2);
	CHECK(vcache_get(c, "k99", 40, &ok, &why) && ok);
	free(why);
	vcache_free(c);
}

static void test_httpreq(void)
{
	struct httpreq r;
	const char *ok = "POST /validate?timeout=10s HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcdNEXT";
	CHECK(httpreq_parse(ok, strlen(ok), 100, &r) == HTTPREQ_DONE);
	CHECK_STR(r.method, "POST");
	CHECK_STR(r.path, "/validate");
	CHECK(r.body_len == 4 && !memcmp(r.body, "abcd", 4) && r.keep_alive);
	CHECK(r.consumed == strlen(ok) - 4);
	CHECK(httpreq_parse(ok, strlen(ok) - 6, 100, &r) == HTTPREQ_MORE);
	CHECK(httpreq_parse("GET / HTTP/1.1\r\nHost: x\r\n", 25, 100, &r) == HTTPREQ_MORE);
	const char *big = "POST /validate HTTP/1.1\r\nContent-Length: 101\r\n\r\n";
	CHECK(httpreq_parse(big, strlen(big), 100, &r) == HTTPREQ_BAD && r.status == 413);
	const char *huge = "POST /validate HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n";
	CHECK(httpreq_parse(huge, strlen(huge), 100, &r) == HTTPREQ_BAD && r.status == 413);
	const char *chunked = "POST /validate HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
	CHECK(httpreq_parse(chunked, strlen(chunked), 100, &r) == HTTPREQ_BAD && r.status == 411);
	const char *two = "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nab";
	CHECK(httpreq_parse(two, strlen(two), 100, &r) == HTTPREQ_BAD && r.status == 400);
	CHECK(httpreq_parse("GARBAGE\r\n\r\n", 11, 100, &r) == HTTPREQ_BAD && r.status == 400);
	CHECK(httpreq_parse("GET / HTTP/2.0\r\n\r\n", 18, 100, &r) == HTTPREQ_BAD && r.status == 505);
	const char *close = "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n";
	CHECK(httpreq_parse(close, strlen(close), 100, &r) == HTTPREQ_DONE && !r.keep_alive);
	char *head = malloc(HTTPREQ_MAX_HEAD + 10);
	memset(head, 'a', HTTPREQ_MAX_HEAD + 10);
	CHECK(httpreq_parse(head, HTTPREQ_MAX_HEAD + 10, 100, &r) == HTTPREQ_BAD && r.status == 431);
	free(head);
}

TEST_MAIN("admission", TEST(test_review_kinds), TEST(test_review_malformed), TEST(test_review_response),
	  TEST(test_policy_matching), TEST(test_policy_malformed), TEST(test_policy_round_trip), TEST(test_cache), TEST(test_httpreq))
