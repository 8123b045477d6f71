/* The RUN step's seccomp filter (see seccomp.h). */
#include "seccomp.h"

#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#if defined(__x86_64__)
#define FILTER_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define FILTER_ARCH AUDIT_ARCH_AARCH64
#else
#error "seccomp.c: add this architecture's AUDIT_ARCH"
#endif

#define RET_EPERM (SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))
#define ARG_LO(i) ((unsigned)offsetof(struct seccomp_data, args[i])) /* little-endian */
#define NS_FLAGS                                                                                          \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |    \
	 CLONE_NEWNET)

/* refused in every profile */
static const int denied[] = {
	SYS_mount, SYS_umount2, SYS_pivot_root, SYS_swapon, SYS_swapoff, SYS_reboot,
	SYS_kexec_load, SYS_kexec_file_load, SYS_init_module, SYS_finit_module, SYS_delete_module,
	SYS_bpf, SYS_perf_event_open, SYS_keyctl, SYS_add_key, SYS_request_key,
	SYS_unshare, SYS_setns, SYS_open_by_handle_at, SYS_name_to_handle_at, SYS_userfaultfd,
	SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register,
	SYS_open_tree, SYS_move_mount, SYS_fsopen, SYS_fsconfig, SYS_fsmount, SYS_fspick, SYS_mount_setattr,
	SYS_acct, SYS_quotactl, SYS_quotactl_fd, SYS_syslog, SYS_lookup_dcookie, SYS_fanotify_init,
	SYS_clock_settime, SYS_clock_adjtime, SYS_settimeofday,
	SYS_get_mempolicy, SYS_set_mempolicy, SYS_mbind, SYS_move_pages, SYS_pidfd_getfd,
#ifdef SYS_umount
	SYS_umount,
#endif
#ifdef SYS_create_module
	SYS_create_module, SYS_get_kernel_syms, SYS_query_module, SYS_nfsservctl,
#endif
#ifdef SYS_uselib
	SYS_uselib, SYS__sysctl, SYS_ustat,
#endif
#ifdef SYS_iopl
	SYS_iopl, SYS_ioperm,
#endif
#ifdef SYS_modify_ldt
	SYS_modify_ldt, /* not in Docker's profile: a kernel surface builds do not need */
#endif
#ifdef SYS_vm86
	SYS_vm86, SYS_vm86old,
#endif
#ifdef SYS_stime
	SYS_stime,
#endif
};

/* refused in addition without a PID or UTS namespace of our own */
static const int denied_chroot[] = {
	SYS_ptrace, SYS_process_vm_readv, SYS_process_vm_writev, SYS_kcmp, SYS_sethostname, SYS_setdomainname,
};

/* personality values Docker's profile allows */
static const unsigned personalities[] = { 0x0, 0x8, 0x20000, 0x20008, 0xffffffff };

struct prog {
	struct sock_filter f[256];
	unsigned short n;
	int overflow;
};

static void emit(struct prog *p, unsigned short code, unsigned k, unsigned char jt, unsigned char jf)
{
	if (p->n >= sizeof p->f / sizeof *p->f) {
		p->overflow = 1;
		return;
	}
	p->f[p->n++] = (struct sock_filter)BPF_JUMP(code, k, jt, jf);
}

static void deny(struct prog *p, int nr)
{
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1);
	emit(p, BPF_RET | BPF_K, RET_EPERM, 0, 0);
}

int seccomp_install(enum seccomp_profile profile)
{
	static struct prog p; /* static: no stack of 2 KB in the child, no malloc */
	p.n = 0;
	p.overflow = 0;
	emit(&p, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch), 0, 0);
	emit(&p, BPF_JMP | BPF_JEQ | BPF_K, FILTER_ARCH, 1, 0);
	emit(&p, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS, 0, 0);
	emit(&p, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr), 0, 0);
#ifdef __x86_64__
	/* the x32 ABI: same arch value, nr with bit 30 set */
	emit(&p, BPF_JMP | BPF_JGE | BPF_K, 0x40000000U, 0, 1);
	emit(&p, BPF_RET | BPF_K, RET_EPERM, 0, 0);
#endif
	for (size_t i = 0; i < sizeof denied / sizeof *denied; i++)
		deny(&p, denied[i]);
	if (profile == SECCOMP_CHROOT)
		for (size_t i = 0; i < sizeof denied_chroot / sizeof *denied_chroot; i++)
			deny(&p, denied_chroot[i]);

	/* clone: no new namespaces (flags are arg 0 on x86_64 and arm64) */
	emit(&p, BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 4);
	emit(&p, BPF_LD | BPF_W | BPF_ABS, ARG_LO(0), 0, 0);
	emit(&p, BPF_JMP | BPF_JSET | BPF_K, NS_FLAGS, 0, 1);
	emit(&p, BPF_RET | BPF_K, RET_EPERM, 0, 0);
	emit(&p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
	/* clone3 passes its flags in memory the filter cannot read */
	emit(&p, BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1);
	emit(&p, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA), 0, 0);

	/* mknod/mknodat: FIFOs, sockets and files yes, devices no */
	for (int at = 0; at < 2; at++) {
#ifdef SYS_mknod
		int nr = at ? SYS_mknodat : SYS_mknod;
#else
		if (!at)
			continue;
		int nr = SYS_mknodat;
#endif
		emit(&p, BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 6);
		emit(&p, BPF_LD | BPF_W | BPF_ABS, ARG_LO(at ? 2 : 1), 0, 0);
		emit(&p, BPF_ALU | BPF_AND | BPF_K, S_IFMT, 0, 0);
		emit(&p, BPF_JMP | BPF_JEQ | BPF_K, S_IFCHR, 2, 0);
		emit(&p, BPF_JMP | BPF_JEQ | BPF_K, S_IFBLK, 1, 0);
		emit(&p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
		emit(&p, BPF_RET | BPF_K, RET_EPERM, 0, 0);
	}

	/* socket: every family but AF_VSOCK (40) */
	emit(&p, BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 0, 4);
	emit(&p, BPF_LD | BPF_W | BPF_ABS, ARG_LO(0), 0, 0);
	emit(&p, BPF_JMP | BPF_JEQ | BPF_K, 40, 0, 1);
	emit(&p, BPF_RET | BPF_K, RET_EPERM, 0, 0);
	emit(&p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);

	/* personality: only the values Docker allows */
	unsigned char np = (unsigned char)(sizeof personalities / sizeof *personalities);
	emit(&p, BPF_JMP | BPF_JEQ | BPF_K, SYS_personality, 0, (unsigned char)(np + 3));
	emit(&p, BPF_LD | BPF_W | BPF_ABS, ARG_LO(0), 0, 0);
	for (unsigned char i = 0; i < np; i++)
		emit(&p, BPF_JMP | BPF_JEQ | BPF_K, personalities[i], (unsigned char)(np - i), 0);
	emit(&p, BPF_RET | BPF_K, RET_EPERM, 0, 0);
	emit(&p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);

	emit(&p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
	if (p.overflow) {
		errno = E2BIG;
		return -1;
	}
	struct sock_fprog prog = { .len = p.n, .filter = p.f };
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}
