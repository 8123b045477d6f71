/* The crun runtime (see runtime.h). */
#include "runtime.h"

err_t *crun_run(const struct step_run *r, int *exit_code)
{
	(void)exit_code;
	return err_new(EXIT_USAGE, "step %s: --runtime=crun is not available yet", r->step->def->name);
}
