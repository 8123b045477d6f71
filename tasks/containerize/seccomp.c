/* The RUN step's seccomp filter (see seccomp.h): an allowlist table and the
 * BPF it compiles to, a binary search over the syscall number. */
#include "seccomp.h"

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
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
#error "seccomp.c: add this architecture's AUDIT_ARCH and syscalls"
#endif

#define RET_ERRNO(e) (SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))
#define ARG_LO(i) ((unsigned)offsetof(struct seccomp_data, args[i])) /* little-endian */
#define NS_FLAGS                                                                                          \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |    \
	 CLONE_NEWNET)
#define AF_VSOCK_ 40
#define AF_NETLINK_ 16
#define NETLINK_AUDIT_ 9

#define A(n) { #n, SYS_##n, SC_ALLOW }
#define R(n, rule) { #n, SYS_##n, rule }

static const struct seccomp_entry table[] = {
	/* files and directories */
	A(openat), A(openat2), A(close), A(close_range), A(read), A(readv), A(pread64), A(preadv),
	A(preadv2), A(write), A(writev), A(pwrite64), A(pwritev), A(pwritev2), A(lseek), A(fstat),
	A(newfstatat), A(statx), A(statfs), A(fstatfs), A(faccessat), A(faccessat2), A(getdents64),
	A(getcwd), A(chdir), A(fchdir), A(mkdirat), A(unlinkat), A(renameat), A(renameat2), A(linkat),
	A(symlinkat), A(readlinkat), A(fchmod), A(fchmodat), A(fchown), A(fchownat), A(umask),
	A(truncate), A(ftruncate), A(fallocate), A(fsync), A(fdatasync), A(sync), A(syncfs),
	A(sync_file_range), A(fadvise64), A(readahead), A(flock), A(fcntl), A(ioctl), A(utimensat),
	A(copy_file_range), A(sendfile), A(splice), A(tee), A(dup), A(dup3), A(pipe2),
	A(getxattr), A(lgetxattr), A(fgetxattr), A(setxattr), A(lsetxattr), A(fsetxattr),
	A(listxattr), A(llistxattr), A(flistxattr), A(removexattr), A(lremovexattr), A(fremovexattr),
	A(inotify_init1), A(inotify_add_watch), A(inotify_rm_watch), A(fanotify_mark),
	A(io_setup), A(io_destroy), A(io_submit), A(io_cancel), A(io_getevents),
	A(memfd_create), A(memfd_secret),
	/* memory */
	A(brk), A(mmap), A(munmap), A(mremap), A(mprotect), A(madvise), A(mincore), A(msync),
	A(mlock), A(mlock2), A(munlock), A(mlockall), A(munlockall), A(remap_file_pages),
	A(pkey_alloc), A(pkey_free), A(pkey_mprotect), A(membarrier),
	/* processes, threads, signals */
	R(clone, SC_CLONE), R(clone3, SC_CLONE3), A(execve), A(execveat), A(exit), A(exit_group),
	A(wait4), A(waitid), A(kill), A(tkill), A(tgkill), A(pidfd_open), A(pidfd_send_signal),
	A(process_mrelease), A(getpid), A(getppid), A(gettid), A(getpgid), A(setpgid), A(getsid),
	A(setsid), A(set_tid_address), A(set_robust_list), A(get_robust_list), A(rseq), A(futex),
	A(restart_syscall), A(rt_sigaction), A(rt_sigprocmask), A(rt_sigreturn), A(rt_sigpending),
	A(rt_sigsuspend), A(rt_sigtimedwait), A(rt_sigqueueinfo), A(rt_tgsigqueueinfo), A(sigaltstack),
	A(signalfd4), A(eventfd2), A(prctl), A(seccomp), A(capget), A(capset),
	A(getrlimit), A(setrlimit), A(prlimit64), A(getrusage), A(times), A(getpriority),
	A(setpriority), A(ioprio_get), A(ioprio_set), A(sched_yield), A(sched_getaffinity),
	A(sched_setaffinity), A(sched_getattr), A(sched_setattr), A(sched_getparam), A(sched_setparam),
	A(sched_getscheduler), A(sched_setscheduler), A(sched_get_priority_max),
	A(sched_get_priority_min), A(sched_rr_get_interval), A(getcpu),
	A(landlock_create_ruleset), A(landlock_add_rule), A(landlock_restrict_self),
	R(personality, SC_PERSONALITY),
	/* Docker's, but without namespaces (isolation=chroot) the other
	 * processes are the host's, and chroot escapes a chroot (that
	 * profile drops CAP_SYS_CHROOT too) */
	R(ptrace, SC_ALLOW_NS), R(process_vm_readv, SC_ALLOW_NS),
	R(process_vm_writev, SC_ALLOW_NS), R(chroot, SC_ALLOW_NS),
	/* credentials (the kernel checks the capabilities) */
	A(getuid), A(geteuid), A(getgid), A(getegid), A(getresuid), A(getresgid), A(getgroups),
	A(setuid), A(setgid), A(setreuid), A(setregid), A(setresuid), A(setresgid), A(setgroups),
	A(setfsuid), A(setfsgid),
	/* time */
	A(clock_gettime), A(clock_getres), A(clock_nanosleep), A(nanosleep), A(gettimeofday),
	A(adjtimex), A(clock_adjtime), A(getitimer), A(setitimer), A(timer_create), A(timer_delete),
	A(timer_gettime), A(timer_settime), A(timer_getoverrun), A(timerfd_create), A(timerfd_gettime),
	A(timerfd_settime),
	/* polling */
	A(epoll_create1), A(epoll_ctl), A(epoll_pwait), A(epoll_pwait2), A(ppoll), A(pselect6),
	/* network: the step's namespace, or none */
	R(socket, SC_SOCKET), A(socketpair), A(bind), A(listen), A(accept), A(accept4), A(connect),
	A(getsockname), A(getpeername), A(getsockopt), A(setsockopt), A(shutdown), A(sendto),
	A(sendmsg), A(sendmmsg), A(recvfrom), A(recvmsg), A(recvmmsg),
	/* System V and POSIX IPC (the step's IPC namespace) */
	A(msgget), A(msgsnd), A(msgrcv), A(msgctl), A(semget), A(semop), A(semtimedop), A(semctl),
	A(shmget), A(shmat), A(shmdt), A(shmctl), A(mq_open), A(mq_unlink), A(mq_timedsend),
	A(mq_timedreceive), A(mq_notify), A(mq_getsetattr),
	A(uname), A(sysinfo), A(getrandom),
	R(mknodat, SC_MKNODAT),
#ifdef __x86_64__
	/* the x86_64 calls arm64 has only in their *at or 2/3 form */
	A(open), A(creat), A(stat), A(lstat), A(access), A(chmod), A(chown), A(lchown), A(mkdir),
	A(rmdir), A(unlink), A(rename), A(link), A(symlink), A(readlink), A(getdents), A(utime),
	A(utimes), A(futimesat), A(pipe), A(dup2), A(poll), A(select), A(epoll_create), A(epoll_wait),
	A(epoll_ctl_old), A(epoll_wait_old), A(inotify_init), A(eventfd), A(signalfd), A(pause),
	A(alarm), A(fork), A(vfork), A(getpgrp), A(time), A(arch_prctl), A(get_thread_area),
	A(set_thread_area), R(mknod, SC_MKNOD),
	/* modify_ldt: Docker's, but a kernel surface (ldt bugs) builds do not use */
	R(modify_ldt, SC_DENY),
#endif
	/* allowed by the containers profile, refused here as Docker does
	 * without CAP_SYS_ADMIN (seccomp.h says why) */
	R(mount, SC_DENY), R(umount2, SC_DENY), R(pivot_root, SC_DENY), R(unshare, SC_DENY),
	R(setns, SC_DENY), R(fsopen, SC_DENY), R(fsconfig, SC_DENY), R(fsmount, SC_DENY),
	R(fspick, SC_DENY), R(open_tree, SC_DENY), R(move_mount, SC_DENY), R(mount_setattr, SC_DENY),
	R(reboot, SC_DENY), R(syslog, SC_DENY), R(name_to_handle_at, SC_DENY),
	R(pidfd_getfd, SC_DENY), /* another process's descriptors (Docker: CAP_SYS_PTRACE) */
	R(keyctl, SC_DENY),      /* the kernel keyring is not namespaced */
	R(get_mempolicy, SC_DENY), R(set_mempolicy, SC_DENY), R(mbind, SC_DENY), /* CAP_SYS_NICE */
};

const struct seccomp_entry *seccomp_table(size_t *n)
{
	*n = sizeof table / sizeof *table;
	return table;
}

/* personality values Docker's profile allows */
static const unsigned personalities[] = { 0x0, 0x8, 0x20000, 0x20008, 0xffffffff };

/* what the filter does with one syscall number */
enum action { ACT_ALLOW, ACT_EPERM, ACT_ENOSYS, ACT_HANDLER };

#define MAX_NR 1024
#define MAX_RANGES 512
#define MAX_INSNS 1024

struct range {
	unsigned start;
	unsigned char act;     /* enum action */
	unsigned char handler; /* enum seccomp_rule, for ACT_HANDLER */
};

/* static: no large stack in the forked child, no malloc */
static struct {
	struct sock_filter f[MAX_INSNS];
	unsigned short n;
	bool overflow;
	struct range r[MAX_RANGES];
	unsigned nr;
	struct {
		unsigned short at; /* the BPF_JA to patch */
		unsigned char rule;
	} fix[MAX_RANGES];
	unsigned nfix;
	unsigned char act[MAX_NR], handler[MAX_NR];
} s;

static unsigned short emit(unsigned short code, unsigned k, unsigned char jt, unsigned char jf)
{
	if (s.n >= MAX_INSNS) {
		s.overflow = true;
		return 0;
	}
	s.f[s.n] = (struct sock_filter)BPF_JUMP(code, k, jt, jf);
	return s.n++;
}

static void ret(unsigned v)
{
	emit(BPF_RET | BPF_K, v, 0, 0);
}

static void leaf(const struct range *r)
{
	switch (r->act) {
	case ACT_ALLOW:
		ret(SECCOMP_RET_ALLOW);
		break;
	case ACT_ENOSYS:
		ret(RET_ERRNO(ENOSYS));
		break;
	case ACT_HANDLER:
		if (s.nfix >= MAX_RANGES) {
			s.overflow = true;
			return;
		}
		s.fix[s.nfix].at = emit(BPF_JMP | BPF_JA, 0, 0, 0);
		s.fix[s.nfix++].rule = r->handler;
		break;
	default:
		ret(RET_ERRNO(EPERM));
	}
}

/* the ranges [lo, hi) as a binary search on the number in the accumulator */
static void tree(unsigned lo, unsigned hi)
{
	if (hi - lo == 1) {
		leaf(&s.r[lo]);
		return;
	}
	unsigned mid = lo + (hi - lo) / 2;
	unsigned short at = emit(BPF_JMP | BPF_JGE | BPF_K, s.r[mid].start, 0, 0);
	tree(lo, mid);
	unsigned jump = (unsigned)(s.n - at - 1);
	if (jump > 255)
		s.overflow = true;
	s.f[at].jt = (unsigned char)jump;
	tree(mid, hi);
}

/* the code a conditioned syscall's leaves jump to */
static void handler(enum seccomp_rule rule)
{
	switch (rule) {
	case SC_CLONE: /* flags are argument 0 on x86_64 and arm64 */
		emit(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0), 0, 0);
		emit(BPF_JMP | BPF_JSET | BPF_K, NS_FLAGS, 0, 1);
		ret(RET_ERRNO(EPERM));
		ret(SECCOMP_RET_ALLOW);
		break;
	case SC_CLONE3:
		ret(RET_ERRNO(ENOSYS));
		break;
	case SC_MKNOD:
	case SC_MKNODAT:
		emit(BPF_LD | BPF_W | BPF_ABS, ARG_LO(rule == SC_MKNODAT ? 2 : 1), 0, 0);
		emit(BPF_ALU | BPF_AND | BPF_K, S_IFMT, 0, 0);
		emit(BPF_JMP | BPF_JEQ | BPF_K, S_IFCHR, 2, 0);
		emit(BPF_JMP | BPF_JEQ | BPF_K, S_IFBLK, 1, 0);
		ret(SECCOMP_RET_ALLOW);
		ret(RET_ERRNO(EPERM));
		break;
	case SC_SOCKET:
		emit(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0), 0, 0);
		emit(BPF_JMP | BPF_JEQ | BPF_K, AF_VSOCK_, 0, 1);
		ret(RET_ERRNO(EPERM));
		emit(BPF_JMP | BPF_JEQ | BPF_K, AF_NETLINK_, 0, 3);
		emit(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2), 0, 0);
		emit(BPF_JMP | BPF_JEQ | BPF_K, NETLINK_AUDIT_, 0, 1);
		ret(RET_ERRNO(EINVAL));
		ret(SECCOMP_RET_ALLOW);
		break;
	case SC_PERSONALITY: {
		unsigned char np = (unsigned char)(sizeof personalities / sizeof *personalities);
		emit(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0), 0, 0);
		for (unsigned char i = 0; i < np; i++)
			emit(BPF_JMP | BPF_JEQ | BPF_K, personalities[i], (unsigned char)(np - i), 0);
		ret(RET_ERRNO(EPERM));
		ret(SECCOMP_RET_ALLOW);
		break;
	}
	default:
		ret(RET_ERRNO(EPERM));
	}
}

/* each number's action in this profile, then the runs of equal actions */
static void build_ranges(enum seccomp_profile profile)
{
	unsigned top = 0;
	for (unsigned i = 0; i < MAX_NR; i++)
		s.act[i] = ACT_EPERM, s.handler[i] = 0;
	for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
		unsigned nr = (unsigned)table[i].nr;
		if (nr >= MAX_NR) {
			s.overflow = true;
			continue;
		}
		top = nr > top ? nr : top;
		switch (table[i].rule) {
		case SC_ALLOW:
			s.act[nr] = ACT_ALLOW;
			break;
		case SC_ALLOW_NS:
			s.act[nr] = profile == SECCOMP_CHROOT ? ACT_EPERM : ACT_ALLOW;
			break;
		case SC_DENY:
			s.act[nr] = ACT_EPERM;
			break;
		default:
			s.act[nr] = ACT_HANDLER;
			s.handler[nr] = (unsigned char)table[i].rule;
		}
	}
	s.nr = 0;
	for (unsigned nr = 0; nr <= top + 1; nr++) {
		unsigned char act = nr > top ? ACT_ENOSYS : s.act[nr];
		if (s.nr && s.r[s.nr - 1].act == act && act != ACT_HANDLER)
			continue;
		if (s.nr >= MAX_RANGES) {
			s.overflow = true;
			return;
		}
		s.r[s.nr++] = (struct range){ .start = nr, .act = act, .handler = s.handler[nr & (MAX_NR - 1)] };
	}
}

int seccomp_install(enum seccomp_profile profile)
{
	s.n = 0;
	s.nfix = 0;
	s.overflow = false;
	build_ranges(profile);
	emit(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch), 0, 0);
	emit(BPF_JMP | BPF_JEQ | BPF_K, FILTER_ARCH, 1, 0);
	ret(SECCOMP_RET_KILL_PROCESS);
	emit(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr), 0, 0);
#ifdef __x86_64__
	/* the x32 ABI: same arch value, nr with bit 30 set */
	emit(BPF_JMP | BPF_JGE | BPF_K, 0x40000000U, 0, 1);
	ret(RET_ERRNO(EPERM));
#endif
	tree(0, s.nr);
	/* the handlers, each once; the leaves of its syscalls jump to it */
	for (unsigned rule = SC_CLONE; rule <= SC_PERSONALITY; rule++) {
		unsigned short start = s.n;
		bool used = false;
		for (unsigned i = 0; i < s.nfix; i++) {
			if (s.fix[i].rule != rule)
				continue;
			s.f[s.fix[i].at].k = (unsigned)(start - s.fix[i].at - 1);
			used = true;
		}
		if (used)
			handler((enum seccomp_rule)rule);
	}
	if (s.overflow) {
		errno = E2BIG;
		return -1;
	}
	struct sock_fprog prog = { .len = s.n, .filter = s.f };
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}
