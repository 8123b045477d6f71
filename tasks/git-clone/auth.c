#include "auth.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libssh2.h>

#include <git2/sys/errors.h>

#include "cleanup.h"
#include "credfile.h"
#include "fsutil.h"
#include "log.h"
#include "strbuf.h"
#include "xalloc.h"

const char *auth_home(void)
{
	const char *home = getenv("HOME");
	if (home && *home)
		return home;
	struct stat st;
	if (stat("/tekton/home", &st) == 0 && S_ISDIR(st.st_mode))
		return "/tekton/home";
	return NULL;
}

static char *home_file(const char *rel)
{
	const char *home = auth_home();
	return xasprintf("%s/%s", home ? home : "", rel);
}

err_t *auth_gitconfig_ca(char **out)
{
	*out = NULL;
	_cleanup_free_ char *path = home_file(".gitconfig");
	if (access(path, F_OK) != 0)
		return NULL;
	git_config *cfg = NULL;
	git_buf buf = GIT_BUF_INIT;
	if (git_config_open_ondisk(&cfg, path) < 0)
		return err_new(EXIT_USAGE, "%s: %s", path, git_error_last() ? git_error_last()->message : "unreadable");
	int rc = git_config_get_path(&buf, cfg, "http.sslcainfo");
	git_config_free(cfg);
	if (rc == GIT_ENOTFOUND)
		return NULL;
	if (rc < 0)
		return err_new(EXIT_USAGE, "%s: http.sslCAInfo: %s", path,
			       git_error_last() ? git_error_last()->message : "unreadable");
	/* git_config_get_path expands ~/ with libgit2's home: expand ours */
	const char *v = buf.ptr;
	const char *home = auth_home();
	if (v[0] == '~' && v[1] == '/' && home)
		*out = xasprintf("%s%s", home, v + 1);
	else
		*out = xstrdup(v);
	git_buf_dispose(&buf);
	log_debug("CA certificates from http.sslCAInfo of %s: %s", path, *out);
	return NULL;
}

err_t *auth_init(struct auth *a, const struct auth_options *opt, const struct remote_url *origin)
{
	memset(a, 0, sizeof *a);
	a->opt = *opt;
	if (opt->token && *opt->token && opt->token_file && *opt->token_file)
		return err_new(EXIT_USAGE, "give token or token-file, not both");
	if (opt->token && *opt->token) {
		a->token = xstrdup(opt->token);
	} else if (opt->token_file && *opt->token_file) {
		struct strbuf sb = STRBUF_INIT;
		err_t *e = fs_read_file(opt->token_file, 64 * 1024, &sb);
		if (e) {
			sb_release(&sb);
			return err_wrap(e, "token-file");
		}
		while (sb.len && isspace((unsigned char)sb.buf[sb.len - 1]))
			sb.buf[--sb.len] = '\0';
		a->token = sb_detach(&sb);
		if (strlen(a->token) < LOG_SECRET_MIN)
			return err_new(EXIT_USAGE, "token-file %s holds no token (or one too short)", opt->token_file);
		log_secret(a->token);
	} else if (origin->password) {
		a->token = xstrdup(origin->password);
		if (!a->opt.username && origin->user)
			a->opt.username = origin->user;
	}
	if (origin->host) {
		a->token_origin.host = xstrdup(origin->host);
		a->token_origin.scheme = xstrdup(origin->scheme);
		a->token_origin.port = origin->port ? xstrdup(origin->port) : NULL;
	}
	if (opt->credentials_file && *opt->credentials_file)
		TRY(credfile_read(&a->creds, opt->credentials_file, false));
	if (opt->netrc_file && *opt->netrc_file)
		TRY(credfile_read(&a->creds, opt->netrc_file, true));
	/* Tekton's basic-auth layout, after whatever the params name */
	_cleanup_free_ char *store = home_file(".git-credentials");
	if (access(store, F_OK) == 0) {
		log_debug("credentials also from %s", store);
		TRY(credfile_read(&a->creds, store, false));
	}
	if (origin->scheme && !strcmp(origin->scheme, "ssh") && origin->host) {
		/* a broken ~/.ssh/config is a usage error, said before any connection */
		struct ssh_host_config c;
		_cleanup_free_ char *cfg = home_file(".ssh/config");
		const char *home = auth_home();
		TRY(sshconfig_read(cfg, origin->host, home ? home : "", &c));
		sshconfig_free(&c);
	}
	return NULL;
}

void auth_free(struct auth *a)
{
	free(a->token);
	url_free(&a->token_origin);
	credfile_free(&a->creds);
	sshconfig_free(&a->ssh);
	free(a->ssh_host);
	free(a->ssh_port);
	free(a->ssh_alias_url);
	free(a->ssh_connect_url);
	memset(a, 0, sizeof *a);
}

void auth_reset_attempt(struct auth *a, const struct remote_url *current)
{
	a->current = current;
	a->userpass_attempts = a->ssh_attempts = 0;
	a->auth_refused = a->no_credentials = a->identity_refused = a->bad_config = false;
	a->why[0] = '\0';
}

static int refuse(struct auth *a, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(struct auth *a, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(a->why, sizeof a->why, fmt, ap);
	va_end(ap);
	git_error_set_str(GIT_ERROR_CALLBACK, a->why);
	return code;
}

static int userpass(struct auth *a, git_credential **out, const char *url, const char *url_user)
{
	struct remote_url u;
	err_t *e = url_parse(url, &u);
	if (e) {
		err_free(e);
		return refuse(a, GIT_EAUTH, "cannot parse the URL asking for credentials");
	}
	const char *user = NULL, *pass = NULL;
	if (a->token && url_same_origin(&a->token_origin, &u)) {
		user = a->opt.username ? a->opt.username : url_user && *url_user ? url_user : "x-access-token";
		pass = a->token;
		if (!strcmp(u.scheme, "http") && !a->warned_cleartext) {
			a->warned_cleartext = true;
			log_warn("sending the token to %s over plain http://: anyone on the path can read it", u.host);
		}
	} else {
		const struct cred_entry *c = credfile_find(&a->creds, &u);
		if (c) {
			user = c->user && *c->user ? c->user : url_user ? url_user : "";
			pass = c->password ? c->password : "";
		}
	}
	int rc;
	if (!pass) {
		a->no_credentials = true;
		rc = refuse(a, GIT_EAUTH,
			    "%s asked for credentials and none were given for it (token, token-file, credentials-file, netrc-file)",
			    u.host ? u.host : "the server");
	} else if (++a->userpass_attempts > 1) {
		a->auth_refused = true;
		rc = refuse(a, GIT_EAUTH, "%s refused the credentials for user '%s'", u.host ? u.host : "the server", user);
	} else {
		rc = git_credential_userpass_plaintext_new(out, user, pass);
	}
	url_free(&u);
	return rc;
}

/* The keys to offer, in order: ssh-key, else ~/.ssh/config's IdentityFile
 * lines for the host (those that exist, as ssh does), else the usual
 * ~/.ssh/id_* that exist. */
static size_t ssh_key_candidates(const struct auth *a, char ***out)
{
	char **v = NULL;
	size_t n = 0;
	if (a->opt.ssh_key && *a->opt.ssh_key) {
		v = xmalloc(sizeof *v);
		v[n++] = xstrdup(a->opt.ssh_key);
	} else if (a->ssh.nidentity) {
		for (size_t i = 0; i < a->ssh.nidentity; i++) {
			if (access(a->ssh.identity_files[i], F_OK) != 0)
				continue;
			v = xrealloc(v, (n + 1) * sizeof *v);
			v[n++] = xstrdup(a->ssh.identity_files[i]);
		}
	} else {
		static const char *const names[] = { ".ssh/id_ed25519", ".ssh/id_ecdsa", ".ssh/id_rsa" };
		for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
			char *p = home_file(names[i]);
			if (access(p, F_OK) == 0) {
				v = xrealloc(v, (n + 1) * sizeof *v);
				v[n++] = p;
			} else {
				free(p);
			}
		}
	}
	*out = v;
	return n;
}

static int ssh_key(struct auth *a, git_credential **out, const char *url_user)
{
	const char *user = url_user && *url_user ? url_user : "git";
	char **keys = NULL;
	size_t n = ssh_key_candidates(a, &keys);
	int rc;
	size_t i = (size_t)a->ssh_attempts++;
	if (!n) {
		a->no_credentials = true;
		rc = refuse(a, GIT_EAUTH, "no SSH key (give ssh-key, or IdentityFile in ~/.ssh/config, or ~/.ssh/id_*)");
	} else if (i >= n) {
		a->auth_refused = true;
		rc = refuse(a, GIT_EAUTH, "the SSH server refused the key%s %s%s for user '%s'", n > 1 ? "s" : "", keys[0],
			    n > 1 ? " ..." : "", user);
	} else if (access(keys[i], R_OK) != 0) {
		a->no_credentials = true;
		rc = refuse(a, GIT_EAUTH, "SSH key %s is not readable", keys[i]);
	} else {
		/* with the .pub beside it, libssh2 need not derive the public key */
		_cleanup_free_ char *pub = xasprintf("%s.pub", keys[i]);
		log_debug("offering SSH key %s as '%s'", keys[i], user);
		rc = git_credential_ssh_key_new(out, user, access(pub, R_OK) == 0 ? pub : NULL, keys[i],
						a->opt.ssh_passphrase);
	}
	for (size_t k = 0; k < n; k++)
		free(keys[k]);
	free(keys);
	return rc;
}

static int credentials_cb(git_credential **out, const char *url, const char *username_from_url,
			  unsigned int allowed, void *payload)
{
	struct auth *a = payload;
	if (allowed & GIT_CREDENTIAL_USERNAME)
		return git_credential_username_new(out, username_from_url && *username_from_url ? username_from_url : "git");
	if (allowed & GIT_CREDENTIAL_SSH_KEY)
		return ssh_key(a, out, username_from_url);
	if (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT)
		return userpass(a, out, url, username_from_url);
	a->no_credentials = true;
	return refuse(a, GIT_EAUTH, "the server asked for a kind of authentication we do not support");
}

static int knownhost_type(git_cert_ssh_raw_type_t t)
{
	switch (t) {
	case GIT_CERT_SSH_RAW_TYPE_RSA: return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
	case GIT_CERT_SSH_RAW_TYPE_DSS: return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
	case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_256: return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
	case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_384: return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
	case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_521: return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
	case GIT_CERT_SSH_RAW_TYPE_KEY_ED25519: return LIBSSH2_KNOWNHOST_KEY_ED25519;
	default: return -1;
	}
}

static int check_host_key(struct auth *a, const git_cert_hostkey *hk, const char *host)
{
	a->identity_refused = true; /* until proven otherwise */
	bool pinned = a->opt.known_hosts && *a->opt.known_hosts; /* the param: must match, always */
	enum ssh_strict strict = pinned ? SSH_STRICT_YES : a->ssh.strict;
	const char *portstr = a->ssh_port ? a->ssh_port : a->current && a->current->port ? a->current->port : "22";
	int port = atoi(portstr);
	if (strict == SSH_STRICT_NO) {
		log_warn("the SSH host key of %s:%d is NOT checked (StrictHostKeyChecking no in ~/.ssh/config)", host, port);
		a->identity_refused = false;
		return 0;
	}
	int type = knownhost_type(hk->raw_type);
	if (!(hk->type & GIT_CERT_SSH_RAW) || type < 0)
		return refuse(a, GIT_ECERTIFICATE, "the SSH host key of %s is of a type we cannot check", host);
	/* the files: known-hosts, else UserKnownHostsFile, else ~/.ssh/known_hosts */
	size_t nfiles = pinned ? 1 : a->ssh.nknown_hosts ? a->ssh.nknown_hosts : 1;
	_cleanup_free_ char *dflt = pinned || a->ssh.nknown_hosts ? NULL : home_file(".ssh/known_hosts");
	struct strbuf names = STRBUF_INIT;
	LIBSSH2_SESSION *s = libssh2_session_init();
	LIBSSH2_KNOWNHOSTS *kh = s ? libssh2_knownhost_init(s) : NULL;
	size_t read = 0;
	int rc = 0;
	if (!kh)
		rc = refuse(a, GIT_ECERTIFICATE, "cannot set up the known_hosts check");
	for (size_t i = 0; kh && !rc && i < nfiles; i++) {
		const char *path = pinned ? a->opt.known_hosts : dflt ? dflt : a->ssh.known_hosts_files[i];
		sb_addf(&names, "%s%s", i ? ", " : "", path);
		if (libssh2_knownhost_readfile(kh, path, LIBSSH2_KNOWNHOST_FILE_OPENSSH) >= 0)
			read++;
		else if (pinned || access(path, F_OK) == 0)
			rc = refuse(a, GIT_ECERTIFICATE, "cannot read known_hosts file %s (give known-hosts)", path);
		/* a file that does not exist holds no keys, as for ssh */
	}
	if (kh && !rc) {
		int check = read ? libssh2_knownhost_checkp(kh, host, port, hk->hostkey, hk->hostkey_len,
							    LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | type,
							    NULL)
				 : LIBSSH2_KNOWNHOST_CHECK_NOTFOUND;
		if (check == LIBSSH2_KNOWNHOST_CHECK_MATCH) {
			a->identity_refused = false;
		} else if (check == LIBSSH2_KNOWNHOST_CHECK_MISMATCH) {
			rc = refuse(a, GIT_ECERTIFICATE, "the SSH host key of %s:%d does NOT match %s", host, port,
				    sb_str(&names));
		} else if (strict == SSH_STRICT_ACCEPT_NEW) {
			log_warn("%s:%d is not in known_hosts (%s): its key is taken as it is "
				 "(StrictHostKeyChecking accept-new in ~/.ssh/config)",
				 host, port, sb_str(&names));
			a->identity_refused = false;
		} else {
			rc = refuse(a, GIT_ECERTIFICATE, "%s:%d is not in known_hosts file %s", host, port, sb_str(&names));
		}
	}
	sb_release(&names);
	if (kh)
		libssh2_knownhost_free(kh);
	if (s)
		libssh2_session_free(s);
	return rc;
}

static int certificate_cb(git_cert *cert, int valid, const char *host, void *payload)
{
	struct auth *a = payload;
	if (cert->cert_type == GIT_CERT_HOSTKEY_LIBSSH2)
		return check_host_key(a, (const git_cert_hostkey *)cert, host);
	if (!a->opt.ssl_verify)
		return 0;
	if (valid)
		return 0;
	a->identity_refused = true;
	return refuse(a, GIT_ECERTIFICATE,
		      "the TLS certificate of %s is not trusted (give ca-file, or ssl-verify=false to skip the check)",
		      host);
}

/* ~/.ssh/config for an ssh remote, before it connects: its options for the
 * host the URL names, and the URL libgit2 connects to rewritten with its
 * HostName, Port (unless the URL has one) and User (unless the URL has
 * one), as ssh would connect. The remote's configured URL stays. */
static int remote_ready_cb(git_remote *remote, int direction, void *payload)
{
	(void)direction;
	struct auth *a = payload;
	sshconfig_free(&a->ssh);
	free(a->ssh_host);
	free(a->ssh_port);
	a->ssh_host = a->ssh_port = NULL;
	/* libgit2 keeps the instance URL as the remote's URL: a remote seen
	 * again (a fetch after listing the refs) is read as the user wrote it */
	const char *now = git_remote_url(remote);
	/* a copy: setting the instance URL frees the remote's */
	_cleanup_free_ char *text = xstrdup(a->ssh_connect_url && now && !strcmp(now, a->ssh_connect_url)
						    ? a->ssh_alias_url
						    : now ? now : "");
	struct remote_url u;
	err_t *e = url_parse(text, &u);
	if (e || !u.scheme || strcmp(u.scheme, "ssh") || !u.host || !u.path) {
		err_free(e);
		url_free(&u);
		return 0;
	}
	_cleanup_free_ char *cfg = home_file(".ssh/config");
	const char *home = auth_home();
	e = sshconfig_read(cfg, u.host, home ? home : "", &a->ssh);
	if (e) {
		char *why = err_describe(e);
		err_free(e);
		url_free(&u);
		a->bad_config = true;
		int rc = refuse(a, GIT_EUSER, "%s", why);
		free(why);
		return rc;
	}
	const char *host = a->ssh.hostname ? a->ssh.hostname : u.host;
	const char *port = u.port ? u.port : a->ssh.port;
	const char *user = u.user ? u.user : a->ssh.user;
	a->ssh_host = xstrdup(host);
	a->ssh_port = port ? xstrdup(port) : NULL;
	int rc = 0;
	if (host != u.host || port != u.port || user != u.user) {
		bool v6 = strchr(host, ':') && host[0] != '[';
		/* an scp-like path is relative to the login's home: /~/ in a URL */
		_cleanup_free_ char *url = xasprintf("ssh://%s%s%s%s%s%s%s%s", user ? user : "", user ? "@" : "",
						     v6 ? "[" : "", host, v6 ? "]" : "", port ? ":" : "", port ? port : "",
						     u.path[0] == '/' ? u.path : "/~/");
		_cleanup_free_ char *full = u.path[0] == '/' ? xstrdup(url) : xasprintf("%s%s", url, u.path);
		log_debug("%s: connecting to %s (~/.ssh/config)", u.clean, full);
		rc = git_remote_set_instance_url(remote, full);
		free(a->ssh_alias_url);
		free(a->ssh_connect_url);
		a->ssh_alias_url = xstrdup(text);
		a->ssh_connect_url = xstrdup(full);
	}
	url_free(&u);
	return rc;
}

void auth_set_callbacks(struct auth *a, git_remote_callbacks *cb)
{
	cb->credentials = credentials_cb;
	cb->certificate_check = certificate_cb;
	cb->remote_ready = remote_ready_cb;
	cb->payload = a;
}
