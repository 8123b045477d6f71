#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "xalloc.h"

__attribute__((format(printf, 4, 0))) static err_t *err_vnew(int code, err_t *cause, const char *suffix,
							   const char *fmt, va_list ap)
{
	struct strbuf sb = STRBUF_INIT;
	sb_vaddf(&sb, fmt, ap);
	if (suffix) {
		sb_adds(&sb, ": ");
		sb_adds(&sb, suffix);
	}
	err_t *e = xcalloc(1, sizeof *e);
	e->code = code;
	e->msg = sb_detach(&sb);
	e->cause = cause;
	return e;
}

err_t *err_new(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_t *e = err_vnew(code, NULL, NULL, fmt, ap);
	va_end(ap);
	return e;
}

err_t *err_kind_new(int code, enum err_kind kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_t *e = err_vnew(code, NULL, NULL, fmt, ap);
	va_end(ap);
	e->kind = kind;
	return e;
}

err_t *err_wrap_as(err_t *cause, int code, enum err_kind kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_t *e = err_vnew(code, cause, NULL, fmt, ap);
	va_end(ap);
	e->kind = kind;
	return e;
}

bool err_is(const err_t *e, enum err_kind kind)
{
	for (; e; e = e->cause)
		if (e->kind == kind)
			return true;
	return false;
}

err_t *err_set_kind(err_t *e, enum err_kind kind)
{
	if (e)
		e->kind = kind;
	return e;
}

err_t *err_set_code(err_t *e, int code)
{
	if (e)
		e->code = code;
	return e;
}

const char *err_kind_name(enum err_kind kind)
{
	static const char *const names[] = {
		[ERR_KIND_NONE] = "none",
		[ERR_KIND_NOT_FOUND] = "not-found",
		[ERR_KIND_AUTH] = "auth",
		[ERR_KIND_NETWORK] = "network",
		[ERR_KIND_REMOTE] = "remote",
		[ERR_KIND_REJECTED] = "rejected",
		[ERR_KIND_SIGNATURE] = "signature",
		[ERR_KIND_INCONSISTENT] = "inconsistent",
		[ERR_KIND_EXPIRED] = "expired",
		[ERR_KIND_ROLLBACK] = "rollback",
	};
	return (unsigned)kind < sizeof names / sizeof names[0] && names[kind] ? names[kind] : "unknown";
}

err_t *err_errno(int code, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	err_t *e = err_vnew(code, NULL, strerror(saved), fmt, ap);
	va_end(ap);
	return e;
}

err_t *err_wrap(err_t *cause, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_t *e = err_vnew(cause ? cause->code : EXIT_FAILED, cause, NULL, fmt, ap);
	va_end(ap);
	return e;
}

err_t *err_context(err_t *cause, const char *fmt, ...)
{
	if (!cause)
		return NULL;
	va_list ap;
	va_start(ap, fmt);
	err_t *e = err_vnew(cause->code, cause, NULL, fmt, ap);
	va_end(ap);
	return e;
}

void err_free(err_t *e)
{
	while (e) {
		err_t *next = e->cause;
		free(e->msg);
		free(e);
		e = next;
	}
}

char *err_describe(const err_t *e)
{
	struct strbuf sb = STRBUF_INIT;
	for (; e; e = e->cause) {
		sb_adds(&sb, e->msg);
		if (e->cause)
			sb_adds(&sb, ": ");
	}
	return sb_detach(&sb);
}

const err_t *err_root(const err_t *e)
{
	while (e && e->cause)
		e = e->cause;
	return e;
}
