#include "post.h"

#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "http.h"
#include "xalloc.h"

err_t *post_check_url(const char *url)
{
	return http_check_url(url, "http,https", "--endpoint");
}

err_t *post_envelope(const char *url, const char *token, int retries, const void *body, size_t len)
{
	TRY(post_check_url(url));
	struct http_options ho = { .retries = retries };
	struct http_client *c = NULL;
	TRY(http_client_new(&ho, &c));
	_cleanup_free_ char *auth = token && *token ? xasprintf("Authorization: Bearer %s", token) : NULL;
	const char *headers[] = { "Content-Type: application/json", auth, NULL };
	struct http_request req = { .method = "POST", .url = url, .headers = headers, .body = body, .body_len = len };
	struct http_response resp = HTTP_RESPONSE_INIT;
	err_t *e = http_do(c, &req, &resp);
	if (!e && (resp.status < 200 || resp.status > 299))
		e = http_status_error(&resp, url);
	http_response_release(&resp);
	http_client_free(c);
	return e;
}
