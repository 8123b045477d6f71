/* libFuzzer target for pipeline-run's reading of a Task (untrusted YAML
 * from any repository): tasks/pipeline-run/taskdef.c parses and checks it,
 * pod.c builds the Pod with subst.c's substitutions, with every declared
 * param given its default or "x" and every workspace bound. Any bytes: no
 * crash, no leak; a Pod that is built names one container per step. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../tasks/pipeline-run/pod.h"
#include "../../tasks/pipeline-run/taskdef.h"
#include "xalloc.h"
#include "yamldoc.h"

// fuzz-sources: tasks/pipeline-run/taskdef.c tasks/pipeline-run/subst.c tasks/pipeline-run/pod.c tasks/pipeline-run/secret.c
// fuzz-libs: -lyaml

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ydoc *y = NULL;
	err_t *e = ydoc_parse((const char *)data, size, "task.yaml", &y);
	struct tk_task t = { 0 };
	if (!e && y->ndocs == 1 && y->docs[0])
		e = taskdef_from_node(y->docs[0], "task.yaml", false, &t);
	else if (!e)
		e = err_new(EXIT_USAGE, "not one document");
	if (!e) {
		struct tr_param *params = xcalloc(t.nparams + 1, sizeof *params);
		size_t np = 0;
		for (size_t i = 0; i < t.nparams; i++)
			if (!t.params[i].has_default && t.params[i].type == TK_STRING)
				params[np++] = (struct tr_param){ t.params[i].name, { .type = TK_STRING, .str = "x" } };
		struct tr_binding *ws = xcalloc(t.nworkspaces + 1, sizeof *ws);
		for (size_t i = 0; i < t.nworkspaces; i++)
			ws[i] = (struct tr_binding){ t.workspaces[i].name, "/", false };
		struct taskrun_input in = { .task = &t, .name = "run", .namespace = "default", .uid = "",
					    .params = params, .nparams = np, .workspaces = ws,
					    .nworkspaces = t.nworkspaces };
		struct pod_dirs dirs = { "/r", "/h", "/s" };
		struct pod pod;
		err_t *pe = pod_build(&in, &dirs, POD_VIEW_POD, &pod);
		if (!pe) {
			if (pod.nsteps != t.nsteps)
				abort();
			json_t *j = pod_to_json(&pod, &in);
			json_decref(j);
			pod_free(&pod);
		}
		err_free(pe);
		free(params);
		free(ws);
	}
	err_free(e);
	taskdef_free(&t);
	ydoc_free(y);
	return 0;
}
