/* A real docker-registry for unit tests, through tests/servers/registry.sh
 * (run from the repository root): started on a loopback port with TLS,
 * stopped (and its directory removed) by testserver_stop. */
#ifndef TESTS_UNIT_TESTSERVER_H
#define TESTS_UNIT_TESTSERVER_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

struct testserver {
	char *work;        /* temporary directory (the registry's is work/reg) */
	char *addr;        /* 127.0.0.1:port */
	char *ca;          /* CA certificate file */
	char *user, *pass; /* htpasswd credentials ("" in mode none) */
	bool started;
};

static inline char *testserver_env_(const char *text, const char *key)
{
	const char *p = strstr(text, key);
	if (!p)
		return xstrdup("");
	p += strlen(key);
	return xstrndup(p, strcspn(p, "\n"));
}

/* mode: registry.sh's (htpasswd, none, ...). s->started tells. */
static inline void testserver_start(struct testserver *s, const char *mode)
{
	char tmpl[] = "/tmp/test-server-XXXXXX";
	memset(s, 0, sizeof *s);
	if (!mkdtemp(tmpl))
		return;
	s->work = xstrdup(tmpl);
	char *cmd = xasprintf("tests/servers/registry.sh start %s/reg %s >/dev/null 2>&1", s->work, mode);
	s->started = system(cmd) == 0;
	free(cmd);
	if (!s->started) {
		fprintf(stderr, "  cannot start docker-registry (installed? run from the repository root?)\n");
		return;
	}
	char *envp = xasprintf("%s/reg/env", s->work);
	FILE *f = fopen(envp, "r");
	char buf[4096] = { 0 };
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	buf[n] = '\0';
	if (f)
		fclose(f);
	free(envp);
	s->addr = testserver_env_(buf, "REGISTRY=");
	s->ca = testserver_env_(buf, "REGISTRY_CA=");
	s->user = testserver_env_(buf, "REGISTRY_USER=");
	s->pass = testserver_env_(buf, "REGISTRY_PASS=");
}

/* A new registry process: same port, storage and certificates. */
static inline bool testserver_restart(struct testserver *s)
{
	char *cmd = xasprintf("tests/servers/registry.sh stop %s/reg && tests/servers/registry.sh restart %s/reg >/dev/null 2>&1",
			      s->work, s->work);
	bool ok = system(cmd) == 0;
	free(cmd);
	return ok;
}

static inline bool testserver_stop(struct testserver *s)
{
	bool ok = true;
	if (s->work) {
		char *cmd = xasprintf("tests/servers/registry.sh stop %s/reg; rm -rf %s", s->work, s->work);
		ok = system(cmd) == 0;
		free(cmd);
	}
	free(s->work);
	free(s->addr);
	free(s->ca);
	free(s->user);
	free(s->pass);
	memset(s, 0, sizeof *s);
	return ok;
}

#endif
