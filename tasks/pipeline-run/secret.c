/* Workspaces and Secrets given on the command line (see secret.h). */
#include "secret.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "xalloc.h"

#define SECRET_VALUE_MAX (1u << 20)

const struct tr_binding *tr_binding_find(const struct tr_binding *b, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(b[i].name, name))
			return &b[i];
	return NULL;
}

bool secret_key_ok(const char *s)
{
	size_t len = strlen(s);
	if (!len || len > 253 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '-' || *s == '.' || *s == '_'))
			return false;
	return true;
}

err_t *secret_value(const struct tr_binding *secrets, size_t n, const char *name, const char *key,
		    struct strbuf *out, bool *given)
{
	const struct tr_binding *b = tr_binding_find(secrets, n, name);
	*given = b != NULL;
	if (!b)
		return NULL;
	/* a key is a file name in DIR, never a path out of it */
	if (!secret_key_ok(key))
		return err_new(EXIT_USAGE, "secret %s: '%s' is not a valid key (Kubernetes: [-._a-zA-Z0-9]+, not . or ..)",
			       name, key);
	_cleanup_free_ char *path = xasprintf("%s/%s", b->dir, key);
	/* a file, as Kubernetes mounts a key (through symbolic links): a
	 * FIFO or a device would block the read, or never end */
	struct stat st;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return err_kind_new(EXIT_USAGE, ERR_KIND_NOT_FOUND, "secret %s has no key %s (no %s)", name, key,
					    path);
	} else if (!S_ISREG(st.st_mode)) {
		return err_new(EXIT_USAGE, "secret %s: key %s (%s) is not a regular file", name, key, path);
	}
	err_t *e = fs_read_file(path, SECRET_VALUE_MAX, out);
	if (e)
		return err_wrap(e, "secret %s has no key %s", name, key);
	log_secret(sb_str(out));
	return NULL;
}
