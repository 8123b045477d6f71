/* common/tlsresume through common/http against a real docker-registry (Go's
 * TLS server issues TLS 1.3 session tickets): each http client stands for
 * a new process, so only the session directory carries a session from one
 * to the next. What is resumed must be exactly what was verified: another
 * endpoint, other trust settings, a changed CA file, a damaged, foreign or
 * expired file, or a restarted server all mean a full handshake (or, with
 * a CA that does not sign the server, a refusal), never a wrong resume. */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

/* A GET of /v2/ on https://hostport by a new client (a new process, as
 * far as TLS knows): whether it resumed a saved session. *err gets the
 * error, if asked (else there must be none). */
static bool get_resumed_at(const char *hostport, const char *ca_file, bool insecure, err_t **err)
{
	char *url = xasprintf("https://%s/v2/", hostport);
	const char *hosts[] = { hostport };
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

/* The same against the registry, under the name host. */
static bool get_resumed(const char *host, const char *ca_file, bool insecure, err_t **err)
{
	char *hostport = xasprintf("%s%s", host, strchr(srv.addr, ':'));
	bool r = get_resumed_at(hostport, ca_file, insecure, err);
	free(hostport);
	return r;
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

/* Where the session's DER starts in a saved file (after the magic, key and
 * not-after lines), or 0. */
static size_t header_len(const struct strbuf *sb)
{
	const char *p = sb->buf;
	for (int i = 0; p && i < 3; i++) {
		p = memchr(p, '\n', sb->len - (size_t)(p - sb->buf));
		p = p ? p + 1 : NULL;
	}
	return p ? (size_t)(p - sb->buf) : 0;
}

static struct strbuf read_all(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	err_t *e = fs_read_file(path, 1 << 16, &sb);
	CHECK(!e);
	err_free(e);
	return sb;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");
	CHECK(f && fwrite(data, 1, len, f) == len);
	if (f)
		fclose(f);
}

/* A session saved for 127.0.0.1 with the server's CA: its file's path
 * (NULL if there is none, a failure already reported). */
static char *saved_session_file(void)
{
	if (!up())
		return NULL;
	CHECK(resumed("127.0.0.1") || resumed("127.0.0.1"));
	char *path = file_for("127.0.0.1");
	CHECK(path != NULL);
	return path;
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
	CHECK(e && e->code == EXIT_AUTH && strstr(e->msg, "certificate"));
	err_free(e);
	free(ca);
}

static void test_damaged_or_foreign_file_ignored(void)
{
	char *path = saved_session_file();
	if (!path)
		return;
	struct strbuf good = read_all(path);
	/* cut short, then garbage after a valid header: full handshake, no error */
	write_file(path, good.buf, good.len / 2);
	CHECK(!resumed("127.0.0.1"));
	size_t head = header_len(&good);
	CHECK(head > 0);
	struct strbuf bad = STRBUF_INIT;
	sb_add(&bad, good.buf, head);
	sb_adds(&bad, "not a session");
	write_file(path, bad.buf, bad.len);
	CHECK(!resumed("127.0.0.1"));
	CHECK(resumed("127.0.0.1")); /* the full handshake saved a good one again */
	/* localhost's file under 127.0.0.1's name: the key inside differs */
	CHECK(resumed("localhost"));
	char *other = file_for("localhost");
	CHECK(other != NULL);
	struct strbuf foreign = other ? read_all(other) : (struct strbuf)STRBUF_INIT;
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
	struct strbuf sb = read_all(path);
	size_t head = header_len(&sb);
	CHECK(head > 0);
	const unsigned char *p = (const unsigned char *)sb.buf + head;
	SSL_SESSION *s = head ? d2i_SSL_SESSION(NULL, &p, (long)(sb.len - head)) : NULL;
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

/* The file, rewritten with its not-after line set to when. */
static void set_not_after(const char *path, long long when)
{
	struct strbuf sb = read_all(path);
	size_t head = header_len(&sb);
	const char *line = head ? memmem(sb.buf, head, "\nnot-after ", 11) : NULL;
	CHECK(line != NULL);
	if (line) {
		struct strbuf out = STRBUF_INIT;
		sb_add(&out, sb.buf, (size_t)(line - sb.buf));
		sb_addf(&out, "\nnot-after %lld\n", when);
		sb_add(&out, sb.buf + head, sb.len - head);
		write_file(path, out.buf, out.len);
		sb_release(&out);
	}
	sb_release(&sb);
}

static void test_saved_without_certificate(void)
{
	char *path = saved_session_file();
	if (!path)
		return;
	struct strbuf sb = read_all(path);
	size_t head = header_len(&sb);
	const unsigned char *p = (const unsigned char *)sb.buf + head;
	SSL_SESSION *s = head ? d2i_SSL_SESSION(NULL, &p, (long)(sb.len - head)) : NULL;
	CHECK(s && !SSL_SESSION_get0_peer(s) && SSL_SESSION_is_resumable(s));
	/* the certificate's end of validity is kept beside it: 2 days, as
	 * tests/servers/registry.sh makes it */
	long long na = 0;
	const char *line = head ? memmem(sb.buf, head, "\nnot-after ", 11) : NULL;
	CHECK(line && sscanf(line, "\nnot-after %lld", &na) == 1);
	CHECK(na > (long long)time(NULL) + 86400 && na <= (long long)time(NULL) + 3 * 86400);
	SSL_SESSION_free(s);
	sb_release(&sb);
	free(path);
}

static void test_expired_session_not_offered(void)
{
	char *path = saved_session_file();
	if (!path)
		return;
	age_session(path, 60); /* still within its lifetime */
	CHECK(resumed("127.0.0.1"));
	age_session(path, 8 * 24 * 3600L); /* past the 7 days Go's tickets live */
	CHECK(!resumed("127.0.0.1"));
	CHECK(resumed("127.0.0.1"));
	/* the server's certificate has expired since: not offered */
	set_not_after(path, (long long)time(NULL) - 1);
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

/* openssl s_server speaking TLS 1.2 only (session IDs and tickets, as
 * older servers and proxies do) with cert and key, on a free loopback
 * port: its pid, or -1. */
static pid_t start_tls12_server(const char *cert, const char *key, char hostport[32])
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || getsockname(fd, (struct sockaddr *)&a, &alen)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	snprintf(hostport, 32, "127.0.0.1:%d", ntohs(a.sin_port));
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execlp("openssl", "openssl", "s_server", "-quiet", "-accept", hostport, "-cert", cert, "-key", key,
		       "-tls1_2", "-www", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; pid > 0 && i < 100; i++) { /* until it listens */
		int c = socket(AF_INET, SOCK_STREAM, 0);
		bool up = c >= 0 && connect(c, (struct sockaddr *)&a, sizeof a) == 0;
		if (c >= 0)
			close(c);
		if (up)
			return pid;
		usleep(30 * 1000);
	}
	return -1;
}

static void stop_server(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}

static void test_tls12_server_resumed(void)
{
	if (!up())
		return;
	char *cert = xasprintf("%s/reg/server.crt", srv.work), *key = xasprintf("%s/reg/server.key", srv.work);
	char hostport[32];
	pid_t pid = start_tls12_server(cert, key, hostport);
	CHECK(pid > 0);
	if (pid > 0) {
		CHECK(!get_resumed_at(hostport, srv.ca, false, NULL));
		CHECK(get_resumed_at(hostport, srv.ca, false, NULL));
	}
	stop_server(pid);
	free(cert);
	free(key);
}

/* With TLS 1.2 the server's session exists before libcurl checks the host
 * name: a server whose certificate names another host is refused every
 * time, and nothing is kept that a later run could resume. */
static void test_tls12_wrong_host_never_kept(void)
{
	if (!up())
		return;
	char *cmd = xasprintf("cd %s && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
			      "-subj /CN=other.example -keyout other.key -out other.csr 2>/dev/null && "
			      "printf 'subjectAltName=DNS:other.example\\n' >other.ext && "
			      "openssl x509 -req -in other.csr -CA reg/ca.crt -CAkey reg/ca.key -CAcreateserial -days 1 "
			      "-extfile other.ext -out other.crt 2>/dev/null",
			      srv.work);
	CHECK(system(cmd) == 0);
	free(cmd);
	char *cert = xasprintf("%s/other.crt", srv.work), *key = xasprintf("%s/other.key", srv.work);
	char hostport[32];
	pid_t pid = start_tls12_server(cert, key, hostport);
	CHECK(pid > 0);
	size_t files = count_files();
	for (int i = 0; pid > 0 && i < 2; i++) {
		err_t *e = NULL;
		CHECK(!get_resumed_at(hostport, srv.ca, false, &e));
		CHECK(e && e->code == EXIT_AUTH && strstr(e->msg, "127.0.0.1"));
		err_free(e);
		CHECK(count_files() == files);
	}
	stop_server(pid);
	free(cert);
	free(key);
}

static void stop(void)
{
	CHECK(testserver_stop(&srv));
	free(sessions);
}

TEST_MAIN_TEARDOWN("tlsresume", stop, TEST(test_saved_then_resumed), TEST(test_other_endpoint_or_trust_settings_not_resumed),
	  TEST(test_changed_ca_file_is_not_bypassed), TEST(test_damaged_or_foreign_file_ignored),
	  TEST(test_expired_session_not_offered), TEST(test_restarted_server_gets_a_full_handshake),
	  TEST(test_saved_without_certificate), TEST(test_tls12_server_resumed), TEST(test_tls12_wrong_host_never_kept),
	  TEST(test_unverified_connection_saves_nothing))
