/* Who we are to the servers we clone from, and who they are to us.
 *
 * Credentials, in order: a token (param, file, or the URL's password) sent
 * as HTTP basic auth only to the repository's own host; a git-credentials
 * file; a netrc file; the home's ~/.git-credentials (Tekton's basic-auth
 * layout); an SSH key for ssh:// and scp-like URLs (ssh-key, else the
 * IdentityFile lines of ~/.ssh/config for the host, else ~/.ssh/id_*).
 * ~/.ssh/config also says where an ssh host really is (HostName, Port,
 * User) and how its key is checked (UserKnownHostsFile,
 * StrictHostKeyChecking; a known-hosts param always means "must match").
 * The home is $HOME, else /tekton/home. Every password read is registered
 * as a secret before anything can print it. Server identity: TLS through
 * OpenSSL (ssl-verify, ca-file) and SSH host keys against known_hosts
 * files. The libgit2 callbacks here record why they refused, so the caller
 * can say so and pick the exit code. */
#ifndef GIT_CLONE_AUTH_H
#define GIT_CLONE_AUTH_H

#include <stdbool.h>

#include <git2.h>

#include "credfile.h"
#include "error.h"
#include "sshconfig.h"
#include "url.h"

struct auth_options {
	const char *username;         /* for the token; NULL: the URL's or "x-access-token" */
	const char *token;            /* NULL: none */
	const char *token_file;       /* NULL: none */
	const char *credentials_file; /* git-credentials format; NULL: none */
	const char *netrc_file;       /* NULL: none */
	const char *ssh_key;          /* NULL: ~/.ssh/id_ed25519, id_ecdsa, id_rsa */
	const char *ssh_passphrase;
	const char *known_hosts; /* NULL: ~/.ssh/config's UserKnownHostsFile, else ~/.ssh/known_hosts */
	bool ssl_verify;
};

struct auth {
	struct auth_options opt;
	char *token; /* owned copy (param, file or URL) */
	struct remote_url token_origin; /* the host the token may go to */
	struct cred_list creds;         /* from credentials and netrc files, then ~/.git-credentials */
	char *home;                     /* $HOME, else /tekton/home */
	const struct remote_url *current; /* the remote being talked to */
	/* the ssh remote being talked to: ~/.ssh/config's options for it, and
	 * the host and port connected to once they applied */
	struct ssh_host_config ssh;
	char *ssh_host, *ssh_port;
	char *ssh_alias_url, *ssh_connect_url; /* the last URL rewritten, and to what */
	/* what the callbacks saw during the last operation */
	int userpass_attempts, ssh_attempts;
	bool auth_refused;   /* credentials were sent and refused */
	bool no_credentials; /* the server asked and we had nothing */
	bool identity_refused; /* TLS certificate or SSH host key not trusted */
	bool bad_config;       /* ~/.ssh/config cannot be used */
	bool warned_cleartext; /* said once that a token went over http:// */
	char why[512];
};

/* origin: the repository URL; its password (if any) is the token unless
 * opt->token or opt->token_file give one. */
err_t *auth_init(struct auth *a, const struct auth_options *opt, const struct remote_url *origin);
void auth_free(struct auth *a);
/* Forget what the callbacks saw (before each attempt). */
void auth_reset_attempt(struct auth *a, const struct remote_url *current);
/* Fill the callbacks of a fetch. */
void auth_set_callbacks(struct auth *a, git_remote_callbacks *cb);
/* The home the credential layout is read from: $HOME, else /tekton/home
 * (where Tekton puts it), else NULL. */
const char *auth_home(void);
/* http.sslCAInfo of ~/.gitconfig (~ expanded), or NULL if it has none. */
err_t *auth_gitconfig_ca(char **out);

#endif
