/* common/registry API against a real docker-registry (TLS + htpasswd),
 * started through tests/servers/registry.sh (run from the repo root):
 * ping, blob upload/HEAD/GET with size and digest checks, manifest
 * PUT/HEAD/GET/DELETE, tag listing, and error codes. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "manifest.h"
#include "registry.h"
#include "testing.h"
#include "testserver.h"
#include "xalloc.h"

static struct testserver srv;
static char *addr, *ca, *creds;
static bool started;

static void start(void)
{
	testserver_start(&srv, "htpasswd");
	started = srv.started;
	addr = srv.addr;
	ca = srv.ca;
	creds = xasprintf("%s:%s", srv.user, srv.pass);
}

static struct registry *open_repo(const char *repo, const char *c)
{
	struct registry_options o = { .creds = c, .tags_page_size = 2 };
	o.http.ca_file = ca;
	o.http.retries = 0;
	struct registry *r = NULL;
	err_t *e = registry_open(addr, repo, &o, &r);
	CHECK(!e);
	err_free(e);
	return r;
}

static void test_ping_and_auth(void)
{
	if (!started)
		start();
	REQUIRE(started);
	struct registry *r = open_repo("unit/app", creds);
	err_t *e = registry_ping(r);
	CHECK(!e);
	err_free(e);
	registry_close(r);
	r = open_repo("unit/app", "tester:wrong-password");
	e = registry_ping(r);
	CHECK(e && e->code == EXIT_AUTH && err_is(e, ERR_KIND_AUTH));
	err_free(e);
	registry_close(r);
	r = open_repo("unit/app", NULL);
	e = registry_ping(r);
	CHECK(e && e->code == EXIT_AUTH);
	err_free(e);
	registry_close(r);
}

static int fd_of(const char *text)
{
	char path[] = "/tmp/test-registry-blobXXXXXX";
	int fd = mkstemp(path);
	unlink(path);
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		CHECK(0);
	return fd;
}

struct collect {
	struct strbuf sb;
};

static err_t *collect(const void *data, size_t len, void *ctx)
{
	sb_add(&((struct collect *)ctx)->sb, data, len);
	return NULL;
}

static void test_blobs_manifests_tags(void)
{
	REQUIRE(started);
	struct registry *r = open_repo("unit/app", creds);
	const char *layer = "layer bytes";
	char ld[DIGEST_SIZE];
	digest_buffer(layer, strlen(layer), ld);
	bool exists = true;
	err_t *e = registry_blob_exists(r, ld, &exists, NULL);
	CHECK(!e && !exists);
	err_free(e);
	int fd = fd_of(layer);
	e = registry_put_blob_fd(r, ld, (int64_t)strlen(layer), fd);
	CHECK(!e);
	err_free(e);
	close(fd);
	/* a wrong digest is refused by the registry */
	fd = fd_of("other bytes");
	e = registry_put_blob_fd(r, ld[7] == 'a' ? "sha256:b000000000000000000000000000000000000000000000000000000000000000"
				      : "sha256:a000000000000000000000000000000000000000000000000000000000000000",
				 11, fd);
	CHECK(e && e->code == EXIT_FAILED);
	err_free(e);
	close(fd);
	int64_t size = 0;
	e = registry_blob_exists(r, ld, &exists, &size);
	CHECK(!e && exists && size == (int64_t)strlen(layer));
	err_free(e);
	struct collect c = { STRBUF_INIT };
	e = registry_get_blob(r, ld, (int64_t)strlen(layer), collect, &c);
	CHECK(!e && c.sb.len == strlen(layer) && !memcmp(c.sb.buf, layer, c.sb.len));
	err_free(e);
	sb_reset(&c.sb);
	e = registry_get_blob(r, ld, 3, collect, &c);
	char *msg = e ? err_describe(e) : NULL;
	CHECK(e && e->code == EXIT_FAILED && msg && strstr(msg, "larger than its declared 3 bytes"));
	free(msg);
	err_free(e);
	sb_release(&c.sb);
	char cd[DIGEST_SIZE];
	e = registry_put_blob_buffer(r, "{}", 2, cd);
	CHECK(!e);
	err_free(e);

	struct descriptor cfg = { .media_type = MT_OCI_CONFIG, .size = 2 };
	memcpy(cfg.digest, cd, DIGEST_SIZE);
	struct descriptor l = { .media_type = MT_OCI_LAYER, .size = (int64_t)strlen(layer) };
	memcpy(l.digest, ld, DIGEST_SIZE);
	json_t *doc = manifest_build_image(MT_OCI_MANIFEST, &cfg, &l, 1, NULL);
	struct strbuf body = STRBUF_INIT;
	manifest_dump(doc, &body);
	json_decref(doc);
	char md[DIGEST_SIZE];
	const char *tags[] = { "v1", "v2", "latest" };
	for (int i = 0; i < 3; i++) {
		e = registry_put_manifest(r, tags[i], MT_OCI_MANIFEST, body.buf, body.len, md);
		CHECK(!e);
		err_free(e);
	}
	char hd[DIGEST_SIZE] = { 0 };
	char *mt = NULL;
	e = registry_head_manifest(r, "v2", &exists, hd, &mt);
	CHECK(!e && exists && !strcmp(hd, md) && mt && !strcmp(mt, MT_OCI_MANIFEST));
	err_free(e);
	free(mt);
	struct registry_manifest m;
	e = registry_get_manifest(r, md, &m);
	CHECK(!e && m.body.len == body.len && !strcmp(m.digest, md));
	err_free(e);
	registry_manifest_release(&m);
	e = registry_get_manifest(r, "nope", &m);
	CHECK(e && e->code == EXIT_FAILED && strstr(e->msg, "not found"));
	CHECK(err_is(e, ERR_KIND_NOT_FOUND));
	err_free(e);
	/* a manifest naming a blob the registry does not have: the registry's
	 * MANIFEST_BLOB_UNKNOWN (HTTP 400) is "not found" too (cosign uploads
	 * again and retries on it) */
	struct descriptor gone = { .media_type = MT_OCI_CONFIG, .size = 3 };
	digest_buffer("xyz", 3, gone.digest);
	json_t *bad = manifest_build_image(MT_OCI_MANIFEST, &gone, NULL, 0, NULL);
	struct strbuf badb = STRBUF_INIT;
	manifest_dump(bad, &badb);
	json_decref(bad);
	e = registry_put_manifest(r, "broken", MT_OCI_MANIFEST, badb.buf, badb.len, NULL);
	CHECK(e && err_is(e, ERR_KIND_NOT_FOUND));
	err_free(e);
	sb_release(&badb);
	/* any other refusal is the remote's error, not "not found" */
	const char *junk = "not a manifest";
	e = registry_put_manifest(r, "broken", MT_OCI_MANIFEST, junk, strlen(junk), NULL);
	CHECK(e && !err_is(e, ERR_KIND_NOT_FOUND) && err_is(e, ERR_KIND_REMOTE));
	err_free(e);

	sb_release(&body);

	e = registry_delete_manifest(r, md);
	CHECK(!e);
	err_free(e);
	e = registry_head_manifest(r, "v1", &exists, NULL, NULL);
	CHECK(!e && !exists);
	err_free(e);
	registry_close(r);
}

static err_t *add_tag(const char *tag, void *ctx)
{
	struct strbuf *sb = ctx;
	sb_addf(sb, "%s,", tag);
	return NULL;
}

static void test_tags(void)
{
	REQUIRE(started);
	struct registry *r = open_repo("unit/tags", creds);
	char cd[DIGEST_SIZE];
	err_t *e = registry_put_blob_buffer(r, "{}", 2, cd);
	CHECK(!e);
	err_free(e);
	struct descriptor cfg = { .media_type = MT_OCI_CONFIG, .size = 2 };
	memcpy(cfg.digest, cd, DIGEST_SIZE);
	json_t *doc = manifest_build_image(MT_OCI_MANIFEST, &cfg, NULL, 0, NULL);
	struct strbuf body = STRBUF_INIT;
	manifest_dump(doc, &body);
	json_decref(doc);
	const char *tags[] = { "b", "a", "c" };
	for (int i = 0; i < 3; i++) {
		e = registry_put_manifest(r, tags[i], MT_OCI_MANIFEST, body.buf, body.len, NULL);
		CHECK(!e);
		err_free(e);
	}
	struct strbuf got = STRBUF_INIT;
	e = registry_list_tags(r, add_tag, &got);
	CHECK(!e);
	err_free(e);
	/* pages of 2 (Link: rel="next" followed); the order is the registry's */
	CHECK(got.len == 6 && strstr(sb_str(&got), "a,") && strstr(sb_str(&got), "b,") && strstr(sb_str(&got), "c,"));
	sb_release(&got);
	sb_release(&body);
	registry_close(r);
}

/* Requests sent side by side (registry_upload_blob_buffers,
 * registry_get_manifests) give what the same requests one after the
 * other give: on a fresh client the first batch meets the registry's
 * credentials challenge and still succeeds; a wrong password is the same
 * refusal; every answer lands in its own slot. */
static void test_side_by_side(void)
{
	REQUIRE(started);
	struct registry *r = open_repo("unit/batch", creds);
	const char *a = "batch blob a", *b = "batch blob bb";
	const void *datas[] = { a, b };
	size_t lens[] = { strlen(a), strlen(b) };
	err_t *e = registry_upload_blob_buffers(r, datas, lens, 2);
	CHECK(!e);
	err_free(e);
	char d[2][DIGEST_SIZE];
	for (int i = 0; i < 2; i++) {
		digest_buffer(datas[i], lens[i], d[i]);
		bool exists = false;
		int64_t size = -1;
		e = registry_blob_exists(r, d[i], &exists, &size);
		CHECK(!e && exists && size == (int64_t)lens[i]);
		err_free(e);
	}
	/* two manifests (a and b as configs), read back together with a
	 * missing tag between them */
	struct strbuf body[2] = { STRBUF_INIT, STRBUF_INIT };
	char md[2][DIGEST_SIZE];
	const char *tags[] = { "ta", "tb" };
	for (int i = 0; i < 2; i++) {
		struct descriptor cfg = { .media_type = MT_OCI_CONFIG, .size = (int64_t)lens[i] };
		memcpy(cfg.digest, d[i], DIGEST_SIZE);
		json_t *doc = manifest_build_image(MT_OCI_MANIFEST, &cfg, NULL, 0, NULL);
		manifest_dump(doc, &body[i]);
		json_decref(doc);
		e = registry_put_manifest(r, tags[i], MT_OCI_MANIFEST, body[i].buf, body[i].len, md[i]);
		CHECK(!e);
		err_free(e);
	}
	registry_close(r);
	r = open_repo("unit/batch", creds); /* fresh: no credentials sent yet */
	const char *refs[] = { "tb", "missing", md[0] };
	struct registry_manifest ms[3];
	err_t *errs[3];
	registry_get_manifests(r, refs, ms, errs, 3);
	CHECK(!errs[0] && ms[0].body.len == body[1].len && !memcmp(ms[0].body.buf, body[1].buf, body[1].len) &&
	      !strcmp(ms[0].digest, md[1]));
	CHECK(errs[1] && err_is(errs[1], ERR_KIND_NOT_FOUND) && strstr(errs[1]->msg, "manifest missing not found"));
	CHECK(!errs[2] && ms[2].body.len == body[0].len && !strcmp(ms[2].digest, md[0]));
	for (int i = 0; i < 3; i++) {
		err_free(errs[i]);
		registry_manifest_release(&ms[i]);
	}
	registry_close(r);
	/* a fresh client's first requests are the batch: challenged, answered */
	r = open_repo("unit/batch", creds);
	const char *c = "batch blob ccc";
	const void *one[] = { c, a };
	size_t one_len[] = { strlen(c), strlen(a) };
	e = registry_upload_blob_buffers(r, one, one_len, 2);
	CHECK(!e);
	err_free(e);
	char cdg[DIGEST_SIZE];
	digest_buffer(c, strlen(c), cdg);
	bool exists = false;
	e = registry_blob_exists(r, cdg, &exists, NULL);
	CHECK(!e && exists);
	err_free(e);
	registry_close(r);
	/* wrong credentials: refused as one request would be */
	r = open_repo("unit/batch", "tester:wrong-password");
	e = registry_upload_blob_buffers(r, one, one_len, 2);
	char *msg = e ? err_describe(e) : NULL;
	CHECK(e && e->code == EXIT_AUTH && msg && strstr(msg, "unit/batch"));
	free(msg);
	err_free(e);
	const char *refs2[] = { "ta", "tb" };
	registry_get_manifests(r, refs2, ms, errs, 2);
	for (int i = 0; i < 2; i++) {
		CHECK(errs[i] && errs[i]->code == EXIT_AUTH && err_is(errs[i], ERR_KIND_AUTH));
		err_free(errs[i]);
		registry_manifest_release(&ms[i]);
	}
	registry_close(r);
	sb_release(&body[0]);
	sb_release(&body[1]);
}

static bool blob_there(struct registry *r, const char *data)
{
	char d[DIGEST_SIZE];
	digest_buffer(data, strlen(data), d);
	bool exists = false;
	int64_t size = -1;
	err_t *e = registry_blob_exists(r, d, &exists, &size);
	bool ok = !e && exists && size == (int64_t)strlen(data);
	err_free(e);
	return ok;
}

/* More requests side by side than connections allowed to the registry:
 * the others wait for a connection and each gets its own answer (with
 * one connection, every request after the first waits its turn) */
static void test_more_requests_than_connections(void)
{
	REQUIRE(started);
	for (long conns = 1; conns <= 2; conns++) {
		struct registry_options o = { .creds = creds };
		o.http.ca_file = ca;
		o.http.max_host_connections = conns;
		struct registry *r = NULL;
		err_t *e = registry_open(addr, "unit/queue", &o, &r);
		CHECK(!e);
		err_free(e);
		if (!r)
			return;
		enum { N = 6 };
		const char *datas[N] = { "queue 0", "queue 11", "queue 222", "queue 3333", "queue 44444", "queue 555555" };
		size_t lens[N];
		for (int i = 0; i < N; i++)
			lens[i] = strlen(datas[i]);
		e = registry_upload_blob_buffers(r, (const void *const *)datas, lens, N);
		CHECK(!e);
		err_free(e);
		for (int i = 0; i < N; i++)
			CHECK(blob_there(r, datas[i]));
		/* manifests with those configs, read back all at once, with
		 * missing tags between them */
		const char *tags[N] = { "q0", "q1", "q2", "q3", "q4", "q5" };
		struct strbuf body[N];
		for (int i = 0; i < N; i++) {
			struct descriptor cfg = { .media_type = MT_OCI_CONFIG, .size = (int64_t)lens[i] };
			digest_buffer(datas[i], lens[i], cfg.digest);
			json_t *doc = manifest_build_image(MT_OCI_MANIFEST, &cfg, NULL, 0, NULL);
			body[i] = (struct strbuf)STRBUF_INIT;
			manifest_dump(doc, &body[i]);
			json_decref(doc);
			e = registry_put_manifest(r, tags[i], MT_OCI_MANIFEST, body[i].buf, body[i].len, NULL);
			CHECK(!e);
			err_free(e);
		}
		const char *refs[2 * N];
		for (int i = 0; i < N; i++) {
			refs[2 * i] = tags[N - 1 - i];
			refs[2 * i + 1] = "missing";
		}
		struct registry_manifest ms[2 * N];
		err_t *errs[2 * N];
		registry_get_manifests(r, refs, ms, errs, 2 * N);
		for (int i = 0; i < N; i++) {
			const struct strbuf *want = &body[N - 1 - i];
			CHECK(!errs[2 * i] && ms[2 * i].body.len == want->len &&
			      !memcmp(ms[2 * i].body.buf, want->buf, want->len));
			CHECK(errs[2 * i + 1] && err_is(errs[2 * i + 1], ERR_KIND_NOT_FOUND));
		}
		for (int i = 0; i < 2 * N; i++) {
			err_free(errs[i]);
			registry_manifest_release(&ms[i]);
		}
		for (int i = 0; i < N; i++)
			sb_release(&body[i]);
		registry_close(r);
	}
}

/* Uploads ahead: in flight beside a manifest read, stored once waited
 * for; the caller's buffers may go at once (copied); best effort (a
 * refused upload is an error, never retried); abandoned by a close. */
static void test_upload_ahead(void)
{
	REQUIRE(started);
	struct registry *r = open_repo("unit/ahead", creds);
	char *a = xstrdup("ahead blob a"), *b = xstrdup("ahead blob bb");
	const void *datas[] = { a, b };
	size_t lens[] = { strlen(a), strlen(b) };
	/* credentials known first (the upload ahead answers no challenge) */
	err_t *e = registry_ping(r);
	CHECK(!e);
	err_free(e);
	registry_upload_ahead(r, datas, lens, 2);
	memset(a, 'x', strlen(a)); /* the copies are uploaded */
	memset(b, 'x', strlen(b));
	const char *refs[] = { "nothing-here" };
	struct registry_manifest m;
	err_t *errs[1];
	registry_get_manifests(r, refs, &m, errs, 1);
	CHECK(errs[0] && err_is(errs[0], ERR_KIND_NOT_FOUND));
	err_free(errs[0]);
	registry_manifest_release(&m);
	e = registry_upload_ahead_wait(r);
	CHECK(!e);
	err_free(e);
	CHECK(blob_there(r, "ahead blob a") && blob_there(r, "ahead blob bb"));
	e = registry_upload_ahead_wait(r); /* nothing ahead any more */
	CHECK(e && strstr(e->msg, "no uploads ahead"));
	err_free(e);
	/* started and abandoned: closing the registry cancels it */
	const void *c[] = { "ahead blob abandoned" };
	size_t clen[] = { strlen("ahead blob abandoned") };
	registry_upload_ahead(r, c, clen, 1);
	registry_close(r);
	free(a);
	free(b);
	/* wrong credentials: an error, and nothing stored */
	r = open_repo("unit/ahead", "tester:wrong-password");
	const void *w[] = { "ahead blob refused" };
	size_t wlen[] = { strlen("ahead blob refused") };
	registry_upload_ahead(r, w, wlen, 1);
	e = registry_upload_ahead_wait(r);
	CHECK(e && strstr(e->msg, "the upload ahead did not complete"));
	err_free(e);
	registry_close(r);
	r = open_repo("unit/ahead", creds);
	CHECK(!blob_there(r, "ahead blob refused"));
	registry_close(r);
}

/* an HTTP status says which kind of failure it is */
static void test_status_kinds(void)
{
	static const struct {
		long status;
		int code;
		enum err_kind kind;
	} cases[] = { { 404, EXIT_FAILED, ERR_KIND_NOT_FOUND }, { 401, EXIT_AUTH, ERR_KIND_AUTH },
		      { 403, EXIT_AUTH, ERR_KIND_AUTH },         { 503, EXIT_UNREACHABLE, ERR_KIND_NETWORK },
		      { 400, EXIT_FAILED, ERR_KIND_REMOTE } };
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct http_response resp = HTTP_RESPONSE_INIT;
		resp.status = cases[i].status;
		err_t *e = http_status_error(&resp, "probe");
		CHECK(e && e->code == cases[i].code && e->kind == cases[i].kind);
		err_free(e);
		http_response_release(&resp);
	}
}

/* Our proxy in front of the registry points tag list Links and upload
 * Locations at another origin (127.0.0.2) and redirects blob GETs there;
 * that origin logs whether an Authorization header reached it and
 * forwards with credentials of its own (as signed CDN URLs would). */
struct foreign {
	char *dir, *log;
	long pid;
	int front, far;
};

static bool foreign_start(struct foreign *f, const char *name, const char *their_creds)
{
	memset(f, 0, sizeof *f);
	f->dir = xasprintf("%s/%s", srv.work, name);
	f->log = xasprintf("%s.log", f->dir);
	char *cmd = xasprintf("python3 tests/servers/registry-flaky-proxy.py --upstream %s --ca %s --foreign-port 0 "
			      "%s%s --port-file %s.ports 2>%s & echo $! >%s.pid",
			      addr, ca, their_creds ? "--foreign-creds " : "", their_creds ? their_creds : "",
			      f->dir, f->log, f->dir);
	bool ok = system(cmd) == 0;
	free(cmd);
	char *pidf = xasprintf("%s.pid", f->dir), *portf = xasprintf("%s.ports", f->dir);
	FILE *p = fopen(pidf, "r");
	ok = ok && p && fscanf(p, "%ld", &f->pid) == 1;
	if (p)
		fclose(p);
	for (int i = 0; ok && i < 200 && access(portf, F_OK); i++)
		usleep(50000);
	p = fopen(portf, "r");
	ok = ok && p && fscanf(p, "%d %d", &f->front, &f->far) == 2;
	if (p)
		fclose(p);
	free(pidf);
	free(portf);
	return ok;
}

static char *foreign_stop(struct foreign *f)
{
	if (f->pid > 0)
		kill((pid_t)f->pid, SIGTERM);
	struct strbuf log = STRBUF_INIT;
	err_t *e = fs_read_file(f->log, 1 << 20, &log);
	err_free(e);
	free(f->dir);
	free(f->log);
	return sb_detach(&log);
}

static struct registry *open_front(const struct foreign *f, const char *repo)
{
	struct registry_options o = { .creds = creds, .tags_page_size = 2, .insecure = true };
	o.http.retries = 0;
	_cleanup_free_ char *front = xasprintf("127.0.0.1:%d", f->front);
	struct registry *r = NULL;
	err_t *e = registry_open(front, repo, &o, &r);
	CHECK(!e);
	err_free(e);
	return r;
}

static void test_credentials_stay_on_the_registry(void)
{
	REQUIRE(started);
	struct foreign f;
	bool up = foreign_start(&f, "far", creds);
	CHECK(up);
	if (!up) {
		free(foreign_stop(&f));
		return;
	}
	struct registry *r = open_front(&f, "unit/far");
	const char *layer = "far layer";
	char ld[DIGEST_SIZE];
	err_t *e = registry_put_blob_buffer(r, layer, strlen(layer), ld); /* Location -> 127.0.0.2 */
	CHECK(!e);
	err_free(e);
	/* the same hand-off for uploads sent side by side */
	const char *pa = "far batch a", *pb = "far batch b";
	const void *datas[] = { pa, pb };
	size_t lens[] = { strlen(pa), strlen(pb) };
	e = registry_upload_blob_buffers(r, datas, lens, 2);
	CHECK(!e);
	err_free(e);
	struct collect c = { STRBUF_INIT };
	e = registry_get_blob(r, ld, (int64_t)strlen(layer), collect, &c); /* 307 -> 127.0.0.2 */
	CHECK(!e && c.sb.len == strlen(layer));
	err_free(e);
	sb_release(&c.sb);
	char cd[DIGEST_SIZE];
	e = registry_put_blob_buffer(r, "{}", 2, cd);
	err_free(e);
	struct descriptor cfg = { .media_type = MT_OCI_CONFIG, .size = 2 };
	memcpy(cfg.digest, cd, DIGEST_SIZE);
	json_t *doc = manifest_build_image(MT_OCI_MANIFEST, &cfg, NULL, 0, NULL);
	struct strbuf body = STRBUF_INIT;
	manifest_dump(doc, &body);
	json_decref(doc);
	const char *tags[] = { "x", "y", "z" };
	for (int i = 0; i < 3; i++) {
		e = registry_put_manifest(r, tags[i], MT_OCI_MANIFEST, body.buf, body.len, NULL);
		CHECK(!e);
		err_free(e);
	}
	sb_release(&body);
	struct strbuf got = STRBUF_INIT;
	e = registry_list_tags(r, add_tag, &got); /* page 2 via Link -> 127.0.0.2 */
	CHECK(!e && got.len == 6);
	err_free(e);
	sb_release(&got);
	registry_close(r);
	char *log = foreign_stop(&f);
	/* each hand-off was exercised, and none carried our credentials */
	CHECK(strstr(log, "FOREIGN GET /v2/unit/far/tags/list"));
	CHECK(strstr(log, "FOREIGN GET /v2/unit/far/blobs/sha256:"));
	CHECK(strstr(log, "FOREIGN PUT /v2/unit/far/blobs/uploads/"));
	CHECK(!strstr(log, "auth=yes"));
	if (strstr(log, "auth=yes"))
		fprintf(stderr, "  credentials reached another origin:\n%s", log);
	free(log);

	/* another origin that asks for credentials gets none: a clear error */
	up = foreign_start(&f, "far401", NULL);
	CHECK(up);
	r = open_front(&f, "unit/far");
	got = (struct strbuf)STRBUF_INIT;
	e = registry_list_tags(r, add_tag, &got);
	char *msg = e ? err_describe(e) : NULL;
	CHECK(e && e->code == EXIT_AUTH && msg && strstr(msg, "not the registry's origin") &&
	      strstr(msg, "they are only sent to the registry"));
	free(msg);
	err_free(e);
	sb_release(&got);
	registry_close(r);
	log = foreign_stop(&f);
	CHECK(strstr(log, "FOREIGN GET /v2/unit/far/tags/list") && !strstr(log, "auth=yes"));
	free(log);
}

static void stop(void)
{
	CHECK(testserver_stop(&srv));
	free(creds);
}

TEST_MAIN_TEARDOWN("registry", stop, TEST(test_ping_and_auth), TEST(test_blobs_manifests_tags), TEST(test_tags),
		   TEST(test_side_by_side), TEST(test_upload_ahead), TEST(test_status_kinds), TEST(test_credentials_stay_on_the_registry),
		   TEST(test_more_requests_than_connections))
