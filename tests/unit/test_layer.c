/* common/layer: hostile layers never touch anything outside the root
 * (fixtures from tests/servers/registry-fixtures.py, run from the repo
 * root), and written layers are deterministic and apply back exactly. */
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "layer.h"
#include "log.h"
#include "testing.h"
#include "xalloc.h"

static char tmpl[] = "/tmp/test-layer-XXXXXX";
static const char *base_dir;

static void sh_run(char *cmd)
{
	int rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "  command failed (%d): %s\n", rc, cmd);
	free(cmd);
}

static const char *dir(void)
{
	if (!base_dir) {
		base_dir = mkdtemp(tmpl);
		char *cmd = xasprintf("python3 tests/servers/registry-fixtures.py hostile %s/fx >/dev/null", base_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "  cannot generate hostile fixtures (run from the repository root)\n");
		free(cmd);
	}
	return base_dir;
}

static char *read_small(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = xcalloc(1, 4096);
	size_t n = fread(buf, 1, 4095, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static const char *escapes[] = {
	"/escape-dotdot", "/escape-dotdot2", "/escape-symlink", "/escape-symlink-abs", "/escape-chain",
	"/escape-deep", "/tmp/q/escape-deep", "/tmp-escape-absolute",
};

/* apply fx/<name> into a fresh root; check nothing outside changed */
static void hostile(const char *name, bool expect_error)
{
	const char *d = dir();
	char *root = xasprintf("%s/case-%s", d, name);
	char *sandbox = xasprintf("%s/root", root);
	char *victim = xasprintf("%s/outside-victim", root);
	sh_run(xasprintf("rm -rf %s", root));
	mkdir(root, 0755);
	mkdir(sandbox, 0755);
	FILE *f = fopen(victim, "w");
	fputs("safe", f);
	fclose(f);
	for (int gz = 0; gz < 2; gz++) {
		char *fx = xasprintf("%s/fx/%s.tar%s", d, name, gz ? ".gz" : "");
		int fd = open(fx, O_RDONLY);
		CHECK(fd >= 0);
		struct layer_apply_stats st;
		err_t *e = layer_apply(sandbox, fd, NULL, &st);
		if (expect_error && !e)
			fprintf(stderr, "  %s: applied without error\n", fx);
		CHECK(!expect_error || e);
		err_free(e);
		close(fd);
		free(fx);
		char *v = read_small(victim);
		CHECK(v && !strcmp(v, "safe"));
		free(v);
		struct stat sb;
		CHECK(lstat(victim, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_nlink == 1);
		for (size_t i = 0; i < sizeof escapes / sizeof *escapes; i++) {
			char *p = xasprintf("%s%s", root, escapes[i]);
			if (access(p, F_OK) == 0 || access(escapes[i], F_OK) == 0)
				fprintf(stderr, "  %s: %s escaped\n", name, escapes[i]);
			CHECK(access(p, F_OK) != 0);
			CHECK(access(escapes[i], F_OK) != 0);
			free(p);
		}
		char *outside_dir = xasprintf("%s/../escape-dotdot", sandbox);
		CHECK(access(outside_dir, F_OK) != 0);
		free(outside_dir);
	}
	free(root);
	free(sandbox);
	free(victim);
}

static void test_dotdot(void) { hostile("dotdot", true); }
static void test_symlink_dir(void) { hostile("symlink-dir", false); }
static void test_symlink_abs(void) { hostile("symlink-abs", false); }
static void test_symlink_chain(void) { hostile("symlink-chain", false); }
static void test_symlink_overwrite(void) { hostile("symlink-overwrite", false); }
static void test_hardlink_outside(void) { hostile("hardlink-outside", true); }
static void test_hardlink_via_symlink(void) { hostile("hardlink-via-symlink", true); }
static void test_hardlink_abs(void) { hostile("hardlink-abs", true); }
static void test_whiteout_escape(void) { hostile("whiteout-escape", true); }
static void test_whiteout_dotdot(void) { hostile("whiteout-dotdot", true); }
static void test_symlink_then_file_parent(void) { hostile("symlink-then-file-parent", false); }

static void test_absolute_lands_inside(void)
{
	hostile("absolute", false);
	char *p = xasprintf("%s/case-absolute/root/tmp-escape-absolute", dir());
	CHECK(access(p, F_OK) == 0);
	free(p);
}

static void test_symlink_resolves_inside(void)
{
	/* "abs -> /" then "abs/escape-symlink-abs": lands at root/escape-symlink-abs */
	char *p = xasprintf("%s/case-symlink-abs/root/escape-symlink-abs", dir());
	CHECK(access(p, F_OK) == 0);
	free(p);
	char *l = xasprintf("%s/case-symlink-abs/root/abs", dir());
	struct stat st;
	CHECK(lstat(l, &st) == 0 && S_ISLNK(st.st_mode));
	free(l);
}

static void test_devices(void)
{
	const char *d = dir();
	char *root = xasprintf("%s/dev-root", d);
	mkdir(root, 0755);
	char *fx = xasprintf("%s/fx/device.tar", d);
	int fd = open(fx, O_RDONLY);
	struct layer_apply_options refuse = { .devices = LAYER_DEVICES_REFUSE };
	err_t *e = layer_apply(root, fd, &refuse, NULL);
	char *msg = e ? err_describe(e) : NULL;
	CHECK(msg && strstr(msg, "device"));
	free(msg);
	err_free(e);
	close(fd);
	fd = open(fx, O_RDONLY);
	struct layer_apply_options skip = { .devices = LAYER_DEVICES_SKIP };
	struct layer_apply_stats st;
	e = layer_apply(root, fd, &skip, &st);
	CHECK(!e);
	err_free(e);
	close(fd);
	char *dn = xasprintf("%s/dev-null", root);
	CHECK(access(dn, F_OK) != 0);
	CHECK(st.skipped == 2);
	free(dn);
	free(fx);
	free(root);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	CHECK(fd >= 0);
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	fchmod(fd, mode);
	close(fd);
}

static void make_tree(const char *root)
{
	char *p;
	mkdir(root, 0755);
	p = xasprintf("%s/etc", root);
	mkdir(p, 0755);
	free(p);
	p = xasprintf("%s/etc/conf", root);
	write_file(p, "key=value\n", 0640);
	free(p);
	p = xasprintf("%s/bin", root);
	mkdir(p, 0755);
	free(p);
	p = xasprintf("%s/bin/tool", root);
	write_file(p, "#!/bin/sh\necho hi\n", 04755);
	free(p);
	char *a = xasprintf("%s/bin/tool", root), *b = xasprintf("%s/bin/tool-link", root);
	CHECK(link(a, b) == 0);
	free(a);
	free(b);
	p = xasprintf("%s/bin/sh", root);
	CHECK(symlink("tool", p) == 0);
	free(p);
	p = xasprintf("%s/ro", root);
	mkdir(p, 0555);
	free(p);
}

static const struct layer_change tree_changes[] = {
	{ LAYER_CHANGE_ADD, "ro" },       { LAYER_CHANGE_ADD, "etc/conf" },      { LAYER_CHANGE_ADD, "etc" },
	{ LAYER_CHANGE_ADD, "bin" },      { LAYER_CHANGE_ADD, "bin/tool" },      { LAYER_CHANGE_ADD, "bin/sh" },
	{ LAYER_CHANGE_ADD, "bin/tool-link" }, { LAYER_CHANGE_DELETE, "old/file" },
};

static void write_layer(const char *src, enum layer_compression c, int64_t epoch, const char *out,
			struct layer_write_result *res)
{
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	struct layer_write_options o = { .compression = c, .source_date_epoch = epoch, .threads = 2 };
	err_t *e = layer_write_changes(src, tree_changes, sizeof tree_changes / sizeof *tree_changes, &o, fd, res);
	if (e)
		fprintf(stderr, "  write: %s\n", e->msg);
	CHECK(!e);
	err_free(e);
	close(fd);
}

static void test_write_deterministic_and_roundtrip(void)
{
	const char *d = dir();
	char *src = xasprintf("%s/src", d);
	make_tree(src);
	for (int c = 0; c < 3; c++) {
		enum layer_compression comp = c == 0 ? LAYER_GZIP : c == 1 ? LAYER_ZSTD : LAYER_PLAIN;
		char *o1 = xasprintf("%s/l1-%d", d, c), *o2 = xasprintf("%s/l2-%d", d, c);
		struct layer_write_result r1, r2;
		write_layer(src, comp, 1000, o1, &r1);
		/* touch everything: mtimes later than the epoch are clamped */
		sh_run(xasprintf("touch %s/etc/conf", src));
		write_layer(src, comp, 1000, o2, &r2);
		CHECK_STR(r1.digest, r2.digest);
		CHECK_STR(r1.diff_id, r2.diff_id);
		CHECK_STR(r1.media_type, layer_media_type(comp));
		char actual[DIGEST_SIZE];
		uint64_t size = 0;
		err_t *e = digest_file(o1, actual, &size);
		CHECK(!e);
		err_free(e);
		CHECK_STR(actual, r1.digest);
		CHECK((int64_t)size == r1.size);

		/* apply into a root that has old/file, which the whiteout removes */
		char *dst = xasprintf("%s/dst-%d", d, c);
		mkdir(dst, 0755);
		char *old = xasprintf("%s/old", dst);
		mkdir(old, 0755);
		char *oldf = xasprintf("%s/old/file", dst);
		write_file(oldf, "x", 0644);
		int fd = open(o1, O_RDONLY);
		struct layer_apply_stats st;
		struct layer_apply_options ao = { .expected_diff_id = r1.diff_id };
		e = layer_apply(dst, fd, &ao, &st);
		if (e)
			fprintf(stderr, "  apply: %s\n", e->msg);
		CHECK(!e);
		err_free(e);
		close(fd);
		CHECK_STR(st.diff_id, r1.diff_id);
		CHECK(access(oldf, F_OK) != 0);
		char *conf = xasprintf("%s/etc/conf", dst);
		char *text = read_small(conf);
		CHECK(text && !strcmp(text, "key=value\n"));
		free(text);
		struct stat s1, s2;
		CHECK(stat(conf, &s1) == 0 && (s1.st_mode & 07777) == 0640 && s1.st_mtime == 1000);
		char *tool = xasprintf("%s/bin/tool", dst), *tl = xasprintf("%s/bin/tool-link", dst);
		CHECK(stat(tool, &s1) == 0 && stat(tl, &s2) == 0 && s1.st_ino == s2.st_ino);
		CHECK((s1.st_mode & 07777) == 04755);
		char *shp = xasprintf("%s/bin/sh", dst);
		char target[64] = { 0 };
		CHECK(readlink(shp, target, sizeof target - 1) == 4 && !strcmp(target, "tool"));
		char *ro = xasprintf("%s/ro", dst);
		CHECK(stat(ro, &s1) == 0 && (s1.st_mode & 07777) == 0555);
		free(ro);
		free(shp);
		free(tool);
		free(tl);
		free(conf);
		free(old);
		free(oldf);
		free(dst);
		free(o1);
		free(o2);
	}
	free(src);
}

static void test_opaque(void)
{
	const char *d = dir();
	char *src = xasprintf("%s/opq-src", d);
	sh_run(xasprintf("mkdir -p %s/dir && echo new > %s/dir/new", src, src));
	struct layer_change ch[] = { { LAYER_CHANGE_ADD, "dir/new" }, { LAYER_CHANGE_OPAQUE, "dir" },
				     { LAYER_CHANGE_ADD, "dir" } };
	char *out = xasprintf("%s/opq.tar", d);
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	struct layer_write_result r;
	struct layer_write_options o = { .compression = LAYER_PLAIN, .source_date_epoch = 0 };
	err_t *e = layer_write_changes(src, ch, 3, &o, fd, &r);
	CHECK(!e);
	err_free(e);
	close(fd);
	char *dst = xasprintf("%s/opq-dst", d);
	sh_run(xasprintf("mkdir -p %s/dir/sub && echo old > %s/dir/old && echo keep > %s/keep", dst, dst, dst));
	fd = open(out, O_RDONLY);
	e = layer_apply(dst, fd, NULL, NULL);
	CHECK(!e);
	err_free(e);
	close(fd);
	char *p_old = xasprintf("%s/dir/old", dst), *p_sub = xasprintf("%s/dir/sub", dst);
	char *p_new = xasprintf("%s/dir/new", dst), *p_keep = xasprintf("%s/keep", dst);
	CHECK(access(p_old, F_OK) != 0);
	CHECK(access(p_sub, F_OK) != 0);
	CHECK(access(p_new, F_OK) == 0);
	CHECK(access(p_keep, F_OK) == 0);
	free(p_old);
	free(p_sub);
	free(p_new);
	free(p_keep);
	free(dst);
	free(out);
	free(src);
}

/* A benign layer with every ordinary feature extracts exactly as GNU tar
 * (as root: -p, numeric owners) extracts it. */
static void test_matches_gnu_tar(void)
{
	const char *d = dir();
	char *tgz = xasprintf("%s/rich.tar.gz", d), *ours = xasprintf("%s/rich-ours", d),
	     *theirs = xasprintf("%s/rich-tar", d);
	sh_run(xasprintf("python3 tests/servers/registry-fixtures.py rich %s", tgz));
	mkdir(ours, 0755);
	mkdir(theirs, 0755);
	sh_run(xasprintf("tar --numeric-owner -xpzf %s -C %s", tgz, theirs));
	int fd = open(tgz, O_RDONLY);
	CHECK(fd >= 0);
	struct layer_apply_stats st;
	err_t *e = layer_apply(ours, fd, NULL, &st);
	if (e)
		fprintf(stderr, "  apply: %s\n", e->msg);
	CHECK(!e);
	err_free(e);
	close(fd);
	CHECK(st.compression == LAYER_GZIP && st.hardlinks == 1 && st.symlinks == 2);
	char *cmd = xasprintf("python3 tests/servers/registry-fixtures.py compare %s %s >&2", ours, theirs);
	CHECK(system(cmd) == 0);
	free(cmd);
	free(tgz);
	free(ours);
	free(theirs);
}

/* xattrs travel through a written layer (PAX SCHILY.xattr records) and
 * are applied back. */
static void test_xattrs(void)
{
	const char *d = dir();
	char *src = xasprintf("%s/xa-src", d), *dst = xasprintf("%s/xa-dst", d), *f = xasprintf("%s/xa-src/f", d);
	mkdir(src, 0755);
	mkdir(dst, 0755);
	write_file(f, "data", 0644);
	if (setxattr(f, "user.build", "yes", 3, 0) != 0) {
		free(src);
		free(dst);
		free(f);
		SKIP("the filesystem under TMPDIR has no user xattrs");
	}
	struct layer_change ch[] = { { LAYER_CHANGE_ADD, "f" } };
	char *out = xasprintf("%s/xa.tar.zst", d);
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	struct layer_write_options o = { .compression = LAYER_ZSTD, .source_date_epoch = 0 };
	struct layer_write_result r;
	err_t *e = layer_write_changes(src, ch, 1, &o, fd, &r);
	CHECK(!e);
	err_free(e);
	close(fd);
	fd = open(out, O_RDONLY);
	e = layer_apply(dst, fd, NULL, NULL);
	CHECK(!e);
	err_free(e);
	close(fd);
	char *g = xasprintf("%s/f", dst);
	char v[16] = { 0 };
	CHECK(getxattr(g, "user.build", v, sizeof v - 1) == 3 && !strcmp(v, "yes"));
	fd = open(out, O_RDONLY);
	struct layer_apply_options no = { .no_xattrs = true };
	char *dst2 = xasprintf("%s/xa-dst2", d), *g2 = xasprintf("%s/xa-dst2/f", d);
	mkdir(dst2, 0755);
	e = layer_apply(dst2, fd, &no, NULL);
	CHECK(!e);
	err_free(e);
	close(fd);
	CHECK(getxattr(g2, "user.build", v, sizeof v - 1) < 0);
	free(g);
	free(g2);
	free(dst2);
	free(out);
	free(f);
	free(src);
	free(dst);
}

/* A change under a symlinked parent is refused: the writer never reads
 * through a link (lnk -> /etc would put host files into the layer). */
static void test_write_no_symlink_parents(void)
{
	const char *d = dir();
	char *src = xasprintf("%s/nolink-src", d), *lnk = xasprintf("%s/nolink-src/lnk", d);
	mkdir(src, 0755);
	CHECK(symlink("/etc", lnk) == 0);
	struct layer_change ch[] = { { LAYER_CHANGE_ADD, "lnk/hostname" } };
	char *out = xasprintf("%s/nolink.tar", d);
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	struct layer_write_options o = { .compression = LAYER_PLAIN, .source_date_epoch = 0 };
	struct layer_write_result r;
	err_t *e = layer_write_changes(src, ch, 1, &o, fd, &r);
	CHECK(e && e->code == EXIT_FAILED);
	err_free(e);
	close(fd);
	/* the link itself is fine */
	struct layer_change ok[] = { { LAYER_CHANGE_ADD, "lnk" } };
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	e = layer_write_changes(src, ok, 1, &o, fd, &r);
	CHECK(!e);
	err_free(e);
	close(fd);
	free(out);
	free(lnk);
	free(src);
}

static void test_corrupt_gzip(void)
{
	const char *d = dir();
	char *p = xasprintf("%s/corrupt.gz", d);
	write_file(p, "\x1f\x8b\x08\x00garbage-garbage", 0644);
	char *root = xasprintf("%s/corrupt-root", d);
	mkdir(root, 0755);
	int fd = open(p, O_RDONLY);
	err_t *e = layer_apply(root, fd, NULL, NULL);
	CHECK(e != NULL);
	err_free(e);
	close(fd);
	free(root);
	free(p);
}

/* The same attacks applied by an unprivileged process: no chown, no
 * device nodes, and still nothing outside the root. Returns non-zero if
 * any got through. */
static int unprivileged_attacks(const char *d, const char *base)
{
	const char *names[] = { "symlink-chain", "hardlink-outside", "symlink-dir", "device", "dotdot",
				"whiteout-escape", "symlink-abs" };
	int bad = 0;
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		char *root = xasprintf("%s/%s", base, names[i]);
		char *sb = xasprintf("%s/root", root);
		char *victim = xasprintf("%s/outside-victim", root);
		mkdir(root, 0755);
		mkdir(sb, 0755);
		FILE *f = fopen(victim, "w");
		if (!f)
			return 1;
		fputs("safe", f);
		fclose(f);
		char *fx = xasprintf("%s/fx/%s.tar.gz", d, names[i]);
		int fd = open(fx, O_RDONLY);
		struct layer_apply_stats st;
		err_free(layer_apply(sb, fd, NULL, &st));
		close(fd);
		char *v = read_small(victim);
		bad |= !v || strcmp(v, "safe");
		free(v);
		char *devn = xasprintf("%s/dev-null", sb);
		struct stat dst;
		bad |= lstat(devn, &dst) == 0; /* no device node unprivileged */
		char *esc = xasprintf("%s/escape-chain", root);
		bad |= access(esc, F_OK) == 0;
		free(esc);
		free(devn);
		free(fx);
		free(root);
		free(sb);
		free(victim);
	}
	/* a read-only directory with content still gets filled */
	char *lp = xasprintf("%s/ro-layer.tar", base);
	int lfd = open(lp, O_RDWR | O_CREAT | O_TRUNC, 0644);
	struct layer_writer *w = NULL;
	struct layer_write_options wo = { .compression = LAYER_PLAIN, .source_date_epoch = 0 };
	struct layer_entry_meta dm = { .mode = S_IFDIR | 0555 }, fm = { .mode = 0444 };
	int cfd = open(lp, O_RDONLY);
	struct layer_write_result res;
	bad |= layer_writer_new(lfd, &wo, &w) != NULL;
	bad |= layer_writer_add_meta(w, "ro", &dm) != NULL;
	bad |= layer_writer_add_fd(w, "ro/file", &fm, cfd, 0) != NULL;
	bad |= layer_writer_finish(w, &res) != NULL;
	close(cfd);
	lseek(lfd, 0, SEEK_SET);
	char *rr = xasprintf("%s/ro-root", base);
	mkdir(rr, 0755);
	err_t *ae = layer_apply(rr, lfd, NULL, NULL);
	if (ae)
		fprintf(stderr, "  ro apply: %s\n", ae->msg);
	bad |= ae != NULL;
	char *rf = xasprintf("%s/ro/file", rr), *rd = xasprintf("%s/ro", rr);
	struct stat rst;
	bad |= access(rf, F_OK) != 0;
	bad |= stat(rd, &rst) != 0 || (rst.st_mode & 07777) != 0555;
	err_free(ae);
	close(lfd);
	free(lp);
	free(rr);
	free(rf);
	free(rd);
	return bad;
}

/* ... run in a child that cannot regain privileges: as root, it drops to
 * nobody for good (groups, real, effective and saved ids); otherwise it
 * already is unprivileged, and runs as it is. */
static void test_unprivileged(void)
{
	const char *d = dir();
	char *base = xasprintf("%s/unpriv", d);
	mkdir(base, 0777);
	chmod(base, 0777);
	chmod(d, 0755);
	pid_t pid = fork();
	if (pid == 0) {
		if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 ||
				       setresuid(65534, 65534, 65534) != 0))
			_exit(3);
		if (geteuid() == 0 || getuid() == 0 || setuid(0) == 0)
			_exit(3);
		_exit(unprivileged_attacks(d, base) ? 1 : 0);
	}
	int status = 0;
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fprintf(stderr, "  unprivileged child: status %d\n", status);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	free(base);
}

static void cleanup(void)
{
	sh_run(xasprintf("chmod -R u+w %s; rm -rf %s", dir(), dir()));
}

TEST_MAIN_TEARDOWN("layer", cleanup, TEST(test_dotdot), TEST(test_absolute_lands_inside), TEST(test_symlink_dir),
	  TEST(test_symlink_abs), TEST(test_symlink_resolves_inside), TEST(test_symlink_chain),
	  TEST(test_symlink_overwrite), TEST(test_hardlink_outside), TEST(test_hardlink_via_symlink),
	  TEST(test_hardlink_abs), TEST(test_whiteout_escape), TEST(test_whiteout_dotdot), TEST(test_symlink_then_file_parent),
	  TEST(test_devices), TEST(test_write_deterministic_and_roundtrip), TEST(test_opaque), TEST(test_matches_gnu_tar), TEST(test_xattrs), TEST(test_write_no_symlink_parents),
	  TEST(test_corrupt_gzip), TEST(test_unprivileged))
