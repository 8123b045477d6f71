/* docker-lint config file (see lintconfig.h). */
#include "lintconfig.h"

#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "log.h"
#include "strbuf.h"
#include "xalloc.h"
#include "yamldoc.h"

#define CONFIG_MAX (1024 * 1024)

static bool set_severity(struct lint_config *cfg, const char *id, enum severity sev, const char *where)
{
	int i = lint_rule_index(id);
	if (i < 0) {
		log_warn("%s: unknown rule %s (ignored)", where, id);
		return false;
	}
	cfg->severity[i] = sev;
	return true;
}

bool lintconfig_ignore(struct lint_config *cfg, const char *id, const char *where)
{
	return set_severity(cfg, id, SEV_IGNORE, where);
}

void lintconfig_add_trusted(struct lint_config *cfg, const char *registry)
{
	cfg->trusted = xrealloc(cfg->trusted, (cfg->ntrusted + 1) * sizeof *cfg->trusted);
	cfg->trusted[cfg->ntrusted++] = xstrdup(registry);
}

/* A scalar or a sequence of scalars, one callback per string. */
static void each_string(const struct ydoc_node *n, const char *path, const char *what,
			void (*fn)(const char *s, void *data, const char *where), void *data)
{
	char *where = xasprintf("%s:%d", path, n ? n->line : 0);
	if (ydoc_str(n)) {
		fn(ydoc_str(n), data, where);
	} else if (ydoc_is_seq(n)) {
		for (size_t i = 0; i < ydoc_count(n); i++) {
			const struct ydoc_node *it = ydoc_item(n, i);
			if (ydoc_str(it))
				fn(ydoc_str(it), data, where);
			else
				log_warn("%s: %s: expected a string", where, what);
		}
	} else if (!ydoc_is_null(n)) {
		log_warn("%s: %s: expected a string or a list of strings", where, what);
	}
	free(where);
}

static void ignore_fn(const char *s, void *data, const char *where)
{
	lintconfig_ignore(data, s, where);
}

static void trusted_fn(const char *s, void *data, const char *where)
{
	(void)where;
	lintconfig_add_trusted(data, s);
}

struct override_ctx {
	struct lint_config *cfg;
	enum severity sev;
};

static void override_fn(const char *s, void *data, const char *where)
{
	struct override_ctx *o = data;
	set_severity(o->cfg, s, o->sev, where);
}

err_t *lintconfig_load(const char *path, struct lint_config *cfg, enum severity *threshold, bool *threshold_set)
{
	struct strbuf text = STRBUF_INIT;
	err_t *e = fs_read_file(path, CONFIG_MAX, &text);
	if (e) {
		sb_release(&text);
		return err_wrap(e, "config");
	}
	e = lintconfig_apply(sb_str(&text), text.len, path, cfg, threshold, threshold_set);
	sb_release(&text);
	return e;
}

err_t *lintconfig_apply(const char *text, size_t len, const char *path, struct lint_config *cfg,
			enum severity *threshold, bool *threshold_set)
{
	struct ydoc *y = NULL;
	TRY(ydoc_parse(text, len, path, &y));
	const struct ydoc_node *root = y->ndocs ? y->docs[0] : NULL;
	if (root && !ydoc_is_map(root) && !ydoc_is_null(root)) {
		err_t *e = err_new(EXIT_USAGE, "%s:%d: the config must be a mapping", path, root->line);
		ydoc_free(y); /* after the message: root is in y */
		return e;
	}
	for (size_t i = 0; i < ydoc_count(root); i++) {
		const char *key = ydoc_str(ydoc_key(root, i));
		const struct ydoc_node *v = ydoc_value(root, i);
		int line = ydoc_key(root, i)->line;
		if (!key)
			continue;
		if (!strcmp(key, "ignored")) {
			each_string(v, path, key, ignore_fn, cfg);
		} else if (!strcmp(key, "trustedRegistries") || !strcmp(key, "trusted-registries")) {
			each_string(v, path, key, trusted_fn, cfg);
		} else if (!strcmp(key, "override")) {
			if (!ydoc_is_map(v) && !ydoc_is_null(v))
				log_warn("%s:%d: override: expected a mapping of severity to rules", path, line);
			for (size_t j = 0; ydoc_is_map(v) && j < ydoc_count(v); j++) {
				const char *level = ydoc_str(ydoc_key(v, j));
				struct override_ctx o = { cfg, SEV_IGNORE };
				if (!level || !severity_parse(level, &o.sev)) {
					log_warn("%s:%d: override: unknown severity '%s'", path, ydoc_key(v, j)->line,
						 level ? level : "");
					continue;
				}
				each_string(ydoc_value(v, j), path, level, override_fn, &o);
			}
		} else if (!strcmp(key, "label-schema")) {
			/* a list has items but no keys: only a mapping is read */
			if (!ydoc_is_map(v) && !ydoc_is_null(v))
				log_warn("%s:%d: label-schema: expected a mapping of label to type", path, line);
			for (size_t j = 0; ydoc_is_map(v) && j < ydoc_count(v); j++) {
				const char *name = ydoc_str(ydoc_key(v, j));
				const char *type = ydoc_str(ydoc_value(v, j));
				enum label_type t;
				if (!name || !type || !label_type_parse(type, &t)) {
					log_warn("%s:%d: label-schema: unknown type '%s' (text, url, semver, hash, rfc3339, spdx, email)",
						 path, ydoc_key(v, j)->line, type ? type : "");
					continue;
				}
				cfg->labels = xrealloc(cfg->labels, (cfg->nlabels + 1) * sizeof *cfg->labels);
				cfg->labels[cfg->nlabels].name = xstrdup(name);
				cfg->labels[cfg->nlabels].type = t;
				cfg->nlabels++;
			}
		} else if (!strcmp(key, "strict-labels")) {
			if (!ydoc_bool(v, &cfg->strict_labels))
				log_warn("%s:%d: strict-labels: expected true or false", path, line);
		} else if (!strcmp(key, "disable-ignore-pragma")) {
			if (!ydoc_bool(v, &cfg->disable_pragmas))
				log_warn("%s:%d: disable-ignore-pragma: expected true or false", path, line);
		} else if (!strcmp(key, "failure-threshold")) {
			const char *t = ydoc_str(v);
			if (t && threshold_parse(t, threshold))
				*threshold_set = true;
			else
				log_warn("%s:%d: failure-threshold: expected error, warning, info, style or none", path, line);
		} else if (!strcmp(key, "no-fail")) {
			bool nf = false;
			if (ydoc_bool(v, &nf) && nf) {
				*threshold = SEV_IGNORE;
				*threshold_set = true;
			}
		} else if (!strcmp(key, "format") || !strcmp(key, "no-color") || !strcmp(key, "verbose")) {
			/* output settings belong to the task's params */
		} else {
			log_warn("%s:%d: unknown config key '%s' (ignored)", path, line, key);
		}
	}
	ydoc_free(y);
	return NULL;
}
