/* Errors are values: a code (the process exit code it maps to), a message,
 * and the error that caused it. Functions return NULL on success or an
 * owned err_t; only main prints it, once. */
#ifndef COMMON_ERROR_H
#define COMMON_ERROR_H

/* Exit codes shared by every task (DESIGN.md). */
enum exit_code {
	EXIT_OK = 0,
	EXIT_FAILED = 1,      /* the operation failed */
	EXIT_USAGE = 2,       /* usage or bad input */
	EXIT_POLICY = 3,      /* a policy verdict said no */
	EXIT_AUTH = 4,        /* authentication or authorization */
	EXIT_UNREACHABLE = 5, /* a remote stayed unreachable after retries */
};

typedef struct err {
	int code;
	char *msg;
	struct err *cause;
} err_t;

err_t *err_new(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
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
