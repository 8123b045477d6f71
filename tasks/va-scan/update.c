/* update-db (update.h). */
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "fsutil.h"
#include "log.h"
#include "update.h"
#include "vulndb.h"
#include "xalloc.h"

struct sink {
	int fd;
	const char *what;
	struct sha256 h;
	size_t len;
	char head[2]; /* the first bytes: "PK" for a zip */
};

static err_t *on_body(const void *data, size_t len, void *ctx)
{
	struct sink *s = ctx;
	for (size_t i = 0; i < len && s->len + i < 2; i++)
		s->head[s->len + i] = ((const char *)data)[i];
	s->len += len;
	sha256_update(&s->h, data, len);
	return fs_write_all(s->fd, data, len, s->what);
}

/* GET url into dir/<i>.zip or .json, checking want (may be NULL) */
static err_t *fetch(struct http_client *c, const char *url, const char *want, const char *dir, size_t i)
{
	_cleanup_free_ char *part = xasprintf("%s/%zu.part", dir, i);
	struct sink s = { .what = part };
	s.fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (s.fd < 0)
		return err_errno(EXIT_FAILED, "cannot create %s", part);
	sha256_init(&s.h);
	struct http_request req = { .url = url, .on_body = on_body, .body_ctx_out = &s, .follow_redirects = true,
				    .resumable = true };
	struct http_response resp = HTTP_RESPONSE_INIT;
	err_t *e = http_do(c, &req, &resp);
	if (!e && (resp.status < 200 || resp.status > 299))
		e = http_status_error(&resp, url);
	http_response_release(&resp);
	char got[DIGEST_SIZE];
	sha256_final(&s.h, got);
	if (close(s.fd) && !e)
		e = err_errno(EXIT_FAILED, "cannot write %s", part);
	if (e)
		return err_wrap(e, "update-db: fetching %s", url);
	if (want && !digest_equal(got, want))
		return err_new(EXIT_USAGE, "update-db: %s has digest %s, expected %s", url, got, want);
	log_info("%s: %zu bytes, %s", url, s.len, got);
	_cleanup_free_ char *final =
		xasprintf("%s/%zu.%s", dir, i, s.len >= 2 && s.head[0] == 'P' && s.head[1] == 'K' ? "zip" : "json");
	if (rename(part, final))
		return err_errno(EXIT_FAILED, "cannot rename %s", part);
	return NULL;
}

static err_t *write_index(const char *path, const struct strbuf *img)
{
	_cleanup_free_ char *d = xstrdup(path), *b = xstrdup(path);
	return fs_write_atomic(dirname(d), basename(b), img->buf, img->len, 0644);
}

err_t *va_update_db(const struct va_update *u, size_t *records)
{
	if (!u->n)
		return err_new(EXIT_USAGE, "update-db: give at least one --url");
	if (u->ndigests && u->ndigests != u->n)
		return err_new(EXIT_USAGE, "update-db: %zu --digest for %zu --url: give one per URL, in order",
			       u->ndigests, u->n);
	for (size_t i = 0; i < u->ndigests; i++)
		TRY(digest_check(u->digests[i], "update-db --digest"));
	/* downloads go beside the index (same filesystem), never over it */
	_cleanup_free_ char *d = xstrdup(u->index_path);
	_cleanup_free_ char *tmp = xasprintf("%s/.va-scan-update.XXXXXX", dirname(d));
	if (!mkdtemp(tmp))
		return err_errno(EXIT_FAILED, "update-db: cannot create a directory beside %s", u->index_path);
	struct http_client *c = NULL;
	err_t *e = http_client_new(&u->http, &c);
	for (size_t i = 0; !e && i < u->n; i++)
		e = fetch(c, u->urls[i], u->ndigests ? u->digests[i] : NULL, tmp, i);
	http_client_free(c);
	struct vulndb_builder *b = vulndb_builder_new();
	struct strbuf img = STRBUF_INIT;
	if (!e)
		e = vulndb_builder_add_path(b, tmp);
	if (!e) {
		vulndb_builder_finish(b, &img);
		*records = vulndb_builder_records(b);
		e = write_index(u->index_path, &img);
	}
	if (e)
		e = err_wrap(e, "update-db: %s was left as it was", u->index_path);
	sb_release(&img);
	vulndb_builder_free(b);
	fs_remove_tree(tmp);
	return e;
}
