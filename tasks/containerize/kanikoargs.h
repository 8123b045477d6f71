/* kaniko executor flags, as a Pipeline hands them to the kaniko drop-in
 * Task through EXTRA_ARGS (tekton/compat/kaniko.yaml): the ones that have
 * a containerize equivalent are translated, every other one is refused by
 * name, never dropped. */
#ifndef CONTAINERIZE_KANIKOARGS_H
#define CONTAINERIZE_KANIKOARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct kaniko_args {
	const char **build_args; /* NAME=value, pointing into the items */
	size_t nbuild_args;
	const char **labels; /* key=value */
	size_t nlabels;
	const char *target;
	const char *cache_repo;
	const char *ca_file; /* of --registry-certificate=host=path */
	bool insecure;       /* --skip-tls-verify, --insecure and their -pull forms */
	bool no_push;
};

/* Parse items (each "--flag", "--flag=value", or "--flag" "value" for a
 * flag that takes a value). Translated: --build-arg, --label, --target,
 * --cache-repo, --registry-certificate (one), --skip-tls-verify[-pull],
 * --insecure[-pull], --no-push; accepted: --cache, --reproducible. */
err_t *kaniko_args_parse(const char *const *items, size_t n, struct kaniko_args *out);

void kaniko_args_release(struct kaniko_args *k);

#endif
