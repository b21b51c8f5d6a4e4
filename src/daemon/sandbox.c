/* SPDX-License-Identifier: MIT */
#include "daemon/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <sys/prctl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <seccomp.h>

#include "daemon/log.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANDBOX_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANDBOX_SANITIZER 1
#endif
#endif

/* Exit status after a forbidden system call: what a SIGSYS death would give. */
#define SANDBOX_EXIT (128 + SIGSYS)

/* Give the socket file l created to uid:gid, without following a symlink
 * and only if path still names the socket we bound (same device and
 * inode): O_PATH|O_NOFOLLOW pins the file that is checked and chowned. */
static int give_socket(const struct vd_listener *l, uid_t uid, gid_t gid)
{
	int fd = open(l->path, O_PATH | O_NOFOLLOW | O_CLOEXEC), rc = 0;
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (!S_ISSOCK(st.st_mode) || st.st_dev != l->dev || st.st_ino != l->ino)
		rc = -ESTALE;	/* replaced behind our back: not ours to give */
	else if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int vd_sandbox_drop_user(const char *user, const struct vd_listener *const *socks, size_t n)
{
	struct passwd *pw = getpwnam(user);

	if (!pw) {
		vd_log(VSND_LOG_ERROR, "--user %s: no such user", user);
		return -ENOENT;
	}
	if (geteuid() != 0) {
		if (pw->pw_uid == getuid())
			return 0;
		vd_log(VSND_LOG_ERROR, "--user %s: only root can change user", user);
		return -EPERM;
	}
	/* The frontend and vsnd-ctl run as that user too, and must reach the
	 * 0600 sockets; those we were given (--socket-fd) are not ours. */
	for (size_t i = 0; i < n; i++) {
		int rc;

		if (!socks[i] || socks[i]->fd < 0 || !socks[i]->owned)
			continue;
		rc = give_socket(socks[i], pw->pw_uid, pw->pw_gid);
		if (rc < 0) {
			vd_log(VSND_LOG_ERROR, "--user %s: chown %s: %s", user, socks[i]->path,
			       strerror(-rc));
			return rc;
		}
	}
	/* Groups first: setuid() takes away the right to change them. */
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		int err = errno;
		vd_log(VSND_LOG_ERROR, "--user %s: cannot drop privileges: %s", user, strerror(err));
		return -err;
	}
	/* Make sure the drop cannot be undone. */
	if (setuid(0) == 0) {
		vd_log(VSND_LOG_ERROR, "--user %s: root could be regained", user);
		return -EPERM;
	}
#ifdef SANDBOX_SANITIZER
	/* A sanitizer build's leak checker ptraces our threads at exit, which a
	 * process that changed uid may not do unless it stays dumpable. */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
	vd_log(VSND_LOG_INFO, "running as %s (uid %u, gid %u)", user, (unsigned int)pw->pw_uid,
	       (unsigned int)pw->pw_gid);
	return 0;
}

/* The system calls the daemon makes after setup, found with strace over the
 * unit and end-to-end tests. Names unknown on this architecture (open,
 * epoll_wait, ... on aarch64) are skipped. */
static const char *const allowed[] = {
	/* I/O on the sockets, eventfds, timerfd, signalfd and output files */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "lseek",
	"recvmsg", "sendmsg", "recvfrom", "sendto", "accept4", "accept", "shutdown",
	"getsockopt", "getsockname", "getpeername",
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl", "poll", "ppoll",
	"timerfd_settime", "timerfd_gettime", "timerfd_create", "eventfd2",
	"signalfd4", "close", "fcntl", "dup", "dup3", "ioctl", "pipe2",
	/* files: the file backend opens its outputs at PREPARE, finalizes them
	 * at RELEASE; the listener unlinks its socket at the end */
	"openat", "open", "fstat", "newfstatat", "statx", "stat", "lstat",
	"ftruncate", "fallocate", "fsync", "fdatasync", "unlink", "unlinkat",
	"rename", "renameat", "renameat2", "getdents64", "readlink", "readlinkat",
	"access", "faccessat", "faccessat2", "getcwd", "umask",
	/* memory: guest memory tables, the allocator */
	"mmap", "munmap", "mremap", "mprotect", "madvise", "brk", "mlock", "munlock",
	/* threads, time, signals, process */
	"futex", "futex_waitv", "set_robust_list", "get_robust_list", "rseq", "set_tid_address",
	"sched_yield", "sched_getaffinity", "sched_setscheduler", "sched_getscheduler",
	"sched_setparam", "sched_getparam", "sched_get_priority_min", "sched_get_priority_max",
	"sched_setattr", "sched_getattr", "setpriority", "getpriority",
	"clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time",
	"rt_sigprocmask", "rt_sigaction", "rt_sigreturn", "sigaltstack", "restart_syscall",
	"getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid", "tgkill",
	"getrandom", "uname", "sysinfo", "prlimit64", "getrlimit", "membarrier",
	"exit", "exit_group",
};

/* Refused with EPERM: callers get an error they handle; nothing the daemon
 * does after setup needs them. */
static const char *const refused[] = {
	"socket", "socketpair", "connect", "bind", "listen",
	"chmod", "fchmod", "fchmodat", "chown", "fchown", "fchownat", "lchown",
	"mkdir", "mkdirat", "symlink", "symlinkat", "link", "linkat",
	"setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups",
	"prctl", "memfd_create",
};

/* Async-signal-safe: one line, then exit. The number is what the kernel
 * saw (scmp_sys_resolver N names it). */
static void sandbox_sigsys(int sig, siginfo_t *si, void *uc)
{
	char msg[96] = "vsnd: sandbox: forbidden system call ";
	size_t n = strlen(msg);
	char digits[12];
	int nr = si->si_syscall, k = 0;

	(void)sig;
	(void)uc;
	if (nr < 0)
		nr = 0;
	do
		digits[k++] = (char)('0' + nr % 10);
	while ((nr /= 10) && k < (int)sizeof(digits));
	while (k)
		msg[n++] = digits[--k];
	memcpy(msg + n, ", exiting\n", 10);
	(void)!write(STDERR_FILENO, msg, n + 10);
	_exit(SANDBOX_EXIT);
}

static int add_list(scmp_filter_ctx ctx, uint32_t action, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		int rc;

		if (nr == __NR_SCMP_ERROR)
			continue;
		rc = seccomp_rule_add(ctx, action, nr, 0);
		if (rc < 0 && rc != -EEXIST) {
			vd_log(VSND_LOG_ERROR, "sandbox: rule for %s: %s", names[i], strerror(-rc));
			return rc;
		}
	}
	return 0;
}

#ifndef SANDBOX_SANITIZER
/*
 * Threads only: clone() with CLONE_THREAD. clone3() passes its flags in
 * memory, where seccomp cannot look, so it answers ENOSYS and glibc falls
 * back to clone().
 */
static int add_clone_rules(scmp_filter_ctx ctx)
{
	int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				  SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));

	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	return rc;
}
#else
/* A sanitizer build's leak checker stops the world at exit with a ptrace
 * helper process and reads /proc: let it, in test builds only. */
static const char *const sanitizer_extra[] = {
	"clone", "ptrace", "wait4", "waitid", "kill", "getdents", "getdents64", "prctl", "sigaltstack",
	"readlink", "sched_getaffinity", "setrlimit", "prlimit64",
};
#endif

/*
 * What a sound server's client library needs on top of the daemon's list,
 * once the backend exists: found with strace -f over tests/servers (stream
 * open and close, playback, capture, the server stopped long enough for an
 * xrun, the server killed and started again: the library then opens a new
 * socket), plus the obvious siblings (mkdirat, epoll_create, AF_INET6).
 * domains: the socket families it may create; socket() of any other
 * family is refused with EPERM, as for the built-in backends.
 */
struct backend_extra {
	const char *name;
	const char *const *calls;
	size_t n_calls;
	unsigned int domains;	/* bit d: socket(d, ...) is allowed */
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define INET_DOMAINS (1u << AF_UNIX | 1u << AF_INET | 1u << AF_INET6)

/* libpulse: a socketpair for its mainloop's wakeups, TCP or Unix server
 * sockets (setsockopt for buffer sizes, TCP_NODELAY), memfd shared memory
 * with the server, and mkdir of its runtime directory (EEXIST expected) */
static const char *const pulse_calls[] = {
	"socket", "socketpair", "connect", "setsockopt", "memfd_create", "mkdir", "mkdirat",
};
/* libpipewire: a Unix socket, an epoll loop per thread loop it starts at
 * stream open, memfd buffers it seals */
static const char *const pipewire_calls[] = {
	"socket", "connect", "memfd_create", "epoll_create1", "epoll_create",
};
/* alsa-lib (and PortAudio over it) reaches the servers through its pulse
 * and pipewire plugins, which run those client libraries */
static const char *const alsa_calls[] = {
	"socket", "socketpair", "connect", "setsockopt", "memfd_create", "mkdir", "mkdirat",
	"epoll_create1", "epoll_create",
};

static const struct backend_extra extras[] = {
	{ "pulse", pulse_calls, COUNT(pulse_calls), INET_DOMAINS },
	{ "pipewire", pipewire_calls, COUNT(pipewire_calls), 1u << AF_UNIX },
	{ "alsa", alsa_calls, COUNT(alsa_calls), INET_DOMAINS },
	{ "portaudio", alsa_calls, COUNT(alsa_calls), INET_DOMAINS },
};

static const struct backend_extra *find_extra(const char *backend_name)
{
	for (size_t i = 0; backend_name && i < COUNT(extras); i++)
		if (!strcmp(backend_name, extras[i].name))
			return &extras[i];
	return NULL;
}

/* socket(): allowed for the families in mask, EPERM for every other one
 * (one rule per family: a rule cannot say "not one of these"). */
static int add_socket_rules(scmp_filter_ctx ctx, unsigned int mask)
{
	int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
				  SCMP_A0(SCMP_CMP_GE, 32, 0));

	for (unsigned int d = 0; rc == 0 && d < 32; d++)
		rc = seccomp_rule_add(ctx, mask & 1u << d ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(EPERM),
				      SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, d, 0));
	return rc;
}

/* The backend's extra calls, minus socket(), which is by family. */
static int add_extra(scmp_filter_ctx ctx, const struct backend_extra *x)
{
	int rc = add_socket_rules(ctx, x->domains);

	for (size_t i = 0; rc == 0 && i < x->n_calls; i++) {
		if (!strcmp(x->calls[i], "socket"))
			continue;
		rc = add_list(ctx, SCMP_ACT_ALLOW, &x->calls[i], 1);
	}
	return rc;
}

static int install_sigsys(void)
{
	struct sigaction sa = { .sa_sigaction = sandbox_sigsys, .sa_flags = SA_SIGINFO };
	sigset_t set;

	sigemptyset(&sa.sa_mask);
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	if (sigaction(SIGSYS, &sa, NULL) < 0 || sigprocmask(SIG_UNBLOCK, &set, NULL) < 0)
		return -errno;
	return 0;
}

static bool in_extra(const struct backend_extra *x, const char *name)
{
	for (size_t i = 0; x && i < x->n_calls; i++)
		if (!strcmp(x->calls[i], name))
			return true;
	return false;
}

/* The refused calls the backend's extra list does not allow. */
static int add_refused(scmp_filter_ctx ctx, const struct backend_extra *x)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < COUNT(refused); i++)
		if (!in_extra(x, refused[i]))
			rc = add_list(ctx, SCMP_ACT_ERRNO(EPERM), &refused[i], 1);
	return rc;
}

static int build_filter(scmp_filter_ctx ctx, const struct backend_extra *x)
{
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);

	if (rc == 0)
		rc = add_list(ctx, SCMP_ACT_ALLOW, allowed, COUNT(allowed));
	if (rc == 0 && x)
		rc = add_extra(ctx, x);
	if (rc == 0)
		rc = add_refused(ctx, x);
#ifdef SANDBOX_SANITIZER
	/* before the clone rule: the sanitizer's own clone is not a thread */
	if (rc == 0)
		rc = add_list(ctx, SCMP_ACT_ALLOW, sanitizer_extra, COUNT(sanitizer_extra));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
#else
	if (rc == 0)
		rc = add_clone_rules(ctx);
#endif
	return rc;
}

/* A hidden hook for the sandbox's own test: after entering, make one call
 * the sandbox refuses (VSND_SANDBOX_SELFTEST=socket: EPERM, the daemon goes
 * on) or kills for (=exec). */
static void selftest(void)
{
	const char *t = getenv("VSND_SANDBOX_SELFTEST");

	if (!t)
		return;
	if (!strcmp(t, "socket")) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		vd_log(VSND_LOG_INFO, "sandbox self-test: socket() = %d (%s)", fd,
		       fd < 0 ? strerror(errno) : "allowed");
		if (fd >= 0)
			close(fd);
	} else if (!strcmp(t, "exec")) {
		char *const argv[] = { (char *)"true", NULL };
		vd_log(VSND_LOG_INFO, "sandbox self-test: execve()");
		execve("/bin/true", argv, NULL);
		vd_log(VSND_LOG_ERROR, "sandbox self-test: execve() returned: %s", strerror(errno));
	}
}

int vd_sandbox_enter(enum vd_sandbox_mode mode, const char *backend_name)
{
	const struct backend_extra *x = find_extra(backend_name);
	scmp_filter_ctx ctx;
	int rc;

	if (mode == VD_SANDBOX_OFF) {
		vd_log(VSND_LOG_INFO, "sandbox: off (--sandbox=off)");
		return 0;
	}
	rc = install_sigsys();
	if (rc < 0) {
		vd_log(VSND_LOG_ERROR, "sandbox: SIGSYS handler: %s", strerror(-rc));
		return rc;
	}
	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx) {
		vd_log(VSND_LOG_ERROR, "sandbox: seccomp_init failed");
		return -ENOMEM;
	}
	rc = build_filter(ctx, x);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0) {
		vd_log(VSND_LOG_ERROR, "sandbox: cannot load the seccomp filter: %s (--sandbox=off "
		       "runs without it)", strerror(-rc));
		return rc;
	}
	vd_log(VSND_LOG_INFO, "sandbox: seccomp allowlist active%s%s%s", x ? " (with the " : "",
	       x ? x->name : "", x ? " client library's calls)" : "");
	selftest();
	return 0;
}
