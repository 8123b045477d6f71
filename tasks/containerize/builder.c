/* The build engine (see builder.h). */
#include "builder.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "copy.h"
#include "dockerfile.h"
#include "fsutil.h"
#include "http.h"
#include "ignore.h"
#include "imgconfig.h"
#include "log.h"
#include "manifest.h"
#include "pgzip.h"
#include "rootfs.h"
#include "snapshot.h"
#include "strbuf.h"
#include "xalloc.h"

#define DOCKERFILE_MAX (4u << 20)

struct var {
	char *name;
	char *value; /* NULL: declared without a value */
};

struct vars {
	struct var *v;
	size_t n;
};

static struct var *vars_find(const struct vars *vs, const char *name)
{
	for (size_t i = 0; i < vs->n; i++)
		if (strcmp(vs->v[i].name, name) == 0)
			return &vs->v[i];
	return NULL;
}

static void vars_set(struct vars *vs, const char *name, const char *value)
{
	struct var *v = vars_find(vs, name);
	if (!v) {
		vs->v = xrealloc(vs->v, (vs->n + 1) * sizeof *vs->v);
		v = &vs->v[vs->n++];
		v->name = xstrdup(name);
	} else {
		free(v->value);
	}
	v->value = value ? xstrdup(value) : NULL;
}

static void vars_free(struct vars *vs)
{
	for (size_t i = 0; i < vs->n; i++) {
		free(vs->v[i].name);
		free(vs->v[i].value);
	}
	free(vs->v);
	vs->v = NULL;
	vs->n = 0;
}

struct stage {
	const struct df_stage *def;
	size_t index;
	char *rootfs;
	bool rootfs_made;
	struct imgconfig cfg;
	struct layer_ref *layers;
	size_t nlayers;
	size_t applied;
	struct snapshot *snap;
	char chain[DIGEST_SIZE];
	struct vars args;
	char **shell;
	size_t nshell;
	bool cmd_set;
	bool built, building;
};

struct builder {
	const struct build_options *o;
	struct df_file *df;
	struct df_stage *defs;
	size_t ndefs;
	struct stage *st;
	struct vars global;
	struct vars bargs;
	struct ignore *ignore;
	char created[32];
	size_t hits, misses;
	size_t nextra;
	struct stage **extra; /* images named by COPY --from=<image> */
	struct http_client *http; /* ADD <url>, made on first use */
	size_t nfetch;
};

/* ---- variables ---- */

static const char *const proxy_args[] = {
	"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
	"NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", NULL,
};

static bool is_proxy_arg(const char *name)
{
	for (const char *const *p = proxy_args; *p; p++)
		if (strcmp(*p, name) == 0)
			return true;
	return false;
}

struct lookup_ctx {
	const struct builder *b;
	const struct stage *s; /* NULL: global scope (FROM lines) */
};

static const char *lookup_var(const char *name, void *data)
{
	const struct lookup_ctx *c = data;
	if (c->s) {
		const char *v = imgconfig_getenv(&c->s->cfg, name);
		if (v)
			return v;
		const struct var *a = vars_find(&c->s->args, name);
		return a ? a->value : NULL;
	}
	const struct var *a = vars_find(&c->b->global, name);
	return a ? a->value : NULL;
}

static err_t *expand(const struct builder *b, const struct stage *s, const char *word, char **out)
{
	struct lookup_ctx c = { b, s };
	return df_expand_word(word, b->df->escape, lookup_var, &c, out);
}

/* A COPY heredoc whose delimiter is not quoted: its variables are
 * expanded, quotes and escapes stay as written (BuildKit's lexer with
 * RawQuotes and RawEscapes). Our word lexer gives back a character that
 * follows the escape char literally, so quotes and escapes are escaped. */
static err_t *expand_heredoc(const struct builder *b, const struct stage *s, const char *body, char **out)
{
	char esc = b->df->escape;
	struct strbuf sb = STRBUF_INIT;
	for (const char *p = body; *p; p++) {
		if (*p == esc && p[1]) {
			/* the escape and the character after it, both literal */
			sb_addc(&sb, esc);
			sb_addc(&sb, esc);
			sb_addc(&sb, esc);
			sb_addc(&sb, *++p);
		} else if (*p == '"' || *p == '\'' || *p == esc) {
			sb_addc(&sb, esc);
			sb_addc(&sb, *p);
		} else {
			sb_addc(&sb, *p);
		}
	}
	err_t *e = expand(b, s, sb_str(&sb), out);
	sb_release(&sb);
	return e;
}

/* ---- stage roots ---- */

static err_t *materialize(struct builder *b, struct stage *s)
{
	if (!s->rootfs_made) {
		if (mkdir(s->rootfs, 0755) < 0 && errno != EEXIST)
			return err_errno(EXIT_FAILED, "cannot create %s", s->rootfs);
		s->rootfs_made = true;
	}
	for (; s->applied < s->nlayers; s->applied++) {
		const struct layer_ref *l = &s->layers[s->applied];
		int fd = -1;
		TRY(oci_layout_open_blob(b->o->store, l->digest, &fd, NULL));
		/* chroot isolation cannot mount the root nodev: an image's device
		 * nodes would reach the host's devices, so none are made */
		struct layer_apply_options ao = {
			.devices = b->o->isolation == ISOLATION_CHROOT ? LAYER_DEVICES_SKIP : LAYER_DEVICES_AUTO,
			.expected_diff_id = l->diff_id,
		};
		err_t *e = layer_apply(s->rootfs, fd, &ao, NULL);
		close(fd);
		if (e)
			return err_wrap(e, "cannot unpack layer %s", l->digest);
		snapshot_free(s->snap);
		s->snap = NULL;
	}
	return NULL;
}

static void add_layer(struct stage *s, const struct layer_ref *l)
{
	s->layers = xrealloc(s->layers, (s->nlayers + 1) * sizeof *s->layers);
	layer_ref_copy(&s->layers[s->nlayers++], l);
}

/* Every gzip layer goes through pgzip, one thread or many: its output
 * depends only on the bytes and the level, so the digest is the same on a
 * 1-CPU and an 8-CPU runner. The tar is written in this thread, straight
 * into pgzip's blocks, while its workers compress them. */
static err_t *write_layer(const struct builder *b, const char *root, const struct layer_change *lc, size_t n,
			  int out_fd, struct layer_write_result *res)
{
	struct layer_write_options wo = {
		.compression = b->o->compression,
		.level = b->o->compression_level,
		.threads = b->o->threads,
		.source_date_epoch = b->o->source_date_epoch,
	};
	if (b->o->compression != LAYER_GZIP)
		return layer_write_changes(root, lc, n, &wo, out_fd, res);
	struct pgzip *z;
	TRY(pgzip_new(out_fd, b->o->compression_level, b->o->threads, &z));
	wo.sink = pgzip_sink(z);
	err_t *e = layer_write_changes(root, lc, n, &wo, -1, res);
	if (e) {
		pgzip_abort(z);
		return e;
	}
	TRY(pgzip_finish(z, res->digest, &res->size, res->diff_id, &res->tar_size));
	res->media_type = layer_media_type(LAYER_GZIP);
	return NULL;
}

/* After a filesystem step ran on a materialized root: its layer. */
static err_t *commit_changes(struct builder *b, struct stage *s, const char *key, const char *created_by)
{
	struct snapshot *after = NULL;
	TRY(snapshot_scan(s->rootfs, &after));
	struct change *ch = NULL;
	size_t n = 0;
	snapshot_diff(s->snap, after, &ch, &n);
	snapshot_free(s->snap);
	s->snap = after;
	if (n == 0) {
		changes_free(ch, n);
		imgconfig_add_history(&s->cfg, b->created, created_by, true);
		return cache_put(b->o->cache, key, NULL);
	}
	struct layer_change *lc = xcalloc(n, sizeof *lc);
	for (size_t i = 0; i < n; i++) {
		lc[i].path = ch[i].path;
		lc[i].kind = ch[i].kind == CHANGE_DELETED ? LAYER_CHANGE_DELETE : LAYER_CHANGE_ADD;
	}
	int fd = -1;
	char *tmp = NULL;
	err_t *e = store_file_begin(b->o->store, &fd, &tmp);
	struct layer_write_result res = { 0 };
	if (!e) {
		/* the writer hashes the compressed stream as it writes it */
		e = write_layer(b, s->rootfs, lc, n, fd, &res);
		if (!e)
			e = store_file_commit(b->o->store, fd, tmp, res.digest);
		else
			store_file_abort(fd, tmp);
	}
	free(lc);
	changes_free(ch, n);
	if (e)
		return err_wrap(e, "cannot write the layer of %s", created_by);
	struct layer_ref l = { 0 };
	memcpy(l.digest, res.digest, DIGEST_SIZE);
	memcpy(l.diff_id, res.diff_id, DIGEST_SIZE);
	l.size = res.size;
	l.media_type = (char *)res.media_type;
	add_layer(s, &l);
	s->applied = s->nlayers;
	imgconfig_add_history(&s->cfg, b->created, created_by, false);
	log_info("%s: layer %s (%lld bytes)", created_by, l.digest, (long long)l.size);
	return cache_put(b->o->cache, key, &l);
}

/* Look a filesystem step up in the cache: true when it was a hit (the
 * layer, if any, is appended and the chain moves on). */
static err_t *cache_lookup(struct builder *b, struct stage *s, const char *key, const char *created_by, bool *hit)
{
	bool empty = false;
	struct layer_ref l = { 0 };
	TRY(cache_get(b->o->cache, key, hit, &empty, &l));
	if (!*hit) {
		b->misses++;
		return NULL;
	}
	b->hits++;
	log_info("%s: cached", created_by);
	if (!empty) {
		add_layer(s, &l);
		layer_ref_release(&l);
	}
	imgconfig_add_history(&s->cfg, b->created, created_by, empty);
	return NULL;
}

/* Prepare to change the root: unpack what is pending and take the
 * "before" snapshot. */
static err_t *prepare_root(struct builder *b, struct stage *s)
{
	TRY(materialize(b, s));
	if (!s->snap)
		TRY(snapshot_scan(s->rootfs, &s->snap));
	return NULL;
}

/* ---- stage lookup ---- */

static struct stage *find_stage(struct builder *b, const char *name, size_t before)
{
	for (size_t i = 0; i < before && i < b->ndefs; i++)
		if (b->defs[i].name && strcasecmp(b->defs[i].name, name) == 0)
			return &b->st[i];
	char *end;
	errno = 0;
	unsigned long idx = strtoul(name, &end, 10);
	if (*name && !*end && !errno && idx < before)
		return &b->st[idx];
	return NULL;
}

static err_t *build_stage(struct builder *b, size_t idx);

/* ---- instructions ---- */

static char *join_words(char *const *v, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_addc(&sb, ' ');
		sb_adds(&sb, v[i]);
	}
	return sb_detach(&sb);
}

static char *json_words(char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	char *s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

/* "RUN <<EOF" alone: the heredoc is the whole script (NULL otherwise). */
static const struct df_heredoc *sole_heredoc(const struct df_instr *in)
{
	const char *t = in->nargs && !in->json ? in->args[0] : "";
	if (in->nheredocs != 1 || strncmp(t, "<<", 2) != 0)
		return NULL;
	t += 2;
	if (*t == '-')
		t++;
	if (*t == '"' || *t == '\'')
		t++;
	size_t nl = strlen(in->heredocs[0].name);
	if (strncmp(t, in->heredocs[0].name, nl) != 0)
		return NULL;
	t += nl;
	if (*t == '"' || *t == '\'')
		t++;
	while (isspace((unsigned char)*t))
		t++;
	return *t ? NULL : &in->heredocs[0];
}

/* argv for RUN/CMD/ENTRYPOINT: exec form as is, shell form through SHELL. */
static char **command_argv(const struct stage *s, const struct df_instr *in, size_t *n)
{
	char **argv;
	if (in->json) {
		argv = xcalloc(in->nargs + 1, sizeof *argv);
		for (size_t i = 0; i < in->nargs; i++)
			argv[i] = xstrdup(in->args[i]);
		*n = in->nargs;
		return argv;
	}
	struct strbuf cmd = STRBUF_INIT;
	const char *text = in->nargs ? in->args[0] : "";
	if (sole_heredoc(in)) {
		sb_adds(&cmd, in->heredocs[0].body);
	} else {
		sb_adds(&cmd, text);
		for (size_t i = 0; i < in->nheredocs; i++) {
			sb_addc(&cmd, '\n');
			sb_adds(&cmd, in->heredocs[i].body);
			sb_adds(&cmd, in->heredocs[i].name);
		}
	}
	argv = xcalloc(s->nshell + 2, sizeof *argv);
	for (size_t i = 0; i < s->nshell; i++)
		argv[i] = xstrdup(s->shell[i]);
	argv[s->nshell] = sb_detach(&cmd);
	*n = s->nshell + 1;
	return argv;
}

static void free_argv(char **argv)
{
	for (char **p = argv; p && *p; p++)
		free(*p);
	free(argv);
}

/* The shell of shell-form commands: Config.Shell when it is a non-empty
 * array of strings, else /bin/sh -c. */
static void stage_shell_from_config(struct stage *s)
{
	json_t *sh = json_object_get(s->cfg.config, "Shell");
	size_t n = json_is_array(sh) ? json_array_size(sh) : 0;
	for (size_t i = 0; i < n; i++)
		if (!json_is_string(json_array_get(sh, i)))
			n = 0;
	free_argv(s->shell);
	s->shell = xcalloc(n ? n + 1 : 3, sizeof *s->shell);
	for (size_t i = 0; i < n; i++)
		s->shell[i] = xstrdup(json_string_value(json_array_get(sh, i)));
	if (!n) {
		s->shell[0] = xstrdup("/bin/sh");
		s->shell[1] = xstrdup("-c");
	}
	s->nshell = n ? n : 2;
}

/* Instruction text in errors and logs: a long line (a RUN of a megabyte)
 * is cut, its length said. */
#define SHOWN_TEXT 300

static char *shown(const char *text)
{
	size_t n = strlen(text);
	if (n <= SHOWN_TEXT)
		return xstrdup(text);
	return xasprintf("%.*s... (%zu bytes)", SHOWN_TEXT, text, n);
}

static err_t *instr_error(const struct builder *b, const struct df_instr *in, err_t *e)
{
	if (!e)
		return NULL;
	_cleanup_free_ char *t = shown(in->line ? in->line : in->keyword);
	return err_wrap(e, "%s:%d: %s", b->o->dockerfile, in->start_line, t);
}

/* The environment of a RUN: config Env, then ARGs with values that Env
 * does not override, then proxy build args. */
static char **run_env(const struct builder *b, const struct stage *s, size_t *n)
{
	size_t ne;
	const char **env = imgconfig_env(&s->cfg, &ne);
	char **out = xcalloc(ne + s->args.n + 12, sizeof *out);
	size_t k = 0;
	for (size_t i = 0; i < ne; i++)
		out[k++] = xstrdup(env[i]);
	free(env);
	for (size_t i = 0; i < s->args.n; i++) {
		const struct var *a = &s->args.v[i];
		if (a->value && !imgconfig_getenv(&s->cfg, a->name))
			out[k++] = xasprintf("%s=%s", a->name, a->value);
	}
	for (const char *const *p = proxy_args; *p; p++) {
		const struct var *a = vars_find(&b->bargs, *p);
		if (a && a->value && !vars_find(&s->args, *p) && !imgconfig_getenv(&s->cfg, *p))
			out[k++] = xasprintf("%s=%s", *p, a->value);
	}
	*n = k;
	return out;
}

static char *config_state(const struct stage *s)
{
	/* what a RUN sees of the config: Env, User, WorkingDir */
	json_t *j = json_object();
	json_t *env = json_object_get(s->cfg.config, "Env");
	json_object_set(j, "Env", env ? env : json_null());
	json_object_set_new(j, "User", json_string(imgconfig_get_string(&s->cfg, "User") ?: ""));
	json_object_set_new(j, "WorkingDir", json_string(imgconfig_get_string(&s->cfg, "WorkingDir") ?: ""));
	char *t = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return t;
}

static bool parse_octal(const char *s, int *out)
{
	if (!*s)
		return false;
	char *end;
	long v = strtol(s, &end, 8);
	if (*end || v < 0 || v > 07777)
		return false;
	*out = (int)v;
	return true;
}

/* --chown value: numeric without touching the root; names need it. */
static err_t *resolve_chown(struct builder *b, struct stage *s, const char *spec, uid_t *uid, gid_t *gid)
{
	_cleanup_free_ char *u = xstrdup(spec);
	char *g = strchr(u, ':');
	if (g)
		*g++ = '\0';
	char *end;
	unsigned long uv = strtoul(u, &end, 10);
	bool unum = *u && !*end;
	unsigned long gv = 0;
	bool gnum = g ? (*g && (gv = strtoul(g, &end, 10), !*end)) : true;
	if (unum && gnum) {
		*uid = (uid_t)uv;
		*gid = g ? (gid_t)gv : (gid_t)uv;
		return NULL;
	}
	TRY(materialize(b, s));
	_cleanup_close_ int root_fd = open(s->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct rootfs_user ru;
	TRY(rootfs_resolve_user(root_fd, spec, &ru));
	*uid = ru.uid;
	*gid = g ? ru.gid : (unum ? (gid_t)uv : ru.gid);
	return NULL;
}

/* Rootless with only root mapped: ids other than 0 do not exist in our
 * user namespace (chown and setgid fail with EINVAL); say so and how to
 * fix it rather than build an image with other owners than asked. */
static err_t *check_mappable(const struct builder *b, const char *what, uid_t uid, gid_t gid)
{
	if (!b->o->only_root_mapped || (uid == 0 && gid == 0))
		return NULL;
	return err_new(EXIT_FAILED,
		       "%s needs uid %lu / gid %lu, but this rootless build maps only root: add a subordinate "
		       "id range for this user (/etc/subuid and /etc/subgid, with newuidmap/newgidmap "
		       "installed), or run as root",
		       what, (unsigned long)uid, (unsigned long)gid);
}

#define RUN_SCRIPT_NAME ".containerize-run-script"

/* The #! heredoc as an executable file at the top of the root: created
 * fresh (O_EXCL never follows a link an image left there). */
static err_t *write_run_script(int root_fd, const char *body)
{
	if (root_fd < 0)
		return err_errno(EXIT_FAILED, "cannot open the build root");
	int fd = openat(root_fd, RUN_SCRIPT_NAME, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
	if (fd < 0)
		return err_errno(EXIT_FAILED, "cannot create /%s for the #! heredoc", RUN_SCRIPT_NAME);
	err_t *e = fs_write_all(fd, body, strlen(body), "the #! heredoc");
	if (!e && fchmod(fd, 0755) < 0)
		e = err_errno(EXIT_FAILED, "cannot chmod /%s", RUN_SCRIPT_NAME);
	close(fd);
	if (e)
		unlinkat(root_fd, RUN_SCRIPT_NAME, 0);
	return e;
}

static err_t *do_run(struct builder *b, struct stage *s, const struct df_instr *in)
{
	bool has = false;
	const char *net = df_flag_get(in, "network", &has);
	if (df_flag_get(in, "mount", NULL) || df_flag_get(in, "security", NULL) || df_flag_get(in, "device", NULL))
		return instr_error(b, in, err_new(EXIT_USAGE, "RUN --mount, --security and --device are not supported yet"));
	enum run_net network;
	err_t *ne = net_for_step(&b->o->network, has ? net : NULL, &network);
	if (ne)
		return instr_error(b, in, ne);
	bool no_network = net && strcmp(net, "none") == 0;
	size_t nargv, nenv;
	/* a heredoc starting with #! is a script run by its interpreter (as
	 * BuildKit does): written to a file in the root for the step, run
	 * directly, removed before the layer is taken */
	const struct df_heredoc *hd = sole_heredoc(in);
	const char *script = hd && strncmp(hd->body, "#!", 2) == 0 ? hd->body : NULL;
	char **argv = script ? xcalloc(2, sizeof *argv) : command_argv(s, in, &nargv);
	if (script) {
		argv[0] = xstrdup("/" RUN_SCRIPT_NAME);
		nargv = 1;
	}
	char **env = run_env(b, s, &nenv);
	_cleanup_free_ char *jw = in->json ? json_words(in->args, in->nargs) : NULL;
	_cleanup_free_ char *created_by = xasprintf("RUN %s", jw ? jw : script ? script : argv[nargv - 1]);
	struct strbuf keytext = STRBUF_INIT;
	_cleanup_free_ char *cs = config_state(s);
	sb_addf(&keytext, "RUN%s\n%s\n", no_network ? " --network=none" : "", cs);
	if (script)
		sb_addf(&keytext, "script\n%s\n", script);
	for (size_t i = 0; i < nargv; i++) {
		sb_adds(&keytext, argv[i]);
		sb_addc(&keytext, '\0');
	}
	for (size_t i = 0; i < nenv; i++) {
		/* proxy settings do not change what a command builds */
		const char *eq = strchr(env[i], '=');
		_cleanup_free_ char *nm = xstrndup(env[i], eq ? (size_t)(eq - env[i]) : strlen(env[i]));
		if (is_proxy_arg(nm) && !vars_find(&s->args, nm))
			continue;
		sb_adds(&keytext, env[i]);
		sb_addc(&keytext, '\0');
	}
	char key[DIGEST_SIZE];
	cache_chain(s->chain, keytext.buf, keytext.len, key);
	sb_release(&keytext);
	memcpy(s->chain, key, DIGEST_SIZE);
	bool hit = false;
	err_t *e = cache_lookup(b, s, key, created_by, &hit);
	if (!e && !hit)
		e = prepare_root(b, s);
	const char *user = imgconfig_get_string(&s->cfg, "User");
	if (!e && !hit && b->o->only_root_mapped && user && *user) {
		uid_t uid = 0;
		gid_t gid = 0;
		_cleanup_free_ char *what = xasprintf("USER %s", user);
		e = resolve_chown(b, s, user, &uid, &gid);
		if (!e)
			e = check_mappable(b, what, uid, gid);
	}
	if (!e && !hit) {
		_cleanup_free_ char *what = shown(created_by);
		log_info("%s", what);
		struct run_spec rs = {
			.rootfs = s->rootfs,
			.argv = (const char *const *)argv,
			.env = (const char *const *)env,
			.nenv = nenv,
			.workdir = imgconfig_get_string(&s->cfg, "WorkingDir"),
			.user = imgconfig_get_string(&s->cfg, "User"),
			.isolation = b->o->isolation,
			.userns = b->o->userns,
			.network = network,
			.host_loopback = b->o->network.host_loopback,
		};
		char tail[2048];
		int status = 0;
		_cleanup_close_ int root_fd = script ? open(s->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
		if (script)
			e = write_run_script(root_fd, script);
		if (!e)
			e = runner_run(&rs, &status, tail, sizeof tail);
		if (script && unlinkat(root_fd, RUN_SCRIPT_NAME, 0) < 0 && errno != ENOENT && !e)
			e = err_errno(EXIT_FAILED, "cannot remove /%s after the step", RUN_SCRIPT_NAME);
		if (!e && status != 0) {
			/* keep the last few lines */
			const char *t = tail + strlen(tail);
			int lines = 0;
			while (t > tail && lines < 12)
				if (*--t == '\n' && t[1])
					lines++;
			e = err_new(EXIT_FAILED, "the command exited with status %d; last output:\n%s", status,
				    t == tail ? t : t + 1);
		}
		if (!e)
			e = commit_changes(b, s, key, created_by);
	}
	free_argv(argv);
	free_argv(env);
	return e ? instr_error(b, in, e) : NULL;
}

static bool dest_names_dir(const char *d)
{
	size_t n = strlen(d);
	return n == 0 || d[n - 1] == '/' || strcmp(d, ".") == 0 || (n >= 2 && strcmp(d + n - 2, "/.") == 0);
}

static err_t *image_stage(struct builder *b, const char *ref, struct stage **out);

struct fetch_sink {
	int fd;
	struct sha256 h;
};

static err_t *fetch_write(const void *data, size_t len, void *ctx)
{
	struct fetch_sink *f = ctx;
	sha256_update(&f->h, data, len);
	const char *p = data;
	while (len) {
		ssize_t n = write(f->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_errno(EXIT_FAILED, "cannot write the download");
		p += n;
		len -= (size_t)n;
	}
	return NULL;
}

/* ADD <url>: download into a fresh directory under the work dir, as a file
 * named like the URL's last path component, mode 0600 (as Docker does),
 * checked against --checksum when given. *dir and *name for copy_to_root. */
static err_t *fetch_url(struct builder *b, const char *url, const char *checksum, char **dir, char **name,
			char digest[DIGEST_SIZE])
{
	if (!b->http)
		TRY(http_client_new(&b->o->registry->http, &b->http));
	*dir = xasprintf("%s/fetch-%zu", b->o->workdir, b->nfetch++);
	TRY(fs_mkdir_p(*dir, 0700));
	_cleanup_free_ char *path = xstrdup(url);
	char *q = strpbrk(path + 8, "?#");
	if (q)
		*q = '\0';
	const char *slash = strrchr(path + 8, '/');
	*name = xstrdup(slash && slash[1] ? slash + 1 : "index.html");
	_cleanup_free_ char *file = xasprintf("%s/%s", *dir, *name);
	struct fetch_sink f = { .fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) };
	if (f.fd < 0)
		return err_errno(EXIT_FAILED, "cannot create %s", file);
	sha256_init(&f.h);
	struct http_request req = { .url = url, .on_body = fetch_write, .body_ctx_out = &f, .follow_redirects = true };
	struct http_response resp = HTTP_RESPONSE_INIT;
	log_info("ADD: downloading %s", url);
	err_t *e = http_do(b->http, &req, &resp);
	if (!e && (resp.status < 200 || resp.status > 299))
		e = http_status_error(&resp, url);
	const char *lm = e ? NULL : http_response_header(&resp, "Last-Modified");
	if (lm) {
		struct tm tm = { 0 };
		if (strptime(lm, "%a, %d %b %Y %H:%M:%S GMT", &tm)) {
			struct timespec ts[2] = { { timegm(&tm), 0 }, { timegm(&tm), 0 } };
			futimens(f.fd, ts);
		}
	}
	http_response_release(&resp);
	if (close(f.fd) < 0 && !e)
		e = err_errno(EXIT_FAILED, "cannot write %s", file);
	if (e) {
		sha256_discard(&f.h);
		return err_wrap(e, "ADD %s", url);
	}
	sha256_final(&f.h, digest);
	if (checksum && !digest_equal(checksum, digest))
		return err_new(EXIT_FAILED, "ADD %s: the download has digest %s, --checksum says %s", url, digest, checksum);
	return NULL;
}

static bool is_url(const char *s)
{
	return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

static err_t *do_copy(struct builder *b, struct stage *s, const struct df_instr *in)
{
	bool add = in->kw == DF_ADD;
	if (df_flag_get(in, "exclude", NULL) || df_flag_get(in, "parents", NULL))
		return instr_error(b, in, err_new(EXIT_USAGE, "%s --exclude and --parents are not supported yet",
						  add ? "ADD" : "COPY"));
	const char *from = df_flag_get(in, "from", NULL);
	const char *chown = df_flag_get(in, "chown", NULL);
	const char *chmod = df_flag_get(in, "chmod", NULL);
	_cleanup_free_ char *from_x = NULL, *chown_x = NULL, *chmod_x = NULL;
	if (from)
		TRY(instr_error(b, in, expand(b, s, from, &from_x)));
	if (chown) {
		err_t *e = expand(b, s, chown, &chown_x);
		if (e)
			return instr_error(b, in, e);
	}
	if (chmod) {
		err_t *e = expand(b, s, chmod, &chmod_x);
		if (e)
			return instr_error(b, in, e);
	}
	struct copy_options co = { .chmod = -1, .add = add };
	/* nothing runs in this root after this step: sources may be linked */
	/* (an ONBUILD trigger's instruction is not in our file: no linking) */
	co.may_link = s->def && in >= b->df->instrs && in < b->df->instrs + b->df->ninstrs;
	for (const struct df_instr *n = in + 1; co.may_link && n <= &b->df->instrs[s->def->last]; n++)
		if (n->kw == DF_RUN)
			co.may_link = false;
	if (chmod_x && !parse_octal(chmod_x, &co.chmod))
		return instr_error(b, in, err_new(EXIT_USAGE, "--chmod=%s: expected an octal mode", chmod_x));

	/* sources and destination, expanded */
	size_t nw = in->nargs;
	char **words = xcalloc(nw + 1, sizeof *words);
	err_t *e = NULL;
	for (size_t i = 0; i < nw && !e; i++) {
		e = expand(b, s, in->args[i], &words[i]);
	}
	struct stage *src_stage = NULL;
	struct copy_source_root root = { b->o->context, b->ignore, "build context", true };
	_cleanup_free_ char *what = NULL;
	if (!e && from_x) {
		src_stage = find_stage(b, from_x, s->index);
		if (!src_stage)
			e = image_stage(b, from_x, &src_stage);
		else
			e = build_stage(b, src_stage->index);
		if (!e)
			e = materialize(b, src_stage);
		if (!e) {
			what = xasprintf("stage %s", from_x);
			root = (struct copy_source_root){ src_stage->rootfs, NULL, what, false };
			co.preserve_owner = true;
		}
	}
	const char *dest_raw = nw ? words[nw - 1] : "";
	const char *wd = imgconfig_get_string(&s->cfg, "WorkingDir");
	_cleanup_free_ char *dest = rootfs_path_join(wd && *wd ? wd : "/", dest_raw);
	bool dest_dir = dest_names_dir(dest_raw);

	/* heredoc sources become files; the rest are paths or patterns */
	char **pats = xcalloc(nw + 1, sizeof *pats);
	size_t npats = 0;
	const char **urls = xcalloc(nw + 1, sizeof *urls);
	size_t nurls = 0;
	const char *checksum = df_flag_get(in, "checksum", NULL);
	_cleanup_free_ char *checksum_x = NULL;
	if (!e && checksum) {
		e = expand(b, s, checksum, &checksum_x);
		if (!e)
			e = digest_check(checksum_x, "--checksum");
	}
	/* downloads: without --checksum the content decides the cache key, so
	 * they are fetched first (Docker does the same) */
	char **fetched_dirs = xcalloc(nw + 1, sizeof *fetched_dirs);
	char **fetched_names = xcalloc(nw + 1, sizeof *fetched_names);
	struct strbuf keytext = STRBUF_INIT;
	sb_addf(&keytext, "%s\nfrom=%s\nchown=%s\nchmod=%s\ndest=%s%s\n", add ? "ADD" : "COPY", from_x ?: "",
		chown_x ?: "", chmod_x ?: "", dest, dest_dir ? "/" : "");
	const struct df_heredoc **docs = xcalloc(nw + 1, sizeof *docs);
	for (size_t i = 0; !e && i + 1 < nw; i++) {
		const struct df_heredoc *hd = NULL;
		if (strncmp(in->args[i], "<<", 2) == 0)
			for (size_t h = 0; h < in->nheredocs; h++)
				if (strstr(in->args[i], in->heredocs[h].name))
					hd = &in->heredocs[h];
		if (hd) {
			docs[i] = hd;
			sb_addf(&keytext, "heredoc %s\n%s\n", hd->name, hd->body);
			continue;
		}
		if (is_url(words[i])) {
			if (!add) {
				e = err_new(EXIT_USAGE, "COPY cannot take a URL (%s): use ADD", words[i]);
				break;
			}
			urls[nurls++] = words[i];
			if (checksum_x)
				sb_addf(&keytext, "url %s %s\n", words[i], checksum_x);
			continue;
		}
		pats[npats++] = words[i];
	}
	for (size_t i = 0; !e && !checksum_x && i < nurls; i++) {
		char dg[DIGEST_SIZE];
		e = fetch_url(b, urls[i], NULL, &fetched_dirs[i], &fetched_names[i], dg);
		if (!e)
			sb_addf(&keytext, "url %s %s\n", urls[i], dg);
	}
	char **sources = NULL;
	size_t nsources = 0;
	if (!e && npats)
		e = copy_expand_sources(&root, (const char *const *)pats, npats, &sources, &nsources);
	if (!e && nsources) {
		char h[DIGEST_SIZE];
		e = copy_hash_sources(&root, sources, nsources, h);
		if (!e)
			sb_addf(&keytext, "sources %s\n", h);
		if (src_stage)
			sb_addf(&keytext, "stage %s\n", src_stage->chain);
	}
	char key[DIGEST_SIZE];
	cache_chain(s->chain, keytext.buf ? keytext.buf : "", keytext.len, key);
	sb_release(&keytext);
	memcpy(s->chain, key, DIGEST_SIZE);
	_cleanup_free_ char *args_text = join_words(words, nw);
	_cleanup_free_ char *created_by = xasprintf("%s %s%s%s%s", add ? "ADD" : "COPY", from_x ? "--from=" : "",
						    from_x ? from_x : "", from_x ? " " : "", args_text);
	bool hit = false;
	if (!e)
		e = cache_lookup(b, s, key, created_by, &hit);
	if (!e && !hit) {
		e = prepare_root(b, s);
		if (!e && chown_x) {
			co.chown = true;
			e = resolve_chown(b, s, chown_x, &co.uid, &co.gid);
			if (!e) {
				_cleanup_free_ char *flag = xasprintf("--chown=%s", chown_x);
				e = check_mappable(b, flag, co.uid, co.gid);
			}
		}
		for (size_t i = 0; !e && i < nurls; i++) {
			char dg[DIGEST_SIZE];
			if (!fetched_dirs[i])
				e = fetch_url(b, urls[i], checksum_x, &fetched_dirs[i], &fetched_names[i], dg);
			if (!e) {
				struct copy_source_root fr = { fetched_dirs[i], NULL, "download", false };
				struct copy_options fo = co;
				fo.add = false; /* URLs are never unpacked */
				char *one[2] = { fetched_names[i], NULL };
				e = copy_to_root(&fr, one, 1, s->rootfs, dest, dest_dir, &fo);
			}
		}
		if (!e && nw > 2 && !dest_dir) /* several sources need a directory */
			e = err_new(EXIT_USAGE, "when copying more than one source, the destination %s must end with /",
				    dest_raw);
		if (!e && dest_dir && co.chown) {
			int fd = -1;
			_cleanup_close_ int rfd = open(s->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
			e = rootfs_mkdir_p(rfd, dest, 0755, co.uid, co.gid, &fd);
			if (fd >= 0)
				close(fd);
		}
		if (!e && nsources)
			e = copy_to_root(&root, sources, nsources, s->rootfs, dest, dest_dir || nsources > 1, &co);
		for (size_t i = 0; !e && i + 1 < nw; i++) {
			if (!docs[i])
				continue;
			_cleanup_free_ char *target = dest_dir ? xasprintf("%s/%s", dest, docs[i]->name) : xstrdup(dest);
			_cleanup_free_ char *body = NULL;
			if (docs[i]->expand)
				e = expand_heredoc(b, s, docs[i]->body, &body);
			if (!e)
				e = copy_write_file(s->rootfs, target, body ? body : docs[i]->body,
						    strlen(body ? body : docs[i]->body),
						    co.chmod >= 0 ? (mode_t)co.chmod : 0644, co.chown ? co.uid : 0,
						    co.chown ? co.gid : 0);
		}
		if (!e)
			e = commit_changes(b, s, key, created_by);
	}
	copy_free_list(sources);
	free(pats);
	free(docs);
	free(urls);
	copy_free_list(fetched_names);
	copy_free_list(fetched_dirs);
	free_argv(words);
	return e ? instr_error(b, in, e) : NULL;
}

static err_t *do_workdir(struct builder *b, struct stage *s, const struct df_instr *in)
{
	_cleanup_free_ char *v = NULL;
	TRY(instr_error(b, in, expand(b, s, in->args[0], &v)));
	const char *old = imgconfig_get_string(&s->cfg, "WorkingDir");
	_cleanup_free_ char *path = rootfs_path_join(old && *old ? old : "/", v);
	imgconfig_set_string(&s->cfg, "WorkingDir", path);
	const char *user = imgconfig_get_string(&s->cfg, "User");
	_cleanup_free_ char *created_by = xasprintf("WORKDIR %s", path);
	struct strbuf kt = STRBUF_INIT;
	sb_addf(&kt, "WORKDIR\n%s\n%s", path, user ?: "");
	char key[DIGEST_SIZE];
	cache_chain(s->chain, kt.buf, kt.len, key);
	sb_release(&kt);
	memcpy(s->chain, key, DIGEST_SIZE);
	bool hit = false;
	err_t *e = cache_lookup(b, s, key, created_by, &hit);
	if (!e && !hit) {
		e = prepare_root(b, s);
		uid_t uid = 0;
		gid_t gid = 0;
		if (!e && user && *user)
			e = resolve_chown(b, s, user, &uid, &gid);
		if (!e && user && *user) {
			_cleanup_free_ char *what = xasprintf("USER %s (owner of the WORKDIR)", user);
			e = check_mappable(b, what, uid, gid);
		}
		if (!e) {
			_cleanup_close_ int rfd = open(s->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
			int fd = -1;
			e = rootfs_mkdir_p(rfd, path, 0755, uid, gid, &fd);
			if (fd >= 0)
				close(fd);
		}
		if (!e)
			e = commit_changes(b, s, key, created_by);
	}
	return e ? instr_error(b, in, e) : NULL;
}

/* VOLUME: recorded in the config only (as BuildKit does: no directory is
 * made, nothing is unpacked). */
static err_t *do_volume(struct builder *b, struct stage *s, const struct df_instr *in)
{
	for (size_t i = 0; i < in->nargs; i++) {
		_cleanup_free_ char *v = NULL;
		TRY(expand(b, s, in->args[i], &v));
		if (*v)
			imgconfig_add_to_set(&s->cfg, "Volumes", v);
	}
	return NULL;
}

static err_t *parse_duration(const char *s, int64_t *ns)
{
	/* Go durations: 1h2m3s, 500ms, 1.5s */
	int64_t total = 0;
	const char *p = s;
	if (!*p)
		return err_new(EXIT_USAGE, "empty duration");
	while (*p) {
		char *end;
		double v = strtod(p, &end);
		if (end == p)
			return err_new(EXIT_USAGE, "bad duration %s", s);
		p = end;
		double mult;
		if (strncmp(p, "ms", 2) == 0)
			mult = 1e6, p += 2;
		else if (strncmp(p, "us", 2) == 0)
			mult = 1e3, p += 2;
		else if (strncmp(p, "ns", 2) == 0)
			mult = 1, p += 2;
		else if (*p == 's')
			mult = 1e9, p++;
		else if (*p == 'm')
			mult = 60e9, p++;
		else if (*p == 'h')
			mult = 3600e9, p++;
		else
			return err_new(EXIT_USAGE, "bad duration %s (missing unit)", s);
		total += (int64_t)(v * mult);
	}
	*ns = total;
	return NULL;
}

static err_t *do_healthcheck(struct stage *s, const struct df_instr *in)
{
	json_t *hc = json_object();
	json_t *test = json_array();
	if (strcasecmp(in->args[0], "NONE") == 0) {
		json_array_append_new(test, json_string("NONE"));
	} else if (in->json) {
		json_array_append_new(test, json_string("CMD"));
		for (size_t i = 1; i < in->nargs; i++)
			json_array_append_new(test, json_string(in->args[i]));
	} else {
		json_array_append_new(test, json_string("CMD-SHELL"));
		json_array_append_new(test, json_string(in->nargs > 1 ? in->args[1] : ""));
	}
	json_object_set_new(hc, "Test", test);
	static const char *const flags[][2] = {
		{ "interval", "Interval" }, { "timeout", "Timeout" }, { "start-period", "StartPeriod" },
		{ "start-interval", "StartInterval" },
	};
	for (size_t i = 0; i < 4; i++) {
		const char *v = df_flag_get(in, flags[i][0], NULL);
		if (!v)
			continue;
		int64_t ns = 0;
		err_t *e = parse_duration(v, &ns);
		if (e) {
			json_decref(hc);
			return e;
		}
		json_object_set_new(hc, flags[i][1], json_integer(ns));
	}
	const char *r = df_flag_get(in, "retries", NULL);
	if (r)
		json_object_set_new(hc, "Retries", json_integer(strtol(r, NULL, 10)));
	json_object_set_new(s->cfg.config, "Healthcheck", hc);
	return NULL;
}

static err_t *add_ports(struct builder *b, struct stage *s, const struct df_instr *in)
{
	for (size_t i = 0; i < in->nargs; i++) {
		_cleanup_free_ char *w = NULL;
		TRY(expand(b, s, in->args[i], &w));
		char *proto = strchr(w, '/');
		if (proto)
			*proto++ = '\0';
		for (char *p = proto; p && *p; p++)
			*p = (char)tolower((unsigned char)*p);
		char *dash = strchr(w, '-');
		char *end;
		unsigned long lo = strtoul(w, &end, 10), hi = lo;
		if (dash)
			hi = strtoul(dash + 1, &end, 10);
		if (!*w || (*end && end != dash) || hi < lo || hi > 65535)
			return err_new(EXIT_USAGE, "EXPOSE %s: invalid port", in->args[i]);
		/* as BuildKit (nat.ParsePortSpecs): tcp, udp or sctp */
		if (proto && *proto && strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
			return err_new(EXIT_USAGE, "%s: invalid protocol %s (tcp, udp or sctp)", in->args[i], proto);
		for (unsigned long p = lo; p <= hi; p++) {
			char key[32];
			snprintf(key, sizeof key, "%lu/%s", p, proto && *proto ? proto : "tcp");
			imgconfig_add_to_set(&s->cfg, "ExposedPorts", key);
		}
	}
	return NULL;
}

static err_t *do_arg(struct builder *b, struct stage *s, const struct df_instr *in)
{
	for (size_t i = 0; i < in->nkvs; i++) {
		const struct df_kv *kv = &in->kvs[i];
		const struct var *given = vars_find(&b->bargs, kv->key);
		_cleanup_free_ char *val = NULL;
		if (given && given->value) {
			val = xstrdup(given->value);
		} else if (kv->raw_value) {
			struct lookup_ctx c = { b, s };
			TRY(df_expand_word(kv->raw_value, b->df->escape, lookup_var, &c, &val));
		} else if (s) {
			const struct var *g = vars_find(&b->global, kv->key);
			if (g && g->value)
				val = xstrdup(g->value);
		}
		vars_set(s ? &s->args : &b->global, kv->key, val);
	}
	return NULL;
}

static err_t *exec_instr(struct builder *b, struct stage *s, const struct df_instr *in);

/* STOPSIGNAL as BuildKit checks it (moby's signal.ParseSignal): a number
 * above 0, or a Linux signal name, any case, "SIG" optional, RTMIN+n and
 * RTMAX-n included. */
static bool valid_signal(const char *v)
{
	static const char *const names[] = {
		"ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT", "KILL",
		"PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP",
		"TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ", "RTMIN", "RTMAX",
	};
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (*v && !*end)
		return !errno && n > 0;
	const char *p = strncasecmp(v, "SIG", 3) == 0 ? v + 3 : v;
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (strcasecmp(p, names[i]) == 0)
			return true;
	/* RTMIN+1..RTMIN+15, RTMAX-14..RTMAX-1 */
	bool min = strncasecmp(p, "RTMIN+", 6) == 0, max = strncasecmp(p, "RTMAX-", 6) == 0;
	if (!min && !max)
		return false;
	n = strtol(p + 6, &end, 10);
	return p[6] >= '1' && p[6] <= '9' && !*end && n >= 1 && n <= (min ? 15 : 14);
}

static err_t *run_onbuild(struct builder *b, struct stage *s)
{
	json_t *ob = json_object_get(s->cfg.config, "OnBuild");
	if (!json_is_array(ob) || !json_array_size(ob))
		return NULL;
	json_incref(ob);
	json_object_del(s->cfg.config, "OnBuild");
	err_t *e = NULL;
	for (size_t i = 0; i < json_array_size(ob) && !e; i++) {
		const char *t = json_string_value(json_array_get(ob, i));
		if (!t)
			continue;
		/* the parser wants a FROM first: the trigger is parsed after one */
		struct df_file *f = NULL;
		_cleanup_free_ char *text = xasprintf("FROM scratch\n%s\n", t);
		e = df_parse(text, strlen(text), "ONBUILD trigger", &f);
		for (size_t k = 1; !e && k < f->ninstrs; k++)
			e = exec_instr(b, s, &f->instrs[k]);
		df_file_free(f);
	}
	json_decref(ob);
	return e;
}

static err_t *exec_instr(struct builder *b, struct stage *s, const struct df_instr *in)
{
	char ckey[DIGEST_SIZE];
	bool config_only = true;
	err_t *e = NULL;
	switch (in->kw) {
	case DF_RUN:
		return do_run(b, s, in);
	case DF_COPY:
	case DF_ADD:
		return do_copy(b, s, in);
	case DF_WORKDIR:
		return do_workdir(b, s, in);
	case DF_ARG:
		e = do_arg(b, s, in);
		config_only = false; /* not in history */
		break;
	case DF_ENV: {
		char **vals = xcalloc(in->nkvs + 1, sizeof *vals);
		for (size_t i = 0; i < in->nkvs && !e; i++)
			e = expand(b, s, in->kvs[i].raw_value ? in->kvs[i].raw_value : "", &vals[i]);
		for (size_t i = 0; i < in->nkvs && !e; i++)
			imgconfig_setenv(&s->cfg, in->kvs[i].key, vals[i]);
		free_argv(vals);
		break;
	}
	case DF_LABEL: {
		char **vals = xcalloc(in->nkvs + 1, sizeof *vals);
		for (size_t i = 0; i < in->nkvs && !e; i++)
			e = expand(b, s, in->kvs[i].raw_value ? in->kvs[i].raw_value : "", &vals[i]);
		for (size_t i = 0; i < in->nkvs && !e; i++)
			imgconfig_set_label(&s->cfg, in->kvs[i].key, vals[i]);
		free_argv(vals);
		break;
	}
	case DF_EXPOSE:
		e = add_ports(b, s, in);
		break;
	case DF_USER: {
		_cleanup_free_ char *v = NULL;
		e = expand(b, s, in->args[0], &v);
		if (!e)
			imgconfig_set_string(&s->cfg, "User", v);
		break;
	}
	case DF_VOLUME:
		e = do_volume(b, s, in);
		break;
	case DF_STOPSIGNAL: {
		_cleanup_free_ char *v = NULL;
		e = expand(b, s, in->args[0], &v);
		if (!e && !valid_signal(v))
			e = err_new(EXIT_USAGE, "%s is not a signal (a number, or a name such as SIGTERM)", v);
		if (!e)
			imgconfig_set_string(&s->cfg, "StopSignal", v);
		break;
	}
	case DF_CMD:
	case DF_ENTRYPOINT: {
		size_t n;
		char **argv = command_argv(s, in, &n);
		imgconfig_set_array(&s->cfg, in->kw == DF_CMD ? "Cmd" : "Entrypoint", (const char *const *)argv, n);
		free_argv(argv);
		if (in->kw == DF_CMD)
			s->cmd_set = true;
		else if (!s->cmd_set)
			imgconfig_set_null(&s->cfg, "Cmd");
		break;
	}
	case DF_SHELL:
		/* recorded as Config.Shell (as BuildKit does): FROM <stage> and
		 * child images run their shell-form commands with it */
		imgconfig_set_array(&s->cfg, "Shell", (const char *const *)in->args, in->nargs);
		stage_shell_from_config(s);
		break;
	case DF_HEALTHCHECK:
		e = do_healthcheck(s, in);
		break;
	case DF_ONBUILD: {
		json_t *ob = json_object_get(s->cfg.config, "OnBuild");
		if (!json_is_array(ob)) {
			ob = json_array();
			json_object_set_new(s->cfg.config, "OnBuild", ob);
		}
		json_array_append_new(ob, json_string(in->args[0]));
		break;
	}
	case DF_MAINTAINER:
		json_object_set_new(s->cfg.doc, "author", json_string(in->args[0]));
		break;
	case DF_FROM:
	default:
		return instr_error(b, in, err_new(EXIT_USAGE, "unexpected %s", in->keyword));
	}
	if (e)
		return instr_error(b, in, e);
	/* config changes move the chain on too: a RUN after ENV differs */
	_cleanup_free_ char *cs = config_state(s);
	_cleanup_free_ char *kt = xasprintf("%s\n%s", in->line ? in->line : in->keyword, cs);
	cache_chain(s->chain, kt, strlen(kt), ckey);
	if (in->kw == DF_ARG) {
		struct strbuf sb = STRBUF_INIT;
		sb_adds(&sb, kt);
		for (size_t i = 0; i < s->args.n; i++)
			sb_addf(&sb, "\n%s=%s", s->args.v[i].name, s->args.v[i].value ?: "");
		cache_chain(s->chain, sb.buf, sb.len, ckey);
		sb_release(&sb);
	}
	memcpy(s->chain, ckey, DIGEST_SIZE);
	if (config_only) {
		_cleanup_free_ char *hist = xasprintf("/bin/sh -c #(nop) %s", in->line ? in->line : in->keyword);
		imgconfig_add_history(&s->cfg, b->created, hist, true);
	}
	return NULL;
}

/* ---- stages ---- */

static void stage_init_from(struct stage *s, const struct imgconfig *cfg, const struct layer_ref *layers, size_t n)
{
	imgconfig_copy(&s->cfg, cfg);
	s->layers = xcalloc(n + 1, sizeof *s->layers);
	for (size_t i = 0; i < n; i++)
		layer_ref_copy(&s->layers[i], &layers[i]);
	s->nlayers = n;
	s->applied = 0;
}

static err_t *load_image_into(struct builder *b, struct stage *s, const char *ref, const char *platform)
{
	struct image_desc d;
	TRY(imagesrc_load(ref, platform, b->o->store, b->o->registry, &d));
	stage_init_from(s, &d.cfg, d.layers, d.nlayers);
	cache_chain("", d.digest[0] ? d.digest : "scratch", strlen(d.digest[0] ? d.digest : "scratch"), s->chain);
	if (!d.digest[0]) {
		/* scratch for the requested platform */
		char plat[128];
		snprintf(plat, sizeof plat, "scratch %s", platform ? platform : "");
		cache_chain("", plat, strlen(plat), s->chain);
	}
	imagesrc_release(&d);
	return NULL;
}

static err_t *image_stage(struct builder *b, const char *ref, struct stage **out)
{
	struct stage *s = xcalloc(1, sizeof *s);
	s->index = (size_t)-1;
	s->rootfs = xasprintf("%s/image-%zu", b->o->workdir, b->nextra);
	err_t *e = load_image_into(b, s, ref, b->o->platform);
	b->extra = xrealloc(b->extra, (b->nextra + 1) * sizeof *b->extra);
	b->extra[b->nextra++] = s;
	if (e)
		return err_wrap(e, "COPY --from=%s", ref);
	s->built = true;
	*out = s;
	return NULL;
}

static err_t *build_stage(struct builder *b, size_t idx)
{
	struct stage *s = &b->st[idx];
	if (s->built)
		return NULL;
	if (s->building)
		return err_new(EXIT_USAGE, "stage %zu depends on itself", idx);
	s->building = true;
	const struct df_stage *def = s->def;
	const struct df_instr *from = &b->df->instrs[def->first];
	_cleanup_free_ char *base = NULL, *platform = NULL;
	TRY(instr_error(b, from, expand(b, NULL, def->base, &base)));
	if (def->platform)
		TRY(instr_error(b, from, expand(b, NULL, def->platform, &platform)));
	else if (b->o->platform)
		platform = xstrdup(b->o->platform);
	struct stage *parent = find_stage(b, base, idx);
	if (parent) {
		TRY(build_stage(b, parent->index));
		stage_init_from(s, &parent->cfg, parent->layers, parent->nlayers);
		memcpy(s->chain, parent->chain, DIGEST_SIZE);
	} else {
		err_t *e = load_image_into(b, s, base, platform);
		if (e)
			return instr_error(b, from, e);
	}
	log_info("stage %zu%s%s: FROM %s", idx, def->name ? " " : "", def->name ? def->name : "", base);
	/* a fresh stage: its own args; the shell its base recorded */
	stage_shell_from_config(s);
	TRY(run_onbuild(b, s));
	for (size_t i = def->first + 1; i <= def->last; i++)
		TRY(exec_instr(b, s, &b->df->instrs[i]));
	s->built = true;
	s->building = false;
	return NULL;
}

/* ---- the whole build ---- */

static void format_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void free_stage(struct stage *s)
{
	imgconfig_release(&s->cfg);
	for (size_t i = 0; i < s->nlayers; i++)
		layer_ref_release(&s->layers[i]);
	free(s->layers);
	snapshot_free(s->snap);
	vars_free(&s->args);
	free_argv(s->shell);
	free(s->rootfs);
}

static err_t *finish_image(struct builder *b, struct stage *s, struct build_result *out)
{
	for (size_t i = 0; i < b->o->nlabels; i++) {
		const char *kv = b->o->labels[i];
		const char *eq = strchr(kv, '=');
		if (!eq)
			return err_new(EXIT_USAGE, "label %s: expected key=value", kv);
		_cleanup_free_ char *k = xstrndup(kv, (size_t)(eq - kv));
		imgconfig_set_label(&s->cfg, k, eq + 1);
	}
	const char **ids = xcalloc(s->nlayers + 1, sizeof *ids);
	for (size_t i = 0; i < s->nlayers; i++)
		ids[i] = s->layers[i].diff_id;
	imgconfig_finish(&s->cfg, b->created, ids, s->nlayers);
	free(ids);
	char *cfg = json_dumps(s->cfg.doc, JSON_COMPACT);
	struct descriptor config = { 0 };
	config.media_type = (char *)MT_OCI_CONFIG;
	config.size = (int64_t)strlen(cfg);
	err_t *e = oci_layout_put_blob(b->o->store, cfg, strlen(cfg), config.digest);
	free(cfg);
	TRY(e);
	struct descriptor *ld = xcalloc(s->nlayers + 1, sizeof *ld);
	for (size_t i = 0; i < s->nlayers; i++) {
		ld[i].media_type = s->layers[i].media_type;
		memcpy(ld[i].digest, s->layers[i].digest, DIGEST_SIZE);
		ld[i].size = s->layers[i].size;
	}
	json_t *doc = manifest_build_image(MT_OCI_MANIFEST, &config, ld, s->nlayers, NULL);
	free(ld);
	struct strbuf body = STRBUF_INIT;
	manifest_dump(doc, &body);
	json_decref(doc);
	e = oci_layout_put_blob(b->o->store, body.buf, body.len, out->manifest_digest);
	if (e) {
		sb_release(&body);
		return e;
	}
	out->manifest_len = body.len;
	out->manifest = sb_detach(&body);
	memcpy(out->config_digest, config.digest, DIGEST_SIZE);
	out->config_size = config.size;
	out->layers = xcalloc(s->nlayers + 1, sizeof *out->layers);
	for (size_t i = 0; i < s->nlayers; i++)
		layer_ref_copy(&out->layers[i], &s->layers[i]);
	out->nlayers = s->nlayers;
	return NULL;
}

static void mark_needed(struct builder *b, size_t idx, bool *needed)
{
	if (needed[idx])
		return;
	needed[idx] = true;
	const struct df_stage *d = &b->defs[idx];
	_cleanup_free_ char *base = NULL;
	err_t *e = expand(b, NULL, d->base, &base);
	if (!e) {
		struct stage *p = find_stage(b, base, idx);
		if (p)
			mark_needed(b, p->index, needed);
	}
	err_free(e);
	for (size_t i = d->first + 1; i <= d->last; i++) {
		const struct df_instr *in = &b->df->instrs[i];
		if (in->kw != DF_COPY && in->kw != DF_ADD)
			continue;
		const char *from = df_flag_get(in, "from", NULL);
		if (!from)
			continue;
		_cleanup_free_ char *fx = NULL;
		e = expand(b, NULL, from, &fx);
		if (!e) {
			struct stage *p = find_stage(b, fx, idx);
			if (p)
				mark_needed(b, p->index, needed);
		}
		err_free(e);
	}
}

static void set_auto_args(struct builder *b)
{
	_cleanup_free_ char *os = NULL, *arch = NULL, *variant = NULL;
	err_t *e = imagesrc_parse_platform(b->o->platform, &os, &arch, &variant);
	if (e) {
		err_free(e);
		return;
	}
	const char *hos, *harch, *hvar;
	imagesrc_host_platform(&hos, &harch, &hvar);
	_cleanup_free_ char *tp = xasprintf("%s/%s%s%s", os, arch, variant ? "/" : "", variant ?: "");
	_cleanup_free_ char *bp = xasprintf("%s/%s%s%s", hos, harch, hvar ? "/" : "", hvar ?: "");
	vars_set(&b->global, "TARGETPLATFORM", tp);
	vars_set(&b->global, "TARGETOS", os);
	vars_set(&b->global, "TARGETARCH", arch);
	vars_set(&b->global, "TARGETVARIANT", variant ?: "");
	vars_set(&b->global, "BUILDPLATFORM", bp);
	vars_set(&b->global, "BUILDOS", hos);
	vars_set(&b->global, "BUILDARCH", harch);
	vars_set(&b->global, "BUILDVARIANT", hvar ?: "");
}

err_t *builder_build(const struct build_options *o, struct build_result *out)
{
	memset(out, 0, sizeof *out);
	struct builder b = { .o = o };
	_cleanup_strbuf_ struct strbuf text = STRBUF_INIT;
	TRY(fs_read_file(o->dockerfile, DOCKERFILE_MAX, &text));
	TRY(df_parse(sb_str(&text), text.len, o->dockerfile, &b.df));
	err_t *e = ignore_load(o->context, &b.ignore);
	if (o->source_date_epoch >= 0)
		format_time(o->source_date_epoch, b.created);
	else
		format_time((int64_t)time(NULL), b.created);
	for (size_t i = 0; i < o->nbuild_args; i++) {
		const char *a = o->build_args[i];
		const char *eq = strchr(a, '=');
		if (eq) {
			_cleanup_free_ char *k = xstrndup(a, (size_t)(eq - a));
			vars_set(&b.bargs, k, eq + 1);
		} else {
			vars_set(&b.bargs, a, getenv(a));
		}
	}
	set_auto_args(&b);
	b.ndefs = df_stages(b.df, &b.defs);
	if (!e && b.ndefs == 0)
		e = err_new(EXIT_USAGE, "%s: no FROM instruction", o->dockerfile);
	/* global ARGs: instructions before the first FROM */
	size_t first_from = b.ndefs ? b.defs[0].first : 0;
	for (size_t i = 0; !e && i < first_from; i++) {
		const struct df_instr *in = &b.df->instrs[i];
		if (in->kw != DF_ARG)
			e = err_new(EXIT_USAGE, "%s:%d: only ARG may come before the first FROM", o->dockerfile,
				    in->start_line);
		else
			e = instr_error(&b, in, do_arg(&b, NULL, in));
	}
	size_t target = b.ndefs ? b.ndefs - 1 : 0;
	if (!e && o->target && *o->target) {
		struct stage *dummy = NULL;
		b.st = xcalloc(b.ndefs + 1, sizeof *b.st);
		for (size_t i = 0; i < b.ndefs; i++)
			b.st[i].index = i;
		dummy = find_stage(&b, o->target, b.ndefs);
		if (!dummy)
			e = err_new(EXIT_USAGE, "target %s: no such stage in %s", o->target, o->dockerfile);
		else
			target = dummy->index;
	}
	if (!e) {
		if (!b.st)
			b.st = xcalloc(b.ndefs + 1, sizeof *b.st);
		for (size_t i = 0; i < b.ndefs; i++) {
			b.st[i].def = &b.defs[i];
			b.st[i].index = i;
			b.st[i].rootfs = xasprintf("%s/stage-%zu", o->workdir, i);
		}
		bool *needed = xcalloc(b.ndefs + 1, sizeof *needed);
		mark_needed(&b, target, needed);
		for (size_t i = 0; i < b.ndefs && !e; i++)
			if (needed[i])
				e = build_stage(&b, i);
		free(needed);
	}
	if (!e)
		e = finish_image(&b, &b.st[target], out);
	out->cache_hits = b.hits;
	out->cache_misses = b.misses;
	for (size_t i = 0; b.st && i < b.ndefs; i++)
		free_stage(&b.st[i]);
	free(b.st);
	for (size_t i = 0; i < b.nextra; i++) {
		free_stage(b.extra[i]);
		free(b.extra[i]);
	}
	free(b.extra);
	http_client_free(b.http);
	free(b.defs);
	vars_free(&b.global);
	vars_free(&b.bargs);
	ignore_free(b.ignore);
	df_file_free(b.df);
	return e;
}

void build_result_release(struct build_result *r)
{
	free(r->manifest);
	for (size_t i = 0; i < r->nlayers; i++)
		layer_ref_release(&r->layers[i]);
	free(r->layers);
	memset(r, 0, sizeof *r);
}
