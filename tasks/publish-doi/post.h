/* The optional DevOps Insights-like endpoint: each envelope POSTed as
 * JSON (Content-Type application/json), with a bearer token when given,
 * retried on 429/5xx/reset (common/http). Any non-2xx answer is an error
 * naming the URL and status. */
#ifndef PUBLISH_DOI_POST_H
#define PUBLISH_DOI_POST_H

#include <stddef.h>

#include "error.h"

/* A usage error unless url is http:// or https:// (checked before anything
 * is signed or stored). */
err_t *post_check_url(const char *url);
err_t *post_envelope(const char *url, const char *token, int retries, const void *body, size_t len);

#endif
