#include "sigpolicy.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cosign.h"
#include "digest.h"
#include "keys.h"
#include "log.h"
#include "strbuf.h"
#include "trust_verify.h"
#include "vault.h"
#include "xalloc.h"

/* Errors that are verdicts (the data said no: it is missing, malformed or
 * does not verify) rather than failures to ask (the network, refused
 * credentials, a remote's error status). */
static bool is_verdict(const err_t *e)
{
	if (err_is(e, ERR_KIND_NOT_FOUND))
		return true;
	if (err_is(e, ERR_KIND_NETWORK) || err_is(e, ERR_KIND_AUTH) || err_is(e, ERR_KIND_REMOTE))
		return false;
	return e->code == EXIT_POLICY || err_root(e)->code == EXIT_POLICY || e->code == EXIT_USAGE;
}

static err_t *check_dct(const struct sigpolicy *p, struct sigpolicy_verdict *v)
{
	struct notary *n = NULL;
	trust_fetch_fn fetch = trust_dir_fetch;
	void *ctx = (void *)p->trust_data_dir;
	if (!p->trust_data_dir || !*p->trust_data_dir) {
		if (!p->notary_conn)
			TRY(notary_open(&p->notary, p->repo, &n));
		fetch = notary_fetch;
		ctx = p->notary_conn ? p->notary_conn : n;
	}
	struct trust_signer *ts = xcalloc(p->n_signers ? p->n_signers : 1, sizeof *ts);
	struct trust_verdict *tv = xcalloc(p->n_signers ? p->n_signers : 1, sizeof *tv);
	for (size_t i = 0; i < p->n_signers; i++)
		ts[i] = (struct trust_signer){ p->signers[i].name, p->signers[i].pub };
	struct trust_repo repo;
	err_t *e = trust_repo_load(fetch, ctx, p->repo, p->trust_state_dir, time(NULL), &repo);
	/* a read racing a publish sees mismatched files: read again before
	 * calling it tampering */
	for (int again = 0; e && again < 2 && trust_error_inconsistent(e); again++) {
		err_free(e);
		trust_repo_release(&repo);
		struct timespec pause = { 0, 200 * 1000 * 1000 };
		nanosleep(&pause, NULL);
		e = trust_repo_load(fetch, ctx, p->repo, p->trust_state_dir, time(NULL), &repo);
	}
	if (!e)
		e = trust_repo_check_pins(&repo, p->root_key_ids, p->n_root_key_ids);
	if (e && is_verdict(e)) {
		char *why = err_describe(e);
		for (size_t i = 0; i < p->n_signers; i++)
			v[i].reason = xasprintf("trust data of %s rejected: %s", p->repo, why);
		free(why);
		err_free(e);
		e = NULL;
	} else if (!e) {
		trust_verify_signers(&repo, p->digest, ts, p->n_signers, tv);
		for (size_t i = 0; i < p->n_signers; i++) {
			v[i].ok = tv[i].ok;
			v[i].reason = tv[i].reason;
			tv[i].reason = NULL;
		}
		/* only the state dir's memory (a read-only dir, a full disk):
		 * the verdicts stand, as statedir.h promises */
		err_t *ce = trust_repo_commit(&repo);
		if (ce)
			log_warn("%s: nothing new remembered in the trust state dir: %s", p->repo, ce->msg);
		err_free(ce);
	}
	for (size_t i = 0; i < p->n_signers; i++)
		trust_verdict_release(&tv[i]);
	free(ts);
	free(tv);
	trust_repo_release(&repo);
	notary_close(n);
	return e;
}

static err_t *check_cosign(const struct sigpolicy *p, struct sigpolicy_verdict *v)
{
	for (size_t i = 0; i < p->n_signers; i++) {
		if (!p->signers[i].pub) {
			v[i].reason = xasprintf("cosign needs the public key of signer '%s'", p->signers[i].name);
			continue;
		}
		if (!p->registry)
			return err_new(EXIT_USAGE, "cosign verification needs a registry");
		err_t *e = cosign_verify(p->registry, p->repo, p->digest, p->signers[i].pub);
		if (e && !is_verdict(e))
			return e;
		v[i].ok = !e;
		v[i].reason = e ? err_describe(e) : xasprintf("cosign signature verifies for %s", p->digest);
		err_free(e);
	}
	return NULL;
}

err_t *sigpolicy_check(const struct sigpolicy *p, struct sigpolicy_verdict **out, size_t *n, bool *all_ok)
{
	TRY(digest_check(p->digest, "digest"));
	if (!p->n_signers)
		return err_new(EXIT_USAGE, "no required signers");
	if (!p->dct && !p->cosign)
		return err_new(EXIT_USAGE, "no signature format to check");
	size_t count = p->n_signers * ((p->dct ? 1 : 0) + (p->cosign ? 1 : 0));
	struct sigpolicy_verdict *v = xcalloc(count, sizeof *v);
	size_t k = 0;
	err_t *e = NULL;
	if (p->dct) {
		for (size_t i = 0; i < p->n_signers; i++)
			v[k + i] = (struct sigpolicy_verdict){ p->signers[i].name, "dct", false, NULL };
		e = check_dct(p, v + k);
		k += p->n_signers;
	}
	if (!e && p->cosign) {
		for (size_t i = 0; i < p->n_signers; i++)
			v[k + i] = (struct sigpolicy_verdict){ p->signers[i].name, "cosign", false, NULL };
		e = check_cosign(p, v + k);
	}
	if (e) {
		sigpolicy_verdicts_free(v, count);
		return e;
	}
	*all_ok = true;
	for (size_t i = 0; i < count; i++) {
		if (!v[i].reason)
			v[i].reason = xstrdup("not checked");
		*all_ok = *all_ok && v[i].ok;
	}
	*out = v;
	*n = count;
	return NULL;
}

void sigpolicy_verdicts_free(struct sigpolicy_verdict *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].reason);
	free(v);
}

char *sigpolicy_failures(const struct sigpolicy_verdict *v, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < n; i++)
		if (!v[i].ok)
			sb_addf(&sb, "%s%s (%s): %s", sb.len ? "; " : "", v[i].signer, v[i].format, v[i].reason);
	return sb_detach(&sb);
}

err_t *sigpolicy_signers_parse(const char *const *items, size_t n, struct sigpolicy_signers *out)
{
	out->items = xcalloc(n ? n : 1, sizeof *out->items);
	out->n = 0;
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(items[i], '=');
		struct sigpolicy_signer *it = &out->items[out->n++];
		it->name = eq ? xstrndup(items[i], (size_t)(eq - items[i])) : xstrdup(items[i]);
		TRY(vault_check_name(it->name));
		if (!eq)
			continue;
		TRY(err_context(key_public_from_file(eq + 1, &it->pub), "signer '%s'", it->name));
	}
	return NULL;
}

void sigpolicy_signers_free(struct sigpolicy_signers *s)
{
	for (size_t i = 0; i < s->n; i++) {
		EVP_PKEY_free(s->items[i].pub);
		free((char *)s->items[i].name);
	}
	free(s->items);
	s->items = NULL;
	s->n = 0;
}
