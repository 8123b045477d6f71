/* Where a Kubernetes API server is and how to authenticate to it, read the
 * way kubectl (client-go) reads it: a kubeconfig file (an explicit path,
 * else every file of $KUBECONFIG merged, the first file naming a context
 * or an entry winning, else ~/.kube/config) with its current or a named
 * context, cluster (server, certificate-authority(-data),
 * insecure-skip-tls-verify) and user (token, tokenFile,
 * client-certificate(-data) + client-key(-data), username + password);
 * or, when no kubeconfig exists, the in-cluster service account (token,
 * ca.crt and namespace files, KUBERNETES_SERVICE_HOST/PORT), as a Tekton
 * step sees it. Exec credential plugins and auth providers are refused
 * with a clear "not supported" error.
 *
 * Inline *-data values are decoded into files in a private directory
 * (0700, files 0600) that kubeconfig_free removes: libcurl reads
 * certificates and keys from files. Tokens and passwords are registered
 * with log_secret as soon as they are read. Relative paths in a file are
 * relative to that file's directory, as in kubectl.
 *
 * Errors: a missing or malformed kubeconfig, an unknown context, cluster
 * or user, or an unsupported auth method are EXIT_USAGE naming the file
 * (file:line where the YAML is at fault). */
#ifndef COMMON_KUBECONFIG_H
#define COMMON_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct kubeconfig {
	char *source;      /* the file read, or "in-cluster service account" */
	char *context;     /* the context used (NULL in-cluster) */
	char *server;      /* https://host:port, no trailing slash */
	char *namespace;   /* the context's namespace, or NULL */
	char *ca_file;     /* PEM CA bundle to trust, or NULL (system CAs) */
	bool insecure;     /* insecure-skip-tls-verify */
	char *token;       /* bearer token, or NULL */
	char *client_cert; /* PEM client certificate file, or NULL */
	char *client_key;  /* its key, or NULL */
	char *username, *password; /* basic auth, or NULL */
	char *tmpdir;      /* holds decoded *-data files, removed on free */
};

/* Load from a kubeconfig: path (NULL: $KUBECONFIG, colon-separated and
 * merged, else $HOME/.kube/config) and context (NULL: current-context). */
err_t *kubeconfig_load(const char *path, const char *context, struct kubeconfig **out);

/* Parse one kubeconfig's text (name for errors, base_dir for relative
 * paths); what kubeconfig_load does for a single file. */
err_t *kubeconfig_parse(const char *text, size_t len, const char *name, const char *base_dir, const char *context,
			struct kubeconfig **out);

/* The in-cluster service account: sa_dir (NULL:
 * /var/run/secrets/kubernetes.io/serviceaccount) holds token, ca.crt and
 * namespace; the server is https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT. */
err_t *kubeconfig_in_cluster(const char *sa_dir, struct kubeconfig **out);

/* client-go's order: path if given, else $KUBECONFIG, else
 * $HOME/.kube/config when it exists, else in-cluster when
 * KUBERNETES_SERVICE_HOST is set, else an error saying what was tried. */
err_t *kubeconfig_resolve(const char *path, const char *context, struct kubeconfig **out);

void kubeconfig_free(struct kubeconfig *kc);

#endif
