/* Credential files, parsed into one list: git-credentials (one
 * scheme://user:password@host[:port][/path] URL per line, matched on scheme,
 * host and port, and path prefix when the line has a path) and netrc (machine/login/password, matched on host; "default"
 * for any host). Every password is registered as a secret as it is read,
 * and no error ever quotes a line of these files. */
#ifndef GIT_CLONE_CREDFILE_H
#define GIT_CLONE_CREDFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "url.h"

struct cred_entry {
	struct remote_url url; /* scheme NULL: a netrc entry (host only) */
	bool any_host;         /* netrc "default" */
	char *user, *password;
	struct cred_entry *next;
};

struct cred_list {
	struct cred_entry *head;
};

/* text need not be NUL-terminated; what names the file in errors. */
err_t *credfile_parse_git_credentials(struct cred_list *l, const char *text, size_t len, const char *what);
err_t *credfile_parse_netrc(struct cred_list *l, const char *text, size_t len, const char *what);
/* Read and parse a file of either kind. */
err_t *credfile_read(struct cred_list *l, const char *path, bool netrc);
/* The first entry for u: git-credentials by scheme, host, port and path
 * prefix, netrc by host, then a netrc default; NULL if none. */
const struct cred_entry *credfile_find(const struct cred_list *l, const struct remote_url *u);
void credfile_free(struct cred_list *l);

#endif
