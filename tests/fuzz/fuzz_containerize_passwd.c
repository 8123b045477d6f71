/* Fuzz USER / --chown name resolution against a base image's /etc/passwd
 * and /etc/group (tasks/containerize rootfs_resolve_user_in). Input
 * (sections.h): the USER value, /etc/passwd, /etc/group; a missing part is
 * a missing file.
 *
 * Any bytes: no crash, no leak, and an answer the files back: a user named
 * (not a number, not the implicit root) resolves only through the first
 * passwd line of that name, which must have the uid and gid fields the
 * answer gives; a number resolves to itself. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rootfs.h"
#include "sections.h"

// fuzz-sources: tasks/containerize/rootfs.c
// fuzz-libs: -Itasks/containerize

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Field i (0-based) of a ':'-separated line into buf; false if absent. */
static bool field(const char *line, size_t len, int i, char *buf, size_t cap)
{
	const char *p = line, *end = line + len;
	for (int k = 0; k < i; k++) {
		p = memchr(p, ':', (size_t)(end - p));
		if (!p)
			return false;
		p++;
	}
	const char *q = memchr(p, ':', (size_t)(end - p));
	size_t n = (size_t)((q ? q : end) - p);
	if (n >= cap)
		return false;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return true;
}

/* The passwd line that names `name` first must say uid and gid. */
static void check_named(const char *passwd, const char *name, const struct rootfs_user *u, bool gid_from_group)
{
	for (const char *line = passwd; line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char f0[4096], f2[4096], f3[4096]; /* (a uid may carry any number of leading zeros) */
		if (field(line, len, 0, f0, sizeof f0) && !strcmp(f0, name) && field(line, len, 2, f2, sizeof f2)) {
			if (!all_digits(f2) || strtoul(f2, NULL, 10) != u->uid || !field(line, len, 3, f3, sizeof f3))
				abort();
			if (!gid_from_group && (!all_digits(f3) || strtoul(f3, NULL, 10) != u->gid))
				abort();
			return;
		}
		line = nl ? nl + 1 : NULL;
	}
	abort(); /* resolved by a name no line has */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sections s;
	sections_split(data, size, &s);
	size_t ul;
	const char *user = sections_get(&s, 0, &ul);
	const char *passwd = s.n > 1 ? s.part[1] : NULL;
	const char *group = s.n > 2 ? s.part[2] : NULL;

	struct rootfs_user u;
	err_t *e = rootfs_resolve_user_in(passwd, group, user, &u);
	if (!e) {
		char *name = xstrdup(*user ? user : "root");
		char *g = strchr(name, ':');
		if (g)
			*g++ = '\0';
		if (u.ngroups < 0 || u.ngroups > 64)
			abort();
		if (all_digits(name)) {
			if (strtoul(name, NULL, 10) != u.uid)
				abort();
		} else if (strcmp(name, "root") || u.uid != 0) {
			/* ("root" also resolves with no line for it, to uid 0) */
			if (!passwd)
				abort();
			check_named(passwd, name, &u, g != NULL);
		}
		free(name);
	}
	err_free(e);
	sections_release(&s);
	return 0;
}
