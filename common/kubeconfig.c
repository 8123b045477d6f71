/* kubeconfig and in-cluster service account (see kubeconfig.h). */
#include "kubeconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "b64.h"
#include "cleanup.h"
#include "fsutil.h"
#include "http.h"
#include "log.h"
#include "strbuf.h"
#include "xalloc.h"
#include "yamldoc.h"

#define KUBECONFIG_MAX (4u << 20)
#define TOKEN_MAX (64u << 10)
#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* One kubeconfig file, parsed. */
struct kc_file {
	char *name;
	char *dir;
	struct ydoc *y;
};

struct kc_files {
	struct kc_file *f;
	size_t n;
};

static void files_release(struct kc_files *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		free(fs->f[i].name);
		free(fs->f[i].dir);
		ydoc_free(fs->f[i].y);
	}
	free(fs->f);
}

static const struct ydoc_node *root_of(const struct kc_file *f)
{
	return f->y && f->y->ndocs ? f->y->docs[0] : NULL;
}

/* The entry called name in the list `list` ("clusters", ...) of the first
 * file that has one: its inner mapping (`inner`: "cluster", ...) and file. */
static err_t *find_named(const struct kc_files *fs, const char *list, const char *inner, const char *name,
			 const struct ydoc_node **out, const struct kc_file **file)
{
	for (size_t i = 0; i < fs->n; i++) {
		const struct ydoc_node *l = ydoc_get(root_of(&fs->f[i]), list);
		if (l && !ydoc_is_seq(l) && !ydoc_is_null(l))
			return err_new(EXIT_USAGE, "%s:%d: %s is not a list", fs->f[i].name, l->line, list);
		for (size_t j = 0; j < ydoc_count(l); j++) {
			const struct ydoc_node *e = ydoc_item(l, j);
			const char *n = ydoc_str(ydoc_get(e, "name"));
			if (!n || strcmp(n, name))
				continue;
			const struct ydoc_node *v = ydoc_get(e, inner);
			if (v && !ydoc_is_map(v) && !ydoc_is_null(v))
				return err_new(EXIT_USAGE, "%s:%d: %s %s: %s is not a mapping", fs->f[i].name, v->line, inner,
					       name, inner);
			*out = v;
			*file = &fs->f[i];
			return NULL;
		}
	}
	return err_new(EXIT_USAGE, "%s: no %s named \"%s\"", fs->n == 1 ? fs->f[0].name : "kubeconfig", inner, name);
}

/* A path from the file, made absolute against its directory. */
static char *file_path(const struct kc_file *f, const char *p)
{
	if (!p || !*p)
		return NULL;
	if (p[0] == '/' || !f->dir)
		return xstrdup(p);
	return xasprintf("%s/%s", f->dir, p);
}

static err_t *private_dir(struct kubeconfig *kc)
{
	if (kc->tmpdir)
		return NULL;
	const char *t = getenv("TMPDIR");
	char *d = xasprintf("%s/kubeconfig.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(d)) {
		err_t *e = err_errno(EXIT_FAILED, "cannot create a private directory %s", d);
		free(d);
		return e;
	}
	kc->tmpdir = d;
	return NULL;
}

/* Decode a *-data value into a private file named name. */
static err_t *data_file(struct kubeconfig *kc, const struct kc_file *f, const struct ydoc_node *n, const char *name,
			char **out)
{
	const char *v = ydoc_str(n);
	if (!v || !*v)
		return err_new(EXIT_USAGE, "%s:%d: %s is empty", f->name, n->line, name);
	_cleanup_strbuf_ struct strbuf raw = STRBUF_INIT;
	err_t *e = b64_decode(v, strlen(v), name, &raw);
	if (e)
		return err_wrap(e, "%s:%d", f->name, n->line);
	TRY(private_dir(kc));
	_cleanup_free_ char *path = xasprintf("%s/%s", kc->tmpdir, name);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_errno(EXIT_FAILED, "cannot create %s", path);
	TRY(fs_write_all(fd, raw.buf, raw.len, path));
	*out = steal_ptr(path);
	return NULL;
}

/* A file value or its inline -data sibling (the data wins, as in kubectl). */
static err_t *file_or_data(struct kubeconfig *kc, const struct kc_file *f, const struct ydoc_node *map,
			   const char *key, char **out)
{
	_cleanup_free_ char *dk = xasprintf("%s-data", key);
	const struct ydoc_node *d = ydoc_get(map, dk);
	if (d && !ydoc_is_null(d))
		return data_file(kc, f, d, dk, out);
	*out = file_path(f, ydoc_str(ydoc_get(map, key)));
	return NULL;
}

static err_t *read_token_file(const char *path, char **out)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	TRY(err_context(fs_read_file(path, TOKEN_MAX, &sb), "token file"));
	while (sb.len && (sb.buf[sb.len - 1] == '\n' || sb.buf[sb.len - 1] == '\r' || sb.buf[sb.len - 1] == ' '))
		sb.buf[--sb.len] = '\0';
	if (!sb.len)
		return err_new(EXIT_USAGE, "token file %s is empty", path);
	log_secret(sb.buf);
	*out = sb_detach(&sb);
	return NULL;
}

static char *dup_str(const struct ydoc_node *n)
{
	const char *s = ydoc_str(n);
	return s && *s ? xstrdup(s) : NULL;
}

static err_t *read_user(struct kubeconfig *kc, const struct kc_file *f, const struct ydoc_node *u, const char *uname)
{
	if (!u)
		return NULL;
	const struct ydoc_node *ex = ydoc_get(u, "exec");
	if (ex && !ydoc_is_null(ex))
		return err_new(EXIT_USAGE,
			       "%s:%d: user %s uses an exec credential plugin (%s): not supported; "
			       "give a token, token file or client certificate instead",
			       f->name, ex->line, uname, ydoc_str(ydoc_get(ex, "command")) ? ydoc_str(ydoc_get(ex, "command")) : "?");
	const struct ydoc_node *ap = ydoc_get(u, "auth-provider");
	if (ap && !ydoc_is_null(ap))
		return err_new(EXIT_USAGE, "%s:%d: user %s uses an auth provider: not supported; "
					   "give a token, token file or client certificate instead",
			       f->name, ap->line, uname);
	kc->token = dup_str(ydoc_get(u, "token"));
	if (kc->token)
		log_secret(kc->token);
	_cleanup_free_ char *tf = file_path(f, ydoc_str(ydoc_get(u, "tokenFile")));
	if (!kc->token && tf)
		TRY(err_context(read_token_file(tf, &kc->token), "%s: user %s", f->name, uname));
	TRY(file_or_data(kc, f, u, "client-certificate", &kc->client_cert));
	TRY(file_or_data(kc, f, u, "client-key", &kc->client_key));
	if (!kc->client_cert != !kc->client_key)
		return err_new(EXIT_USAGE, "%s: user %s has a client %s but no client %s", f->name, uname,
			       kc->client_cert ? "certificate" : "key", kc->client_cert ? "key" : "certificate");
	kc->username = dup_str(ydoc_get(u, "username"));
	kc->password = dup_str(ydoc_get(u, "password"));
	if (kc->password)
		log_secret(kc->password);
	return NULL;
}

static err_t *read_cluster(struct kubeconfig *kc, const struct kc_file *f, const struct ydoc_node *c,
			   const char *cname)
{
	kc->server = dup_str(ydoc_get(c, "server"));
	if (!kc->server)
		return err_new(EXIT_USAGE, "%s: cluster %s has no server", f->name, cname);
	size_t l = strlen(kc->server);
	while (l > 0 && kc->server[l - 1] == '/')
		kc->server[--l] = '\0';
	err_t *ue = http_check_url(kc->server, "http,https", "server");
	if (ue)
		return err_wrap(ue, "%s:%d: cluster %s", f->name, ydoc_get(c, "server")->line, cname);
	const struct ydoc_node *in = ydoc_get(c, "insecure-skip-tls-verify");
	if (in && !ydoc_is_null(in) && !ydoc_bool(in, &kc->insecure))
		return err_new(EXIT_USAGE, "%s:%d: insecure-skip-tls-verify is not a boolean", f->name, in->line);
	TRY(file_or_data(kc, f, c, "certificate-authority", &kc->ca_file));
	return NULL;
}

static err_t *from_files(const struct kc_files *fs, const char *context, struct kubeconfig **out)
{
	const char *ctx = context;
	const struct kc_file *cf = NULL;
	for (size_t i = 0; !ctx && i < fs->n; i++)
		ctx = ydoc_str(ydoc_get(root_of(&fs->f[i]), "current-context"));
	if (!ctx || !*ctx)
		return err_new(EXIT_USAGE, "%s: no current-context and no context given (--context)",
			       fs->n == 1 ? fs->f[0].name : "kubeconfig");
	const struct ydoc_node *cn = NULL, *cl = NULL, *us = NULL;
	TRY(find_named(fs, "contexts", "context", ctx, &cn, &cf));
	const char *cluster = ydoc_str(ydoc_get(cn, "cluster"));
	const char *user = ydoc_str(ydoc_get(cn, "user"));
	if (!cluster)
		return err_new(EXIT_USAGE, "%s: context %s names no cluster", cf->name, ctx);

	struct kubeconfig *kc = xcalloc(1, sizeof *kc);
	kc->context = xstrdup(ctx);
	kc->source = xstrdup(cf->name);
	kc->namespace = dup_str(ydoc_get(cn, "namespace"));
	const struct kc_file *f = NULL;
	err_t *e = find_named(fs, "clusters", "cluster", cluster, &cl, &f);
	if (!e)
		e = read_cluster(kc, f, cl, cluster);
	if (!e && user) {
		e = find_named(fs, "users", "user", user, &us, &f);
		if (!e)
			e = read_user(kc, f, us, user);
	}
	if (e) {
		kubeconfig_free(kc);
		return err_context(e, "context %s", ctx);
	}
	*out = kc;
	return NULL;
}

static err_t *add_file(struct kc_files *fs, const char *text, size_t len, const char *name, const char *dir)
{
	struct ydoc *y = NULL;
	TRY(ydoc_parse(text, len, name, &y));
	if (y->ndocs && y->docs[0] && !ydoc_is_map(y->docs[0])) {
		err_t *e = err_new(EXIT_USAGE, "%s:%d: a kubeconfig is a mapping", name, y->docs[0]->line);
		ydoc_free(y);
		return e;
	}
	fs->f = xrealloc(fs->f, (fs->n + 1) * sizeof *fs->f);
	fs->f[fs->n++] = (struct kc_file){ xstrdup(name), dir ? xstrdup(dir) : NULL, y };
	return NULL;
}

err_t *kubeconfig_parse(const char *text, size_t len, const char *name, const char *base_dir, const char *context,
			struct kubeconfig **out)
{
	struct kc_files fs = { NULL, 0 };
	err_t *e = add_file(&fs, text, len, name, base_dir);
	if (!e)
		e = from_files(&fs, context, out);
	files_release(&fs);
	return e;
}

static err_t *load_file(struct kc_files *fs, const char *path)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	TRY(err_context(fs_read_file(path, KUBECONFIG_MAX, &sb), "kubeconfig"));
	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else {
		free(dir);
		dir = NULL;
	}
	return add_file(fs, sb_str(&sb), sb.len, path, dir);
}

err_t *kubeconfig_load(const char *path, const char *context, struct kubeconfig **out)
{
	struct kc_files fs = { NULL, 0 };
	err_t *e = NULL;
	if (path) {
		e = load_file(&fs, path);
	} else {
		const char *env = getenv("KUBECONFIG");
		if (env && *env) {
			_cleanup_free_ char *list = xstrdup(env);
			char *save = NULL;
			for (char *p = strtok_r(list, ":", &save); p && !e; p = strtok_r(NULL, ":", &save))
				if (access(p, F_OK) == 0)
					e = load_file(&fs, p);
			if (!e && !fs.n)
				e = err_new(EXIT_USAGE, "KUBECONFIG=%s: none of its files exists", env);
		} else {
			const char *home = getenv("HOME");
			_cleanup_free_ char *p = xasprintf("%s/.kube/config", home && *home ? home : "");
			e = load_file(&fs, p);
		}
	}
	if (!e)
		e = from_files(&fs, context, out);
	files_release(&fs);
	return e;
}

err_t *kubeconfig_in_cluster(const char *sa_dir, struct kubeconfig **out)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
	if (!host || !*host || !port || !*port)
		return err_new(EXIT_USAGE, "in-cluster service account: KUBERNETES_SERVICE_HOST and "
					   "KUBERNETES_SERVICE_PORT must be set");
	const char *dir = sa_dir ? sa_dir : SA_DIR;
	struct kubeconfig *kc = xcalloc(1, sizeof *kc);
	kc->source = xstrdup("in-cluster service account");
	kc->server = strchr(host, ':') ? xasprintf("https://[%s]:%s", host, port) : xasprintf("https://%s:%s", host, port);
	_cleanup_free_ char *tok = xasprintf("%s/token", dir), *ns = xasprintf("%s/namespace", dir);
	kc->ca_file = xasprintf("%s/ca.crt", dir);
	err_t *e = read_token_file(tok, &kc->token);
	if (!e && access(kc->ca_file, R_OK) != 0)
		e = err_errno(EXIT_USAGE, "in-cluster service account: cannot read %s", kc->ca_file);
	if (!e && access(ns, F_OK) == 0) {
		_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
		e = fs_read_file(ns, 1024, &sb);
		while (!e && sb.len && (sb.buf[sb.len - 1] == '\n' || sb.buf[sb.len - 1] == ' '))
			sb.buf[--sb.len] = '\0';
		if (!e && sb.len)
			kc->namespace = sb_detach(&sb);
	}
	if (e) {
		kubeconfig_free(kc);
		return err_context(e, "in-cluster service account");
	}
	*out = kc;
	return NULL;
}

err_t *kubeconfig_resolve(const char *path, const char *context, struct kubeconfig **out)
{
	const char *env = getenv("KUBECONFIG");
	if (path || (env && *env))
		return kubeconfig_load(path, context, out);
	const char *home = getenv("HOME");
	_cleanup_free_ char *p = xasprintf("%s/.kube/config", home && *home ? home : "");
	if (access(p, F_OK) == 0)
		return kubeconfig_load(p, context, out);
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	if (host && *host)
		return kubeconfig_in_cluster(NULL, out);
	return err_new(EXIT_USAGE, "no kubeconfig: give --kubeconfig or set KUBECONFIG (%s does not exist, "
				   "and KUBERNETES_SERVICE_HOST is not set for an in-cluster service account)",
		       p);
}

void kubeconfig_free(struct kubeconfig *kc)
{
	if (!kc)
		return;
	if (kc->tmpdir)
		fs_remove_tree(kc->tmpdir);
	free(kc->tmpdir);
	free(kc->source);
	free(kc->context);
	free(kc->server);
	free(kc->namespace);
	free(kc->ca_file);
	free(kc->token);
	free(kc->client_cert);
	free(kc->client_key);
	free(kc->username);
	free(kc->password);
	free(kc);
}
