/* The part of an OpenSSH client config (ssh_config(5)) that decides where
 * and as whom git-clone connects, and how it trusts the server: the subset
 * Tekton's creds-init writes into ~/.ssh/config for each ssh secret (Host,
 * HostName, Port, IdentityFile ~/.ssh/id_<secret>, and without known_hosts
 * StrictHostKeyChecking) plus User and UserKnownHostsFile.
 *
 * As ssh reads it: the blocks whose Host patterns match (wildcards * and ?,
 * !negation, case-insensitive) apply in file order, the first value of an
 * option wins, IdentityFile values add up. Match and Include are not
 * supported (their blocks are skipped, with a warning); other keywords are
 * ignored. Paths expand ~ and %d (home), %h (host), %%. */
#ifndef GIT_CLONE_SSHCONFIG_H
#define GIT_CLONE_SSHCONFIG_H

#include <stddef.h>

#include "error.h"

enum ssh_strict {
	SSH_STRICT_UNSET, /* as yes: the host key must be known */
	SSH_STRICT_YES,
	SSH_STRICT_ACCEPT_NEW, /* an unknown key is taken, a changed one refused */
	SSH_STRICT_NO,         /* the host key is not checked */
};

struct ssh_host_config {
	char *hostname; /* NULL: unset */
	char *port;     /* NULL: unset */
	char *user;     /* NULL: unset */
	char **identity_files; /* in order */
	size_t nidentity;
	char **known_hosts_files; /* UserKnownHostsFile */
	size_t nknown_hosts;
	enum ssh_strict strict;
};

/* The options for host (the alias as the URL names it). text need not be
 * NUL-terminated; what names the file in errors. */
err_t *sshconfig_parse(const char *text, size_t len, const char *what, const char *host, const char *home,
		       struct ssh_host_config *out);
/* The same from a file; a file that does not exist gives no options. */
err_t *sshconfig_read(const char *path, const char *host, const char *home, struct ssh_host_config *out);
void sshconfig_free(struct ssh_host_config *c);

#endif
