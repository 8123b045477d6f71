/* Tekton v1 Pipeline YAML -> struct pipeline, Tasks resolved, checked
 * against Tekton's Pipeline validation (see pipelinedef.h). */
#include "pipelinedef.h"

#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "strbuf.h"
#include "xalloc.h"
#include "yamldoc.h"

#define PIPELINE_FILE_MAX (4u << 20)

/* The YAML documents read: the Pipeline's and the Tasks'. */
struct source {
	struct ydoc *y;
	char *file;
};

struct loader {
	struct source *v;
	size_t n;
	const char *file;   /* the Pipeline's, for messages */
	bool allow_missing; /* a taskRef to a Task not given: skipped at run time */
};

static const char *kind_of(const struct ydoc_node *doc)
{
	return ydoc_str(ydoc_get(ydoc_deref(doc), "kind"));
}

static const char *name_of(const struct ydoc_node *doc)
{
	return ydoc_str(ydoc_get(ydoc_deref(ydoc_get(ydoc_deref(doc), "metadata")), "name"));
}

static err_t *add_text(struct loader *l, const char *text, size_t len, const char *file)
{
	struct ydoc *y = NULL;
	TRY(ydoc_parse(text, len, file, &y));
	l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n++] = (struct source){y, xstrdup(file)};
	return NULL;
}

static err_t *add_file(struct loader *l, const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	err_t *e = fs_read_file(path, PIPELINE_FILE_MAX, &sb);
	if (!e)
		e = add_text(l, sb_str(&sb), sb.len, path);
	sb_release(&sb);
	return e;
}

static bool yaml_name(const char *n)
{
	size_t len = strlen(n);
	return n[0] != '.' && ((len > 5 && !strcmp(n + len - 5, ".yaml")) || (len > 4 && !strcmp(n + len - 4, ".yml")));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static err_t *add_path(struct loader *l, const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return err_errno(EXIT_USAGE, "--tasks %s", path);
	if (!S_ISDIR(st.st_mode))
		return add_file(l, path);
	DIR *d = opendir(path);
	if (!d)
		return err_errno(EXIT_USAGE, "--tasks %s", path);
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (yaml_name(de->d_name)) {
			names = xrealloc(names, (n + 1) * sizeof *names);
			names[n++] = xasprintf("%s/%s", path, de->d_name);
		}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_str);
	err_t *e = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!e)
			e = add_file(l, names[i]);
		free(names[i]);
	}
	free(names);
	return e;
}

static void loader_free(struct loader *l)
{
	for (size_t i = 0; i < l->n; i++) {
		ydoc_free(l->v[i].y);
		free(l->v[i].file);
	}
	free(l->v);
}

/* A Task document by name, in the order given (the Pipeline's file first). */
static const struct ydoc_node *find_task(const struct loader *l, const char *name, const char **file)
{
	for (size_t i = 0; i < l->n; i++)
		for (size_t k = 0; k < l->v[i].y->ndocs; k++) {
			const struct ydoc_node *d = l->v[i].y->docs[k];
			const char *kind = kind_of(d), *n = name_of(d);
			if (kind && !strcmp(kind, "Task") && n && !strcmp(n, name)) {
				*file = l->v[i].file;
				return d;
			}
		}
	return NULL;
}

bool pipelinedef_duration(const char *s, long long *ms)
{
	static const struct {
		const char *unit;
		double ms;
	} units[] = {{"ns", 1e-6}, {"us", 1e-3}, {"µs", 1e-3}, {"ms", 1}, {"s", 1e3}, {"m", 6e4}, {"h", 3.6e6}};
	double total = 0;
	if (!s || !*s)
		return false;
	if (!strcmp(s, "0")) {
		*ms = 0;
		return true;
	}
	while (*s) {
		const char *start = s;
		double v = 0, scale = 1;
		bool frac = false;
		for (; isdigit((unsigned char)*s) || (*s == '.' && !frac); s++) {
			if (*s == '.') {
				frac = true;
				continue;
			}
			if (frac)
				v += (scale /= 10) * (*s - '0');
			else
				v = v * 10 + (*s - '0');
			if (v > 1e12)
				return false;
		}
		if (s == start)
			return false;
		size_t best = 0, blen = 0;
		for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
			size_t ul = strlen(units[i].unit);
			if (!strncmp(s, units[i].unit, ul) && ul > blen) {
				best = i;
				blen = ul;
			}
		}
		if (!blen)
			return false;
		total += v * units[best].ms;
		s += blen;
	}
	if (total > 1e13)
		return false;
	*ms = (long long)total;
	return true;
}

static err_t *want_str(const char *file, const struct ydoc_node *n, const char *what, char **out)
{
	n = ydoc_deref(n);
	*out = NULL;
	if (!n || ydoc_is_null(n))
		return NULL;
	if (n->kind != YDOC_SCALAR)
		return taskdef_bad(file, n, "%s must be a string", what);
	*out = xstrdup(n->value);
	return NULL;
}

static err_t *want_list(const char *file, const struct ydoc_node *n, const char *what)
{
	if (n && !ydoc_is_seq(n) && !ydoc_is_null(n))
		return taskdef_bad(file, n, "%s must be a list", what);
	return NULL;
}

static err_t *parse_when(const char *file, const struct ydoc_node *n, struct pl_when *w)
{
	static const char *const keys[] = {"input", "operator", "values", "cel", NULL};
	if (!ydoc_is_map(n))
		return taskdef_bad(file, n, "when items must be mappings");
	w->line = n->line;
	TRY(taskdef_known_keys(n, file, "when", keys));
	if (ydoc_get(n, "cel"))
		return taskdef_bad(file, n,
		           "when: cel expressions need Tekton's CEL feature flag: not supported by pipeline-run");
	TRY(want_str(file, ydoc_get(n, "input"), "when.input", &w->input));
	if (!w->input)
		return taskdef_bad(file, n, "when: missing field 'input' (Tekton)");
	const char *op = ydoc_str(ydoc_get(n, "operator"));
	if (!op || (strcmp(op, "in") && strcmp(op, "notin")))
		return taskdef_bad(file, n, "when: operator '%s' is not in or notin (Tekton)", op ? op : "");
	w->in = !strcmp(op, "in");
	const struct ydoc_node *vals = ydoc_deref(ydoc_get(n, "values"));
	if (!ydoc_is_seq(vals) || ydoc_count(vals) == 0)
		return taskdef_bad(file, vals ? vals : n, "when: values must be a non-empty list (Tekton)");
	w->values.n = ydoc_count(vals);
	w->values.v = xcalloc(w->values.n + 1, sizeof *w->values.v);
	w->values.lines = xcalloc(w->values.n + 1, sizeof *w->values.lines);
	for (size_t i = 0; i < w->values.n; i++) {
		const struct ydoc_node *it = ydoc_deref(ydoc_item(vals, i));
		if (!it || it->kind != YDOC_SCALAR)
			return taskdef_bad(file, it ? it : vals, "when: values must be strings");
		w->values.v[i] = xstrdup(it->value);
		w->values.lines[i] = it->line;
	}
	return NULL;
}

static err_t *parse_binding(const char *file, const struct ydoc_node *n, struct pl_binding *b)
{
	static const char *const keys[] = {"name", "workspace", "subPath", NULL};
	if (!ydoc_is_map(n))
		return taskdef_bad(file, n, "workspaces items must be mappings");
	b->line = n->line;
	TRY(taskdef_known_keys(n, file, "pipeline task workspace", keys));
	TRY(want_str(file, ydoc_get(n, "name"), "workspace name", &b->name));
	TRY(want_str(file, ydoc_get(n, "workspace"), "workspace", &b->workspace));
	TRY(want_str(file, ydoc_get(n, "subPath"), "subPath", &b->sub_path));
	if (!b->name)
		return taskdef_bad(file, n, "workspace binding: missing field 'name'");
	if (!b->workspace) /* Tekton: the Pipeline's workspace of the same name */
		b->workspace = xstrdup(b->name);
	if (b->sub_path && (b->sub_path[0] == '/' || strstr(b->sub_path, "..")))
		return taskdef_bad(file, n, "workspace %s: subPath '%s' must be relative, without '..' (Kubernetes)", b->name,
		           b->sub_path);
	return NULL;
}

static err_t *parse_pl_param(const char *file, const struct ydoc_node *n, struct pl_param *p)
{
	static const char *const keys[] = {"name", "value", NULL};
	if (!ydoc_is_map(n))
		return taskdef_bad(file, n, "params items must be mappings");
	p->line = n->line;
	TRY(taskdef_known_keys(n, file, "pipeline task param", keys));
	TRY(want_str(file, ydoc_get(n, "name"), "param name", &p->name));
	if (!p->name)
		return taskdef_bad(file, n, "param: missing field 'name'");
	const struct ydoc_node *v = ydoc_get(n, "value");
	if (!v)
		return taskdef_bad(file, n, "param %s: missing field 'value'", p->name);
	return taskdef_value_node(v, file, p->name, &p->value);
}

static err_t *resolve_task(const struct loader *l, const char *file, const struct ydoc_node *n, struct pl_task *t)
{
	const struct ydoc_node *ref = ydoc_deref(ydoc_get(n, "taskRef")), *spec = ydoc_deref(ydoc_get(n, "taskSpec"));
	if (ref && spec)
		return taskdef_bad(file, n, "task %s: taskRef and taskSpec are mutually exclusive (Tekton)", t->name);
	if (!ref && !spec)
		return taskdef_bad(file, n, "task %s: needs a taskRef or a taskSpec (Tekton)", t->name);
	if (spec) {
		t->embedded = true;
		TRY(taskdef_from_node(spec, file, true, &t->task));
		free(t->task.name);
		t->task.name = xstrdup(t->name);
		return NULL;
	}
	static const char *const keys[] = {"name", "kind", "apiVersion", NULL};
	if (!ydoc_is_map(ref))
		return taskdef_bad(file, ref, "taskRef must be a mapping");
	if (ydoc_get(ref, "resolver") || ydoc_get(ref, "bundle"))
		return taskdef_bad(file, ref,
		           "taskRef: remote resolution (resolver, bundle) is not supported by pipeline-run: "
		           "give the Task's file with --tasks");
	TRY(taskdef_known_keys(ref, file, "taskRef", keys));
	const char *kind = ydoc_str(ydoc_get(ref, "kind")), *name = ydoc_str(ydoc_get(ref, "name"));
	if (kind && strcmp(kind, "Task"))
		return taskdef_bad(file, ref, "taskRef: kind '%s' is not supported by pipeline-run (Task only)", kind);
	if (!name || !*name)
		return taskdef_bad(file, ref, "taskRef: missing field 'name' (Tekton)");
	const char *tfile = NULL;
	const struct ydoc_node *doc = find_task(l, name, &tfile);
	if (!doc && l->allow_missing) {
		/* nothing of it can be checked: it never runs */
		t->missing = true;
		t->task.name = xstrdup(name);
		return NULL;
	}
	if (!doc)
		return taskdef_bad(file, ref, "taskRef: no Task '%s' among the Tasks given (--tasks)", name);
	return taskdef_from_node(doc, tfile, false, &t->task);
}

static err_t *parse_task(const struct loader *l, const char *file, const struct ydoc_node *n, bool finally,
                         struct pl_task *t)
{
	static const char *const keys[] = {"name",       "displayName", "description", "taskRef", "taskSpec", "params",
	                                   "workspaces", "runAfter",    "when",        "retries", "timeout",  NULL};
	if (!ydoc_is_map(n))
		return taskdef_bad(file, n, "tasks items must be mappings");
	t->line = n->line;
	t->finally = finally;
	TRY(taskdef_known_keys(n, file, "pipeline task", keys));
	TRY(want_str(file, ydoc_get(n, "name"), "task name", &t->name));
	if (!t->name)
		return taskdef_bad(file, n, "pipeline task: missing field 'name'");
	if (!k8s_dns1123_label(t->name))
		return taskdef_bad(file, n, "pipeline task name '%s' is not a DNS-1123 label (Tekton)", t->name);
	TRY(resolve_task(l, file, n, t));

	const struct ydoc_node *ps = ydoc_deref(ydoc_get(n, "params"));
	TRY(want_list(file, ps, "params"));
	t->nparams = ydoc_count(ps);
	t->params = xcalloc(t->nparams + 1, sizeof *t->params);
	for (size_t i = 0; i < t->nparams; i++) {
		TRY(parse_pl_param(file, ydoc_deref(ydoc_item(ps, i)), &t->params[i]));
		for (size_t j = 0; j < i; j++)
			if (!strcmp(t->params[j].name, t->params[i].name))
				return taskdef_bad(file, ydoc_item(ps, i),
				           "task %s: param '%s' is given more than once (Tekton)", t->name,
				           t->params[i].name);
	}
	for (size_t i = 0; i < t->task.nparams; i++) {
		const struct tk_param *tp = &t->task.params[i];
		bool given = false;
		for (size_t j = 0; j < t->nparams && !given; j++)
			given = !strcmp(t->params[j].name, tp->name);
		if (!given && !tp->has_default)
			return taskdef_bad(file, n,
			           "task %s: param '%s' of Task %s has no default and is not given (Tekton: "
			           "missing parameters)",
			           t->name, tp->name, t->task.name);
	}

	const struct ydoc_node *ws = ydoc_deref(ydoc_get(n, "workspaces"));
	TRY(want_list(file, ws, "workspaces"));
	t->nworkspaces = ydoc_count(ws);
	t->workspaces = xcalloc(t->nworkspaces + 1, sizeof *t->workspaces);
	for (size_t i = 0; i < t->nworkspaces; i++) {
		TRY(parse_binding(file, ydoc_deref(ydoc_item(ws, i)), &t->workspaces[i]));
		if (!t->missing && !taskdef_workspace(&t->task, t->workspaces[i].name))
			return taskdef_bad(file, ydoc_item(ws, i), "task %s: Task %s declares no workspace '%s' (Tekton)",
			           t->name, t->task.name, t->workspaces[i].name);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(t->workspaces[j].name, t->workspaces[i].name))
				return taskdef_bad(file, ydoc_item(ws, i), "task %s: workspace '%s' is bound twice (Tekton)",
				           t->name, t->workspaces[i].name);
	}
	for (size_t i = 0; i < t->task.nworkspaces; i++) {
		const struct tk_workspace *tw = &t->task.workspaces[i];
		bool bound = false;
		for (size_t j = 0; j < t->nworkspaces && !bound; j++)
			bound = !strcmp(t->workspaces[j].name, tw->name);
		if (!bound && !tw->optional)
			return taskdef_bad(file, n,
			           "task %s: workspace '%s' of Task %s is not bound (Tekton: workspaces bound)",
			           t->name, tw->name, t->task.name);
	}

	const struct ydoc_node *wh = ydoc_deref(ydoc_get(n, "when"));
	TRY(want_list(file, wh, "when"));
	t->nwhen = ydoc_count(wh);
	t->when = xcalloc(t->nwhen + 1, sizeof *t->when);
	for (size_t i = 0; i < t->nwhen; i++)
		TRY(parse_when(file, ydoc_deref(ydoc_item(wh, i)), &t->when[i]));

	const struct ydoc_node *r = ydoc_deref(ydoc_get(n, "retries"));
	long long retries = 0;
	if (r && (!ydoc_int(r, &retries) || retries < 0 || retries > 1000))
		return taskdef_bad(file, r, "task %s: retries must be a non-negative integer (Tekton)", t->name);
	t->retries = (int)retries;
	const char *to = ydoc_str(ydoc_get(n, "timeout"));
	if (ydoc_get(n, "timeout") && !pipelinedef_duration(to, &t->timeout_ms))
		return taskdef_bad(file, ydoc_get(n, "timeout"), "task %s: timeout '%s' is not a duration like 1h30m (Tekton)",
		           t->name, to ? to : "");
	return NULL;
}

/* runAfter (after every task is known). */
static err_t *parse_run_after(const struct pipeline *p, const struct ydoc_node *n, size_t self)
{
	struct pl_task *t = &p->tasks[self];
	const struct ydoc_node *ra = ydoc_deref(ydoc_get(n, "runAfter"));
	TRY(want_list(p->file, ra, "runAfter"));
	if (ra && ydoc_count(ra) && t->finally)
		return taskdef_bad(p->file, ra, "finally task %s: runAfter is not allowed in finally (Tekton)", t->name);
	for (size_t i = 0; i < ydoc_count(ra); i++) {
		const char *name = ydoc_str(ydoc_item(ra, i));
		size_t k = 0;
		while (k < p->ntasks && (!name || strcmp(p->tasks[k].name, name) || p->tasks[k].finally))
			k++;
		if (k == p->ntasks)
			return taskdef_bad(p->file, ydoc_item(ra, i),
			           "task %s: runAfter '%s' is not a task of spec.tasks (Tekton)", t->name,
			           name ? name : "");
		if (k == self)
			return taskdef_bad(p->file, ydoc_item(ra, i), "task %s: runAfter names the task itself (Tekton: cycle)",
			           t->name);
		bool seen = false;
		for (size_t j = 0; j < t->nparents; j++)
			seen |= t->parents[j] == k;
		if (seen)
			continue;
		t->parents = xrealloc(t->parents, (t->nparents + 1) * sizeof *t->parents);
		t->result_parent = xrealloc(t->result_parent, (t->nparents + 1) * sizeof *t->result_parent);
		t->parents[t->nparents] = k;
		t->result_parent[t->nparents++] = false;
	}
	return NULL;
}

static bool ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_';
}

/* One $(...) of a pipeline task (or a Pipeline result when t is NULL). */
static err_t *check_ref(struct pipeline *p, size_t self, const char *expr, size_t len, int line)
{
	struct pl_task *t = self < p->ntasks ? &p->tasks[self] : NULL;
	const char *end = expr + len;
	if (!strncmp(expr, "params.", 7) || !strncmp(expr, "params[", 7)) {
		const char *nm = expr + 7, *ne;
		if (expr[6] == '[') {
			char q = *nm++;
			ne = memchr(nm, q, (size_t)(end - nm));
			if ((q != '"' && q != '\'') || !ne)
				return err_new(EXIT_USAGE, "%s:%d: $(%.*s): malformed variable reference (Tekton)",
				               p->file, line, (int)len, expr);
		} else {
			for (ne = nm; ne < end && ident_char(*ne); ne++)
				;
		}
		for (size_t i = 0; i < p->nparams; i++)
			if (strlen(p->params[i].name) == (size_t)(ne - nm) &&
			    !strncmp(p->params[i].name, nm, (size_t)(ne - nm)))
				return NULL;
		return err_new(EXIT_USAGE,
		               "%s:%d: $(%.*s): the Pipeline declares no such param (Tekton: non-existent variable)",
		               p->file, line, (int)len, expr);
	}
	if (!strncmp(expr, "context.", 8)) {
		static const char *const ok[] = {"context.pipelineRun.name",     "context.pipelineRun.namespace",
		                                 "context.pipelineRun.uid",      "context.pipeline.name",
		                                 "context.pipelineTask.retries", NULL};
		for (size_t i = 0; ok[i]; i++)
			if (strlen(ok[i]) == len && !strncmp(ok[i], expr, len))
				return NULL;
		return err_new(EXIT_USAGE, "%s:%d: $(%.*s): not a context variable of a Pipeline (Tekton)", p->file,
		               line, (int)len, expr);
	}
	if (!strncmp(expr, "workspaces.", 11)) {
		for (size_t i = 0; i < p->nworkspaces; i++) {
			size_t wl = strlen(p->workspaces[i].name);
			if (len == 11 + wl + 6 && !strncmp(expr + 11, p->workspaces[i].name, wl) &&
			    !strncmp(expr + 11 + wl, ".bound", 6))
				return NULL;
		}
		return err_new(EXIT_USAGE, "%s:%d: $(%.*s): not $(workspaces.<declared workspace>.bound) (Tekton)",
		               p->file, line, (int)len, expr);
	}
	/* tasks. */
	if (len == 12 && !strncmp(expr, "tasks.status", 12)) {
		if (t && t->finally)
			return NULL;
		return err_new(EXIT_USAGE, "%s:%d: $(tasks.status) is only available in finally tasks (Tekton)",
		               p->file, line);
	}
	const char *tn = expr + 6, *te = tn;
	while (te < end && ident_char(*te))
		te++;
	size_t k = 0;
	while (k < p->ntasks &&
	       (strlen(p->tasks[k].name) != (size_t)(te - tn) || strncmp(p->tasks[k].name, tn, (size_t)(te - tn))))
		k++;
	if (k == p->ntasks)
		return err_new(EXIT_USAGE, "%s:%d: $(%.*s): no pipeline task of that name (Tekton)", p->file, line,
		               (int)len, expr);
	struct pl_task *ref = &p->tasks[k];
	if (end - te == 7 && !strncmp(te, ".status", 7)) {
		if (!t || !t->finally)
			return err_new(EXIT_USAGE,
			               "%s:%d: $(%.*s): a task's status is only available in finally tasks (Tekton)",
			               p->file, line, (int)len, expr);
		if (ref->finally)
			return err_new(EXIT_USAGE,
			               "%s:%d: $(%.*s): the status of a finally task is not available (Tekton)",
			               p->file, line, (int)len, expr);
		return NULL;
	}
	if (end - te < 10 || strncmp(te, ".results.", 9))
		return err_new(EXIT_USAGE,
		               "%s:%d: $(%.*s): expected $(tasks.<task>.results.<result>) or .status (Tekton)", p->file,
		               line, (int)len, expr);
	if (ref->finally)
		return err_new(
		    EXIT_USAGE,
		    "%s:%d: $(%.*s): the results of a finally task are not available to other tasks (Tekton)", p->file,
		    line, (int)len, expr);
	if (k == self)
		return err_new(EXIT_USAGE, "%s:%d: $(%.*s): a task cannot use its own results (Tekton: cycle)", p->file,
		               line, (int)len, expr);
	const char *rn = te + 9;
	bool found = false;
	for (size_t i = 0; i < ref->task.nresults && !found; i++) {
		size_t rl = strlen(ref->task.results[i].name);
		found = (size_t)(end - rn) >= rl && !strncmp(rn, ref->task.results[i].name, rl) &&
		        (rn + rl == end || rn[rl] == '[' || rn[rl] == '.');
	}
	if (!found && !ref->missing)
		return err_new(EXIT_USAGE, "%s:%d: $(%.*s): Task %s of task %s declares no such result (Tekton)",
		               p->file, line, (int)len, expr, ref->task.name, ref->name);
	if (t && !t->finally) {
		for (size_t j = 0; j < t->nparents; j++)
			if (t->parents[j] == k) {
				t->result_parent[j] = true;
				return NULL;
			}
		t->parents = xrealloc(t->parents, (t->nparents + 1) * sizeof *t->parents);
		t->result_parent = xrealloc(t->result_parent, (t->nparents + 1) * sizeof *t->result_parent);
		t->parents[t->nparents] = k;
		t->result_parent[t->nparents++] = true;
	}
	return NULL;
}

static err_t *check_refs_in(struct pipeline *p, size_t self, const char *s, int line)
{
	for (const char *d = strstr(s, "$("); d; d = strstr(d + 2, "$(")) {
		const char *expr = d + 2, *close = strchr(expr, ')');
		if (!close)
			break;
		size_t len = (size_t)(close - expr);
		static const char *const roots[] = {"params", "context", "workspaces", "tasks", NULL};
		for (size_t i = 0; roots[i]; i++) {
			size_t rl = strlen(roots[i]);
			if (len > rl && !strncmp(expr, roots[i], rl) && (expr[rl] == '.' || expr[rl] == '['))
				TRY(check_ref(p, self, expr, len, line));
		}
	}
	return NULL;
}

static err_t *check_value_refs(struct pipeline *p, size_t self, const struct tk_value *v, int line)
{
	if (v->type == TK_STRING)
		return check_refs_in(p, self, v->str, line);
	for (size_t i = 0; i < v->n; i++)
		TRY(check_refs_in(p, self, v->items[i], line));
	return NULL;
}

static err_t *check_task_refs(struct pipeline *p, size_t self)
{
	struct pl_task *t = &p->tasks[self];
	for (size_t i = 0; i < t->nparams; i++)
		TRY(check_value_refs(p, self, &t->params[i].value, t->params[i].line));
	for (size_t i = 0; i < t->nwhen; i++) {
		TRY(check_refs_in(p, self, t->when[i].input, t->when[i].line));
		for (size_t k = 0; k < t->when[i].values.n; k++)
			TRY(check_refs_in(p, self, t->when[i].values.v[k], t->when[i].values.lines[k]));
	}
	for (size_t i = 0; i < t->nworkspaces; i++) {
		bool declared = false;
		for (size_t k = 0; k < p->nworkspaces && !declared; k++)
			declared = !strcmp(p->workspaces[k].name, t->workspaces[i].workspace);
		if (!declared)
			return err_new(EXIT_USAGE,
			               "%s:%d: task %s: workspace '%s' is not declared by the Pipeline (Tekton)",
			               p->file, t->workspaces[i].line, t->name, t->workspaces[i].workspace);
	}
	return NULL;
}

/* Tekton's dag.Build: no cycle through runAfter and result references. */
static err_t *check_cycles(const struct pipeline *p)
{
	size_t n = p->ntasks;
	int *mark = xcalloc(n + 1, sizeof *mark); /* 0 new, 1 on the path, 2 done */
	size_t *stack = xcalloc(n + 1, sizeof *stack), *next = xcalloc(n + 1, sizeof *next);
	err_t *e = NULL;
	for (size_t root = 0; root < n && !e; root++) {
		if (mark[root])
			continue;
		size_t depth = 0;
		stack[depth++] = root;
		mark[root] = 1;
		next[root] = 0;
		while (depth && !e) {
			size_t v = stack[depth - 1];
			const struct pl_task *t = &p->tasks[v];
			if (next[v] == t->nparents) {
				mark[v] = 2;
				depth--;
				continue;
			}
			size_t u = t->parents[next[v]++];
			if (mark[u] == 1)
				e = err_new(
				    EXIT_USAGE,
				    "%s:%d: task %s: cycle in the Pipeline's tasks through %s (Tekton: no cycles)",
				    p->file, t->line, t->name, p->tasks[u].name);
			else if (!mark[u]) {
				mark[u] = 1;
				next[u] = 0;
				stack[depth++] = u;
			}
		}
	}
	free(mark);
	free(stack);
	free(next);
	return e;
}

static err_t *parse_spec(struct pipeline *p, const struct loader *l, const struct ydoc_node *spec)
{
	static const char *const keys[] = {"description", "displayName", "params",  "workspaces",
	                                   "tasks",       "finally",     "results", NULL};
	const char *file = p->file;
	if (!ydoc_is_map(spec))
		return taskdef_bad(file, spec, "spec must be a mapping");
	TRY(taskdef_known_keys(spec, file, "spec", keys));

	const struct ydoc_node *ps = ydoc_deref(ydoc_get(spec, "params"));
	TRY(want_list(file, ps, "spec.params"));
	p->nparams = ydoc_count(ps);
	p->params = xcalloc(p->nparams + 1, sizeof *p->params);
	for (size_t i = 0; i < p->nparams; i++) {
		TRY(taskdef_param_node(ydoc_item(ps, i), file, &p->params[i]));
		for (size_t j = 0; j < i; j++)
			if (!strcmp(p->params[j].name, p->params[i].name))
				return taskdef_bad(file, ydoc_item(ps, i), "param name '%s' appears more than once (Tekton)",
				           p->params[i].name);
	}

	const struct ydoc_node *ws = ydoc_deref(ydoc_get(spec, "workspaces"));
	TRY(want_list(file, ws, "spec.workspaces"));
	p->nworkspaces = ydoc_count(ws);
	p->workspaces = xcalloc(p->nworkspaces + 1, sizeof *p->workspaces);
	for (size_t i = 0; i < p->nworkspaces; i++) {
		static const char *const wkeys[] = {"name", "description", "optional", NULL};
		const struct ydoc_node *w = ydoc_deref(ydoc_item(ws, i));
		if (!ydoc_is_map(w))
			return taskdef_bad(file, w, "spec.workspaces items must be mappings");
		TRY(taskdef_known_keys(w, file, "workspace", wkeys));
		p->workspaces[i].line = w->line;
		TRY(want_str(file, ydoc_get(w, "name"), "workspace name", &p->workspaces[i].name));
		if (!p->workspaces[i].name)
			return taskdef_bad(file, w, "workspace: missing field 'name'");
		const struct ydoc_node *opt = ydoc_get(w, "optional");
		if (opt && !ydoc_bool(opt, &p->workspaces[i].optional))
			return taskdef_bad(file, opt, "workspace %s: optional must be true or false", p->workspaces[i].name);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(p->workspaces[j].name, p->workspaces[i].name))
				return taskdef_bad(file, w, "workspace name '%s' appears more than once (Tekton)",
				           p->workspaces[i].name);
	}

	const struct ydoc_node *tasks = ydoc_deref(ydoc_get(spec, "tasks")),
	                       *fin = ydoc_deref(ydoc_get(spec, "finally"));
	TRY(want_list(file, tasks, "spec.tasks"));
	TRY(want_list(file, fin, "spec.finally"));
	if (ydoc_count(tasks) == 0)
		return taskdef_bad(file, tasks ? tasks : spec, "spec.tasks: a Pipeline needs at least one task (Tekton)");
	size_t nt = ydoc_count(tasks), nf = ydoc_count(fin);
	p->tasks = xcalloc(nt + nf + 1, sizeof *p->tasks);
	for (size_t i = 0; i < nt + nf; i++) {
		const struct ydoc_node *n = ydoc_deref(i < nt ? ydoc_item(tasks, i) : ydoc_item(fin, i - nt));
		p->ntasks = i + 1;
		TRY(parse_task(l, file, n, i >= nt, &p->tasks[i]));
		for (size_t j = 0; j < i; j++)
			if (!strcmp(p->tasks[j].name, p->tasks[i].name))
				return taskdef_bad(file, n,
				           "pipeline task name '%s' appears more than once in tasks and finally "
				           "(Tekton)",
				           p->tasks[i].name);
	}
	p->nfinally = nf;
	for (size_t i = 0; i < nt + nf; i++)
		TRY(parse_run_after(p, ydoc_deref(i < nt ? ydoc_item(tasks, i) : ydoc_item(fin, i - nt)), i));
	for (size_t i = 0; i < nt + nf; i++)
		TRY(check_task_refs(p, i));
	TRY(check_cycles(p));

	const struct ydoc_node *rs = ydoc_deref(ydoc_get(spec, "results"));
	TRY(want_list(file, rs, "spec.results"));
	p->nresults = ydoc_count(rs);
	p->results = xcalloc(p->nresults + 1, sizeof *p->results);
	for (size_t i = 0; i < p->nresults; i++) {
		static const char *const rkeys[] = {"name", "description", "type", "value", NULL};
		const struct ydoc_node *r = ydoc_deref(ydoc_item(rs, i));
		struct pl_result *pr = &p->results[i];
		if (!ydoc_is_map(r))
			return taskdef_bad(file, r, "spec.results items must be mappings");
		TRY(taskdef_known_keys(r, file, "result", rkeys));
		pr->line = r->line;
		TRY(want_str(file, ydoc_get(r, "name"), "result name", &pr->name));
		if (!pr->name || !taskdef_result_name_ok(pr->name))
			return taskdef_bad(file, r, "result name '%s' is invalid (Tekton)", pr->name ? pr->name : "");
		if (!ydoc_get(r, "value"))
			return taskdef_bad(file, r, "result %s: missing field 'value' (Tekton)", pr->name);
		TRY(taskdef_value_node(ydoc_get(r, "value"), file, pr->name, &pr->value));
		TRY(check_value_refs(p, SIZE_MAX, &pr->value, pr->line));
	}
	return NULL;
}

static err_t *from_loader(const struct loader *l, struct pipeline *out)
{
	memset(out, 0, sizeof *out);
	const struct ydoc_node *doc = NULL;
	const struct source *src = &l->v[0];
	for (size_t k = 0; k < src->y->ndocs; k++) {
		const char *kind = kind_of(src->y->docs[k]);
		if (kind && !strcmp(kind, "Pipeline")) {
			if (doc)
				return taskdef_bad(src->file, src->y->docs[k],
				           "a second Pipeline in the file: one Pipeline per file");
			doc = ydoc_deref(src->y->docs[k]);
		}
	}
	out->file = xstrdup(src->file);
	if (!doc)
		return taskdef_bad(src->file, src->y->ndocs ? src->y->docs[0] : NULL,
		           "no document of kind Pipeline in the file");
	const char *api = ydoc_str(ydoc_get(doc, "apiVersion"));
	if (!api || strcmp(api, "tekton.dev/v1"))
		return taskdef_bad(out->file, doc, "apiVersion '%s' is not tekton.dev/v1", api ? api : "");
	const char *name = name_of(doc);
	if (!name || !k8s_dns1123_subdomain(name))
		return taskdef_bad(out->file, ydoc_get(doc, "metadata") ? ydoc_deref(ydoc_get(doc, "metadata")) : doc,
		           "metadata.name '%s' is not a DNS-1123 subdomain (Kubernetes object names)",
		           name ? name : "");
	if (strlen(name) > K8S_DNS1123_LABEL_MAX)
		return taskdef_bad(out->file, ydoc_get(doc, "metadata") ? ydoc_deref(ydoc_get(doc, "metadata")) : doc,
		           "metadata.name '%s' is longer than 63 characters (%s)", name, TEKTON_NAME_RULE);
	out->name = xstrdup(name);
	if (!ydoc_get(doc, "spec"))
		return taskdef_bad(out->file, doc, "missing field 'spec'");
	return parse_spec(out, l, ydoc_deref(ydoc_get(doc, "spec")));
}

err_t *pipelinedef_load(const char *path, const char *const *task_paths, size_t ntask_paths, bool allow_missing,
                        struct pipeline *out)
{
	struct loader l = {.allow_missing = allow_missing};
	memset(out, 0, sizeof *out);
	err_t *e = add_file(&l, path);
	for (size_t i = 0; i < ntask_paths && !e; i++)
		e = add_path(&l, task_paths[i]);
	if (!e)
		e = from_loader(&l, out);
	loader_free(&l);
	if (e)
		pipelinedef_free(out);
	return e;
}

err_t *pipelinedef_parse(const char *text, size_t len, const char *file, struct pipeline *out)
{
	struct loader l = {0};
	memset(out, 0, sizeof *out);
	err_t *e = add_text(&l, text, len, file);
	if (!e)
		e = from_loader(&l, out);
	loader_free(&l);
	if (e)
		pipelinedef_free(out);
	return e;
}

static void strs_release(struct tk_strs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	free(s->lines);
}

void pipelinedef_free(struct pipeline *p)
{
	for (size_t i = 0; i < p->nparams; i++)
		taskdef_param_free(&p->params[i]);
	for (size_t i = 0; i < p->nworkspaces; i++)
		free(p->workspaces[i].name);
	for (size_t i = 0; i < p->nresults; i++) {
		free(p->results[i].name);
		tk_value_free(&p->results[i].value);
	}
	for (size_t i = 0; i < p->ntasks; i++) {
		struct pl_task *t = &p->tasks[i];
		free(t->name);
		taskdef_free(&t->task);
		for (size_t k = 0; k < t->nparams; k++) {
			free(t->params[k].name);
			tk_value_free(&t->params[k].value);
		}
		for (size_t k = 0; k < t->nworkspaces; k++) {
			free(t->workspaces[k].name);
			free(t->workspaces[k].workspace);
			free(t->workspaces[k].sub_path);
		}
		for (size_t k = 0; k < t->nwhen; k++) {
			free(t->when[k].input);
			strs_release(&t->when[k].values);
		}
		free(t->params);
		free(t->workspaces);
		free(t->when);
		free(t->parents);
		free(t->result_parent);
	}
	free(p->params);
	free(p->workspaces);
	free(p->results);
	free(p->tasks);
	free(p->name);
	free(p->file);
	memset(p, 0, sizeof *p);
}

const struct pl_task *pipelinedef_task(const struct pipeline *p, const char *name)
{
	for (size_t i = 0; i < p->ntasks; i++)
		if (!strcmp(p->tasks[i].name, name))
			return &p->tasks[i];
	return NULL;
}
