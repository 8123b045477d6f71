/* Tekton Triggers resources applied to an event (see trigger.h). */
#include "trigger.h"

#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cleanup.h"
#include "fsutil.h"
#include "interceptor.h"
#include "log.h"
#include "runname.h"
#include "strbuf.h"
#include "taskdef.h"
#include "xalloc.h"
#include "yamldoc.h"

#define TRIGGER_FILE_MAX (4u << 20)
#define EVENT_MAX (16u << 20)

struct ctx {
	const char *file;
	const struct ydoc *y;
	json_t *body;
	const struct trigger_event *ev;
};

static const struct ydoc_node *find_doc(const struct ydoc *y, const char *kind, const char *name)
{
	for (size_t i = 0; i < y->ndocs; i++) {
		const struct ydoc_node *d = ydoc_deref(y->docs[i]);
		const char *k = ydoc_str(ydoc_get(d, "kind")), *n = ydoc_str(ydoc_path(d, "metadata.name"));
		if (k && n && !strcmp(k, kind) && !strcmp(n, name))
			return d;
	}
	return NULL;
}

/* $(body.a.b) as text: strings as they are, anything else compact JSON */
static char *body_value(const struct ctx *c, const char *path)
{
	json_t *j = c->body;
	char *copy = xstrdup(path), *save = NULL;
	for (char *k = strtok_r(copy, ".", &save); k && j; k = strtok_r(NULL, ".", &save)) {
		if (json_is_array(j)) {
			char *end;
			unsigned long idx = strtoul(k, &end, 10);
			j = *end ? NULL : json_array_get(j, idx);
		} else {
			j = json_object_get(j, k);
		}
	}
	free(copy);
	if (!j)
		return NULL;
	if (json_is_string(j))
		return xstrdup(json_string_value(j));
	return json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* A TriggerBinding value: text with $(body.x) and $(header.x) */
static err_t *binding_value(const struct ctx *c, const struct ydoc_node *at, const char *in, char **out)
{
	struct strbuf sb = STRBUF_INIT;
	for (const char *s = in; *s;) {
		const char *d = strstr(s, "$(");
		const char *close = d ? strchr(d, ')') : NULL;
		if (!d || !close) {
			sb_adds(&sb, s);
			break;
		}
		sb_add(&sb, s, (size_t)(d - s));
		char *expr = xstrndup(d + 2, (size_t)(close - d - 2));
		char *v = NULL;
		if (!strncmp(expr, "body.", 5))
			v = body_value(c, expr + 5);
		else if (!strncmp(expr, "header.", 7) && event_header(c->ev, expr + 7))
			v = xstrdup(event_header(c->ev, expr + 7));
		else if (strncmp(expr, "header.", 7)) {
			err_t *e = taskdef_bad(c->file, at, "$(%s): a TriggerBinding takes $(body.x) and $(header.x) here", expr);
			free(expr);
			sb_release(&sb);
			return e;
		}
		if (!v) {
			err_t *e = taskdef_bad(c->file, at, "$(%s) is not in the event", expr);
			free(expr);
			sb_release(&sb);
			return e;
		}
		sb_adds(&sb, v);
		free(v);
		free(expr);
		s = close + 1;
	}
	*out = sb_detach(&sb);
	return NULL;
}

/* Does the trigger's every interceptor accept the event? An error when
 * one refuses it (its secret check) or cannot be run. */
static err_t *accepts(const struct ctx *c, const struct ydoc_node *trig, bool *ok)
{
	const struct ydoc_node *ics = ydoc_deref(ydoc_get(trig, "interceptors"));
	*ok = true;
	for (size_t i = 0; i < ydoc_count(ics) && *ok; i++)
		TRY(interceptor_run(c->file, ydoc_deref(ydoc_item(ics, i)), c->ev, ok));
	return NULL;
}

/* $(tt.params.x) and $(uid) in a template string */
static err_t *template_value(const struct ctx *c, const struct ydoc_node *at, const char *in, char *const *names,
                             char *const *values, size_t n, const char *uid, char **out)
{
	struct strbuf sb = STRBUF_INIT;
	for (const char *s = in; *s;) {
		const char *d = strstr(s, "$(");
		const char *close = d ? strchr(d, ')') : NULL;
		if (!d || !close) {
			sb_adds(&sb, s);
			break;
		}
		sb_add(&sb, s, (size_t)(d - s));
		size_t len = (size_t)(close - d - 2);
		const char *expr = d + 2, *v = NULL;
		if (len == 3 && !strncmp(expr, "uid", 3))
			v = uid;
		for (size_t i = 0; i < n && !v; i++)
			if (len == 10 + strlen(names[i]) && !strncmp(expr, "tt.params.", 10) &&
			    !strncmp(expr + 10, names[i], len - 10))
				v = values[i];
		if (!v && !strncmp(expr, "tt.params.", 10)) {
			sb_release(&sb);
			return taskdef_bad(c->file, at, "$(%.*s): the TriggerTemplate declares no such param", (int)len, expr);
		}
		if (v)
			sb_adds(&sb, v);
		else
			sb_add(&sb, d, len + 3);
		s = close + 1;
	}
	*out = sb_detach(&sb);
	return NULL;
}

static char *random_suffix(void)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char b[5] = {0};
	FILE *f = fopen("/dev/urandom", "re");
	if (f) {
		if (fread(b, 1, sizeof b, f) != sizeof b)
			memset(b, 0, sizeof b);
		fclose(f);
	}
	char *s = xcalloc(sizeof b + 1, 1);
	for (size_t i = 0; i < sizeof b; i++)
		s[i] = alnum[b[i] % (sizeof alnum - 1)];
	return s;
}

/* "$(tt.params.a)="v", $(tt.params.b)="w"": the params a template text
 * uses, with their values; "" when it uses none */
static char *params_used(const char *tmpl, char *const *names, char *const *values, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	for (const char *s = strstr(tmpl, "$(tt.params."); s; s = strstr(s + 1, "$(tt.params.")) {
		const char *pn = s + 12;
		size_t len = strcspn(pn, ")");
		for (size_t i = 0; i < n; i++)
			if (strlen(names[i]) == len && !strncmp(names[i], pn, len)) {
				_cleanup_free_ char *q = runname_quote(values[i]);
				sb_addf(&sb, "%s$(tt.params.%s)=%s", sb.len ? ", " : "", names[i], q);
			}
	}
	return sb_detach(&sb);
}

/* The PipelineRun's metadata.name: its template's name, else the name
 * the API server makes of its generateName, substituted, and refused as
 * the API server and Tekton's webhook refuse the Triggers controller's
 * create (runname.h) */
static err_t *run_name(const struct ctx *c, const struct ydoc_node *pr, const char *tref, char *const *names,
                       char *const *values, size_t n, const char *uid, char **out)
{
	const struct ydoc_node *nm = ydoc_path(pr, "metadata.name"), *gen = ydoc_path(pr, "metadata.generateName");
	const char *field = ydoc_str(nm) ? "name" : "generateName", *tmpl = ydoc_str(nm) ?: ydoc_str(gen) ?: "";
	const struct ydoc_node *at = ydoc_str(nm) ? nm : ydoc_str(gen) ? gen : pr;
	_cleanup_free_ char *value = NULL;
	TRY(template_value(c, at, tmpl, names, values, n, uid, &value));
	const char *why = NULL;
	if (ydoc_str(nm)) {
		why = runname_problem(value);
		*out = xstrdup(value);
	} else {
		why = runname_prefix_problem(value);
		*out = runname_generate(value, uid);
		why = why ? why : runname_problem(*out);
	}
	if (!why)
		return NULL;
	_cleanup_free_ char *q = runname_quote(value), *used = params_used(tmpl, names, values, n);
	free(*out);
	*out = NULL;
	return taskdef_bad(c->file, at, "TriggerTemplate %s: the PipelineRun's metadata.%s %s%s%s%s is invalid: %s "
	                   "(Kubernetes: the API server refuses the Triggers controller's create)",
	                   tref, field, q, *used ? " (from " : "", used, *used ? ")" : "", why);
}

static err_t *fire(const struct ctx *c, const struct ydoc_node *trig, struct trigger_run *out)
{
	/* bindings -> values by name */
	char **names = NULL, **values = NULL;
	size_t n = 0;
	err_t *e = NULL;
	const struct ydoc_node *bs = ydoc_deref(ydoc_get(trig, "bindings"));
	for (size_t i = 0; i < ydoc_count(bs) && !e; i++) {
		const char *ref = ydoc_str(ydoc_get(ydoc_deref(ydoc_item(bs, i)), "ref"));
		const struct ydoc_node *tb = ref ? find_doc(c->y, "TriggerBinding", ref) : NULL;
		if (!tb) {
			e = taskdef_bad(c->file, ydoc_item(bs, i), "binding '%s': no TriggerBinding of that name in the file",
			        ref ? ref : "");
			break;
		}
		const struct ydoc_node *ps = ydoc_deref(ydoc_path(tb, "spec.params"));
		for (size_t k = 0; k < ydoc_count(ps) && !e; k++) {
			const struct ydoc_node *p = ydoc_deref(ydoc_item(ps, k));
			const char *pn = ydoc_str(ydoc_get(p, "name")), *pv = ydoc_str(ydoc_get(p, "value"));
			if (!pn || !pv) {
				e = taskdef_bad(c->file, p, "TriggerBinding %s: a param needs a name and a string value", ref);
				break;
			}
			names = xrealloc(names, (n + 1) * sizeof *names);
			values = xrealloc(values, (n + 1) * sizeof *values);
			values[n] = NULL;
			names[n++] = xstrdup(pn);
			e = binding_value(c, p, pv, &values[n - 1]);
		}
	}
	/* the template's params: bound, else their default */
	const char *tref = ydoc_str(ydoc_path(trig, "template.ref"));
	const struct ydoc_node *tt = tref ? find_doc(c->y, "TriggerTemplate", tref) : NULL;
	if (!e && !tt)
		e = taskdef_bad(c->file, trig, "template '%s': no TriggerTemplate of that name in the file", tref ? tref : "");
	char **tn = NULL, **tv = NULL;
	size_t nt = 0;
	const struct ydoc_node *tps = tt ? ydoc_deref(ydoc_path(tt, "spec.params")) : NULL;
	for (size_t i = 0; i < ydoc_count(tps) && !e; i++) {
		const struct ydoc_node *p = ydoc_deref(ydoc_item(tps, i));
		const char *pn = ydoc_str(ydoc_get(p, "name")), *def = ydoc_str(ydoc_get(p, "default"));
		const char *v = NULL;
		for (size_t k = 0; k < n && !v; k++)
			if (pn && !strcmp(names[k], pn))
				v = values[k];
		if (!v)
			v = def;
		if (!pn || !v) {
			e = taskdef_bad(c->file, p, "TriggerTemplate %s: param '%s' has no default and no binding gives it", tref,
			        pn ? pn : "");
			break;
		}
		tn = xrealloc(tn, (nt + 1) * sizeof *tn);
		tv = xrealloc(tv, (nt + 1) * sizeof *tv);
		tn[nt] = xstrdup(pn);
		tv[nt++] = xstrdup(v);
	}
	/* the PipelineRun it makes */
	const struct ydoc_node *rts = tt ? ydoc_deref(ydoc_path(tt, "spec.resourcetemplates")) : NULL;
	const struct ydoc_node *pr = ydoc_deref(ydoc_item(rts, 0));
	const char *kind = ydoc_str(ydoc_get(pr, "kind"));
	if (!e && (ydoc_count(rts) != 1 || !kind || strcmp(kind, "PipelineRun")))
		e = taskdef_bad(c->file, rts ? rts : tt, "TriggerTemplate %s: pipeline-run replays one PipelineRun template", tref);
	_cleanup_free_ char *uid = random_suffix();
	if (!e) {
		const char *ref = ydoc_str(ydoc_path(pr, "spec.pipelineRef.name"));
		if (!ref)
			e = taskdef_bad(c->file, pr, "the PipelineRun template needs spec.pipelineRef.name");
		if (!e)
			e = template_value(c, pr, ref, tn, tv, nt, uid, &out->pipeline);
		if (!e)
			e = run_name(c, pr, tref, tn, tv, nt, uid, &out->name);
		const struct ydoc_node *ps = ydoc_deref(ydoc_path(pr, "spec.params"));
		out->params = xcalloc(ydoc_count(ps) + 1, sizeof *out->params);
		for (size_t i = 0; i < ydoc_count(ps) && !e; i++) {
			const struct ydoc_node *p = ydoc_deref(ydoc_item(ps, i));
			const char *pn = ydoc_str(ydoc_get(p, "name")), *pv = ydoc_str(ydoc_get(p, "value"));
			char *v = NULL;
			if (!pn || !*pn || !pv)
				e = taskdef_bad(c->file, p, "PipelineRun template: a param needs a name and a string value");
			if (!e)
				e = template_value(c, p, pv, tn, tv, nt, uid, &v);
			if (!e)
				out->params[out->nparams++] = xasprintf("%s=%s", pn, v);
			free(v);
		}
	}
	for (size_t i = 0; i < n; i++) {
		free(names[i]);
		free(values[i]);
	}
	for (size_t i = 0; i < nt; i++) {
		free(tn[i]);
		free(tv[i]);
	}
	free(names);
	free(values);
	free(tn);
	free(tv);
	return e;
}

err_t *trigger_resolve(const char *file, const char *listener, const char *event_file,
                       const struct trigger_event *ev, struct trigger_run *out)
{
	memset(out, 0, sizeof *out);
	struct strbuf text = STRBUF_INIT, body = STRBUF_INIT;
	err_t *e = fs_read_file(file, TRIGGER_FILE_MAX, &text);
	if (!e)
		e = fs_read_file(event_file, EVENT_MAX, &body);
	if (!e) {
		struct trigger_event with_body = *ev;
		with_body.body = sb_str(&body);
		with_body.body_len = body.len;
		e = trigger_resolve_text(file, sb_str(&text), text.len, listener, event_file, &with_body, out);
	}
	sb_release(&text);
	sb_release(&body);
	return e;
}

err_t *trigger_resolve_text(const char *file, const char *text, size_t len, const char *listener,
                            const char *event_name, const struct trigger_event *ev, struct trigger_run *out)
{
	memset(out, 0, sizeof *out);
	struct ydoc *y = NULL;
	struct ctx c = {file, NULL, NULL, ev};
	err_t *e = ydoc_parse(text, len, file, &y);
	if (!e) {
		json_error_t je;
		c.body = json_loadb(ev->body, ev->body_len, 0, &je);
		if (!c.body)
			e = err_new(EXIT_USAGE, "%s:%d:%d: the event is not JSON: %s", event_name, je.line, je.column,
			            je.text);
	}
	c.y = y;
	const struct ydoc_node *el = e ? NULL : find_doc(y, "EventListener", listener);
	if (!e && !el)
		e = err_new(EXIT_USAGE, "%s: no EventListener '%s'", file, listener);
	const struct ydoc_node *fired = NULL, *trigs = el ? ydoc_deref(ydoc_path(el, "spec.triggers")) : NULL;
	size_t nfired = 0;
	struct strbuf names = STRBUF_INIT;
	err_t *refused = NULL; /* the first trigger whose interceptor refused the event */
	for (size_t i = 0; i < ydoc_count(trigs) && !e; i++) {
		const struct ydoc_node *t = ydoc_deref(ydoc_item(trigs, i));
		const char *tname = ydoc_str(ydoc_get(t, "name")) ?: "?";
		bool ok = false;
		err_t *te = accepts(&c, t, &ok);
		if (te && err_is(te, ERR_KIND_AUTH)) {
			/* as the EventListener does: that trigger does not fire */
			te = err_wrap(te, "EventListener %s, trigger %s", listener, tname);
			if (!refused)
				refused = te;
			else
				err_free(te);
			continue;
		}
		e = te;
		if (!e && ok) {
			fired = fired ? fired : t;
			sb_addf(&names, "%s%s", nfired++ ? ", " : "", tname);
		}
	}
	if (!e && !nfired && refused) {
		e = refused;
		refused = NULL;
	} else if (!e && !nfired) {
		e = taskdef_bad(c.file, el, "no trigger of EventListener %s accepts this event (check --event-header, e.g. "
		                "X-GitHub-Event=push)", listener);
	} else if (!e && nfired > 1) {
		e = taskdef_bad(c.file, el, "the event fires %zu triggers (%s): pipeline-run replays one at a time", nfired,
		        sb_str(&names));
	}
	err_free(refused);
	if (!e) {
		out->trigger = xstrdup(ydoc_str(ydoc_get(fired, "name")) ?: "");
		e = fire(&c, fired, out);
	}
	sb_release(&names);
	json_decref(c.body);
	ydoc_free(y);
	if (e)
		trigger_run_free(out);
	return e;
}

static bool yaml_name(const char *n)
{
	size_t len = strlen(n);
	return n[0] != '.' && ((len > 5 && !strcmp(n + len - 5, ".yaml")) || (len > 4 && !strcmp(n + len - 4, ".yml")));
}

err_t *trigger_find_pipeline(const char *near, const char *name, char **path)
{
	const char *slash = strrchr(near, '/');
	_cleanup_free_ char *dir = slash ? xstrndup(near, (size_t)(slash - near)) : xstrdup(".");
	DIR *d = opendir(dir);
	if (!d)
		return err_errno(EXIT_USAGE, "%s", dir);
	struct dirent *de;
	*path = NULL;
	while (!*path && (de = readdir(d))) {
		if (!yaml_name(de->d_name))
			continue;
		char *p = xasprintf("%s/%s", dir, de->d_name);
		struct strbuf sb = STRBUF_INIT;
		struct ydoc *y = NULL;
		err_t *e = fs_read_file(p, TRIGGER_FILE_MAX, &sb);
		if (!e)
			e = ydoc_parse(sb_str(&sb), sb.len, p, &y);
		if (!e && find_doc(y, "Pipeline", name))
			*path = p;
		else
			free(p);
		err_free(e); /* a file that is not YAML holds no Pipeline */
		ydoc_free(y);
		sb_release(&sb);
	}
	closedir(d);
	return *path ? NULL : err_new(EXIT_USAGE, "no Pipeline '%s' in %s/*.yaml", name, dir);
}

void trigger_run_free(struct trigger_run *r)
{
	free(r->trigger);
	free(r->pipeline);
	free(r->name);
	for (size_t i = 0; i < r->nparams; i++)
		free(r->params[i]);
	free(r->params);
	memset(r, 0, sizeof *r);
}
