/* Unit tests for common/inventory: purls, each parser (good records, bad
 * records as warnings, non-format bytes as errors), npm dependency
 * resolution, the CycloneDX round trip, and layer whiteouts in images. */
#include "inventory.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layer.h"
#include "log.h"
#include "testing.h"

static const struct inv_component *find(const struct inventory *inv, const char *name)
{
	for (size_t i = 0; i < inv->n; i++)
		if (!strcmp(inv->c[i].name, name))
			return &inv->c[i];
	return NULL;
}

static void test_purls(void)
{
	char *p = inventory_purl(INV_DEB, "libc6", "2.36-9+deb12u4", "debian", "12", "amd64");
	CHECK_STR(p, "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12");
	free(p);
	p = inventory_purl(INV_DEB, "zlib1g", "1:1.2.13.dfsg-1", NULL, NULL, NULL);
	CHECK_STR(p, "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1");
	free(p);
	p = inventory_purl(INV_NPM, "@babel/core", "7.0.0", NULL, NULL, NULL);
	CHECK_STR(p, "pkg:npm/%40babel/core@7.0.0");
	free(p);
	p = inventory_purl(INV_PYPI, "Django_REST.framework", "3.1", NULL, NULL, NULL);
	CHECK_STR(p, "pkg:pypi/django-rest-framework@3.1");
	free(p);
	p = inventory_purl(INV_APK, "musl", "1.2.4-r2", "alpine", "3.19.1", "x86_64");
	CHECK_STR(p, "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.19.1");
	free(p);
}

static void test_dpkg(void)
{
	static const char status[] =
		"Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\nArchitecture: amd64\n"
		"Description: shell\n the GNU shell\n\n"
		"Package: libssl3\nStatus: install ok installed\nSource: openssl (3.0.11-1~deb12u2)\n"
		"Version: 3.0.11-1~deb12u2\nArchitecture: amd64\n\n"
		"Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n\n"
		"Package: zlib1g\nStatus: install ok installed\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\n\n"
		"Package: broken\nStatus: install ok installed\n";
	struct inventory inv;
	inventory_init(&inv);
	err_t *e = inventory_parse_dpkg_status(&inv, status, strlen(status), "var/lib/dpkg/status", "sha256:l1");
	CHECK(e == NULL);
	err_free(e);
	CHECK(inv.n == 3);
	CHECK(inv.warnings == 1); /* "broken" has no Version */
	CHECK(find(&inv, "gone") == NULL);
	const struct inv_component *c = find(&inv, "libssl3");
	REQUIRE(c);
	CHECK_STR(c->source_name, "openssl");
	CHECK_STR(c->source_version, "3.0.11-1~deb12u2");
	CHECK_STR(c->layer, "sha256:l1");
	c = find(&inv, "zlib1g");
	REQUIRE(c);
	CHECK_STR(c->source_name, "zlib");
	CHECK_STR(c->source_version, "1:1.2.13.dfsg-1");
	c = find(&inv, "bash");
	REQUIRE(c);
	CHECK_STR(c->source_name, "bash");
	CHECK_STR(c->purl, "pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64");
	inventory_free(&inv);

	/* not the format: an error naming file and line */
	inventory_init(&inv);
	static const char junk[] = "Package: a\nVersion: 1\n\nthis is not a field\n";
	e = inventory_parse_dpkg_status(&inv, junk, strlen(junk), "status", NULL);
	REQUIRE(e);
	CHECK(e->code == EXIT_USAGE);
	CHECK(strstr(e->msg, "status:4:") != NULL);
	err_free(e);
	inventory_free(&inv);
}

static void test_apk(void)
{
	static const char db[] = "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\no:musl\n\n"
				 "P:libcrypto3\nV:3.1.4-r5\nL:Apache-2.0\no:openssl\n\nP:nover\n\n";
	struct inventory inv;
	inventory_init(&inv);
	err_t *e = inventory_parse_apk_installed(&inv, db, strlen(db), "lib/apk/db/installed", NULL);
	CHECK(e == NULL);
	err_free(e);
	CHECK(inv.n == 2);
	CHECK(inv.warnings == 1);
	const struct inv_component *c = find(&inv, "libcrypto3");
	REQUIRE(c);
	CHECK_STR(c->source_name, "openssl");
	REQUIRE(c->n_licenses == 1);
	CHECK_STR(c->licenses[0], "Apache-2.0");
	inventory_free(&inv);
}

static void test_npm_v3_deps(void)
{
	/* b is nested under a (a needs b@2), the top-level b is 1 */
	static const char lock[] =
		"{\"lockfileVersion\":3,\"packages\":{\"\":{\"name\":\"app\"},"
		"\"node_modules/a\":{\"version\":\"1.0.0\",\"license\":\"MIT\",\"dependencies\":{\"b\":\"^2\",\"c\":\"*\"}},"
		"\"node_modules/a/node_modules/b\":{\"version\":\"2.0.0\"},"
		"\"node_modules/b\":{\"version\":\"1.0.0\"},"
		"\"node_modules/c\":{\"version\":\"3.0.0\",\"dependencies\":{\"b\":\"^1\"}},"
		"\"node_modules/@s/d\":{\"version\":\"4.0.0\"},"
		"\"node_modules/bad\":{\"license\":\"MIT\"}}}";
	struct inventory inv;
	inventory_init(&inv);
	err_t *e = inventory_parse_npm_lock(&inv, lock, strlen(lock), "package-lock.json", NULL);
	CHECK(e == NULL);
	err_free(e);
	CHECK(inv.n == 5);
	CHECK(inv.warnings == 1);
	const struct inv_component *a = find(&inv, "a");
	REQUIRE(a && a->n_deps == 2);
	CHECK_STR(a->deps[0], "pkg:npm/b@2.0.0");
	CHECK_STR(a->deps[1], "pkg:npm/c@3.0.0");
	const struct inv_component *c = find(&inv, "c");
	REQUIRE(c && c->n_deps == 1);
	CHECK_STR(c->deps[0], "pkg:npm/b@1.0.0");
	CHECK(find(&inv, "@s/d") != NULL);
	inventory_free(&inv);

	inventory_init(&inv);
	e = inventory_parse_npm_lock(&inv, "{\"name\":1}", 10, "package-lock.json", NULL);
	REQUIRE(e);
	CHECK(strstr(e->msg, "lockfileVersion") != NULL);
	err_free(e);
	inventory_free(&inv);
}

static void test_npm_v1(void)
{
	static const char lock[] = "{\"lockfileVersion\":1,\"dependencies\":{"
				   "\"a\":{\"version\":\"1.0.0\",\"requires\":{\"b\":\"^2\"},"
				   "\"dependencies\":{\"b\":{\"version\":\"2.0.0\"}}},"
				   "\"b\":{\"version\":\"1.0.0\"}}}";
	struct inventory inv;
	inventory_init(&inv);
	err_t *e = inventory_parse_npm_lock(&inv, lock, strlen(lock), "package-lock.json", NULL);
	CHECK(e == NULL);
	err_free(e);
	CHECK(inv.n == 3);
	const struct inv_component *a = find(&inv, "a");
	REQUIRE(a && a->n_deps == 1);
	CHECK_STR(a->deps[0], "pkg:npm/b@2.0.0");
	inventory_free(&inv);
}

static void test_python_os(void)
{
	static const char meta[] = "Metadata-Version: 2.1\nName: Jinja2\nVersion: 3.1.2\nLicense: BSD-3-Clause\n"
				   "\nName: not-this\n";
	struct inventory inv;
	inventory_init(&inv);
	err_t *e = inventory_parse_python_metadata(&inv, meta, strlen(meta), "x/Jinja2-3.1.2.dist-info/METADATA", NULL);
	CHECK(e == NULL);
	err_free(e);
	REQUIRE(inv.n == 1);
	CHECK_STR(inv.c[0].purl, "pkg:pypi/jinja2@3.1.2");
	static const char osr[] = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n";
	e = inventory_parse_os_release(&inv, osr, strlen(osr), "etc/os-release");
	CHECK(e == NULL);
	err_free(e);
	CHECK_STR(inv.os_id, "debian");
	CHECK_STR(inv.os_version_id, "12");
	CHECK_STR(inv.os_name, "Debian GNU/Linux 12 (bookworm)");
	inventory_free(&inv);
}

static void test_static_binary(void)
{
	/* the first line right after non-text bytes (ASan pads globals with
	 * them), a compiler's .comment and a look-alike that is not ours */
	static const char bin[] = "\177ELF....\0check-health 0.1.0\0\365\365"
				  "  curl 7.88.1-10+deb12u5 (built here from the Debian source: libcurl.a)\n"
				  "  openssl 3.0.11-1~deb12u2 (Debian libssl-dev: libssl.a libcrypto.a)\n\0"
				  "GCC: (Debian 12.2.0-14+deb12u1) 12.2.0\n\0"
				  "  fake 1.0 (Debian fake-dev: not-an-archive)\n\0tail";
	struct inventory inv;
	inventory_init(&inv);
	err_t *e = inventory_parse_static_binary(&inv, bin, sizeof bin - 1, "task", NULL);
	CHECK(e == NULL);
	err_free(e);
	REQUIRE(inv.n == 2);
	const struct inv_component *c = find(&inv, "libssl-dev");
	REQUIRE(c);
	CHECK_STR(c->source_name, "openssl");
	CHECK_STR(c->version, "3.0.11-1~deb12u2");
	CHECK(find(&inv, "curl") != NULL);
	inventory_free(&inv);
}

/* bytes that are not UTF-8 cannot go into the JSON documents: the record
 * is skipped with a warning, the others kept, and the documents are made */
static void test_not_utf8(void)
{
	static const char status[] = "Package: ok\nStatus: install ok installed\nVersion: 1\n\n"
				     "Package: bad\xff\nStatus: install ok installed\nVersion: 1\n\n"
				     "Package: badver\nStatus: install ok installed\nVersion: 1\xc3\n";
	static const char os[] = "ID=debian\nVERSION_ID=12\nPRETTY_NAME=\"Deb\xe9" "an\"\n";
	struct inventory inv;
	inventory_init(&inv);
	err_t *e = inventory_parse_os_release(&inv, os, strlen(os), "etc/os-release");
	CHECK(e == NULL);
	err_free(e);
	e = inventory_parse_dpkg_status(&inv, status, strlen(status), "var/lib/dpkg/status", NULL);
	CHECK(e == NULL);
	err_free(e);
	CHECK(inv.n == 1);
	CHECK(inv.warnings == 3);
	CHECK(find(&inv, "ok") != NULL);
	CHECK_STR(inv.os_id, "debian");
	CHECK(inv.os_name == NULL);
	json_t *cdx = inventory_to_cyclonedx(&inv, "urn:uuid:x"), *spdx = inventory_to_spdx(&inv, "x");
	CHECK(json_array_size(json_object_get(cdx, "components")) == 2); /* the OS and "ok" */
	CHECK(spdx != NULL);
	json_decref(cdx);
	json_decref(spdx);
	inventory_free(&inv);
}

static const char *package_spdx_license(const json_t *spdx, const char *name)
{
	size_t i;
	const json_t *p;
	json_array_foreach(json_object_get(spdx, "packages"), i, p)
		if (!strcmp(json_string_value(json_object_get(p, "name")), name))
			return json_string_value(json_object_get(p, "licenseDeclared"));
	return NULL;
}

/* licenses as declared -> CycloneDX id (the SPDX list's spelling), a lone
 * expression, or a name; SPDX licenseDeclared an expression of listed ids
 * or NOASSERTION */
static void test_licenses(void)
{
	static const char lock[] = "{\"lockfileVersion\":3,\"packages\":{"
				   "\"node_modules/a\":{\"version\":\"1.0.0\",\"license\":\"mit\"},"
				   "\"node_modules/b\":{\"version\":\"1.0.0\",\"license\":\"(MIT OR apache-2.0)\"},"
				   "\"node_modules/c\":{\"version\":\"1.0.0\",\"license\":\"UNLICENSED\"},"
				   "\"node_modules/d\":{\"version\":\"1.0.0\",\"license\":\"MIT OR\"},"
				   "\"node_modules/e\":{\"version\":\"1.0.0\",\"license\":\"GPL-2.0+ WITH Classpath-exception-2.0\"}}}";
	struct inventory inv;
	inventory_init(&inv);
	err_t *e = inventory_parse_npm_lock(&inv, lock, strlen(lock), "package-lock.json", NULL);
	CHECK(e == NULL);
	err_free(e);
	inventory_finish(&inv);
	REQUIRE(inv.n == 5);
	json_t *cdx = inventory_to_cyclonedx(&inv, "urn:uuid:x"), *spdx = inventory_to_spdx(&inv, "x");
	char *got = json_dumps(json_object_get(cdx, "components"), JSON_COMPACT);
	CHECK(strstr(got, "\"name\":\"a\",\"version\":\"1.0.0\",\"purl\":\"pkg:npm/a@1.0.0\",\"licenses\":[{\"license\":{\"id\":\"MIT\"}}]") != NULL);
	CHECK(strstr(got, "\"licenses\":[{\"expression\":\"(MIT OR Apache-2.0)\"}]") != NULL);
	CHECK(strstr(got, "\"licenses\":[{\"license\":{\"name\":\"UNLICENSED\"}}]") != NULL);
	CHECK(strstr(got, "\"licenses\":[{\"license\":{\"name\":\"MIT OR\"}}]") != NULL);
	CHECK(strstr(got, "\"licenses\":[{\"expression\":\"GPL-2.0+ WITH Classpath-exception-2.0\"}]") != NULL);
	free(got);
	CHECK_STR(package_spdx_license(spdx, "a"), "MIT");
	CHECK_STR(package_spdx_license(spdx, "b"), "(MIT OR Apache-2.0)");
	CHECK_STR(package_spdx_license(spdx, "c"), "NOASSERTION");
	CHECK_STR(package_spdx_license(spdx, "d"), "NOASSERTION");
	json_decref(cdx);
	json_decref(spdx);
	inventory_free(&inv);
}

static void test_cyclonedx_roundtrip(void)
{
	static const char lock[] = "{\"lockfileVersion\":2,\"packages\":{"
				   "\"node_modules/a\":{\"version\":\"1.0.0\",\"license\":\"MIT\",\"dependencies\":{\"b\":\"1\"}},"
				   "\"node_modules/b\":{\"version\":\"1.0.0\",\"license\":\"(MIT OR Apache-2.0)\"}}}";
	static const char status[] = "Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.11-1\n";
	struct inventory inv, back;
	inventory_init(&inv);
	inventory_init(&back);
	err_t *e = inventory_parse_npm_lock(&inv, lock, strlen(lock), "package-lock.json", NULL);
	if (!e)
		e = inventory_parse_dpkg_status(&inv, status, strlen(status), "var/lib/dpkg/status", "sha256:aa");
	CHECK(e == NULL);
	err_free(e);
	inventory_finish(&inv);
	json_t *doc = inventory_to_cyclonedx(&inv, "urn:uuid:00000000-0000-4000-8000-000000000000");
	CHECK_STR(json_string_value(json_object_get(doc, "specVersion")), "1.5");
	e = inventory_from_cyclonedx(doc, "doc", &back);
	CHECK(e == NULL);
	err_free(e);
	REQUIRE(back.n == inv.n);
	const struct inv_component *s = find(&back, "libssl3");
	REQUIRE(s);
	CHECK_STR(s->source_name, "openssl");
	CHECK_STR(s->layer, "sha256:aa");
	const struct inv_component *a = find(&back, "a");
	REQUIRE(a && a->n_deps == 1);
	CHECK_STR(a->deps[0], "pkg:npm/b@1.0.0");
	json_decref(doc);
	inventory_free(&back);

	/* not CycloneDX */
	inventory_init(&back);
	json_t *spdx = inventory_to_spdx(&inv, "u");
	e = inventory_from_cyclonedx(spdx, "x.json", &back);
	REQUIRE(e);
	CHECK(strstr(e->msg, "x.json: not a CycloneDX") != NULL);
	err_free(e);
	json_decref(spdx);
	inventory_free(&back);
	inventory_free(&inv);
}

/* ---- images: whiteouts across layers ---- */

/* write a tar layer with the given entries ("path=content", ".wh.x",
 * "dir/.wh..wh..opq") into a temp file; *out: its fd at offset 0 */
static void make_layer(const char *const *entries, int *fd_out)
{
	*fd_out = -1;
	char tmpl[] = "/tmp/test-inventory-XXXXXX";
	REQUIRE(mkdtemp(tmpl));
	char out[64];
	snprintf(out, sizeof out, "%s.tar", tmpl);
	int fd = open(out, O_RDWR | O_CREAT | O_TRUNC, 0600);
	REQUIRE(fd >= 0);
	unlink(out);
	struct layer_writer *w = NULL;
	struct layer_write_options o = { LAYER_GZIP, 0, 0, 0, true };
	err_t *e = layer_writer_new(fd, &o, &w);
	REQUIRE(!e);
	for (size_t i = 0; entries[i]; i++) {
		const char *eq = strchr(entries[i], '=');
		char path[256];
		snprintf(path, sizeof path, "%.*s", (int)(eq ? eq - entries[i] : (long)strlen(entries[i])), entries[i]);
		const char *base = strrchr(path, '/');
		base = base ? base + 1 : path;
		if (!strcmp(base, ".wh..wh..opq")) {
			path[strlen(path) - strlen(base) - 1] = '\0';
			e = layer_writer_add_opaque(w, path);
		} else if (!strncmp(base, ".wh.", 4)) {
			char victim[256];
			snprintf(victim, sizeof victim, "%.*s%s", (int)(base - path), path, base + 4);
			e = layer_writer_add_whiteout(w, victim);
		} else {
			char src[] = "/tmp/test-inventory-src-XXXXXX";
			int sfd = mkstemp(src);
			REQUIRE(sfd >= 0);
			REQUIRE(write(sfd, eq + 1, strlen(eq + 1)) == (ssize_t)strlen(eq + 1));
			lseek(sfd, 0, SEEK_SET);
			struct layer_entry_meta m = { .mode = 0100644 };
			e = layer_writer_add_fd(w, path, &m, sfd, (int64_t)strlen(eq + 1));
			close(sfd);
			unlink(src);
		}
		REQUIRE(!e);
	}
	struct layer_write_result r;
	e = layer_writer_finish(w, &r);
	REQUIRE(!e);
	rmdir(tmpl);
	lseek(fd, 0, SEEK_SET);
	*fd_out = fd;
}

struct collected {
	char paths[32][128];
	int kinds[32];
	size_t n;
};

static err_t *collect(const struct layer_read_entry *ent, struct layer_reader *r, void *ctx)
{
	(void)r;
	struct collected *c = ctx;
	if (c->n < 32) {
		snprintf(c->paths[c->n], sizeof c->paths[c->n], "%s", ent->path);
		c->kinds[c->n++] = (int)ent->kind;
	}
	return NULL;
}

static void test_layer_read_whiteouts(void)
{
	const char *const l[] = { "a/.wh..wh..opq", "a/.wh.b", "c=x", NULL };
	int fd;
	make_layer(l, &fd);
	REQUIRE(fd >= 0);
	struct collected c = { 0 };
	struct layer_apply_stats st;
	err_t *e = layer_read(fd, collect, &c, &st);
	close(fd);
	CHECK(e == NULL);
	err_free(e);
	CHECK(st.whiteouts == 2);
	bool opaque = false, wh = false, file = false;
	for (size_t i = 0; i < c.n; i++) {
		opaque |= c.kinds[i] == LAYER_READ_OPAQUE && !strcmp(c.paths[i], "a");
		wh |= c.kinds[i] == LAYER_READ_WHITEOUT && !strcmp(c.paths[i], "a/b");
		file |= c.kinds[i] == LAYER_READ_FILE && !strcmp(c.paths[i], "c");
	}
	CHECK(opaque);
	CHECK(wh);
	CHECK(file);
}

TEST_MAIN("inventory", TEST(test_purls), TEST(test_dpkg), TEST(test_apk), TEST(test_npm_v3_deps), TEST(test_npm_v1),
	  TEST(test_python_os), TEST(test_static_binary), TEST(test_not_utf8), TEST(test_licenses), TEST(test_cyclonedx_roundtrip),
	  TEST(test_layer_read_whiteouts))
