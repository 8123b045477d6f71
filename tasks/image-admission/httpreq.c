/* A minimal HTTP/1.1 request parser (see httpreq.h). */
#include "httpreq.h"

#include <string.h>
#include <strings.h>

static enum httpreq_state bad(struct httpreq *r, int status, const char *why)
{
	r->status = status;
	r->why = why;
	return HTTPREQ_BAD;
}

static bool token_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c);
}

enum httpreq_state httpreq_parse(const char *buf, size_t len, size_t max_body, struct httpreq *r)
{
	memset(r, 0, sizeof *r);
	const char *end = memmem(buf, len, "\r\n\r\n", 4);
	if (!end)
		return len > HTTPREQ_MAX_HEAD ? bad(r, 431, "request headers too large") : HTTPREQ_MORE;
	size_t head_len = (size_t)(end - buf) + 4;
	if (head_len > HTTPREQ_MAX_HEAD)
		return bad(r, 431, "request headers too large");
	/* request line: METHOD SP target SP HTTP/1.x */
	const char *line_end = memmem(buf, head_len, "\r\n", 2);
	const char *sp1 = memchr(buf, ' ', (size_t)(line_end - buf));
	if (!sp1 || sp1 == buf || (size_t)(sp1 - buf) >= sizeof r->method)
		return bad(r, 400, "malformed request line");
	for (const char *p = buf; p < sp1; p++)
		if (!token_char(*p))
			return bad(r, 400, "malformed request line");
	memcpy(r->method, buf, (size_t)(sp1 - buf));
	const char *target = sp1 + 1;
	const char *sp2 = memchr(target, ' ', (size_t)(line_end - target));
	if (!sp2 || sp2 == target || *target != '/')
		return bad(r, 400, "malformed request line");
	const char *version = sp2 + 1;
	size_t vlen = (size_t)(line_end - version);
	if (vlen != 8 || memcmp(version, "HTTP/1.", 7) || (version[7] != '0' && version[7] != '1'))
		return bad(r, 505, "HTTP version not supported");
	r->keep_alive = version[7] == '1';
	const char *q = memchr(target, '?', (size_t)(sp2 - target));
	size_t plen = (size_t)((q ? q : sp2) - target);
	if (plen >= sizeof r->path)
		return bad(r, 414, "request target too long");
	memcpy(r->path, target, plen);
	for (size_t i = 0; i < plen; i++)
		if ((unsigned char)r->path[i] <= ' ' || r->path[i] == 0x7f)
			return bad(r, 400, "malformed request target");
	/* headers */
	bool have_length = false;
	size_t length = 0;
	for (const char *p = line_end + 2; p < end + 2;) {
		const char *e = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
		const char *colon = memchr(p, ':', (size_t)(e - p));
		if (!colon || colon == p)
			return bad(r, 400, "malformed header");
		for (const char *c = p; c < colon; c++)
			if (!token_char(*c))
				return bad(r, 400, "malformed header");
		size_t nlen = (size_t)(colon - p);
		const char *v = colon + 1;
		while (v < e && (*v == ' ' || *v == '\t'))
			v++;
		const char *ve = e;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		size_t vl = (size_t)(ve - v);
		for (const char *c = v; c < ve; c++)
			if ((*c < ' ' && *c != '\t') || *c == 0x7f)
				return bad(r, 400, "malformed header");
		if (nlen == 14 && !strncasecmp(p, "Content-Length", 14)) {
			if (have_length || !vl)
				return bad(r, 400, "bad Content-Length");
			length = 0;
			for (const char *c = v; c < ve; c++) {
				if (*c < '0' || *c > '9')
					return bad(r, 400, "bad Content-Length");
				if (length > max_body)
					return bad(r, 413, "request body too large");
				length = length * 10 + (size_t)(*c - '0');
			}
			have_length = true;
		} else if (nlen == 17 && !strncasecmp(p, "Transfer-Encoding", 17)) {
			return bad(r, 411, "chunked bodies are not accepted: send Content-Length");
		} else if (nlen == 10 && !strncasecmp(p, "Connection", 10)) {
			if (vl == 5 && !strncasecmp(v, "close", 5))
				r->keep_alive = false;
			else if (vl == 10 && !strncasecmp(v, "keep-alive", 10))
				r->keep_alive = true;
		}
		p = e + 2;
	}
	if (length > max_body)
		return bad(r, 413, "request body too large");
	if (len - head_len < length)
		return HTTPREQ_MORE;
	r->body = buf + head_len;
	r->body_len = length;
	r->consumed = head_len + length;
	return HTTPREQ_DONE;
}
