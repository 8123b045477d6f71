/* A client for a Notary v1 server's TUF API (Docker Content Trust):
 * fetch role metadata and server-held public keys, publish signed roles
 * (multipart POST, as the notary CLI does), delete a repository's trust
 * data. One `struct notary` talks to one GUN on one server. Network errors
 * follow common/http (retries, then EXIT_UNREACHABLE); 401/403 EXIT_AUTH;
 * a publish the server refuses because another writer got there first is
 * reported with NOTARY_CONFLICT in *conflict so the caller can re-read and
 * retry. */
#ifndef COMMON_NOTARY_H
#define COMMON_NOTARY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "http.h"
#include "strbuf.h"

struct notary_options {
	const char *url;     /* https://host:port */
	const char *ca_file; /* CA of the server's TLS certificate */
	const char *client_cert, *client_key;
	int retries;
	const char *tls_session_dir; /* see http_options */
	long timeout_ms; /* connect and per-request limit; 0: 5 s connect, 60 s per request */
};

struct notary;

err_t *notary_open(const struct notary_options *opts, const char *gun, struct notary **out);
void notary_close(struct notary *n);
const char *notary_gun(const struct notary *n);

/* Send GET <role>.json now and keep the answer until it is asked for
 * (notary_get_role), so the caller's own work (reading keys and its trust
 * state) overlaps the server's, and several roles are fetched side by
 * side (up to NOTARY_AHEAD_MAX at once; past that, a role is fetched when
 * asked for). Errors come with the answer. Asking for a role again drops
 * the answer kept and fetches it afresh. Nothing is verified here: the
 * answers are only bytes, verified by whoever asks for them, in TUF order,
 * exactly as fetched ones. */
#define NOTARY_AHEAD_MAX 8
void notary_prefetch(struct notary *n, const char *role);
/* The same for several roles at once, without waiting for any to be sent:
 * they go out side by side while the first is waited for. */
void notary_prefetch_roles(struct notary *n, const char *const *roles, size_t count);
/* GET <role>.json; *found false on 404 (out untouched). */
err_t *notary_get_role(struct notary *n, const char *role, struct strbuf *out, bool *found);
/* GET <role>.key: the server's public key for timestamp or snapshot (the
 * server creates it on first request). */
err_t *notary_get_key(struct notary *n, const char *role, json_t **key);

struct notary_file {
	const char *role; /* "root", "targets", "targets/build", ... */
	const char *data;
	size_t len;
};
/* POST the files in one update. *conflict (may be NULL) is set when the
 * server refused them as stale (another writer published first). */
err_t *notary_publish(struct notary *n, const struct notary_file *files, size_t count, bool *conflict);
/* DELETE the GUN's trust data. */
err_t *notary_delete(struct notary *n);

/* A role fetcher over this server for trust_verify. */
err_t *notary_fetch(void *ctx, const char *role, struct strbuf *out, bool *found);

#endif
