/* One HTTP/1.1 request read from a connection's buffer, as much of the
 * protocol as a webhook needs: request line, headers (at most
 * HTTPREQ_MAX_HEAD bytes), a Content-Length body of at most max_body
 * bytes. Chunked bodies are refused (the API server sends a length). The
 * bytes come from the network: anything malformed is an answer status. */
#ifndef IMAGE_ADMISSION_HTTPREQ_H
#define IMAGE_ADMISSION_HTTPREQ_H

#include <stdbool.h>
#include <stddef.h>

#define HTTPREQ_MAX_HEAD 16384

enum httpreq_state { HTTPREQ_MORE, HTTPREQ_DONE, HTTPREQ_BAD };

struct httpreq {
	char method[16];
	char path[256];     /* without the query */
	const char *body;   /* into the buffer */
	size_t body_len;
	size_t consumed;    /* bytes of the buffer this request took */
	bool keep_alive;
	int status;         /* HTTPREQ_BAD: the status to answer (400, 411, 413, 431, 501, 505) */
	const char *why;    /* HTTPREQ_BAD: a static reason */
};

/* Parse buf[0..len) (not NUL-terminated). */
enum httpreq_state httpreq_parse(const char *buf, size_t len, size_t max_body, struct httpreq *out);

#endif
