/* Remote URLs as users write them: https://user:token@host:port/path,
 * ssh://git@host/path, scp-like git@host:path, git://, file paths.
 * Splits out the parts the credential lookup matches on, and removes any
 * credentials so that only a clean URL is stored in .git/config or shown. */
#ifndef GIT_CLONE_URL_H
#define GIT_CLONE_URL_H

#include "error.h"

struct remote_url {
	char *scheme;   /* "https", "http", "ssh", "git", "file"; "ssh" for scp-like */
	char *user;     /* NULL when absent (percent-decoded) */
	char *password; /* NULL when absent (percent-decoded) */
	char *host;     /* NULL for local paths */
	char *port;     /* NULL: the scheme's default */
	char *path;     /* "/team/app.git" ("team/app.git" scp-like); NULL for local paths */
	char *clean;    /* the URL without password (and without user for http/https) */
};

/* Parse text. A password found in it is registered as a secret first. */
err_t *url_parse(const char *text, struct remote_url *out);
void url_free(struct remote_url *u);

/* Default port of a scheme as a string ("443" for https), or NULL. */
const char *url_default_port(const char *scheme);
/* Same host and port (defaults filled in), scheme family http/https alike. */
int url_same_origin(const struct remote_url *a, const struct remote_url *b);

#endif
