/* Run names as the API server and Tekton check them (see runname.h). */
#include "runname.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cleanup.h"
#include "k8sname.h"
#include "strbuf.h"
#include "xalloc.h"

#define QUOTE_MAX 80

static const char rfc1123_rule[] =
	"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
	"start and end with an alphanumeric character (regex used for validation is "
	"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

const char *runname_problem(const char *name)
{
	size_t len = strlen(name);
	if (!len)
		return "name or generateName is required";
	if (!k8s_dns1123_subdomain_chars(name))
		return rfc1123_rule;
	if (len > K8S_DNS1123_SUBDOMAIN_MAX)
		return "must be no more than 253 characters";
	if (len > RUNNAME_MAX)
		return "Invalid resource name: length must be no more than 63 characters (Tekton)";
	return NULL;
}

const char *runname_prefix_problem(const char *prefix)
{
	/* apimachinery's NameIsDNSSubdomain(prefix, true) masks a trailing
	 * '-' (the random suffix follows it) as maskTrailingDash does: the
	 * last two characters become one 'a' */
	size_t len = strlen(prefix);
	if (!len)
		return "name or generateName is required";
	if (len > K8S_DNS1123_SUBDOMAIN_MAX)
		return "must be no more than 253 characters";
	if (len > 1 && prefix[len - 1] == '-') {
		_cleanup_free_ char *masked = xasprintf("%.*sa", (int)(len - 2), prefix);
		return k8s_dns1123_subdomain_chars(masked) ? NULL : rfc1123_rule;
	}
	return k8s_dns1123_subdomain_chars(prefix) ? NULL : rfc1123_rule;
}

char *runname_generate(const char *prefix, const char *suffix)
{
	size_t len = strlen(prefix);
	if (len > RUNNAME_GENERATED_PREFIX_MAX)
		len = RUNNAME_GENERATED_PREFIX_MAX;
	return xasprintf("%.*s%s", (int)len, prefix, suffix);
}

char *runname_quote(const char *name)
{
	struct strbuf sb = STRBUF_INIT;
	sb_adds(&sb, "\"");
	size_t i = 0;
	for (; name[i] && i < QUOTE_MAX; i++) {
		unsigned char ch = (unsigned char)name[i];
		if (ch == '"' || ch == '\\')
			sb_addf(&sb, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			sb_addf(&sb, "\\x%02x", ch);
		else
			sb_add(&sb, (const char *)&ch, 1);
	}
	sb_adds(&sb, name[i] ? "\"..." : "\"");
	return sb_detach(&sb);
}

err_t *runname_check(const char *kind, const char *name)
{
	const char *why = runname_problem(name);
	if (!why)
		return NULL;
	char *q = runname_quote(name);
	err_t *e = err_new(EXIT_USAGE, "%s name %s is invalid: %s", kind, q, why);
	free(q);
	return e;
}

/* knative.dev/pkg/kmeta ChildName, which Tekton names a PipelineRun's
 * TaskRuns with: parent + suffix when that fits in 63, else a prefix of
 * parent and the MD5 (hex) of parent, then suffix; a suffix too long for
 * that hashes both and keeps what fits; trailing non-alphanumerics cut */
char *runname_child(const char *parent, const char *suffix)
{
	enum { LONGEST = RUNNAME_MAX, MD5_HEX = 32, HEAD = LONGEST - MD5_HEX };
	size_t plen = strlen(parent), slen = strlen(suffix);
	struct strbuf sb = STRBUF_INIT;
	if (plen <= LONGEST - slen) {
		sb_addf(&sb, "%s%s", parent, suffix);
	} else {
		bool whole = (long)HEAD - (long)slen <= 0;
		_cleanup_free_ char *hashed = whole ? xasprintf("%s%s", parent, suffix) : xstrdup(parent);
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int mdlen = 0;
		if (!EVP_Digest(hashed, strlen(hashed), md, &mdlen, EVP_md5(), NULL))
			mdlen = 0; /* no MD5 here: the truncated name, still unique enough to run */
		size_t keep = whole ? (plen < HEAD ? plen : HEAD) : HEAD - slen;
		sb_add(&sb, parent, keep);
		for (unsigned int i = 0; i < mdlen; i++)
			sb_addf(&sb, "%02x", md[i]);
		if (whole)
			sb_add(&sb, suffix, sb.len < LONGEST ? LONGEST - sb.len : 0);
		else
			sb_adds(&sb, suffix);
	}
	char *n = sb_detach(&sb);
	size_t len = strlen(n);
	while (len && !((n[len - 1] >= 'a' && n[len - 1] <= 'z') || (n[len - 1] >= 'A' && n[len - 1] <= 'Z') ||
	                (n[len - 1] >= '0' && n[len - 1] <= '9')))
		n[--len] = '\0';
	return n;
}
