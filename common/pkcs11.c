#include "pkcs11.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

#include "xalloc.h"

struct p11 {
	void *module;
	CK_FUNCTION_LIST *f;
	CK_SESSION_HANDLE session;
	bool initialized, logged_in;
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

err_t *p11_open(const char *module, const char *token_label, const char *pin, struct p11 **out)
{
	if (!module || !*module)
		return err_new(EXIT_USAGE, "no PKCS#11 module given");
	if (!token_label || !*token_label)
		return err_new(EXIT_USAGE, "no PKCS#11 token label given");
	if (!pin || !*pin)
		return err_new(EXIT_AUTH, "no PKCS#11 PIN given (pin or pin-file)");
	struct p11 *p = xcalloc(1, sizeof *p);
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
	*out = p;
	return NULL;
fail:
	p11_close(p);
	return e;
}

void p11_close(struct p11 *p)
{
	if (!p)
		return;
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
	free(p);
}

/* Up to max handles of objects of class cls with the given label (label
 * NULL: any). */
static err_t *find(struct p11 *p, CK_OBJECT_CLASS cls, const char *label, CK_OBJECT_HANDLE *h, CK_ULONG max,
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

static err_t *find_one(struct p11 *p, CK_OBJECT_CLASS cls, const char *label, CK_OBJECT_HANDLE *h)
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

err_t *p11_public_ec(struct p11 *p, const char *label, unsigned char point[65])
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

err_t *p11_generate_ec(struct p11 *p, const char *label, unsigned char point[65])
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
	return p11_public_ec(p, label, point);
}

err_t *p11_sign_ec(struct p11 *p, const char *label, const unsigned char hash[32], unsigned char sig[64])
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

err_t *p11_list(struct p11 *p, char ***labels, size_t *count)
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

err_t *p11_delete(struct p11 *p, const char *label)
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

err_t *p11_relabel(struct p11 *p, const char *from, const char *to)
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

err_t *p11_check_protected(struct p11 *p, const char *label)
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
