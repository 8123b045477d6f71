#include "background.h"

#include <sys/resource.h>
#include <unistd.h>

void background_priority(int increment)
{
	/* a thread's own nice value: the thread ID names it */
	id_t self = (id_t)gettid();
	int now = getpriority(PRIO_PROCESS, self);
	(void)setpriority(PRIO_PROCESS, self, now + increment); /* best effort: unchanged on failure */
}
