/* Fuzz docker-lint's config file, .hadolint.yaml (tasks/docker-lint
 * lintconfig_apply), which comes with the repository being linted. Input:
 * the config's bytes. Any bytes: applied or refused, never a crash or a
 * leak; what is applied then lints a small Dockerfile (labels against the
 * schema, trusted registries, severities) without trouble. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dockerfile.h"
#include "findings.h"
#include "lint.h"
#include "lintconfig.h"
#include "log.h"

// fuzz-sources: tasks/docker-lint/lintconfig.c tasks/docker-lint/lint.c tasks/docker-lint/shell.c
// fuzz-libs: -Itasks/docker-lint

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char dockerfile[] = "FROM registry.example/base:1.2@sha256:"
				 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
				 "LABEL version=\"1.0.0\" url=\"https://example.org\" created=\"2024-01-01T00:00:00Z\"\n"
				 "RUN apt-get install -y curl && cd /tmp\n"
				 "USER app\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct df_file *f;
	if (!f) {
		log_setup("fuzz_hadolint_config", LOG_HUMAN, LOG_ERROR);
		err_t *e = df_parse(dockerfile, strlen(dockerfile), "Dockerfile", &f);
		if (e)
			__builtin_trap();
	}
	struct lint_config cfg;
	lint_config_init(&cfg);
	enum severity threshold = SEV_ERROR;
	bool set = false;
	err_t *e = lintconfig_apply((const char *)data, size, ".hadolint.yaml", &cfg, &threshold, &set);
	if (!e) {
		struct findings out = { 0 };
		lint_dockerfile(f, "Dockerfile", &cfg, &out);
		findings_sort(&out);
		findings_release(&out);
	}
	err_free(e);
	lint_config_release(&cfg);
	return 0;
}
