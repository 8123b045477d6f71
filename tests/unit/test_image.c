/* common/digest, imageref, manifest, regauth (parsing parts): the pieces
 * of the image model that need no server. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "imageref.h"
#include "log.h"
#include "manifest.h"
#include "regauth.h"
#include "testing.h"
#include "xalloc.h"

static void test_digest(void)
{
	char d[DIGEST_SIZE];
	digest_buffer("abc", 3, d);
	CHECK_STR(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CHECK(digest_valid(d));
	CHECK(!digest_valid("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
	CHECK(!digest_valid("sha512:ba78"));
	CHECK(!digest_valid("sha256:ba7816"));
	CHECK(!digest_valid("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	err_t *e = digest_check("md5:abc", "x");
	CHECK(e && strstr(e->msg, "not supported") && e->code == EXIT_USAGE);
	err_free(e);
	CHECK(digest_equal(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	CHECK(!digest_equal(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ae"));
	struct sha256 h = { 0 };
	sha256_init(&h);
	sha256_update(&h, "a", 1);
	sha256_update(&h, "bc", 2);
	char d2[DIGEST_SIZE];
	sha256_final(&h, d2);
	CHECK_STR(d2, d);
}

struct ref_case {
	const char *in, *registry, *repo, *tag, *digest, *str;
};

static void test_imageref(void)
{
	const char *dg = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	struct ref_case cases[] = {
		{ "alpine", "docker.io", "library/alpine", "latest", NULL, "docker.io/library/alpine:latest" },
		{ "alpine:3.19", "docker.io", "library/alpine", "3.19", NULL, "docker.io/library/alpine:3.19" },
		{ "user/app", "docker.io", "user/app", "latest", NULL, "docker.io/user/app:latest" },
		{ "index.docker.io/library/busybox:1", "docker.io", "library/busybox", "1", NULL,
		  "docker.io/library/busybox:1" },
		{ "localhost/app", "localhost", "app", "latest", NULL, "localhost/app:latest" },
		{ "localhost:5000/a/b/c:v1", "localhost:5000", "a/b/c", "v1", NULL, "localhost:5000/a/b/c:v1" },
		{ "127.0.0.1:5000/x@sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		  "127.0.0.1:5000", "x", "latest", dg, NULL },
		{ "quay.io/org/app:v1@sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		  "quay.io", "org/app", "v1", dg, NULL },
		{ "[::1]:5000/app", "[::1]:5000", "app", "latest", NULL, NULL },
		{ "my-registry.example.com/a_b/c.d-e__f:Tag_1.0-x", "my-registry.example.com", "a_b/c.d-e__f", "Tag_1.0-x",
		  NULL, NULL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct image_ref r;
		err_t *e = imageref_parse(cases[i].in, &r);
		if (e)
			fprintf(stderr, "  %s: %s\n", cases[i].in, e->msg);
		CHECK(!e);
		err_free(e);
		if (e)
			continue;
		CHECK_STR(r.registry, cases[i].registry);
		CHECK_STR(r.repository, cases[i].repo);
		CHECK_STR(r.tag, cases[i].tag);
		if (cases[i].digest)
			CHECK_STR(r.digest, cases[i].digest);
		else
			CHECK(r.digest == NULL);
		if (cases[i].str) {
			char *s = imageref_string(&r);
			CHECK_STR(s, cases[i].str);
			free(s);
		}
		imageref_free(&r);
	}
	const char *bad[] = { "", "upper/Case", "a//b", "app:", "app:-tag", "/app", "app/", "a@sha256:123",
			      "reg.io/app:tag:more", "a b", "-a/b", "a..b", "registry.io:port/app",
			      "app@md5:ba7816bf8f01cfea414140de5dae2223" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct image_ref r;
		err_t *e = imageref_parse(bad[i], &r);
		if (!e)
			fprintf(stderr, "  accepted bad ref \"%s\"\n", bad[i]);
		CHECK(e && e->code == EXIT_USAGE);
		err_free(e);
		imageref_free(&r);
	}
	struct image_ref r;
	err_t *e = imageref_parse("docker.io/library/x", &r);
	CHECK(!e && !strcmp(imageref_api_host(&r), "registry-1.docker.io"));
	char *p = imageref_pinned(&r, dg);
	CHECK_STR(p, "docker.io/library/x@sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	free(p);
	imageref_free(&r);
	err_free(e);
}

static const char *index_json =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:"
	"1111111111111111111111111111111111111111111111111111111111111111\",\"size\":10,"
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:"
	"2222222222222222222222222222222222222222222222222222222222222222\",\"size\":10,"
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:"
	"3333333333333333333333333333333333333333333333333333333333333333\",\"size\":10,"
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}}]}";

static void test_manifest_index(void)
{
	struct manifest m;
	err_t *e = manifest_parse(index_json, strlen(index_json), NULL, &m);
	CHECK(!e);
	err_free(e);
	CHECK(m.kind == MANIFEST_INDEX && m.n_manifests == 3);
	const struct descriptor *d = NULL;
	e = manifest_select_platform(&m, "linux/arm64", &d);
	CHECK(!e && d && d->digest[7] == '2');
	err_free(e);
	e = manifest_select_platform(&m, "linux/arm/v7", &d);
	CHECK(!e && d && d->digest[7] == '3');
	err_free(e);
	e = manifest_select_platform(&m, "linux/amd64", &d);
	CHECK(!e && d && d->digest[7] == '1');
	err_free(e);
	e = manifest_select_platform(&m, "windows/amd64", &d);
	CHECK(e && strstr(e->msg, "linux/arm64/v8"));
	err_free(e);
	e = manifest_select_platform(&m, "linux", &d);
	CHECK(e && e->code == EXIT_USAGE);
	err_free(e);
	manifest_release(&m);
}

static void test_manifest_image_and_errors(void)
{
	struct descriptor cfg = { .media_type = MT_OCI_CONFIG, .size = 2 };
	digest_buffer("{}", 2, cfg.digest);
	struct descriptor layer = { .media_type = MT_OCI_LAYER_GZIP, .size = 5 };
	digest_buffer("hello", 5, layer.digest);
	json_t *doc = manifest_build_image(MT_OCI_MANIFEST, &cfg, &layer, 1, NULL);
	struct strbuf sb = STRBUF_INIT;
	manifest_dump(doc, &sb);
	json_decref(doc);
	struct manifest m;
	err_t *e = manifest_parse(sb.buf, sb.len, MT_OCI_MANIFEST, &m);
	CHECK(!e);
	err_free(e);
	CHECK(m.kind == MANIFEST_IMAGE && m.n_layers == 1 && m.layers[0].size == 5);
	CHECK_STR(m.config.digest, cfg.digest);
	CHECK_STR(m.media_type, MT_OCI_MANIFEST);
	manifest_release(&m);
	CHECK(strncmp(sb.buf, "{\"schemaVersion\":2,\"mediaType\"", 30) == 0);
	sb_release(&sb);
	const char *bad[] = {
		"[]",
		"{\"schemaVersion\":1}",
		"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"}",
		"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"sha256:12\",\"size\":1},\"layers\":[]}",
		"{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"digest\":\"sha256:"
		"1111111111111111111111111111111111111111111111111111111111111111\",\"size\":-1}]}",
		"{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"digest\":\"sha256:"
		"1111111111111111111111111111111111111111111111111111111111111111\",\"size\":1,\"platform\":7}]}",
		"not json",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		e = manifest_parse(bad[i], strlen(bad[i]), NULL, &m);
		if (!e)
			fprintf(stderr, "  accepted: %s\n", bad[i]);
		CHECK(e && e->code == EXIT_FAILED);
		err_free(e);
	}
}

static void test_challenge(void)
{
	struct regauth_challenge c;
	err_t *e = regauth_parse_challenge(
		"Bearer realm=\"https://auth.example/token\",service=\"registry.example\",scope=\"repository:a/b:pull,push\"",
		&c);
	CHECK(!e);
	CHECK_STR(c.scheme, "Bearer");
	CHECK_STR(c.realm, "https://auth.example/token");
	CHECK_STR(c.service, "registry.example");
	CHECK_STR(c.scope, "repository:a/b:pull,push");
	regauth_challenge_free(&c);
	e = regauth_parse_challenge("Basic realm=\"Registry \\\"x\\\"\"", &c);
	CHECK(!e);
	CHECK_STR(c.scheme, "Basic");
	CHECK_STR(c.realm, "Registry \"x\"");
	regauth_challenge_free(&c);
	e = regauth_parse_challenge("Bearer realm=\"unterminated", &c);
	CHECK(e && e->code == EXIT_AUTH);
	err_free(e);
	e = regauth_parse_challenge(NULL, &c);
	CHECK(e && e->code == EXIT_AUTH);
	err_free(e);
}

static void test_creds_file(void)
{
	char path[] = "/tmp/test-image-authXXXXXX";
	int fd = mkstemp(path);
	/* "user:pa:ss" base64 */
	const char *json = "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"dXNlcjpwYTpzcw==\"},"
			   "\"reg.example:5000\":{\"username\":\"u2\",\"password\":\"p2-secret\"}},"
			   "\"credHelpers\":{\"gcr.io\":\"gcloud\"}}";
	CHECK(write(fd, json, strlen(json)) == (ssize_t)strlen(json));
	close(fd);
	struct regauth_creds c;
	err_t *e = regauth_creds_lookup(path, "docker.io", &c);
	CHECK(!e);
	CHECK_STR(c.username, "user");
	CHECK_STR(c.password, "pa:ss");
	regauth_creds_free(&c);
	e = regauth_creds_lookup(path, "reg.example:5000", &c);
	CHECK(!e);
	CHECK_STR(c.username, "u2");
	char *red = log_redact("x p2-secret y");
	CHECK_STR(red, "x *** y");
	free(red);
	regauth_creds_free(&c);
	e = regauth_creds_lookup(path, "gcr.io", &c);
	CHECK(!e && c.username == NULL);
	regauth_creds_free(&c);
	unlink(path);
	e = regauth_creds_lookup(path, "docker.io", &c);
	CHECK(e && e->code == EXIT_USAGE);
	err_free(e);
	e = regauth_creds_parse("nocolon", &c);
	CHECK(e && e->code == EXIT_USAGE);
	err_free(e);
}

TEST_MAIN("image", TEST(test_digest), TEST(test_imageref), TEST(test_manifest_index),
	  TEST(test_manifest_image_and_errors), TEST(test_challenge), TEST(test_creds_file))
