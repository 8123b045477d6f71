/* Registry credentials and the Docker / OCI distribution auth flow, shared
 * by the registry client and the Notary (TUF) client, which speak the same
 * token protocol.
 *
 * Credentials come from, in order: explicit user/password; the auth file
 * given (Docker config.json or containers auth.json); else
 * $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,
 * $DOCKER_CONFIG/config.json, ~/.docker/config.json. In a config file,
 * `auths.<host>.auth` (base64 "user:password") or `username`/`password`
 * and `identitytoken` are read; keys may be a bare host, a host:port or a
 * URL ("https://index.docker.io/v1/"). `credHelpers` and `credsStore` are
 * ignored with a debug line (no helper binaries in a scratch image).
 *
 * On a 401, the WWW-Authenticate challenge decides: Basic -> the
 * credentials as Basic; Bearer realm=..,service=..,scope=.. -> a token is
 * fetched from the realm (GET with Basic credentials, or anonymous; POST
 * form with refresh_token for identity tokens) and cached per scope set
 * until it expires. Every credential and token is registered with
 * log_secret. */
#ifndef COMMON_REGAUTH_H
#define COMMON_REGAUTH_H

#include <stdbool.h>

#include "error.h"
#include "http.h"

struct regauth_creds {
	char *username;       /* NULL: anonymous */
	char *password;
	char *identity_token; /* OAuth2 refresh token from config.json, or NULL */
};

/* Look up credentials for host ("127.0.0.1:5000", "docker.io") in authfile
 * (NULL: the default locations). Missing file or entry -> anonymous, no
 * error; an unreadable or malformed file -> EXIT_USAGE. */
err_t *regauth_creds_lookup(const char *authfile, const char *host, struct regauth_creds *out);
/* "user:password" as the creds/src-creds/dest-creds params give them. */
err_t *regauth_creds_parse(const char *user_colon_password, struct regauth_creds *out);
void regauth_creds_free(struct regauth_creds *c);

struct regauth;

/* One auth state per remote endpoint (credentials + cached tokens). */
struct regauth *regauth_new(struct http_client *http, const struct regauth_creds *creds);
void regauth_free(struct regauth *a);

/* The Authorization header line ("Authorization: ...") to send for a
 * request needing `scopes` (space-separated, e.g.
 * "repository:team/app:pull,push"), or NULL if nothing is known yet
 * (first request goes out anonymous, the 401 tells us what to do). */
const char *regauth_header(struct regauth *a, const char *scopes);
/* Handle a 401 response: parse its WWW-Authenticate, fetch a token for
 * scopes (merged with the challenge's own scope) or set up Basic. After
 * success, retry the request with regauth_header(). Failing credentials or
 * a token endpoint saying 401/403 -> EXIT_AUTH. */
err_t *regauth_challenge(struct regauth *a, const struct http_response *resp, const char *scopes);
/* A request sent with our credentials was answered 401 again: why, when
 * that is certain (Basic credentials were sent: they are wrong), else
 * NULL (a token may lack the scope, or the repository may not exist). */
err_t *regauth_rejected(const struct regauth *a);

/* Parse one WWW-Authenticate value (exposed for tests and fuzzing):
 * scheme ("Bearer"/"Basic") and realm/service/scope parameters (owned,
 * NULL when absent). */
struct regauth_challenge {
	char *scheme, *realm, *service, *scope;
};
err_t *regauth_parse_challenge(const char *header_value, struct regauth_challenge *out);
void regauth_challenge_free(struct regauth_challenge *c);

#endif
