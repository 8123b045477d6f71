#include "pkcs11.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#include "strbuf.h"
#include "xalloc.h"

/* The module, in the agent process. */
struct token {
	void *module;
	CK_FUNCTION_LIST *f;
	CK_SESSION_HANDLE session;
	bool initialized, logged_in;
};

#define MSG_MAX (80 * 1024) /* agent messages; a list of 256 labels of up to 255 bytes fits */

/* The caller's handle: the agent process and its socket. */
struct p11 {
	pid_t pid;
	int fd;
	pthread_mutex_t lock; /* one request and its reply at a time */
	char reply[MSG_MAX];
};

/* DER of the prime256v1 OID, as CKA_EC_PARAMS wants it. */
static const unsigned char p256_params[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };

static err_t *ck_err(CK_RV rv, const char *what)
{
	int code = EXIT_FAILED;
	const char *name = "";
	switch (rv) {
	case CKR_PIN_INCORRECT: code = EXIT_AUTH; name = " (wrong PIN)"; break;
	case CKR_PIN_LOCKED: code = EXIT_AUTH; name = " (PIN locked)"; break;
	case CKR_PIN_LEN_RANGE: code = EXIT_AUTH; name = " (PIN length out of range)"; break;
	case CKR_USER_NOT_LOGGED_IN: code = EXIT_AUTH; name = " (not logged in)"; break;
	case CKR_TOKEN_NOT_PRESENT: name = " (token not present)"; break;
	case CKR_MECHANISM_INVALID: name = " (mechanism not supported)"; break;
	case CKR_ATTRIBUTE_READ_ONLY: name = " (attribute read-only)"; break;
	default: break;
	}
	return err_new(code, "PKCS#11 %s failed: CKR 0x%lx%s", what, (unsigned long)rv, name);
}

static void trim_label(const CK_UTF8CHAR *in, size_t len, char *out)
{
	while (len && in[len - 1] == ' ')
		len--;
	memcpy(out, in, len);
	out[len] = '\0';
}

static void token_close(struct token *p);

static err_t *token_open(struct token *p, const char *module, const char *token_label, const char *pin)
{
	err_t *e = NULL;
	p->module = dlopen(module, RTLD_NOW | RTLD_LOCAL);
	if (!p->module) {
		const char *why = dlerror();
		e = err_new(EXIT_FAILED, "cannot load PKCS#11 module %s: %s", module, why ? why : "unknown");
		goto fail;
	}
	CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(p->module, "C_GetFunctionList");
	if (!get || get(&p->f) != CKR_OK || !p->f) {
		e = err_new(EXIT_FAILED, "%s is not a PKCS#11 module (no C_GetFunctionList)", module);
		goto fail;
	}
	CK_C_INITIALIZE_ARGS args = { .flags = CKF_OS_LOCKING_OK };
	CK_RV rv = p->f->C_Initialize(&args);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		e = ck_err(rv, "C_Initialize");
		goto fail;
	}
	p->initialized = true;
	CK_ULONG n = 0;
	if ((rv = p->f->C_GetSlotList(CK_TRUE, NULL, &n)) != CKR_OK) {
		e = ck_err(rv, "C_GetSlotList");
		goto fail;
	}
	CK_SLOT_ID *slots = xcalloc(n ? n : 1, sizeof *slots);
	if ((rv = p->f->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK) {
		free(slots);
		e = ck_err(rv, "C_GetSlotList");
		goto fail;
	}
	CK_SLOT_ID slot = 0;
	bool found = false;
	for (CK_ULONG i = 0; i < n && !found; i++) {
		CK_TOKEN_INFO info;
		char label[sizeof info.label + 1];
		if (p->f->C_GetTokenInfo(slots[i], &info) != CKR_OK)
			continue;
		trim_label(info.label, sizeof info.label, label);
		if (!strcmp(label, token_label)) {
			slot = slots[i];
			found = true;
		}
	}
	free(slots);
	if (!found) {
		e = err_new(EXIT_USAGE, "no PKCS#11 token labelled '%s' in %s", token_label, module);
		goto fail;
	}
	rv = p->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &p->session);
	if (rv != CKR_OK) {
		e = ck_err(rv, "C_OpenSession");
		goto fail;
	}
	rv = p->f->C_Login(p->session, CKU_USER, (CK_UTF8CHAR *)pin, strlen(pin));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		e = err_wrap(ck_err(rv, "C_Login"), "token '%s'", token_label);
		goto fail;
	}
	p->logged_in = true;
	return NULL;
fail:
	token_close(p);
	return e;
}

static void token_close(struct token *p)
{
	if (p->f) {
		if (p->logged_in)
			p->f->C_Logout(p->session);
		if (p->session)
			p->f->C_CloseSession(p->session);
		if (p->initialized)
			p->f->C_Finalize(NULL);
	}
	if (p->module)
		dlclose(p->module);
	memset(p, 0, sizeof *p);
}

/* Up to max handles of objects of class cls with the given label (label
 * NULL: any). */
static err_t *find(struct token *p, CK_OBJECT_CLASS cls, const char *label, CK_OBJECT_HANDLE *h, CK_ULONG max,
		   CK_ULONG *n)
{
	CK_ATTRIBUTE tmpl[2] = {
		{ CKA_CLASS, &cls, sizeof cls },
		{ CKA_LABEL, (void *)label, label ? strlen(label) : 0 },
	};
	CK_RV rv = p->f->C_FindObjectsInit(p->session, tmpl, label ? 2 : 1);
	if (rv != CKR_OK)
		return ck_err(rv, "C_FindObjectsInit");
	rv = p->f->C_FindObjects(p->session, h, max, n);
	p->f->C_FindObjectsFinal(p->session);
	if (rv != CKR_OK)
		return ck_err(rv, "C_FindObjects");
	return NULL;
}

static err_t *find_one(struct token *p, CK_OBJECT_CLASS cls, const char *label, CK_OBJECT_HANDLE *h)
{
	CK_OBJECT_HANDLE hs[2];
	CK_ULONG n = 0;
	TRY(find(p, cls, label, hs, 2, &n));
	if (n == 0)
		return err_new(EXIT_USAGE, "no %s key labelled '%s' on the token",
			       cls == CKO_PRIVATE_KEY ? "private" : "public", label);
	if (n > 1)
		return err_new(EXIT_FAILED, "several keys labelled '%s' on the token", label);
	*h = hs[0];
	return NULL;
}

/* CKA_EC_POINT is a DER OCTET STRING around the point (some tokens give it
 * bare): accept both. */
static err_t *point_from_attr(const unsigned char *v, size_t len, unsigned char point[65])
{
	if (len == 67 && v[0] == 0x04 && v[1] == 65)
		v += 2, len -= 2;
	if (len != 65 || v[0] != 0x04)
		return err_new(EXIT_FAILED, "token returned an EC point that is not uncompressed P-256");
	memcpy(point, v, 65);
	return NULL;
}

static err_t *tok_public_ec(struct token *p, const char *label, unsigned char point[65])
{
	CK_OBJECT_HANDLE h;
	TRY(find_one(p, CKO_PUBLIC_KEY, label, &h));
	unsigned char buf[128];
	CK_ATTRIBUTE a = { CKA_EC_POINT, buf, sizeof buf };
	CK_RV rv = p->f->C_GetAttributeValue(p->session, h, &a, 1);
	if (rv != CKR_OK)
		return ck_err(rv, "C_GetAttributeValue(CKA_EC_POINT)");
	return point_from_attr(buf, a.ulValueLen, point);
}

static err_t *tok_generate_ec(struct token *p, const char *label, unsigned char point[65])
{
	CK_OBJECT_HANDLE hs[1];
	CK_ULONG n = 0;
	TRY(find(p, CKO_PRIVATE_KEY, label, hs, 1, &n));
	if (n)
		return err_new(EXIT_USAGE, "a key labelled '%s' already exists on the token", label);
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_MECHANISM mech = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_ULONG llen = strlen(label);
	CK_ATTRIBUTE pub[] = {
		{ CKA_TOKEN, &yes, sizeof yes },
		{ CKA_VERIFY, &yes, sizeof yes },
		{ CKA_EC_PARAMS, (void *)p256_params, sizeof p256_params },
		{ CKA_LABEL, (void *)label, llen },
		{ CKA_ID, (void *)label, llen },
	};
	CK_ATTRIBUTE priv[] = {
		{ CKA_TOKEN, &yes, sizeof yes },
		{ CKA_PRIVATE, &yes, sizeof yes },
		{ CKA_SENSITIVE, &yes, sizeof yes },
		{ CKA_EXTRACTABLE, &no, sizeof no },
		{ CKA_SIGN, &yes, sizeof yes },
		{ CKA_LABEL, (void *)label, llen },
		{ CKA_ID, (void *)label, llen },
	};
	CK_OBJECT_HANDLE hpub, hpriv;
	CK_RV rv = p->f->C_GenerateKeyPair(p->session, &mech, pub, sizeof pub / sizeof *pub, priv,
					   sizeof priv / sizeof *priv, &hpub, &hpriv);
	if (rv != CKR_OK)
		return ck_err(rv, "C_GenerateKeyPair");
	return tok_public_ec(p, label, point);
}

static err_t *tok_sign_ec(struct token *p, const char *label, const unsigned char hash[32], unsigned char sig[64])
{
	CK_OBJECT_HANDLE h;
	TRY(find_one(p, CKO_PRIVATE_KEY, label, &h));
	CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
	CK_RV rv = p->f->C_SignInit(p->session, &mech, h);
	if (rv != CKR_OK)
		return ck_err(rv, "C_SignInit");
	CK_ULONG len = 64;
	rv = p->f->C_Sign(p->session, (CK_BYTE *)hash, 32, sig, &len);
	if (rv != CKR_OK)
		return ck_err(rv, "C_Sign");
	if (len != 64)
		return err_new(EXIT_FAILED, "token returned a %lu-byte ECDSA signature, not 64", (unsigned long)len);
	return NULL;
}

static err_t *tok_list(struct token *p, char ***labels, size_t *count)
{
	CK_OBJECT_HANDLE hs[256];
	CK_ULONG n = 0;
	TRY(find(p, CKO_PRIVATE_KEY, NULL, hs, 256, &n));
	char **out = xcalloc(n + 1, sizeof *out);
	size_t k = 0;
	for (CK_ULONG i = 0; i < n; i++) {
		char buf[256];
		CK_ATTRIBUTE a = { CKA_LABEL, buf, sizeof buf - 1 };
		if (p->f->C_GetAttributeValue(p->session, hs[i], &a, 1) != CKR_OK ||
		    a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen >= sizeof buf)
			continue;
		out[k++] = xstrndup(buf, a.ulValueLen);
	}
	*labels = out;
	*count = k;
	return NULL;
}

static err_t *tok_delete(struct token *p, const char *label)
{
	CK_OBJECT_CLASS classes[] = { CKO_PRIVATE_KEY, CKO_PUBLIC_KEY };
	int deleted = 0;
	for (size_t c = 0; c < 2; c++) {
		CK_OBJECT_HANDLE hs[8];
		CK_ULONG n = 0;
		TRY(find(p, classes[c], label, hs, 8, &n));
		for (CK_ULONG i = 0; i < n; i++) {
			CK_RV rv = p->f->C_DestroyObject(p->session, hs[i]);
			if (rv != CKR_OK)
				return ck_err(rv, "C_DestroyObject");
			deleted++;
		}
	}
	if (!deleted)
		return err_new(EXIT_USAGE, "no key labelled '%s' on the token", label);
	return NULL;
}

static err_t *tok_relabel(struct token *p, const char *from, const char *to)
{
	CK_OBJECT_CLASS classes[] = { CKO_PRIVATE_KEY, CKO_PUBLIC_KEY };
	for (size_t c = 0; c < 2; c++) {
		CK_OBJECT_HANDLE h;
		TRY(find_one(p, classes[c], from, &h));
		CK_ATTRIBUTE a = { CKA_LABEL, (void *)to, strlen(to) };
		CK_RV rv = p->f->C_SetAttributeValue(p->session, h, &a, 1);
		if (rv != CKR_OK)
			return ck_err(rv, "C_SetAttributeValue(CKA_LABEL)");
	}
	return NULL;
}

static err_t *tok_check_protected(struct token *p, const char *label)
{
	CK_OBJECT_HANDLE h;
	TRY(find_one(p, CKO_PRIVATE_KEY, label, &h));
	CK_BBOOL sensitive = CK_FALSE, extractable = CK_TRUE;
	CK_ATTRIBUTE a[] = {
		{ CKA_SENSITIVE, &sensitive, sizeof sensitive },
		{ CKA_EXTRACTABLE, &extractable, sizeof extractable },
	};
	CK_RV rv = p->f->C_GetAttributeValue(p->session, h, a, 2);
	if (rv != CKR_OK)
		return ck_err(rv, "C_GetAttributeValue");
	if (!sensitive || extractable)
		return err_new(EXIT_POLICY, "key '%s' on the token is extractable or not sensitive", label);
	return NULL;
}

/* ---- the agent: the module runs in a child process ----------------------
 *
 * A module is a shared object linked against the shared libc. Loaded into
 * a static binary, it brings a second libc whose thread state is not its
 * own: both copies number their pthread keys from 0 and keep the values in
 * the same slots of the one thread descriptor, so the module's OpenSSL
 * (libcrypto.so) and ours overwrite each other's thread-local state (error
 * queue, DRBGs), and ours later frees what the other libc's malloc made
 * ("double free or corruption"). So the module is only ever loaded in a
 * child forked by p11_open, which does nothing but PKCS#11 calls (no
 * OpenSSL of ours, no threads) and ends with _exit. Requests and replies
 * are datagrams on a socket pair:
 *   request: op, label, NUL, argument (a second label, or the hash)
 *   reply:   int32 exit code (0: success), message, NUL, payload */
enum { OP_PUBLIC = 1, OP_GENERATE, OP_SIGN, OP_LIST, OP_DELETE, OP_RELABEL, OP_PROTECTED };


static bool send_reply(int fd, const err_t *e, const void *data, size_t len)
{
	static char buf[MSG_MAX];
	int32_t code = e ? (e->code ? e->code : EXIT_FAILED) : 0;
	char *msg = e ? err_describe(e) : NULL;
	size_t mlen = msg ? strlen(msg) : 0;
	if (4 + mlen + 1 + len > sizeof buf) {
		mlen = 0;
		len = 0;
		code = EXIT_FAILED;
	}
	memcpy(buf, &code, 4);
	if (mlen)
		memcpy(buf + 4, msg, mlen);
	buf[4 + mlen] = '\0';
	if (len)
		memcpy(buf + 4 + mlen + 1, data, len);
	free(msg);
	return send(fd, buf, 4 + mlen + 1 + len, MSG_NOSIGNAL) >= 0;
}

/* One request: its reply's error and payload. */
static err_t *serve(struct token *t, const char *req, size_t len, struct strbuf *out)
{
	const char *label = req + 1, *nul = memchr(label, '\0', len - 1);
	if (!nul)
		return err_new(EXIT_FAILED, "PKCS#11 agent: malformed request");
	const char *arg = nul + 1;
	size_t arg_len = len - (size_t)(arg - req);
	unsigned char point[65], sig[64];
	err_t *e = NULL;
	switch (req[0]) {
	case OP_PUBLIC:
	case OP_GENERATE:
		e = req[0] == OP_PUBLIC ? tok_public_ec(t, label, point) : tok_generate_ec(t, label, point);
		if (!e)
			sb_add(out, point, sizeof point);
		return e;
	case OP_SIGN:
		if (arg_len != 32)
			return err_new(EXIT_FAILED, "PKCS#11 agent: a hash is 32 bytes");
		e = tok_sign_ec(t, label, (const unsigned char *)arg, sig);
		if (!e)
			sb_add(out, sig, sizeof sig);
		return e;
	case OP_LIST: {
		char **labels = NULL;
		size_t n = 0;
		e = tok_list(t, &labels, &n);
		for (size_t i = 0; !e && i < n; i++)
			sb_add(out, labels[i], strlen(labels[i]) + 1);
		for (size_t i = 0; labels && i < n; i++)
			free(labels[i]);
		free(labels);
		return e;
	}
	case OP_DELETE:
		return tok_delete(t, label);
	case OP_RELABEL:
		if (!arg_len || arg[arg_len - 1])
			return err_new(EXIT_FAILED, "PKCS#11 agent: malformed request");
		return tok_relabel(t, label, arg);
	case OP_PROTECTED:
		return tok_check_protected(t, label);
	default:
		return err_new(EXIT_FAILED, "PKCS#11 agent: unknown request %d", req[0]);
	}
}

static __attribute__((noreturn)) void agent(int fd, pid_t parent, const char *module, const char *token_label,
					    const char *pin)
{
	/* gone with the caller, whatever way it ends */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(1);
	struct token t = { 0 };
	err_t *e = token_open(&t, module, token_label, pin);
	bool ok = send_reply(fd, e, NULL, 0) && !e;
	err_free(e);
	static char req[MSG_MAX];
	ssize_t n;
	while (ok && (n = recv(fd, req, sizeof req, 0)) > 0) {
		struct strbuf out = STRBUF_INIT;
		e = serve(&t, req, (size_t)n, &out);
		ok = send_reply(fd, e, out.buf, out.len);
		err_free(e);
		sb_release(&out);
	}
	token_close(&t);
	/* no atexit handlers: ours (OpenSSL's cleanup) would run on the thread
	 * state the module's libc has written over */
	_exit(0);
}

/* The agent's reply to what was sent: its error, else its payload. */
static err_t *receive(struct p11 *p, struct strbuf *out)
{
	char *buf = p->reply;
	ssize_t n;
	do
		n = recv(p->fd, buf, sizeof p->reply, 0);
	while (n < 0 && errno == EINTR);
	if (n < 5 || !memchr(buf + 4, '\0', (size_t)n - 4))
		return n < 0 ? err_errno(EXIT_FAILED, "PKCS#11 agent") : err_new(EXIT_FAILED, "PKCS#11 agent: no reply (it ended)");
	int32_t code;
	memcpy(&code, buf, 4);
	size_t mlen = strlen(buf + 4);
	if (code)
		return err_new(code, "%s", buf + 4);
	if (out)
		sb_add(out, buf + 4 + mlen + 1, (size_t)n - 4 - mlen - 1);
	return NULL;
}

static err_t *call(struct p11 *p, int op, const char *label, const void *arg, size_t arg_len, struct strbuf *out)
{
	struct strbuf req = STRBUF_INIT;
	sb_addc(&req, (char)op);
	sb_add(&req, label, strlen(label) + 1);
	if (arg_len)
		sb_add(&req, arg, arg_len);
	err_t *e = NULL;
	pthread_mutex_lock(&p->lock);
	if (req.len > MSG_MAX)
		e = err_new(EXIT_USAGE, "PKCS#11 request too long");
	else if (send(p->fd, req.buf, req.len, MSG_NOSIGNAL) < 0)
		e = err_errno(EXIT_FAILED, "PKCS#11 agent");
	else
		e = receive(p, out);
	pthread_mutex_unlock(&p->lock);
	sb_release(&req);
	return e;
}

err_t *p11_open(const char *module, const char *token_label, const char *pin, struct p11 **out)
{
	if (!module || !*module)
		return err_new(EXIT_USAGE, "no PKCS#11 module given");
	if (!token_label || !*token_label)
		return err_new(EXIT_USAGE, "no PKCS#11 token label given");
	if (!pin || !*pin)
		return err_new(EXIT_AUTH, "no PKCS#11 PIN given (pin or pin-file)");
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return err_errno(EXIT_FAILED, "PKCS#11: socketpair");
	pid_t parent = getpid();
	fflush(NULL); /* nothing buffered is written twice */
	pid_t pid = fork();
	if (pid < 0) {
		err_t *e = err_errno(EXIT_FAILED, "PKCS#11: fork");
		close(sv[0]);
		close(sv[1]);
		return e;
	}
	if (pid == 0) {
		close(sv[0]);
		agent(sv[1], parent, module, token_label, pin);
	}
	close(sv[1]);
	struct p11 *p = xcalloc(1, sizeof *p);
	p->pid = pid;
	p->fd = sv[0];
	pthread_mutex_init(&p->lock, NULL);
	err_t *e = receive(p, NULL);
	if (e) {
		p11_close(p);
		return e;
	}
	*out = p;
	return NULL;
}

void p11_close(struct p11 *p)
{
	if (!p)
		return;
	close(p->fd); /* the agent logs out, finalizes and ends */
	while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
		;
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static err_t *fixed_reply(struct p11 *p, int op, const char *label, const void *arg, size_t arg_len, void *out,
			  size_t len)
{
	struct strbuf sb = STRBUF_INIT;
	err_t *e = call(p, op, label, arg, arg_len, &sb);
	if (!e && sb.len != len)
		e = err_new(EXIT_FAILED, "PKCS#11 agent: a %zu-byte reply, not %zu", sb.len, len);
	if (!e)
		memcpy(out, sb.buf, len);
	sb_release(&sb);
	return e;
}

err_t *p11_public_ec(struct p11 *p, const char *label, unsigned char point[65])
{
	return fixed_reply(p, OP_PUBLIC, label, NULL, 0, point, 65);
}

err_t *p11_generate_ec(struct p11 *p, const char *label, unsigned char point[65])
{
	return fixed_reply(p, OP_GENERATE, label, NULL, 0, point, 65);
}

err_t *p11_sign_ec(struct p11 *p, const char *label, const unsigned char hash[32], unsigned char sig[64])
{
	return fixed_reply(p, OP_SIGN, label, hash, 32, sig, 64);
}

err_t *p11_list(struct p11 *p, char ***labels, size_t *count)
{
	struct strbuf sb = STRBUF_INIT;
	err_t *e = call(p, OP_LIST, "", NULL, 0, &sb);
	size_t n = 0;
	for (size_t i = 0; !e && i < sb.len; i++)
		n += sb.buf[i] == '\0';
	char **out = xcalloc(n + 1, sizeof *out);
	size_t k = 0;
	for (size_t pos = 0; !e && k < n; k++) {
		out[k] = xstrdup(sb.buf + pos);
		pos += strlen(out[k]) + 1;
	}
	sb_release(&sb);
	if (e) {
		free(out);
		return e;
	}
	*labels = out;
	*count = k;
	return NULL;
}

err_t *p11_delete(struct p11 *p, const char *label)
{
	return call(p, OP_DELETE, label, NULL, 0, NULL);
}

err_t *p11_relabel(struct p11 *p, const char *from, const char *to)
{
	return call(p, OP_RELABEL, from, to, strlen(to) + 1, NULL);
}

err_t *p11_check_protected(struct p11 *p, const char *label)
{
	return call(p, OP_PROTECTED, label, NULL, 0, NULL);
}
