/* Capability sets of a RUN step (see caps.h). */
#include "caps.h"

#include <errno.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int caps_bound(uint64_t keep)
{
	for (int c = 0; c < 64; c++) {
		if (keep & CAP_BIT(c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
			if (errno == EINVAL) /* past the kernel's last capability */
				break;
			return -1;
		}
	}
	return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

int caps_set(uint64_t keep)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2] = { 0 };
	if (syscall(SYS_capget, &hdr, data) < 0)
		return -1;
	uint64_t have = (uint64_t)data[0].permitted | ((uint64_t)data[1].permitted << 32);
	uint64_t set = have & keep;
	for (int i = 0; i < 2; i++) {
		data[i].permitted = (uint32_t)(set >> (32 * i));
		data[i].effective = data[i].permitted;
		data[i].inheritable = 0;
	}
	return (int)syscall(SYS_capset, &hdr, data);
}
