/* libFuzzer target for docker-lint's rules and shell reader: parse any
 * bytes leniently as a Dockerfile and run every rule (labels with a schema,
 * trusted registries), plus the shell reader on the raw bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dockerfile.h"
#include "findings.h"
#include "lint.h"
#include "shell.h"
#include "xalloc.h"

// fuzz-sources: tasks/docker-lint/lint.c tasks/docker-lint/shell.c
// fuzz-libs: -Itasks/docker-lint

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	struct sh_script s;
	sh_parse(text, &s);
	for (size_t i = 0; i < s.n; i++) {
		size_t n = 0;
		free(sh_positionals(&s.cmds[i], NULL, &n));
		(void)sh_has_opt(&s.cmds[i], "y", NULL);
	}
	sh_release(&s);
	free(text);

	struct df_file *f = NULL;
	err_t *e = df_parse_opts((const char *)data, size, "fuzz", DF_PARSE_LENIENT, &f);
	if (e) {
		err_free(e);
		return 0;
	}
	struct lint_config cfg;
	lint_config_init(&cfg);
	static const char *const names[] = { "a", "b", "c", "d", "e", "f", "g" };
	cfg.labels = xcalloc(7, sizeof *cfg.labels);
	for (int i = 0; i < 7; i++) {
		cfg.labels[i].name = xstrdup(names[i]);
		cfg.labels[i].type = (enum label_type)i;
	}
	cfg.nlabels = 7;
	cfg.strict_labels = true;
	cfg.trusted = xcalloc(1, sizeof *cfg.trusted);
	cfg.trusted[0] = xstrdup("*.example.com");
	cfg.ntrusted = 1;
	struct findings out = { 0 };
	lint_dockerfile(f, "fuzz", &cfg, &out);
	findings_sort(&out);
	findings_release(&out);
	lint_config_release(&cfg);
	df_file_free(f);
	return 0;
}
