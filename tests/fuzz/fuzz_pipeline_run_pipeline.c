/* libFuzzer target for pipeline-run's reading of a Pipeline (untrusted
 * YAML from any repository, its Tasks in the same file): pipelinedef.c
 * parses it, resolves the Tasks and checks Tekton's Pipeline rules.
 * Any bytes: no crash, no leak; a Pipeline that is accepted has a DAG
 * whose parents are tasks of spec.tasks (never finally, never itself)
 * and no cycle. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../tasks/pipeline-run/pipelinedef.h"

// fuzz-sources: tasks/pipeline-run/pipelinedef.c tasks/pipeline-run/taskdef.c tasks/pipeline-run/subst.c
// fuzz-libs: -lyaml

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* depth-first from t: a path longer than ntasks is a cycle */
static void walk(const struct pipeline *p, size_t t, size_t depth)
{
	if (depth > p->ntasks)
		abort();
	for (size_t i = 0; i < p->tasks[t].nparents; i++)
		walk(p, p->tasks[t].parents[i], depth + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pipeline p;
	err_t *e = pipelinedef_parse((const char *)data, size, "pipeline.yaml", &p);
	if (!e) {
		if (p.nfinally > p.ntasks)
			abort();
		for (size_t i = 0; i < p.ntasks; i++) {
			const struct pl_task *t = &p.tasks[i];
			for (size_t k = 0; k < t->nparents; k++)
				if (t->finally || t->parents[k] >= p.ntasks || t->parents[k] == i ||
				    p.tasks[t->parents[k]].finally)
					abort();
			if (p.ntasks <= 12)
				walk(&p, i, 0);
		}
		pipelinedef_free(&p);
	}
	err_free(e);
	return 0;
}
