/* libFuzzer target for git-clone's parsers of untrusted text: repository
 * URLs (url.c), git-credentials and netrc files (credfile.c), the
 * workspace/directory join that must never climb out (target.c), and
 * ~/.ssh/config (sshconfig.c). The first byte picks the parser; the rest is
 * its input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "credfile.h"
#include "log.h"
#include "sshconfig.h"
#include "target.h"
#include "url.h"
#include "xalloc.h"

// fuzz-sources: tasks/git-clone/url.c tasks/git-clone/credfile.c tasks/git-clone/target.c tasks/git-clone/sshconfig.c
// fuzz-libs: -Itasks/git-clone

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void lookups(const struct cred_list *l)
{
	static const char *const urls[] = { "https://example.test/a.git", "http://example.test:8080/a.git",
					    "ssh://git@example.test/a.git", "git@example.test:a.git" };
	for (size_t i = 0; i < sizeof urls / sizeof *urls; i++) {
		struct remote_url u;
		err_t *e = url_parse(urls[i], &u);
		if (!e)
			(void)credfile_find(l, &u);
		err_free(e);
		url_free(&u);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	char *s = xstrndup(text, len);
	struct cred_list l = { NULL };
	err_t *e = NULL;
	switch (data[0] % 5) {
	case 0: {
		struct remote_url u;
		e = url_parse(s, &u);
		url_free(&u);
		break;
	}
	case 1:
		e = credfile_parse_git_credentials(&l, text, len, "fuzz");
		lookups(&l);
		break;
	case 2:
		e = credfile_parse_netrc(&l, text, len, "fuzz");
		lookups(&l);
		break;
	case 3: {
		char *nl = strchr(s, '\n');
		char *out = NULL;
		if (nl)
			*nl = '\0';
		const char *dir = nl ? nl + 1 : "";
		e = target_join(s, dir, &out);
		size_t dl = strlen(dir);
		if (!e && (!strncmp(dir, "../", 3) || strstr(dir, "/../") || !strcmp(dir, "..") ||
			   (dl >= 3 && !strcmp(dir + dl - 3, "/..")) || dir[0] == '/'))
			abort(); /* a directory that climbs or is absolute is refused */
		free(out);
		break;
	}
	case 4: {
		static const char *const hosts[] = { "github.com", "git.example.test", "a" };
		for (size_t i = 0; i < sizeof hosts / sizeof *hosts; i++) {
			struct ssh_host_config c;
			err_t *ce = sshconfig_parse(text, len, "fuzz", hosts[i], "/home/f", &c);
			if (ce && (c.nidentity || c.hostname || c.port))
				abort(); /* a refused config gives no options */
			err_free(ce);
			sshconfig_free(&c);
		}
		break;
	}
	}
	err_free(e);
	credfile_free(&l);
	free(s);
	log_forget_secrets();
	return 0;
}
