/* common/tlsresume through common/http against a real docker-registry (Go's
 * TLS server issues TLS 1.3 session tickets): each http client stands for
 * a new process, so only the session directory carries a session from one
 * to the next. What is resumed must be exactly what was verified: another
 * endpoint, other trust settings, a changed CA file, a damaged, foreign or
 * expired file, or a restarted server all mean a full handshake (or, with
 * a CA that does not sign the server, a refusal), never a wrong resume. */
#include <dirent.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "http.h"
#include "strbuf.h"
#include "testing.h"
#include "testserver.h"
#include "tlsresume.h"
#include "xalloc.h"

static struct testserver srv;
static char *sessions; /* the session directory under test */

static bool up(void)
{
	if (!srv.started && !srv.work) {
		testserver_start(&srv, "none");
		sessions = xasprintf("%s/sessions", srv.work ? srv.work : "/nonexistent");
	}
	CHECK(srv.started);
	return srv.started;
}

/* A GET of /v2/ by a new client (a new process, as far as TLS knows):
 * whether it resumed a saved session. *e gets the error, if asked. */
static bool get_resumed(const char *host, const char *ca_file, bool insecure, err_t **err)
{
	const char *port = strchr(srv.addr, ':');
	char *url = xasprintf("https://%s%s/v2/", host, port);
	const char *hosts[] = { host };
	struct http_options o = { .ca_file = ca_file, .tls_session_dir = sessions };
	if (insecure) {
		o.insecure_hosts = hosts;
		o.n_insecure_hosts = 1;
	}
	struct http_client *c = NULL;
	err_t *e = http_client_new(&o, &c);
	unsigned long before = tls_resume_count();
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct http_request req = { .url = url, .no_retry = true };
	if (!e)
		e = http_do(c, &req, &resp);
	if (!e)
		CHECK(resp.status == 200);
	bool resumed = tls_resume_count() > before;
	if (err)
		*err = e;
	else {
		CHECK(!e);
		err_free(e);
	}
	http_response_release(&resp);
	http_client_free(c);
	free(url);
	return resumed;
}

static bool resumed(const char *host)
{
	return get_resumed(host, srv.ca, false, NULL);
}

/* The saved file for host with the server's CA file (NULL: none). */
static char *file_for(const char *host)
{
	char *want = xasprintf("%s%s|ca=%s@", host, strchr(srv.addr, ':'), srv.ca);
	DIR *d = opendir(sessions);
	char *found = NULL;
	struct dirent *de;
	while (d && (de = readdir(d)) && !found) {
		if (de->d_name[0] == '.')
			continue;
		char *path = xasprintf("%s/%s", sessions, de->d_name);
		struct strbuf sb = STRBUF_INIT;
		err_t *e = fs_read_file(path, 1 << 16, &sb);
		const char *nl = sb.buf ? strchr(sb.buf, '\n') : NULL;
		if (!e && nl && !strncmp(nl + 1, want, strlen(want)))
			found = path;
		else
			free(path);
		err_free(e);
		sb_release(&sb);
	}
	if (d)
		closedir(d);
	free(want);
	return found;
}

static size_t count_files(void)
{
	DIR *d = opendir(sessions);
	size_t n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");
	CHECK(f && fwrite(data, 1, len, f) == len);
	if (f)
		fclose(f);
}

static void test_saved_then_resumed(void)
{
	if (!up())
		return;
	CHECK(!resumed("127.0.0.1"));
	CHECK(count_files() == 1);
	char *path = file_for("127.0.0.1");
	struct stat st, dst;
	CHECK(path && stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(stat(sessions, &dst) == 0 && (dst.st_mode & 0777) == 0700);
	CHECK(resumed("127.0.0.1"));
	CHECK(resumed("127.0.0.1"));
	/* a resumed handshake does not rewrite the file */
	struct stat st2;
	CHECK(path && stat(path, &st2) == 0 && st2.st_mtim.tv_sec == st.st_mtim.tv_sec &&
	      st2.st_mtim.tv_nsec == st.st_mtim.tv_nsec);
	free(path);
}

static void test_other_endpoint_or_trust_settings_not_resumed(void)
{
	if (!up())
		return;
	CHECK(!resumed("localhost")); /* same server, another name */
	CHECK(resumed("localhost"));
	char *copy = xasprintf("%s/ca-copy.crt", srv.work);
	char *cmd = xasprintf("cp %s %s", srv.ca, copy);
	CHECK(system(cmd) == 0);
	CHECK(!get_resumed("127.0.0.1", copy, false, NULL)); /* same anchors, other file */
	CHECK(get_resumed("127.0.0.1", copy, false, NULL));
	free(cmd);
	free(copy);
}

static void test_changed_ca_file_is_not_bypassed(void)
{
	if (!up())
		return;
	char *ca = xasprintf("%s/ca-changing.crt", srv.work);
	char *cmd = xasprintf("cp %s %s", srv.ca, ca);
	CHECK(system(cmd) == 0);
	free(cmd);
	CHECK(!get_resumed("127.0.0.1", ca, false, NULL));
	CHECK(get_resumed("127.0.0.1", ca, false, NULL));
	/* the same path now trusts another CA: no resume, and a refusal */
	cmd = xasprintf("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
			"-subj /CN=other-ca -keyout %s/other.key -out %s 2>/dev/null",
			srv.work, ca);
	CHECK(system(cmd) == 0);
	free(cmd);
	err_t *e = NULL;
	CHECK(!get_resumed("127.0.0.1", ca, false, &e));
	CHECK(e && e->code == EXIT_FAILED && strstr(e->msg, "certificate"));
	err_free(e);
	free(ca);
}

static void test_damaged_or_foreign_file_ignored(void)
{
	if (!up())
		return;
	CHECK(resumed("127.0.0.1"));
	char *path = file_for("127.0.0.1");
	CHECK(path != NULL);
	if (!path)
		return;
	struct strbuf good = STRBUF_INIT;
	err_t *e = fs_read_file(path, 1 << 16, &good);
	CHECK(!e);
	err_free(e);
	/* cut short, then garbage after a valid header: full handshake, no error */
	write_file(path, good.buf, good.len / 2);
	CHECK(!resumed("127.0.0.1"));
	const char *nl = strchr(good.buf, '\n');
	nl = nl ? strchr(nl + 1, '\n') : NULL;
	CHECK(nl != NULL);
	struct strbuf bad = STRBUF_INIT;
	sb_add(&bad, good.buf, nl ? (size_t)(nl + 1 - good.buf) : 0);
	sb_adds(&bad, "not a session");
	write_file(path, bad.buf, bad.len);
	CHECK(!resumed("127.0.0.1"));
	CHECK(resumed("127.0.0.1")); /* the full handshake saved a good one again */
	/* localhost's file under 127.0.0.1's name: the key inside differs */
	CHECK(resumed("localhost"));
	char *other = file_for("localhost");
	CHECK(other != NULL);
	struct strbuf foreign = STRBUF_INIT;
	e = other ? fs_read_file(other, 1 << 16, &foreign) : NULL;
	CHECK(!e);
	err_free(e);
	write_file(path, foreign.buf, foreign.len);
	CHECK(!resumed("127.0.0.1"));
	sb_release(&foreign);
	sb_release(&bad);
	sb_release(&good);
	free(other);
	free(path);
}

/* The file, rewritten with the session's creation time moved back by age
 * seconds (its lifetime is the server's ticket lifetime). */
static void age_session(const char *path, long age)
{
	struct strbuf sb = STRBUF_INIT;
	err_t *e = fs_read_file(path, 1 << 16, &sb);
	CHECK(!e);
	err_free(e);
	const char *nl = sb.buf ? strchr(sb.buf, '\n') : NULL;
	nl = nl ? strchr(nl + 1, '\n') : NULL;
	CHECK(nl != NULL);
	if (!nl) {
		sb_release(&sb);
		return;
	}
	size_t head = (size_t)(nl + 1 - sb.buf);
	const unsigned char *p = (const unsigned char *)sb.buf + head;
	SSL_SESSION *s = d2i_SSL_SESSION(NULL, &p, (long)(sb.len - head));
	CHECK(s != NULL);
	if (s) {
		CHECK(SSL_SESSION_set_time(s, (long)time(NULL) - age));
		unsigned char *der = NULL;
		int len = i2d_SSL_SESSION(s, &der);
		CHECK(len > 0);
		struct strbuf out = STRBUF_INIT;
		sb_add(&out, sb.buf, head);
		sb_add(&out, der, (size_t)len);
		write_file(path, out.buf, out.len);
		OPENSSL_free(der);
		sb_release(&out);
		SSL_SESSION_free(s);
	}
	sb_release(&sb);
}

static void test_expired_session_not_offered(void)
{
	if (!up())
		return;
	CHECK(resumed("127.0.0.1"));
	char *path = file_for("127.0.0.1");
	CHECK(path != NULL);
	if (!path)
		return;
	age_session(path, 60); /* still within its lifetime */
	CHECK(resumed("127.0.0.1"));
	age_session(path, 8 * 24 * 3600L); /* past the 7 days Go's tickets live */
	CHECK(!resumed("127.0.0.1"));
	CHECK(resumed("127.0.0.1"));
	free(path);
}

static void test_restarted_server_gets_a_full_handshake(void)
{
	if (!up())
		return;
	CHECK(resumed("127.0.0.1"));
	CHECK(testserver_restart(&srv)); /* new process, new ticket keys */
	CHECK(!resumed("127.0.0.1"));
	CHECK(resumed("127.0.0.1"));
}

static void test_unverified_connection_saves_nothing(void)
{
	if (!up())
		return;
	char *cmd = xasprintf("rm -rf %s", sessions);
	CHECK(system(cmd) == 0);
	free(cmd);
	CHECK(!get_resumed("127.0.0.1", NULL, true, NULL));
	CHECK(count_files() == 0);
}

static void test_zz_stop(void)
{
	CHECK(testserver_stop(&srv));
	free(sessions);
}

TEST_MAIN("tlsresume", TEST(test_saved_then_resumed), TEST(test_other_endpoint_or_trust_settings_not_resumed),
	  TEST(test_changed_ca_file_is_not_bypassed), TEST(test_damaged_or_foreign_file_ignored),
	  TEST(test_expired_session_not_offered), TEST(test_restarted_server_gets_a_full_handshake),
	  TEST(test_unverified_connection_saves_nothing), TEST(test_zz_stop))
