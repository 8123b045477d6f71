/* Local state only from a directory (and files) nobody else can write
 * (common/statedir): every check, with the warning that names it, and the
 * injective file names. Run as root, the whole suite runs again as an
 * unprivileged user (uid 65534) in a child process. */
#include <fcntl.h>
#include <grp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "statedir.h"
#include "testing.h"
#include "xalloc.h"

#define NOBODY 65534

static char base[256];       /* a fresh 0700 directory of ours */
static char other_dir[256];  /* a directory owned by another uid */
static unsigned other_uid;
static FILE *warnings;

static char *path_of(const char *name)
{
	return xasprintf("%s/%s", base, name);
}

/* Everything logged since the last call. */
static char *logged(void)
{
	fflush(warnings);
	long n = ftell(warnings);
	char *s = xcalloc(1, (size_t)n + 1);
	rewind(warnings);
	if (n > 0 && fread(s, 1, (size_t)n, warnings) != (size_t)n)
		s[0] = '\0';
	rewind(warnings);
	if (ftruncate(fileno(warnings), 0) < 0)
		s[0] = '\0';
	return s;
}

static bool warned(const char *what)
{
	char *s = logged();
	bool yes = strstr(s, what) && strstr(s, "is ignored");
	if (!yes)
		fprintf(stderr, "  logged: '%s', wanted '%s'\n", s, what);
	free(s);
	return yes;
}

static char *make_dir(const char *name, mode_t mode)
{
	char *p = path_of(name);
	CHECK(mkdir(p, 0700) == 0);
	CHECK(chmod(p, mode) == 0);
	return p;
}

static void test_name_is_injective(void)
{
	char *a = statedir_name("reg/a_b"), *b = statedir_name("reg/a/b"), *c = statedir_name("reg:5000/x%2Fy");
	CHECK_STR(a, "reg%2Fa%5Fb");
	CHECK_STR(b, "reg%2Fa%2Fb");
	CHECK_STR(c, "reg%3A5000%2Fx%252Fy");
	free(a), free(b), free(c);
	/* every string of up to 3 bytes over the characters that could meet */
	static const char alpha[] = "a_/%:.2F5";
	size_t k = sizeof alpha - 1, total = 1 + k + k * k + k * k * k, n = 0;
	char **names = xcalloc(total, sizeof *names);
	for (size_t len = 0; len <= 3; len++) {
		size_t count = 1;
		for (size_t i = 0; i < len; i++)
			count *= k;
		for (size_t v = 0; v < count; v++) {
			char s[4] = "";
			size_t x = v;
			for (size_t i = 0; i < len; i++, x /= k)
				s[i] = alpha[x % k];
			names[n++] = statedir_name(s);
			CHECK(!strchr(names[n - 1], '/') && !strchr(names[n - 1], '_'));
		}
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (!strcmp(names[i], names[j])) {
				fprintf(stderr, "  collision: %s\n", names[i]);
				testing_failed_ = 1;
			}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	/* "." and ".." are no file names; a long key stays a short name */
	char *dot = statedir_name("."), *dotdot = statedir_name("..");
	CHECK(!strncmp(dot, "%sha256-", 8) && strcmp(dot, dotdot));
	char longkey[400];
	memset(longkey, '/', sizeof longkey - 1);
	longkey[sizeof longkey - 1] = '\0';
	char *l = statedir_name(longkey);
	CHECK(strlen(l) == 8 + 64 && !strncmp(l, "%sha256-", 8));
	free(dot), free(dotdot), free(l);
}

static void test_safe_dir_round_trip(void)
{
	char *p = path_of("state/deeper");
	int fd = statedir_open(p, "test dir", false);
	CHECK(fd < 0); /* absent: nothing, no warning */
	char *s = logged();
	CHECK_STR(s, "");
	free(s);
	fd = statedir_open(p, "test dir", true);
	CHECK(fd >= 0);
	struct stat st;
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0700);
	err_t *e = statedir_write(fd, p, "f.json", "{}", 2, true);
	CHECK(!e);
	err_free(e);
	struct strbuf sb = STRBUF_INIT;
	CHECK(statedir_read(fd, p, "f.json", 100, &sb) && sb.len == 2 && !memcmp(sb.buf, "{}", 2));
	char *f = xasprintf("%s/f.json", p);
	CHECK(stat(f, &st) == 0 && (st.st_mode & 07777) == 0600);
	sb_reset(&sb);
	CHECK(!statedir_read(fd, p, "absent", 100, &sb));
	int sub = statedir_open_sub(fd, "sub", p, "test dir", true);
	CHECK(sub >= 0);
	s = logged();
	CHECK_STR(s, "");
	free(s);
	if (sub >= 0)
		close(sub);
	if (fd >= 0)
		close(fd);
	sb_release(&sb);
	free(f);
	free(p);
}

static void test_world_writable_dir_ignored(void)
{
	char *p = make_dir("world", 0777);
	CHECK(statedir_open(p, "test dir", true) < 0);
	CHECK(warned("writable by others (mode 0777)"));
	free(p);
}

static void test_group_writable_dir_ignored(void)
{
	char *p = make_dir("group", 0770);
	CHECK(statedir_open(p, "test dir", true) < 0);
	CHECK(warned("writable by its group (mode 0770)"));
	free(p);
}

static void test_symlinked_dir_ignored(void)
{
	char *p = make_dir("real", 0700), *l = path_of("link");
	CHECK(symlink(p, l) == 0);
	CHECK(statedir_open(l, "test dir", true) < 0);
	CHECK(warned("it is a symbolic link"));
	CHECK(statedir_open(p, "test dir", false) >= 0); /* the real one is fine */
	/* a trailing slash or "." makes open() follow the link whatever
	 * O_NOFOLLOW says: still the link, still refused (and the same path,
	 * warned about above already) */
	const char *tails[] = { "/", "//", "/.", "/./", "/./." };
	for (size_t i = 0; i < sizeof tails / sizeof *tails; i++) {
		char *lt = xasprintf("%s%s", l, tails[i]);
		int fd = statedir_open(lt, "test dir", false);
		if (fd >= 0)
			fprintf(stderr, "  %s was used\n", lt);
		CHECK(fd < 0);
		if (fd >= 0)
			close(fd);
		free(lt);
	}
	/* "..": the directory it names is not this entry */
	char *up = xasprintf("%s/..", l);
	CHECK(statedir_open(up, "test dir", false) < 0);
	CHECK(warned("names no directory of its own"));
	free(up);
	/* the real directory with a trailing slash or "." is still fine */
	char *pt = xasprintf("%s/./", p);
	int fd = statedir_open(pt, "test dir", false);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	free(pt);
	free(p), free(l);
}

static void test_dir_of_another_uid_ignored(void)
{
	char want[96];
	snprintf(want, sizeof want, "owned by uid %u, not by this process's uid %u", other_uid, (unsigned)geteuid());
	CHECK(statedir_open(other_dir, "test dir", false) < 0);
	CHECK(warned(want));
}

static void test_not_a_directory_ignored(void)
{
	char *p = path_of("plain");
	int fd = open(p, O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0);
	close(fd);
	CHECK(statedir_open(p, "test dir", true) < 0);
	CHECK(warned(p));
	free(p);
}

static void test_unsafe_subdir_ignored(void)
{
	char *p = make_dir("parent", 0700), *sub = path_of("parent/tls");
	CHECK(mkdir(sub, 0700) == 0 && chmod(sub, 0707) == 0);
	int fd = statedir_open(p, "test dir", false);
	CHECK(fd >= 0);
	CHECK(statedir_open_sub(fd, "tls", sub, "TLS session dir", false) < 0);
	CHECK(warned("TLS session dir"));
	close(fd);
	free(p), free(sub);
}

/* Files: a safe dir does not make a foreign or shared file ours. */
static void test_unsafe_files_ignored(void)
{
	char *p = make_dir("files", 0700);
	int fd = statedir_open(p, "test dir", false);
	CHECK(fd >= 0);
	struct strbuf sb = STRBUF_INIT;
	char *f = xasprintf("%s/shared", p), *l = xasprintf("%s/link", p), *q = xasprintf("%s/fifo", p);
	int w = open(f, O_CREAT | O_WRONLY, 0600);
	CHECK(w >= 0 && write(w, "x", 1) == 1);
	close(w);
	CHECK(statedir_read(fd, p, "shared", 10, &sb)); /* ours, 0600: used */
	sb_reset(&sb);
	CHECK(chmod(f, 0622) == 0);
	CHECK(!statedir_read(fd, p, "shared", 10, &sb) && !sb.len);
	CHECK(warned("writable by others (mode 0622)"));
	CHECK(chmod(f, 0620) == 0);
	CHECK(!statedir_read(fd, p, "shared", 10, &sb));
	CHECK(warned("writable by its group (mode 0620)"));
	CHECK(chmod(f, 0600) == 0);
	CHECK(symlink(f, l) == 0);
	CHECK(!statedir_read(fd, p, "link", 10, &sb));
	CHECK(warned("it is a symbolic link"));
	CHECK(mkfifo(q, 0600) == 0);
	CHECK(!statedir_read(fd, p, "fifo", 10, &sb)); /* and no hang */
	CHECK(warned("not a regular file"));
	if (geteuid() == 0) {
		CHECK(chown(f, NOBODY, NOBODY) == 0);
		CHECK(!statedir_read(fd, p, "shared", 10, &sb));
		CHECK(warned("owned by uid 65534"));
	}
	close(fd);
	sb_release(&sb);
	free(f), free(l), free(q), free(p);
}

/* The warning comes once per path: a TLS dir is looked at per connection. */
static void test_warned_once(void)
{
	char *p = make_dir("twice", 0777);
	CHECK(statedir_open(p, "test dir", false) < 0);
	CHECK(warned("mode 0777"));
	CHECK(statedir_open(p, "test dir", false) < 0);
	char *s = logged();
	CHECK_STR(s, "");
	free(s);
	free(p);
}

static const struct test_case tests[] = {
	TEST(test_name_is_injective),	       TEST(test_safe_dir_round_trip),
	TEST(test_world_writable_dir_ignored), TEST(test_group_writable_dir_ignored),
	TEST(test_symlinked_dir_ignored),      TEST(test_dir_of_another_uid_ignored),
	TEST(test_not_a_directory_ignored),    TEST(test_unsafe_subdir_ignored),
	TEST(test_unsafe_files_ignored),       TEST(test_warned_once),
};

static int suite(const char *name)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(base, sizeof base, "%s/statedir-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base))
		return 1;
	warnings = tmpfile();
	log_setup("test", LOG_HUMAN, LOG_INFO);
	log_set_stream(warnings);
	int rc = run_tests(name, tests, sizeof tests / sizeof *tests, NULL);
	char *cmd = xasprintf("rm -rf '%s'", base);
	if (system(cmd) != 0)
		rc = 1;
	free(cmd);
	return rc;
}

int main(void)
{
	/* a directory of another user: as root, one given to nobody; as
	 * anyone else, one of root's */
	const char *tmp = getenv("TMPDIR");
	snprintf(other_dir, sizeof other_dir, "%s/statedir-other-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(other_dir))
		return 1;
	struct stat st;
	if (geteuid() == 0 && chown(other_dir, NOBODY, NOBODY) < 0)
		return 1;
	if (stat(other_dir, &st) < 0)
		return 1;
	other_uid = (unsigned)st.st_uid;
	if (geteuid() != 0) {
		int rc = suite("statedir");
		rmdir(other_dir);
		return rc;
	}
	int rc = suite("statedir");
	/* the same suite as uid 65534, where root's directory is the foreign one */
	if (chown(other_dir, 0, 0) < 0 || chmod(other_dir, 0755) < 0)
		return 1;
	other_uid = 0;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
		    setresuid(NOBODY, NOBODY, NOBODY) < 0)
			_exit(1);
		setenv("TMPDIR", "/tmp", 1);
		int crc = suite("statedir-unprivileged");
		fflush(NULL);
		_exit(crc);
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		rc = 1;
	rmdir(other_dir);
	return rc;
}
