/* Image reference parsing with Docker's normalisation (see imageref.h). */
#include "imageref.h"

#include <ctype.h>
#include <string.h>

#include "cleanup.h"
#include "digest.h"
#include "xalloc.h"

#define NAME_MAX_LEN 255
#define TAG_MAX_LEN 128

static bool is_alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
static bool valid_component(const char *s, size_t n)
{
	if (n == 0 || !is_alnum_lower(s[0]) || !is_alnum_lower(s[n - 1]))
		return false;
	for (size_t i = 0; i < n;) {
		if (is_alnum_lower(s[i])) {
			i++;
			continue;
		}
		/* a separator run */
		size_t j = i;
		while (j < n && !is_alnum_lower(s[j]))
			j++;
		size_t len = j - i;
		bool ok = (len == 1 && (s[i] == '.' || s[i] == '_' || s[i] == '-')) ||
			  (len == 2 && s[i] == '_' && s[i + 1] == '_');
		if (!ok) {
			ok = true;
			for (size_t k = i; k < j; k++)
				ok &= s[k] == '-';
		}
		if (!ok)
			return false;
		i = j;
	}
	return true;
}

bool imageref_valid_repository(const char *repo)
{
	size_t n = strlen(repo);
	if (n == 0 || n > NAME_MAX_LEN)
		return false;
	const char *p = repo;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (!valid_component(p, len))
			return false;
		if (!slash)
			return true;
		p = slash + 1;
	}
}

bool imageref_valid_tag(const char *tag)
{
	size_t n = strlen(tag);
	if (n == 0 || n > TAG_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)tag[i];
		bool word = isalnum(c) || c == '_';
		if (!(word || (i > 0 && (c == '.' || c == '-'))))
			return false;
	}
	return true;
}

/* host[:port]: letters, digits, '-', '.', or a bracketed IPv6 address */
static bool valid_host(const char *s, size_t n)
{
	if (n == 0)
		return false;
	size_t i = 0;
	if (s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (!close)
			return false;
		for (const char *q = s + 1; q < close; q++)
			if (!isxdigit((unsigned char)*q) && *q != ':' && *q != '.')
				return false;
		i = (size_t)(close - s) + 1;
	} else {
		while (i < n && s[i] != ':') {
			unsigned char c = (unsigned char)s[i];
			if (!isalnum(c) && c != '-' && c != '.')
				return false;
			i++;
		}
		if (i == 0 || s[0] == '-' || s[0] == '.' || s[i - 1] == '-' || s[i - 1] == '.')
			return false;
	}
	if (i == n)
		return true;
	if (s[i] != ':' || i + 1 == n || n - i - 1 > 5)
		return false;
	for (size_t k = i + 1; k < n; k++)
		if (!isdigit((unsigned char)s[k]))
			return false;
	return true;
}

err_t *imageref_parse(const char *s, struct image_ref *out)
{
	memset(out, 0, sizeof *out);
	if (!s || !*s)
		return err_new(EXIT_USAGE, "empty image reference");
	size_t total = strlen(s);
	if (total > 4096)
		return err_new(EXIT_USAGE, "image reference is %zu bytes long", total);
	for (const char *q = s; *q; q++)
		if ((unsigned char)*q <= ' ' || (unsigned char)*q >= 0x7f)
			return err_new(EXIT_USAGE, "image reference \"%.100s\" has a space or control character", s);

	_cleanup_free_ char *work = xstrdup(s);
	char *digest = NULL;
	char *at = strchr(work, '@');
	if (at) {
		*at = '\0';
		digest = at + 1;
		err_t *e = digest_check(digest, "image reference");
		if (e)
			return err_wrap(e, "in \"%.200s\"", s);
	}
	/* registry: the first component if it looks like a host */
	char *name = work;
	const char *registry = NULL;
	_cleanup_free_ char *registry_buf = NULL;
	char *slash = strchr(work, '/');
	if (slash) {
		size_t hlen = (size_t)(slash - work);
		bool hostlike = memchr(work, '.', hlen) || memchr(work, ':', hlen) ||
				(hlen == 9 && !strncmp(work, "localhost", 9));
		for (size_t i = 0; i < hlen && !hostlike; i++)
			if (isupper((unsigned char)work[i]))
				hostlike = true;
		if (hostlike) {
			if (!valid_host(work, hlen))
				return err_new(EXIT_USAGE, "image reference \"%.200s\": invalid registry \"%.*s\"", s,
					       (int)hlen, work);
			registry_buf = xstrndup(work, hlen);
			registry = registry_buf;
			name = slash + 1;
		}
	}
	/* tag: after the last ':' in the name part (no '/' after it) */
	char *tag = NULL;
	char *colon = strrchr(name, ':');
	if (colon && !strchr(colon, '/')) {
		*colon = '\0';
		tag = colon + 1;
		if (!imageref_valid_tag(tag))
			return err_new(EXIT_USAGE, "image reference \"%.200s\": invalid tag \"%.130s\"", s, tag);
	}
	if (!*name)
		return err_new(EXIT_USAGE, "image reference \"%.200s\" has no repository name", s);
	if (!registry || !strcmp(registry, "index.docker.io"))
		registry = "docker.io";
	_cleanup_free_ char *repo = NULL;
	if (!strcmp(registry, "docker.io") && !strchr(name, '/'))
		repo = xasprintf("library/%s", name);
	else
		repo = xstrdup(name);
	if (!imageref_valid_repository(repo)) {
		for (const char *q = repo; *q; q++)
			if (isupper((unsigned char)*q))
				return err_new(EXIT_USAGE,
					       "image reference \"%.200s\": repository name must be lowercase", s);
		return err_new(EXIT_USAGE,
			       "image reference \"%.200s\": invalid repository name \"%.200s\" (lowercase letters, "
			       "digits and separators . _ __ -, components split by /)",
			       s, repo);
	}
	if (strlen(registry) + 1 + strlen(repo) > NAME_MAX_LEN)
		return err_new(EXIT_USAGE, "image reference \"%.200s\": name longer than %d bytes", s, NAME_MAX_LEN);
	out->registry = xstrdup(registry);
	out->repository = steal_ptr(repo);
	out->digest = digest ? xstrdup(digest) : NULL;
	if (tag) {
		out->tag = xstrdup(tag);
	} else {
		out->tag = xstrdup("latest");
		out->tag_implied = true;
	}
	return NULL;
}

void imageref_free(struct image_ref *r)
{
	if (!r)
		return;
	free(r->registry);
	free(r->repository);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof *r);
}

char *imageref_name(const struct image_ref *r)
{
	return xasprintf("%s/%s", r->registry, r->repository);
}

char *imageref_string(const struct image_ref *r)
{
	bool show_tag = r->tag && !(r->tag_implied && r->digest);
	return xasprintf("%s/%s%s%s%s%s", r->registry, r->repository, show_tag ? ":" : "", show_tag ? r->tag : "",
			 r->digest ? "@" : "", r->digest ? r->digest : "");
}

char *imageref_pinned(const struct image_ref *r, const char *digest)
{
	return xasprintf("%s/%s@%s", r->registry, r->repository, digest);
}

char *imageref_tagged(const struct image_ref *r, const char *tag)
{
	if (!tag || !*tag)
		tag = r->tag && !(r->tag_implied && r->digest) ? r->tag : NULL;
	return xasprintf("%s/%s%s%s", r->registry, r->repository, tag ? ":" : "", tag ? tag : "");
}

const char *imageref_reference(const struct image_ref *r)
{
	return r->digest ? r->digest : r->tag;
}

const char *imageref_api_host(const struct image_ref *r)
{
	return !strcmp(r->registry, "docker.io") ? "registry-1.docker.io" : r->registry;
}
