/* Errors are values: a code (the process exit code it maps to), a message,
 * and the error that caused it. Functions return NULL on success or an
 * owned err_t; only main prints it, once. */
#ifndef COMMON_ERROR_H
#define COMMON_ERROR_H

#include <stdbool.h>

/* Exit codes shared by every task (DESIGN.md). */
enum exit_code {
	EXIT_OK = 0,
	EXIT_FAILED = 1,      /* the operation failed */
	EXIT_USAGE = 2,       /* usage or bad input */
	EXIT_POLICY = 3,      /* a policy verdict said no */
	EXIT_AUTH = 4,        /* authentication or authorization */
	EXIT_UNREACHABLE = 5, /* a remote stayed unreachable after retries */
};

/* What went wrong, for callers that decide by it (retry, verdict or
 * failure, a friendlier hint): set where an error is made, read with
 * err_is. Messages are for people; never classify by their text. */
enum err_kind {
	ERR_KIND_NONE = 0,     /* not classified */
	ERR_KIND_NOT_FOUND,    /* what was asked for does not exist (HTTP 404, a registry's *_UNKNOWN) */
	ERR_KIND_AUTH,         /* credentials missing or refused (HTTP 401/403, a token request) */
	ERR_KIND_NETWORK,      /* the remote could not be reached or talked to (after retries) */
	ERR_KIND_REMOTE,       /* the remote answered with an error status */
	ERR_KIND_REJECTED,     /* the remote refused an update as invalid (notary INVALID_UPDATE) */
	ERR_KIND_SIGNATURE,    /* a signature, or a threshold of them, does not verify */
	ERR_KIND_INCONSISTENT, /* bytes differ from the hash or length that names them */
	ERR_KIND_EXPIRED,      /* signed metadata past its expiry */
	ERR_KIND_ROLLBACK,     /* a version older than one seen before */
};

typedef struct err {
	int code;           /* exit code (enum exit_code) */
	enum err_kind kind; /* ERR_KIND_NONE unless classified */
	char *msg;
	struct err *cause;
} err_t;

err_t *err_new(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* err_new with a kind. */
err_t *err_kind_new(int code, enum err_kind kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Context above cause that classifies anew: its own exit code and kind
 * (the cause keeps its own). */
err_t *err_wrap_as(err_t *cause, int code, enum err_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Whether e, or any error that caused it, is of kind. */
bool err_is(const err_t *e, enum err_kind kind);
/* Set the kind of e (e may be NULL); returns e. */
err_t *err_set_kind(err_t *e, enum err_kind kind);
/* Set the exit code of e (e may be NULL); returns e. For a helper whose
 * own code does not fit the caller's view (bad JSON is a usage error in a
 * file the user gave, a failure in a manifest a registry served). */
err_t *err_set_code(err_t *e, int code);
const char *err_kind_name(enum err_kind kind);
/* Like err_new, with ": <strerror(errno)>" appended (errno read on entry). */
err_t *err_errno(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Add context above cause; the new error keeps the cause's code. */
err_t *err_wrap(err_t *cause, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like err_wrap, but NULL (success) passes through: err_context(f(), "..."). */
err_t *err_context(err_t *cause, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_free(err_t *e);
/* "outer: inner: root" in a fresh allocation. */
char *err_describe(const err_t *e);
/* The innermost error: the root cause. */
const err_t *err_root(const err_t *e);

static inline void cleanup_errp(err_t **e) { err_free(*e); }
#define _cleanup_err_ __attribute__((cleanup(cleanup_errp)))

/* Propagate: if expr returns an error, return it unchanged. */
#define TRY(expr)                                  \
	do {                                       \
		err_t *try_err_ = (expr);          \
		if (try_err_)                      \
			return try_err_;           \
	} while (0)

#endif
