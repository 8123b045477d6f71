/* git-clone: clone the application repository at the start of a pipeline
 * run (the seed's clone-repo step and the Tekton catalog's git-clone, as one
 * program on libgit2): a branch, tag, ref or commit, shallow or full, with
 * submodules, optionally merging a pull request, into a directory of the
 * workspace; then publish what was checked out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <git2.h>

#include "auth.h"
#include "cleanup.h"
#include "clone.h"
#include "fetch.h"
#include "log.h"
#include "target.h"
#include "task.h"
#include "url.h"
#include "xalloc.h"

static const struct param_spec params[] = {
	{ "url", PARAM_STRING, NULL, false, false, "repository URL (https://, http://, ssh://, git://, user@host:path)" },
	{ "repository", PARAM_STRING, NULL, false, false, "the same as url (the seed's name for it)" },
	{ "branch", PARAM_STRING, NULL, false, false, "branch to check out, as <name> or refs/heads/<name> (a push webhook's ref); default: the remote's default branch" },
	{ "revision", PARAM_STRING, NULL, false, false, "commit SHA, tag or ref to check out (detached); with branch, it must be on that branch (its tip or an ancestor)" },
	{ "refspec", PARAM_LIST, NULL, false, false, "extra refspec to fetch, e.g. +refs/pull/*:refs/pull/*" },
	{ "depth", PARAM_INT, "0", false, false, "shallow clone with this many commits; 0: full history" },
	{ "submodules", PARAM_BOOL, "true", false, false, "initialise and fetch submodules, recursively (same depth)" },
	{ "workspace", PARAM_STRING, ".", false, false, "the workspace the directory is in" },
	{ "directory", PARAM_STRING, "", false, false, "directory inside the workspace to clone into; default: the workspace itself" },
	{ "delete-existing", PARAM_BOOL, "false", false, false, "replace an existing non-empty directory (only once the clone succeeded)" },
	{ "ssl-verify", PARAM_BOOL, "true", false, false, "verify the server's TLS certificate" },
	{ "ca-file", PARAM_STRING, NULL, false, false, "PEM file of CA certificates to trust instead of the system's; default: http.sslCAInfo of ~/.gitconfig" },
	{ "http-proxy", PARAM_STRING, NULL, false, false, "proxy for http:// (default: HTTP_PROXY from the environment)" },
	{ "https-proxy", PARAM_STRING, NULL, false, false, "proxy for https:// (default: HTTPS_PROXY from the environment)" },
	{ "no-proxy", PARAM_STRING, NULL, false, false, "hosts reached without a proxy (default: NO_PROXY)" },
	{ "pr-url", PARAM_STRING, NULL, false, false, "pull request mode: repository holding the PR head; default: url" },
	{ "pr-branch", PARAM_STRING, NULL, false, false, "pull request mode: PR branch to merge into branch" },
	{ "pr-revision", PARAM_STRING, NULL, false, false, "pull request mode: PR head commit SHA (or ref) to merge" },
	{ "max-retries", PARAM_INT, "3", false, false, "retries (with backoff) while the remote is unreachable" },
	{ "username", PARAM_STRING, NULL, false, false, "user name sent with the token; default: the URL's, else x-access-token" },
	{ "token", PARAM_STRING, NULL, false, true, "access token for HTTPS (sent as basic auth to the repository's host only)" },
	{ "token-file", PARAM_STRING, NULL, false, false, "file holding the access token, e.g. a mounted secret" },
	{ "git-credentials-file", PARAM_STRING, NULL, false, false, "git-credentials file (https://user:password@host per line); ~/.git-credentials is read after it" },
	{ "netrc-file", PARAM_STRING, NULL, false, false, "netrc file (machine, login, password)" },
	{ "ssh-key", PARAM_STRING, NULL, false, false, "SSH private key; default: IdentityFile of ~/.ssh/config, else ~/.ssh/id_ed25519, id_ecdsa, id_rsa" },
	{ "ssh-key-passphrase", PARAM_STRING, NULL, false, true, "passphrase of the SSH key" },
	{ "known-hosts", PARAM_STRING, NULL, false, false, "known_hosts file the SSH host key must be in; default: UserKnownHostsFile of ~/.ssh/config, else ~/.ssh/known_hosts" },
	{ "ssl-ca-directory", PARAM_STRING, NULL, false, false, "directory holding crt-file-name, the CA bundle when ca-file is not given (the Tekton catalog's ssl-ca-directory workspace); empty: not used" },
	{ "crt-file-name", PARAM_STRING, "ca-bundle.crt", false, false, "name of the CA bundle in ssl-ca-directory" },
	{ "basic-auth-directory", PARAM_STRING, NULL, false, false, "directory whose .git-credentials is the git-credentials-file when that is not given (the Tekton catalog's basic-auth workspace); empty: not used" },
	{ NULL },
};

static const struct result_spec results[] = {
	{ "git-repository", "the repository URL (without credentials)" },
	{ "git-branch", "the branch checked out (empty for a detached revision and for a pull request merged onto it)" },
	{ "git-commit", "SHA of the commit checked out (the merge in pull request mode)" },
	{ "commit", "the same as git-commit, as the Tekton catalog names it" },
	{ "git-user", "author of that commit" },
	{ "clone-directory", "the directory cloned into, relative to the workspace" },
	{ "commit-timestamp", "committer date of that commit, ISO 8601" },
	{ "url", "the repository URL (without credentials), as the Tekton catalog names it" },
	{ "committer-date", "committer date of that commit, seconds since the epoch" },
	{ "CHAINS-GIT_URL", "the repository URL (Tekton Chains' source type hint)" },
	{ "CHAINS-GIT_COMMIT", "the commit checked out (Tekton Chains' source type hint)" },
	{ NULL },
};

static const struct task_spec spec = {
	"git-clone",
	"Clone a git repository (branch, tag, commit, shallow, submodules, pull request merge) into a workspace.",
	params,
	results,
};

static const char *str_or_null(const struct params *p, const char *name)
{
	const char *v = params_str(p, name);
	return v && *v ? v : NULL;
}

static err_t *repository_url(const struct params *p, const char **out)
{
	const char *url = str_or_null(p, "url"), *repo = str_or_null(p, "repository");
	if (url && repo && strcmp(url, repo))
		return err_new(EXIT_USAGE, "url and repository differ; give one of them");
	*out = url ? url : repo;
	if (!*out)
		return err_new(EXIT_USAGE, "give the repository to clone: --url (or --repository)");
	return NULL;
}

static void proxies_from_params(const struct params *p)
{
	static const char *const map[][3] = {
		{ "http-proxy", "http_proxy", "HTTP_PROXY" },
		{ "https-proxy", "https_proxy", "HTTPS_PROXY" },
		{ "no-proxy", "no_proxy", "NO_PROXY" },
	};
	for (size_t i = 0; i < sizeof map / sizeof *map; i++) {
		const char *v = str_or_null(p, map[i][0]);
		if (v) {
			setenv(map[i][1], v, 1);
			setenv(map[i][2], v, 1);
		}
	}
}

/* The CA bundle: ca-file, else crt-file-name in ssl-ca-directory (the
 * catalog's layout: an optional workspace, so an empty path means unbound). */
static err_t *ca_file(const struct params *p, char **out)
{
	const char *file = str_or_null(p, "ca-file"), *dir = str_or_null(p, "ssl-ca-directory");
	if (!file && dir) {
		const char *name = params_str(p, "crt-file-name");
		if (!name || !*name || strchr(name, '/'))
			return err_new(EXIT_USAGE, "crt-file-name '%s' is not a file name", name ? name : "");
		*out = xasprintf("%s/%s", dir, name);
	} else if (file) {
		*out = xstrdup(file);
	}
	return NULL;
}

/* git-credentials-file, else .git-credentials of basic-auth-directory
 * when there is one (the catalog's basic-auth workspace) */
static char *credentials_file(const struct params *p)
{
	const char *file = str_or_null(p, "git-credentials-file"), *dir = str_or_null(p, "basic-auth-directory");
	if (file || !dir)
		return file ? xstrdup(file) : NULL;
	char *path = xasprintf("%s/.git-credentials", dir);
	if (access(path, F_OK) != 0) {
		log_debug("no .git-credentials in basic-auth-directory %s", dir);
		free(path);
		return NULL;
	}
	return path;
}

static err_t *setup_libgit2(const struct params *p)
{
	if (git_libgit2_init() < 0)
		return err_new(EXIT_FAILED, "cannot initialise libgit2");
	/* objects are hashed as the pack is indexed; reading them back need not hash again */
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
	git_libgit2_opts(GIT_OPT_SET_SERVER_CONNECT_TIMEOUT, 30000);
	git_libgit2_opts(GIT_OPT_SET_SERVER_TIMEOUT, 300000);
	/* Read packs through small mmap windows: libgit2's defaults (1 GB
	 * windows, 8 GB in all) map the whole pack, and every page checkout
	 * touches stays resident; 16 MB windows cost no measurable time on a
	 * 200 MB pack and keep peak RSS at a third (tests/bench/git-clone.sh). */
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, (size_t)16 << 20);
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, (size_t)32 << 20);
	git_libgit2_opts(GIT_OPT_SET_USER_AGENT, "git-clone/" PIPELINE_VERSION);
	/* no system, global or XDG config: the run depends only on its params */
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_SYSTEM, "");
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL, "");
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_XDG, "");
	/* libgit2 wants a home (for ~/.ssh/known_hosts key preferences) and
	 * fails SSH without one; a FROM scratch image has neither HOME nor a
	 * passwd entry. Ours: $HOME, else /tekton/home (auth.h). */
	const char *home = auth_home();
	struct stat st;
	git_libgit2_opts(GIT_OPT_SET_HOMEDIR, home && stat(home, &st) == 0 && S_ISDIR(st.st_mode) ? home : "/");
	/* CA certificates: ca-file, else crt-file-name of ssl-ca-directory,
	 * else ~/.gitconfig's http.sslCAInfo, else SSL_CERT_FILE /
	 * SSL_CERT_DIR (OpenSSL reads them), else the bundle */
	_cleanup_free_ char *ca = NULL;
	TRY(ca_file(p, &ca));
	if (!ca)
		TRY(auth_gitconfig_ca(&ca));
	const char *bundle = "/etc/ssl/certs/ca-certificates.crt";
	if (!ca && !getenv("SSL_CERT_FILE") && !getenv("SSL_CERT_DIR") && access(bundle, R_OK) == 0)
		ca = xstrdup(bundle); /* where our images and Debian keep it */
	if (ca) {
		if (access(ca, R_OK) != 0)
			return err_errno(EXIT_USAGE, "ca-file %s", ca);
		if (git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, ca, NULL) < 0)
			return git_failure(-1, "cannot use ca-file %s", ca);
	}
	return NULL;
}

static err_t *publish(const char *dir, const char *rel, const struct remote_url *url, const struct clone_outcome *o,
		      struct results *r)
{
	results_sets(r, "git-repository", url->clean);
	results_sets(r, "url", url->clean);
	results_sets(r, "CHAINS-GIT_URL", url->clean);
	results_sets(r, "clone-directory", rel);
	results_sets(r, "git-branch", o->branch ? o->branch : "");
	if (o->empty) {
		results_sets(r, "git-commit", "");
		results_sets(r, "commit", "");
		results_sets(r, "CHAINS-GIT_COMMIT", "");
		results_sets(r, "git-user", "");
		results_sets(r, "commit-timestamp", "");
		results_sets(r, "committer-date", "");
		return NULL;
	}
	git_repository *repo = NULL;
	git_commit *c = NULL;
	if (git_repository_open(&repo, dir) < 0 || git_commit_lookup(&c, repo, &o->commit) < 0) {
		git_repository_free(repo);
		return git_failure(-1, "cannot read the commit checked out in %s", dir);
	}
	char hex[GIT_OID_SHA1_HEXSIZE + 1];
	git_oid_tostr(hex, sizeof hex, &o->commit);
	results_sets(r, "git-commit", hex);
	results_sets(r, "commit", hex);
	results_sets(r, "CHAINS-GIT_COMMIT", hex);
	const git_signature *author = git_commit_author(c);
	results_sets(r, "git-user", author && author->name ? author->name : "");
	const git_signature *committer = git_commit_committer(c);
	git_time_t t = committer->when.time;
	int off = committer->when.offset; /* minutes east of UTC */
	time_t local = (time_t)(t + off * 60);
	struct tm tm;
	gmtime_r(&local, &tm);
	char iso[64];
	snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+', abs(off) / 60, abs(off) % 60);
	results_sets(r, "commit-timestamp", iso);
	char epoch[32];
	snprintf(epoch, sizeof epoch, "%lld", (long long)t);
	results_sets(r, "committer-date", epoch);
	log_info("checked out %s (%s) in %s", hex, o->branch ? o->branch : "detached", rel);
	git_commit_free(c);
	git_repository_free(repo);
	return NULL;
}

static err_t *run_clone(const struct params *p, struct results *r, const struct remote_url *url,
			const struct remote_url *pr_url, struct auth *auth)
{
	const char *const *refspecs = NULL;
	size_t nrefspecs = params_list(p, "refspec", &refspecs);
	const char *rel = params_str(p, "directory");
	if (!rel || !*rel)
		rel = ".";
	struct clone_request rq = {
		.url = url,
		.branch = str_or_null(p, "branch"),
		.revision = str_or_null(p, "revision"),
		.refspecs = refspecs,
		.nrefspecs = nrefspecs,
		.depth = (int)params_int(p, "depth"),
		.submodules = params_bool(p, "submodules"),
		.pr_url = pr_url,
		.pr_branch = str_or_null(p, "pr-branch"),
		.pr_revision = str_or_null(p, "pr-revision"),
		.auth = auth,
		.max_retries = params_int(p, "max-retries"),
	};
	if (params_int(p, "depth") > 0x7fffffff)
		return err_new(EXIT_USAGE, "depth is too large");
	if ((rq.pr_branch || rq.pr_revision) && rq.depth) {
		log_warn("pull request mode fetches full history (the merge needs the fork point); depth ignored");
		rq.depth = 0;
	}
	_cleanup_free_ char *path = NULL;
	TRY(target_join(params_str(p, "workspace"), params_str(p, "directory"), &path));
	struct target t;
	err_t *e = target_prepare(&t, path, params_bool(p, "delete-existing"));
	struct clone_outcome o = { 0 };
	if (!e)
		e = clone_run(&rq, t.staging, &o);
	if (!e)
		e = target_commit(&t);
	if (!e)
		e = publish(t.path, rel, url, &o, r);
	target_free(&t); /* removes the staging directory when anything failed */
	clone_outcome_free(&o);
	return e;
}

static err_t *run(const struct params *p, struct results *r)
{
	const char *text = NULL;
	TRY(repository_url(p, &text));
	struct remote_url url, pr_url = { 0 };
	TRY(url_parse(text, &url)); /* registers a password in the URL as a secret first */
	const char *pr_text = str_or_null(p, "pr-url");
	err_t *e = pr_text ? url_parse(pr_text, &pr_url) : NULL;
	proxies_from_params(p);
	if (!e)
		e = setup_libgit2(p);
	_cleanup_free_ char *creds = credentials_file(p);
	struct auth auth;
	memset(&auth, 0, sizeof auth);
	if (!e) {
		struct auth_options ao = {
			.username = str_or_null(p, "username"),
			.token = str_or_null(p, "token"),
			.token_file = str_or_null(p, "token-file"),
			.credentials_file = creds,
			.netrc_file = str_or_null(p, "netrc-file"),
			.ssh_key = str_or_null(p, "ssh-key"),
			.ssh_passphrase = str_or_null(p, "ssh-key-passphrase"),
			.known_hosts = str_or_null(p, "known-hosts"),
			.ssl_verify = params_bool(p, "ssl-verify"),
		};
		e = auth_init(&auth, &ao, &url);
	}
	if (!e)
		e = run_clone(p, r, &url, pr_text ? &pr_url : NULL, &auth);
	auth_free(&auth);
	url_free(&pr_url);
	url_free(&url);
	git_libgit2_shutdown();
	return e;
}

int main(int argc, char **argv)
{
	return task_main(&spec, argc, argv, run);
}
