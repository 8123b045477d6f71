/* Kubernetes name rules, as k8s.io/apimachinery/pkg/util/validation
 * states them:
 *   - IsDNS1123Label: at most 63 characters, [a-z0-9]([-a-z0-9]*[a-z0-9])?
 *     (container, volume and Tekton step and pipeline task names);
 *   - IsDNS1123Subdomain: at most 253 characters,
 *     [a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*
 *     with no limit on each dot-separated part (object names: Secrets,
 *     Deployments, Tekton's Tasks and runs, which Tekton's webhook further
 *     limits to 63).
 * A name that passes either has no '/', and is never "." or "..": it is
 * safe as one path component. */
#ifndef COMMON_K8SNAME_H
#define COMMON_K8SNAME_H

#include <stdbool.h>
#include <stddef.h>

#define K8S_DNS1123_LABEL_MAX 63
#define K8S_DNS1123_SUBDOMAIN_MAX 253

bool k8s_dns1123_label(const char *s);
/* the subdomain regex alone, whatever the length (for the messages that
 * tell the two apart, and for generateName prefixes) */
bool k8s_dns1123_subdomain_chars(const char *s);
bool k8s_dns1123_subdomain(const char *s);

#endif
