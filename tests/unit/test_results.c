/* Results: written only on commit, atomically, all or nothing. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "fsutil.h"
#include "results.h"
#include "testing.h"

static const struct param_spec no_params[] = { { NULL } };
static const struct result_spec results[] = {
	{ "image-digest", "d" },
	{ "image-tags", "t" },
	{ "unset", "never set" },
	{ NULL },
};
static const struct task_spec spec = { "t", "s", no_params, results };

static char *read_text(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	struct strbuf sb = STRBUF_INIT;
	err_t *e = fs_read_file(path, 1 << 20, &sb);
	if (e) {
		err_free(e);
		sb_release(&sb);
		return NULL;
	}
	return sb_detach(&sb);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	for (struct dirent *de; d && (de = readdir(d));)
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static void test_commit_writes_exact_values(void)
{
	char tmpl[] = "/tmp/results-XXXXXX";
	char *dir = mkdtemp(tmpl);
	char sub[4096];
	snprintf(sub, sizeof sub, "%s/nested/results", dir);
	struct results *r = results_new(&spec);
	results_sets(r, "image-digest", "sha256:abc");
	results_set(r, "image-tags", "a\nb", 3);
	CHECK(count_entries(dir) == 0); /* nothing before commit */
	err_t *e = results_commit(r, sub);
	CHECK(!e);
	char *d = read_text(sub, "image-digest");
	char *t = read_text(sub, "image-tags");
	CHECK_STR(d, "sha256:abc"); /* no trailing newline */
	CHECK_STR(t, "a\nb");
	CHECK(read_text(sub, "unset") == NULL);
	CHECK(count_entries(sub) == 2); /* no temp files left */
	CHECK_STR(results_get(r, "image-digest"), "sha256:abc");
	free(d);
	free(t);
	results_free(r);
}

static void test_commit_failure_leaves_nothing(void)
{
	char tmpl[] = "/tmp/results-XXXXXX";
	char *dir = mkdtemp(tmpl);
	/* second result cannot be written: a directory sits where its file goes */
	char blocker[4096];
	snprintf(blocker, sizeof blocker, "%s/image-tags", dir);
	mkdir(blocker, 0755);
	char inside[4200];
	snprintf(inside, sizeof inside, "%s/x", blocker);
	FILE *f = fopen(inside, "w");
	if (f)
		fclose(f);
	struct results *r = results_new(&spec);
	results_sets(r, "image-digest", "sha256:abc");
	results_sets(r, "image-tags", "t");
	err_t *e = results_commit(r, dir);
	CHECK(e != NULL);
	char *d = read_text(dir, "image-digest");
	CHECK(d == NULL); /* the first one was taken back */
	free(d);
	err_free(e);
	results_free(r);
}

static void test_atomic_write_replaces(void)
{
	char tmpl[] = "/tmp/results-XXXXXX";
	char *dir = mkdtemp(tmpl);
	CHECK(!fs_write_atomic(dir, "f", "old", 3, 0600));
	CHECK(!fs_write_atomic(dir, "f", "new!", 4, 0644));
	char *v = read_text(dir, "f");
	CHECK_STR(v, "new!");
	free(v);
	CHECK(count_entries(dir) == 1);
}

static void test_spill_moves_the_largest_value_only_when_over(void)
{
	char tmpl[] = "/tmp/results-XXXXXX";
	char *dir = mkdtemp(tmpl);
	char over[4096];
	snprintf(over, sizeof over, "%s/over", dir);
	struct results *r = results_new(&spec);
	results_sets(r, "image-digest", "sha256:abc");
	CHECK(!results_spill(r, over));
	CHECK_STR(results_get(r, "image-digest"), "sha256:abc"); /* fits: untouched */
	CHECK(access(over, F_OK) != 0);                          /* and nothing written */
	char big[5000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	results_sets(r, "image-tags", big);
	CHECK(results_message_size(r) > RESULTS_TEKTON_MAX);
	CHECK(!results_spill(r, over));
	CHECK(results_message_size(r) <= RESULTS_TEKTON_MAX);
	CHECK_STR(results_get(r, "image-digest"), "sha256:abc"); /* the small one stays */
	char want[4200], d[DIGEST_SIZE];
	digest_buffer(big, strlen(big), d);
	snprintf(want, sizeof want, "%s/image-tags %s", over, d);
	CHECK_STR(results_get(r, "image-tags"), want);
	char *moved = read_text(over, "image-tags");
	CHECK_STR(moved, big);
	free(moved);
	results_free(r);
	fs_remove_tree(dir);
}

TEST_MAIN("results", TEST(test_commit_writes_exact_values), TEST(test_commit_failure_leaves_nothing),
	  TEST(test_atomic_write_replaces), TEST(test_spill_moves_the_largest_value_only_when_over))
