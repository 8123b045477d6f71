/* Kubernetes name rules (see k8sname.h). */
#include "k8sname.h"

#include <string.h>

static bool lower_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

bool k8s_dns1123_label(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > K8S_DNS1123_LABEL_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!lower_alnum(s[i]) && (s[i] != '-' || i == 0 || i == len - 1))
			return false;
	return true;
}

/* labels joined by '.': a '.' only between two alphanumerics (no empty
 * label, no label starting or ending with '-'), '-' only inside a label */
bool k8s_dns1123_subdomain_chars(const char *s)
{
	char prev = '.';
	for (const char *p = s; *p; prev = *p++) {
		if (*p == '.' ? !lower_alnum(prev) : *p == '-' ? prev == '.' : !lower_alnum(*p))
			return false;
	}
	return lower_alnum(prev);
}

bool k8s_dns1123_subdomain(const char *s)
{
	return strlen(s) <= K8S_DNS1123_SUBDOMAIN_MAX && k8s_dns1123_subdomain_chars(s);
}
