/* The cosign payload check (common/cosign.c cosign_check_payload): a
 * signature by a trusted key is only a signature of this image if its
 * payload names exactly this digest and this repository. Attacks on the
 * identity and digest comparisons, each refused for the reason named. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cosign.h"
#include "strbuf.h"
#include "testing.h"

#define REPO "registry.example:5000/team/app"
#define DIGEST "sha256:4d2b9a0c87a4e7a8b6a0f1d3c5b7e9f10213243546576879a0b1c2d3e4f5a6b7"

/* A payload naming ref and digest, as cosign writes it. */
static char *payload(const char *ref, const char *digest)
{
	struct strbuf sb = STRBUF_INIT;
	cosign_payload(ref, digest, &sb);
	return sb_detach(&sb);
}

static void accepted(const char *ref, const char *digest)
{
	char *p = payload(ref, digest);
	err_t *e = cosign_check_payload(p, strlen(p), REPO, DIGEST);
	if (e)
		fprintf(stderr, "  %s / %s refused: %s\n", ref, digest, e->msg);
	CHECK(!e);
	err_free(e);
	free(p);
}

static void refused_text(const char *p, const char *why)
{
	err_t *e = cosign_check_payload(p, strlen(p), REPO, DIGEST);
	char *d = e ? err_describe(e) : NULL;
	CHECK(e && e->code == EXIT_POLICY);
	if (d && !strstr(d, why))
		fprintf(stderr, "  '%s' lacks '%s'\n", d, why);
	CHECK(d && strstr(d, why));
	free(d);
	err_free(e);
}

static void refused(const char *ref, const char *digest, const char *why)
{
	char *p = payload(ref, digest);
	refused_text(p, why);
	free(p);
}

static void test_own_identity(void)
{
	accepted(REPO, DIGEST);
	accepted(REPO ":v1", DIGEST);
	accepted(REPO "@" DIGEST, DIGEST);
}

/* repositories that share a prefix with ours, or that ours is a prefix
 * of, are other repositories */
static void test_other_repository(void)
{
	refused(REPO "-evil", DIGEST, "signature names identity " REPO "-evil, not " REPO);
	refused(REPO "/sub", DIGEST, "names identity " REPO "/sub");
	refused(REPO "evil:v1", DIGEST, "names identity " REPO "evil:v1");
	refused("registry.example:5000/team/ap", DIGEST, "names identity registry.example:5000/team/ap,");
	refused("registry.example:5000/team", DIGEST, "names identity registry.example:5000/team,");
	refused("other.example:5000/team/app", DIGEST, "names identity other.example:5000/team/app");
	refused("evil/" REPO, DIGEST, "names identity evil/" REPO);
	refused("", DIGEST, "names identity , not");
}

/* a digest that differs in its last character, its case, its length or
 * its algorithm is another digest */
static void test_other_digest(void)
{
	char last[] = DIGEST;
	last[strlen(last) - 1] = '8';
	refused(REPO, last, "signature is for digest " "sha256:4d2b9a0c87a4e7a8b6a0f1d3c5b7e9f10213243546576879a0b1c2d3e4f5a6b8");
	refused(REPO, "SHA256:4D2B9A0C87A4E7A8B6A0F1D3C5B7E9F10213243546576879A0B1C2D3E4F5A6B7", "a signature on another image");
	refused(REPO, DIGEST "0", "a signature on another image");
	char shorter[] = DIGEST;
	shorter[strlen(shorter) - 1] = '\0';
	refused(REPO, shorter, "a signature on another image");
	refused(REPO, "sha512:4d2b9a0c87a4e7a8b6a0f1d3c5b7e9f10213243546576879a0b1c2d3e4f5a6b7", "a signature on another image");
}

/* what the payload must be at all */
static void test_malformed_payload(void)
{
	refused_text("{\"critical\":{\"identity\":{\"docker-reference\":\"" REPO "\"},\"image\":{\"docker-manifest-digest\":\"" DIGEST
		     "\"},\"type\":\"something else\"}}",
		     "not a cosign container image signature");
	refused_text("{\"critical\":{\"identity\":{},\"image\":{\"docker-manifest-digest\":\"" DIGEST
		     "\"},\"type\":\"cosign container image signature\"}}",
		     "names identity (none)");
	refused_text("{\"critical\":{\"identity\":{\"docker-reference\":\"" REPO
		     "\"},\"image\":{},\"type\":\"cosign container image signature\"}}",
		     "signature is for digest (none)");
	/* the fields outside "critical" name nothing */
	refused_text("{\"critical\":{\"type\":\"cosign container image signature\"},\"identity\":{\"docker-reference\":\"" REPO
		     "\"},\"image\":{\"docker-manifest-digest\":\"" DIGEST "\"}}",
		     "signature is for digest (none)");
	err_t *e = cosign_check_payload("{\"critical\":", 12, REPO, DIGEST);
	CHECK(e != NULL);
	err_free(e);
}

TEST_MAIN("cosign", TEST(test_own_identity), TEST(test_other_repository), TEST(test_other_digest),
	  TEST(test_malformed_payload))
