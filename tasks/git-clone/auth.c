#include "auth.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libssh2.h>

#include <git2/sys/errors.h>

#include "cleanup.h"
#include "credfile.h"
#include "fsutil.h"
#include "log.h"
#include "strbuf.h"
#include "xalloc.h"

static char *home_file(const char *rel)
{
	const char *home = getenv("HOME");
	return xasprintf("%s/%s", home && *home ? home : "/", rel);
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
	return NULL;
}

void auth_free(struct auth *a)
{
	free(a->token);
	url_free(&a->token_origin);
	credfile_free(&a->creds);
	memset(a, 0, sizeof *a);
}

void auth_reset_attempt(struct auth *a, const struct remote_url *current)
{
	a->current = current;
	a->userpass_attempts = a->ssh_attempts = 0;
	a->auth_refused = a->no_credentials = a->identity_refused = false;
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

static int ssh_key(struct auth *a, git_credential **out, const char *url_user)
{
	const char *user = url_user && *url_user ? url_user : "git";
	if (++a->ssh_attempts > 1) {
		a->auth_refused = true;
		return refuse(a, GIT_EAUTH, "the SSH server refused the key for user '%s'", user);
	}
	_cleanup_free_ char *key = NULL;
	if (a->opt.ssh_key && *a->opt.ssh_key) {
		key = xstrdup(a->opt.ssh_key);
	} else {
		static const char *const names[] = { ".ssh/id_ed25519", ".ssh/id_ecdsa", ".ssh/id_rsa" };
		for (size_t i = 0; i < sizeof names / sizeof *names && !key; i++) {
			char *p = home_file(names[i]);
			if (access(p, R_OK) == 0)
				key = p;
			else
				free(p);
		}
	}
	if (!key || access(key, R_OK) != 0) {
		a->no_credentials = true;
		return refuse(a, GIT_EAUTH, "no readable SSH key (give ssh-key)%s%s", key ? ": " : "", key ? key : "");
	}
	/* with the .pub beside it, libssh2 need not derive the public key */
	_cleanup_free_ char *pub = xasprintf("%s.pub", key);
	return git_credential_ssh_key_new(out, user, access(pub, R_OK) == 0 ? pub : NULL, key, a->opt.ssh_passphrase);
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
	int type = knownhost_type(hk->raw_type);
	if (!(hk->type & GIT_CERT_SSH_RAW) || type < 0)
		return refuse(a, GIT_ECERTIFICATE, "the SSH host key of %s is of a type we cannot check", host);
	_cleanup_free_ char *path = a->opt.known_hosts && *a->opt.known_hosts ? xstrdup(a->opt.known_hosts)
									  : home_file(".ssh/known_hosts");
	LIBSSH2_SESSION *s = libssh2_session_init();
	LIBSSH2_KNOWNHOSTS *kh = s ? libssh2_knownhost_init(s) : NULL;
	int rc;
	if (!kh) {
		rc = refuse(a, GIT_ECERTIFICATE, "cannot set up the known_hosts check");
	} else if (libssh2_knownhost_readfile(kh, path, LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) {
		rc = refuse(a, GIT_ECERTIFICATE, "cannot read known_hosts file %s (give known-hosts)", path);
	} else {
		int port = a->current && a->current->port ? atoi(a->current->port) : 22;
		int check = libssh2_knownhost_checkp(kh, host, port, hk->hostkey, hk->hostkey_len,
						     LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | type,
						     NULL);
		if (check == LIBSSH2_KNOWNHOST_CHECK_MATCH) {
			a->identity_refused = false;
			rc = 0;
		} else if (check == LIBSSH2_KNOWNHOST_CHECK_MISMATCH) {
			rc = refuse(a, GIT_ECERTIFICATE, "the SSH host key of %s:%d does NOT match %s", host, port, path);
		} else {
			rc = refuse(a, GIT_ECERTIFICATE, "%s:%d is not in known_hosts file %s", host, port, path);
		}
	}
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

void auth_set_callbacks(struct auth *a, git_remote_callbacks *cb)
{
	cb->credentials = credentials_cb;
	cb->certificate_check = certificate_cb;
	cb->payload = a;
}
