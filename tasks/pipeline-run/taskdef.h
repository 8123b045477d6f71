/* A Tekton v1 Task read from YAML (common/yamldoc): params, workspaces,
 * results and steps, every field with the line it came from, checked
 * against Tekton's own Task validation (pkg/apis/pipeline/v1
 * task_validation.go): names, types, defaults of the declared type, unique
 * names, a step's image and name, command or script. Variable references
 * inside the steps are checked when they are substituted (subst.h), which
 * is when their values are known. Errors are EXIT_USAGE
 * "file:line: the rule broken". A PipelineRun runner (issue 19) reads a
 * Pipeline's embedded taskSpec with taskdef_from_node. */
#ifndef PIPELINE_RUN_TASKDEF_H
#define PIPELINE_RUN_TASKDEF_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "k8sname.h"
#include "yamldoc.h"

enum tk_type { TK_STRING, TK_ARRAY, TK_OBJECT };

/* A param or result value: a string, an array of strings, or an object of
 * string members (keys[i] -> items[i]). */
struct tk_value {
	enum tk_type type;
	char *str;
	char **items;
	char **keys;
	size_t n;
};

struct tk_param {
	char *name;
	enum tk_type type;
	bool has_default;
	struct tk_value def;
	char **keys; /* object params: the declared properties */
	size_t nkeys;
	int line;
};

struct tk_workspace {
	char *name;
	char *mount_path; /* NULL: /workspace/<name> */
	bool optional, read_only;
	int line;
};

struct tk_result {
	char *name;
	enum tk_type type;
	int line;
};

/* A list of strings with their lines (command, args). */
struct tk_strs {
	char **v;
	int *lines;
	size_t n;
};

struct tk_env {
	char *name;
	char *value;       /* value, or NULL with valueFrom */
	char *from_kind;   /* "secretKeyRef" / "configMapKeyRef" / "fieldRef"..., or NULL */
	char *from_name;   /* the Secret's or ConfigMap's name */
	char *from_key;
	bool from_optional;
	int line;
};

/* Unset tri-states are -1. */
struct tk_security {
	bool present;
	int run_as_non_root;
	long long run_as_user, run_as_group;
	int allow_privilege_escalation, read_only_root, privileged;
	struct tk_strs cap_drop, cap_add;
	char *seccomp_type; /* NULL: unset */
	char *seccomp_localhost;
	int line, user_line, seccomp_line;
};

/* spec.volumes: emptyDir only (scratch space under a read-only root). */
struct tk_volume {
	char *name;
	int line;
};

/* a step's volumeMounts item */
struct tk_volume_mount {
	char *name;
	char *mount_path;
	bool read_only;
	int line;
};

struct tk_step {
	char *name;
	char *image;
	struct tk_strs command, args;
	char *script;
	char *working_dir;
	struct tk_env *env;
	size_t nenv;
	struct tk_security sec;
	char *on_error; /* NULL, "continue" or "stopAndFail" */
	struct tk_volume_mount *mounts;
	size_t nmounts;
	int line, image_line, script_line, working_dir_line;
};

struct tk_task {
	char *file; /* for messages */
	char *name;
	struct tk_param *params;
	size_t nparams;
	struct tk_workspace *workspaces;
	size_t nworkspaces;
	struct tk_result *results;
	size_t nresults;
	struct tk_step *steps;
	size_t nsteps;
	struct tk_volume *volumes;
	size_t nvolumes;
	struct tk_security pod_sec; /* stepTemplate's securityContext, merged into each step */
	int line;
};

/* Read a Task from a YAML file (one document, kind Task). */
err_t *taskdef_load(const char *path, struct tk_task *out);
/* From a parsed Task document (kind, metadata, spec) or, when spec_only,
 * a bare spec (a Pipeline's taskSpec); file names the source in messages. */
err_t *taskdef_from_node(const struct ydoc_node *node, const char *file, bool spec_only, struct tk_task *out);
void taskdef_free(struct tk_task *t);

const struct tk_param *taskdef_param(const struct tk_task *t, const char *name);
const struct tk_workspace *taskdef_workspace(const struct tk_task *t, const char *name);
const struct tk_result *taskdef_result(const struct tk_task *t, const char *name);

/* The pieces a Pipeline shares with a Task (pipelinedef.c): a params
 * item (same schema and rules), a param value (string, list or mapping
 * of strings), the refusal of fields we do not implement, result names. */
err_t *taskdef_param_node(const struct ydoc_node *n, const char *file, struct tk_param *out);
void taskdef_param_free(struct tk_param *p);
err_t *taskdef_value_node(const struct ydoc_node *n, const char *file, const char *what, struct tk_value *out);
err_t *taskdef_known_keys(const struct ydoc_node *map, const char *file, const char *what, const char *const *keys);
bool taskdef_result_name_ok(const char *s);
/* EXIT_USAGE "file:line: message" at node n (line 1 without one): how
 * Task, Pipeline and Trigger documents report a broken rule. */
err_t *taskdef_bad(const char *file, const struct ydoc_node *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Tekton's webhook limits every Task, Pipeline and run's metadata.name to
 * K8S_DNS1123_LABEL_MAX (validate.ObjectMetadata), beyond the DNS-1123
 * subdomain the API server asks for: its words, for messages. */
#define TEKTON_NAME_RULE "Tekton: \"Invalid resource name: length must be no more than 63 characters\""

void tk_value_free(struct tk_value *v);
void tk_value_copy(struct tk_value *dst, const struct tk_value *src);
const char *tk_type_name(enum tk_type t);


#endif
