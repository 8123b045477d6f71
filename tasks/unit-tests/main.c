/* unit-tests: run the app's test command in the cloned tree with a time
 * limit, read the JUnit XML reports it wrote, and emit a test record (for
 * publish-doi) with the totals and the failing cases. Exit 1 when tests
 * fail or time out. */
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "imageroot.h"
#include "junit.h"
#include "layer.h"
#include "log.h"
#include "runner.h"
#include "strbuf.h"
#include "task.h"
#include "xalloc.h"

static const struct param_spec params[] = {
	{ "command", PARAM_STRING, "npm test", false, false, "test command, run with /bin/sh -c in workdir" },
	{ "workdir", PARAM_STRING, ".", false, false,
	  "the cloned source tree to run the tests in; with image: a directory inside the image (relative: to its WorkingDir)" },
	{ "image", PARAM_STRING, NULL, false, false,
	  "run the tests inside the built image instead: oci:<dir>[:tag] or oci-archive:<file>[:tag] (its Env and WorkingDir apply)" },
	{ "timeout", PARAM_INT, "1800", false, false, "seconds before the test command's process group is killed (0: none)" },
	{ "junit", PARAM_LIST, NULL, false, false,
	  "JUnit XML report pattern, relative to workdir (repeatable; * also crosses /); "
	  "default: junit*.xml, */junit*.xml, reports/*.xml, test-results/*.xml, */TEST-*.xml" },
	{ "record-file", PARAM_STRING, "test-record.json", false, false, "where to write the JSON test record" },
	{ "record-type", PARAM_STRING, "unittest", false, false, "test type named in the record (unittest, fvt, ...)" },
	{ NULL },
};

static const struct result_spec results[] = {
	{ "test-record", "path of the JSON test record (totals, failing cases, reports)" },
	{ "status", "pass or fail" },
	{ "totals", "tests, failures, errors, skipped in one line" },
	{ NULL },
};

static const struct task_spec spec = {
	"unit-tests",
	"Run the app's tests with a timeout, read their JUnit XML, and write a test record.",
	params,
	results,
};

static const char *const default_patterns[] = { "junit*.xml", "*/junit*.xml", "reports/*.xml", "test-results/*.xml",
						"*/TEST-*.xml", NULL };

#define REPORT_MAX (32 * 1024 * 1024)
#define WALK_MAX_DEPTH 12
#define WALK_MAX_FILES 100000

struct walk {
	const char *const *patterns;
	size_t npatterns;
	time_t since;
	char **found;
	size_t nfound, seen;
};

static bool matches(const struct walk *w, const char *rel)
{
	for (size_t i = 0; i < w->npatterns; i++)
		if (fnmatch(w->patterns[i], rel, 0) == 0)
			return true;
	return false;
}

/* Reports under the directory dfd (owned; rel: its path from the top),
 * by fd: entries are lstat'ed and opened with O_NOFOLLOW, so a symlink in
 * the tree is never followed (to the host, from an image). */
static void walk_dir(struct walk *w, int dfd, const char *rel, int depth)
{
	DIR *d = depth <= WALK_MAX_DEPTH ? fdopendir(dfd) : NULL;
	if (!d) {
		close(dfd);
		return;
	}
	for (struct dirent *de; (de = readdir(d)) && w->seen < WALK_MAX_FILES;) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "node_modules"))
			continue;
		w->seen++;
		char *r = *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (S_ISDIR(st.st_mode)) {
				int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (sub >= 0)
					walk_dir(w, sub, r, depth + 1);
			} else if (S_ISREG(st.st_mode) && matches(w, r)) {
				if (st.st_mtime + 1 < w->since) {
					log_warn("%s: older than this run; stale report ignored", r);
				} else {
					w->found = xrealloc(w->found, (w->nfound + 1) * sizeof *w->found);
					w->found[w->nfound++] = xstrdup(r);
				}
			}
		}
		free(r);
	}
	closedir(d);
}

/* A report the walk found (rel to the top dir topfd), read again without
 * leaving topfd: a directory swapped for a symlink since is resolved
 * inside it, the file itself is never a symlink. */
static err_t *read_report(int topfd, const char *rel, const char *name, struct strbuf *text)
{
	const char *slash = strrchr(rel, '/');
	_cleanup_free_ char *parent = slash ? xstrndup(rel, (size_t)(slash - rel)) : xstrdup("");
	_cleanup_close_ int pfd = -1;
	TRY(layer_open_dir_in_root(topfd, parent, &pfd));
	_cleanup_close_ int fd = openat(pfd, slash ? slash + 1 : rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0)
		return err_errno(EXIT_FAILED, "cannot open %s", name);
	if (!S_ISREG(st.st_mode))
		return err_new(EXIT_FAILED, "%s is not a regular file", name);
	return fs_read_fd(fd, REPORT_MAX, name, text);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void merge(struct junit_totals *into, struct junit_totals *from)
{
	into->tests += from->tests;
	into->failures += from->failures;
	into->errors += from->errors;
	into->skipped += from->skipped;
	into->time += from->time;
	into->failed = xrealloc(into->failed, (into->nfailed + from->nfailed + 1) * sizeof *into->failed);
	if (from->nfailed)
		memcpy(into->failed + into->nfailed, from->failed, from->nfailed * sizeof *from->failed);
	into->nfailed += from->nfailed;
	free(from->failed);
	from->failed = NULL;
	from->nfailed = 0;
}

static char *iso_time(time_t t)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	char buf[32];
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return xstrdup(buf);
}

struct record_in {
	const char *command, *type;
	const struct run_outcome *run;
	const struct junit_totals *t;
	char **reports, **unreadable;
	size_t nreports, nunreadable;
	time_t started;
	bool passed;
};

/* A JSON string; text that is not valid UTF-8 is replaced, not dropped. */
static json_t *jsafe(const char *s)
{
	json_t *j = json_string(s);
	return j ? j : json_string("(not valid UTF-8)");
}

static err_t *write_record(const char *path, const struct record_in *in)
{
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string(in->type));
	json_object_set_new(o, "status", json_string(in->passed ? "pass" : "fail"));
	json_object_set_new(o, "command", jsafe(in->command));
	json_object_set_new(o, "exit_code", json_integer(in->run->exit_code));
	json_object_set_new(o, "timed_out", json_boolean(in->run->timed_out));
	json_object_set_new(o, "duration_seconds", json_real(in->run->seconds));
	char *ts = iso_time(in->started);
	json_object_set_new(o, "started_at", json_string(ts));
	free(ts);
	json_object_set_new(o, "totals", json_pack("{s:I,s:I,s:I,s:I,s:I}", "tests", (json_int_t)in->t->tests,
						   "passed",
						   (json_int_t)(in->t->tests >= in->t->failures + in->t->errors + in->t->skipped
									? in->t->tests - in->t->failures - in->t->errors -
										  in->t->skipped
									: 0),
						   "failures", (json_int_t)in->t->failures, "errors", (json_int_t)in->t->errors,
						   "skipped", (json_int_t)in->t->skipped));
	json_t *failed = json_array();
	for (size_t i = 0; i < in->t->nfailed; i++) {
		const struct junit_case *c = &in->t->failed[i];
		json_t *f = json_object();
		json_object_set_new(f, "suite", jsafe(c->suite));
		json_object_set_new(f, "classname", jsafe(c->classname));
		json_object_set_new(f, "name", jsafe(c->name));
		json_object_set_new(f, "kind", jsafe(c->kind));
		json_object_set_new(f, "message", jsafe(c->message));
		json_object_set_new(f, "report", jsafe(c->file));
		json_array_append_new(failed, f);
	}
	json_object_set_new(o, "failed_cases", failed);
	json_t *reports = json_array();
	for (size_t i = 0; i < in->nreports; i++)
		json_array_append_new(reports, jsafe(in->reports[i]));
	json_object_set_new(o, "junit_reports", reports);
	json_t *bad = json_array();
	for (size_t i = 0; i < in->nunreadable; i++)
		json_array_append_new(bad, jsafe(in->unreadable[i]));
	json_object_set_new(o, "unreadable_reports", bad);
	char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(o);
	if (!text)
		return err_new(EXIT_FAILED, "cannot encode the test record");
	char *copy1 = xstrdup(path), *copy2 = xstrdup(path);
	struct strbuf data = STRBUF_INIT;
	sb_adds(&data, text);
	sb_addc(&data, '\n');
	free(text);
	const char *dir = dirname(copy1);
	err_t *e = fs_mkdir_p(dir, 0755);
	if (!e)
		e = fs_write_atomic(dir, basename(copy2), data.buf, data.len, 0644);
	sb_release(&data);
	free(copy1);
	free(copy2);
	return e;
}

static void free_list(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

/* With an image: its environment (PATH defaulted) and the working
 * directory inside it; host_dir is where that directory is on our side. */
static void image_setup(const struct image_root *img, const char *workdir, char **inner, char **host_dir,
			char ***env)
{
	if (workdir[0] == '/')
		*inner = xstrdup(workdir);
	else if (!strcmp(workdir, "."))
		*inner = xstrdup(img->workdir);
	else
		*inner = xasprintf("%s/%s", strcmp(img->workdir, "/") ? img->workdir : "", workdir);
	*host_dir = xasprintf("%s%s", img->root, *inner);
	size_t n = 0;
	bool path = false;
	while (img->env[n])
		path |= !strncmp(img->env[n++], "PATH=", 5);
	*env = xcalloc(n + 3, sizeof **env);
	for (size_t i = 0; i < n; i++)
		(*env)[i] = img->env[i];
	if (!path)
		(*env)[n++] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

static err_t *run(const struct params *p, struct results *r)
{
	const char *command = params_str(p, "command");
	const char *workdir = params_str(p, "workdir");
	const char *image = params_str(p, "image");
	long timeout = params_int(p, "timeout");
	if (!command || !command[strspn(command, " \t\n")])
		return err_new(EXIT_USAGE, "command is empty"); /* (blank: sh -c would pass, testing nothing) */

	struct image_root img = { 0 };
	char *inner = NULL, *host_dir = NULL;
	char **env = NULL;
	if (image && *image) {
		TRY(image_root_unpack(image, NULL, &img));
		image_setup(&img, workdir, &inner, &host_dir, &env);
	} else {
		host_dir = xstrdup(workdir);
	}
	/* the working directory, opened once: inside an image, resolved in
	 * its root (its WorkingDir or symlinks cannot name a host directory);
	 * every report is then read below that fd */
	err_t *e = NULL;
	int topfd = -1;
	if (inner) {
		_cleanup_close_ int rootfd = open(img.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (rootfd < 0)
			e = err_errno(EXIT_FAILED, "cannot open the image root %s", img.root);
		else
			e = layer_open_dir_in_root(rootfd, inner, &topfd);
		if (e)
			e = err_wrap(e, "workdir %s is not a directory in the image", inner);
	} else {
		topfd = open(host_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (topfd < 0)
			e = err_new(EXIT_USAGE, "workdir %s is not a directory", workdir);
	}
	if (inner)
		err_set_code(e, EXIT_USAGE);

	time_t started = time(NULL);
	struct run_outcome outcome = { 0 };
	if (!e) {
		log_info("running in %s%s%s: %s (timeout %lds)", inner ? inner : workdir, inner ? " in " : "",
			 inner ? image : "", command, timeout);
		struct run_spec rs = { command, inner ? inner : workdir, inner ? img.root : NULL, env, timeout };
		e = run_command(&rs, &outcome);
	}
	if (e) {
		if (topfd >= 0)
			close(topfd);
		free(inner);
		free(host_dir);
		free(env);
		image_root_remove(&img);
		return e;
	}

	struct walk w = { .since = started };
	const char *const *patterns;
	w.npatterns = params_list(p, "junit", &patterns);
	w.patterns = patterns;
	if (!w.npatterns) {
		w.patterns = default_patterns;
		while (default_patterns[w.npatterns])
			w.npatterns++;
	}
	int walkfd = dup(topfd);
	if (walkfd >= 0)
		walk_dir(&w, walkfd, "", 0);
	if (w.nfound > 1)
		qsort(w.found, w.nfound, sizeof *w.found, cmp_str);

	struct junit_totals totals = { 0 };
	char **unreadable = NULL;
	size_t nunreadable = 0;
	for (size_t i = 0; i < w.nfound; i++) {
		struct strbuf text = STRBUF_INIT;
		struct junit_totals one = { 0 };
		/* named by the path a user knows: in the image, or on the host */
		char *rel = w.found[i];
		w.found[i] = xasprintf("%s/%s", inner ? (strcmp(inner, "/") ? inner : "") : host_dir, rel);
		err_t *re = read_report(topfd, rel, w.found[i], &text);
		free(rel);
		if (!re)
			re = junit_parse(sb_str(&text), text.len, w.found[i], &one);
		sb_release(&text);
		if (re) {
			char *d = err_describe(re);
			log_warn("unreadable JUnit report: %s", d);
			free(d);
			err_free(re);
			unreadable = xrealloc(unreadable, (nunreadable + 1) * sizeof *unreadable);
			unreadable[nunreadable++] = xstrdup(w.found[i]);
		} else {
			merge(&totals, &one);
		}
		junit_totals_release(&one);
	}

	close(topfd);
	image_root_remove(&img);
	free(inner);
	free(host_dir);
	free(env);

	bool passed = !outcome.timed_out && outcome.exit_code == 0 && totals.failures == 0 && totals.errors == 0;
	struct record_in rec = { command, params_str(p, "record-type"), &outcome, &totals, w.found, unreadable,
				 w.nfound, nunreadable, started, passed };
	const char *record = params_str(p, "record-file");
	e = write_record(record, &rec);

	char line[200];
	snprintf(line, sizeof line, "%zu tests, %zu failures, %zu errors, %zu skipped", totals.tests, totals.failures,
		 totals.errors, totals.skipped);
	printf("%s%s\n", line, w.nfound ? "" : " (no JUnit report found)");
	for (size_t i = 0; i < totals.nfailed; i++) {
		const struct junit_case *c = &totals.failed[i];
		printf("%s: %s%s%s%s%s\n", !strcmp(c->kind, "error") ? "ERROR" : "FAILED", c->classname,
		       *c->classname ? "." : "", c->name, *c->message ? ": " : "", c->message);
	}
	fflush(stdout);
	if (!e) {
		results_sets(r, "test-record", record);
		results_sets(r, "status", passed ? "pass" : "fail");
		results_sets(r, "totals", line);
		if (outcome.timed_out)
			e = err_new(EXIT_FAILED, "the tests timed out after %ld s; their process group was killed (record: %s)",
				    timeout, record);
		else if (!passed && totals.nfailed)
			e = err_new(EXIT_FAILED, "%zu test case%s failed (exit status %d); record: %s", totals.nfailed,
				    totals.nfailed == 1 ? "" : "s", outcome.exit_code, record);
		else if (!passed)
			e = err_new(EXIT_FAILED, "the test command exited with status %d; record: %s", outcome.exit_code,
				    record);
	}
	junit_totals_release(&totals);
	free_list(w.found, w.nfound);
	free_list(unreadable, nunreadable);
	return e;
}

int main(int argc, char **argv)
{
	return task_main(&spec, argc, argv, run);
}
