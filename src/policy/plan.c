/*
 * The containment tables. Each capability of the spec maps to rows here;
 * a capability enforced nowhere would be a bug, and `convbox policy` shows
 * exactly which rows a set of capabilities turns on.
 */
#include "convbox/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALWAYS (-1)
#define N(a)   (sizeof(a) / sizeof((a)[0]))

static const struct cvb_mount_row mount_rows[] = {
    {"/", "tmpfs-ro", ALWAYS, "a fresh empty root: nothing of the host unless listed below"},
    {"/usr", "bind-ro", ALWAYS, "system libraries and the Python stdlib, read-only"},
    {"/bin /lib /lib64 /sbin", "symlink", ALWAYS, "merged-/usr links, as on the host"},
    {"/dev/null /dev/zero /dev/urandom /dev/random", "bind-ro", ALWAYS,
     "the device nodes programs expect; no others"},
    {"/etc/ld.so.cache /etc/localtime", "bind-ro", ALWAYS,
     "loader cache and time zone; no other /etc file"},
    {"/etc/resolv.conf /etc/hosts /etc/nsswitch.conf /etc/gai.conf /etc/ssl", "bind-ro",
     CVB_CAP_NETWORK_FULL, "name resolution and TLS certificates for the host network"},
    {"/converter", "bind-ro,noexec", ALWAYS, "the converter's own folder (sibling data)"},
    {"/input/<name>", "copy-ro", CVB_CAP_READ_INPUT,
     "a private snapshot of the input under its original name"},
    {"/output", "tmpfs,noexec,size=max_output,nr_inodes=max_files", CVB_CAP_WRITE_OUTPUT,
     "collected by the host after the job"},
    {"/tmp", "tmpfs,noexec,size=max_output,nr_inodes=max_files", CVB_CAP_FILE_TEMP,
     "private temp folder, gone with the job"},
};

static const struct cvb_landlock_row landlock_rows[] = {
    {"/usr", CVB_LL_READ, ALWAYS, "stdlib and shared libraries"},
    {"/usr", CVB_LL_EXECUTE, CVB_CAP_SHELL_EXECUTE, "execve of /bin/sh and programs"},
    {"/etc", CVB_LL_READ, ALWAYS, "the two /etc files of the mount view"},
    {"/dev/null", CVB_LL_READ_FILE | CVB_LL_WRITE_FILE, ALWAYS, "stdin and discarded output"},
    {"/dev/zero", CVB_LL_READ_FILE, ALWAYS, "zero pages"},
    {"/dev/urandom", CVB_LL_READ_FILE, ALWAYS, "randomness for uuid, tempfile, hashing"},
    {"/dev/random", CVB_LL_READ_FILE, ALWAYS, "randomness"},
    {"/converter", CVB_LL_READ, ALWAYS, "the converter's own folder"},
    {"/input", CVB_LL_READ | CVB_LL_MAKE_REG | CVB_LL_WRITE_FILE, CVB_CAP_READ_INPUT,
     "the input file (create and write: the runner's own copy; /input is a read-only mount)"},
    {"/output", CVB_LL_RW, CVB_CAP_WRITE_OUTPUT, "output files (no symlinks, fifos, devices)"},
    {"/tmp", CVB_LL_RW, CVB_CAP_FILE_TEMP, "temp files (no symlinks, fifos, devices)"},
};

/*
 * An allowlist: a call not listed is refused. No row may ever allow the
 * System V IPC calls (shmget, msgget, semget and the rest) or the POSIX
 * message queue calls: the jobs of one runner share its IPC namespace
 * whenever this filter is in force (zygote.c, job_clone_flags), and these
 * are the calls that could leave something in it for the next job.
 */
static const struct cvb_seccomp_row seccomp_rows[] = {
    /* memory and process basics the interpreter needs */
    {"read", CVB_SC_ALLOW, 0, ALWAYS, 0, "I/O on open descriptors"},
    {"write", CVB_SC_ALLOW, 0, ALWAYS, 0, "I/O on open descriptors"},
    {"readv", CVB_SC_ALLOW, 0, ALWAYS, 0, "I/O on open descriptors"},
    {"writev", CVB_SC_ALLOW, 0, ALWAYS, 0, "I/O on open descriptors"},
    {"pread64", CVB_SC_ALLOW, 0, ALWAYS, 0, "I/O on open descriptors"},
    {"pwrite64", CVB_SC_ALLOW, 0, ALWAYS, 0, "I/O on open descriptors"},
    {"preadv", CVB_SC_ALLOW, 0, ALWAYS, 0, "I/O on open descriptors"},
    {"pwritev", CVB_SC_ALLOW, 0, ALWAYS, 0, "I/O on open descriptors"},
    {"preadv2", CVB_SC_ALLOW, 0, ALWAYS, 0, "I/O on open descriptors"},
    {"pwritev2", CVB_SC_ALLOW, 0, ALWAYS, 0, "I/O on open descriptors"},
    {"lseek", CVB_SC_ALLOW, 0, ALWAYS, 0, "I/O on open descriptors"},
    {"close", CVB_SC_ALLOW, 0, ALWAYS, 0, "descriptor bookkeeping"},
    {"close_range", CVB_SC_ALLOW, 0, ALWAYS, 0, "descriptor bookkeeping"},
    {"dup", CVB_SC_ALLOW, 0, ALWAYS, 0, "descriptor bookkeeping"},
    {"dup2", CVB_SC_ALLOW, 0, ALWAYS, 0, "descriptor bookkeeping"},
    {"dup3", CVB_SC_ALLOW, 0, ALWAYS, 0, "descriptor bookkeeping"},
    {"fcntl", CVB_SC_ALLOW, 0, ALWAYS, 0, "descriptor flags and locks"},
    {"flock", CVB_SC_ALLOW, 0, ALWAYS, 0, "advisory locks on own files"},
    {"pipe", CVB_SC_ALLOW, 0, ALWAYS, 0, "in-process pipes"},
    {"pipe2", CVB_SC_ALLOW, 0, ALWAYS, 0, "in-process pipes"},
    {"ioctl", CVB_SC_ALLOW, 0, ALWAYS, CVB_SC_ARG_IOCTL_SAFE,
     "isatty and FIONREAD only; TIOCSTI and device ioctls refused"},
    {"ioctl", CVB_SC_ERRNO, 95 /* EOPNOTSUPP */, ALWAYS, CVB_SC_ARG_IOCTL_CLONE,
     "cp's reflink probe: it copies instead"},
    {"mmap", CVB_SC_ALLOW, 0, ALWAYS, 0, "memory (noexec mounts stop mapping dropped code)"},
    {"munmap", CVB_SC_ALLOW, 0, ALWAYS, 0, "memory"},
    {"mprotect", CVB_SC_ALLOW, 0, ALWAYS, 0, "memory"},
    {"mremap", CVB_SC_ALLOW, 0, ALWAYS, 0, "memory"},
    {"madvise", CVB_SC_ALLOW, 0, ALWAYS, 0, "memory"},
    {"brk", CVB_SC_ALLOW, 0, ALWAYS, 0, "memory"},
    {"msync", CVB_SC_ALLOW, 0, ALWAYS, 0, "memory"},
    {"mincore", CVB_SC_ALLOW, 0, ALWAYS, 0, "memory"},
    /* files: Landlock and the mount view decide which ones */
    {"open", CVB_SC_ALLOW, 0, ALWAYS, 0, "paths are Landlock's job"},
    {"openat", CVB_SC_ALLOW, 0, ALWAYS, 0, "paths are Landlock's job"},
    {"stat", CVB_SC_ALLOW, 0, ALWAYS, 0, "metadata"},
    {"fstat", CVB_SC_ALLOW, 0, ALWAYS, 0, "metadata"},
    {"lstat", CVB_SC_ALLOW, 0, ALWAYS, 0, "metadata"},
    {"newfstatat", CVB_SC_ALLOW, 0, ALWAYS, 0, "metadata"},
    {"statx", CVB_SC_ALLOW, 0, ALWAYS, 0, "metadata"},
    {"statfs", CVB_SC_ALLOW, 0, ALWAYS, 0, "metadata"},
    {"fstatfs", CVB_SC_ALLOW, 0, ALWAYS, 0, "metadata"},
    {"access", CVB_SC_ALLOW, 0, ALWAYS, 0, "metadata"},
    {"faccessat", CVB_SC_ALLOW, 0, ALWAYS, 0, "metadata"},
    {"faccessat2", CVB_SC_ALLOW, 0, ALWAYS, 0, "metadata"},
    {"readlink", CVB_SC_ALLOW, 0, ALWAYS, 0, "metadata"},
    {"readlinkat", CVB_SC_ALLOW, 0, ALWAYS, 0, "metadata"},
    /* ls -l and cp -a look for security labels and ACLs (and cp -a copies them): none here */
    {"getxattr", CVB_SC_ERRNO, 95 /* EOPNOTSUPP */, ALWAYS, 0, "extended attributes"},
    {"lgetxattr", CVB_SC_ERRNO, 95 /* EOPNOTSUPP */, ALWAYS, 0, "extended attributes"},
    {"fgetxattr", CVB_SC_ERRNO, 95 /* EOPNOTSUPP */, ALWAYS, 0, "extended attributes"},
    {"listxattr", CVB_SC_ERRNO, 95 /* EOPNOTSUPP */, ALWAYS, 0, "extended attributes"},
    {"llistxattr", CVB_SC_ERRNO, 95 /* EOPNOTSUPP */, ALWAYS, 0, "extended attributes"},
    {"flistxattr", CVB_SC_ERRNO, 95 /* EOPNOTSUPP */, ALWAYS, 0, "extended attributes"},
    {"setxattr", CVB_SC_ERRNO, 95 /* EOPNOTSUPP */, ALWAYS, 0, "extended attributes"},
    {"lsetxattr", CVB_SC_ERRNO, 95 /* EOPNOTSUPP */, ALWAYS, 0, "extended attributes"},
    {"fsetxattr", CVB_SC_ERRNO, 95 /* EOPNOTSUPP */, ALWAYS, 0, "extended attributes"},
    {"removexattr", CVB_SC_ERRNO, 95 /* EOPNOTSUPP */, ALWAYS, 0, "extended attributes"},
    {"lremovexattr", CVB_SC_ERRNO, 95 /* EOPNOTSUPP */, ALWAYS, 0, "extended attributes"},
    {"fremovexattr", CVB_SC_ERRNO, 95 /* EOPNOTSUPP */, ALWAYS, 0, "extended attributes"},
    {"getdents64", CVB_SC_ALLOW, 0, ALWAYS, 0, "directory listing"},
    {"getcwd", CVB_SC_ALLOW, 0, ALWAYS, 0, "working directory"},
    {"chdir", CVB_SC_ALLOW, 0, ALWAYS, 0, "working directory"},
    {"fchdir", CVB_SC_ALLOW, 0, ALWAYS, 0, "working directory"},
    {"mkdir", CVB_SC_ALLOW, 0, ALWAYS, 0, "inside /output and /tmp (Landlock)"},
    {"mkdirat", CVB_SC_ALLOW, 0, ALWAYS, 0, "inside /output and /tmp (Landlock)"},
    {"rmdir", CVB_SC_ALLOW, 0, ALWAYS, 0, "inside /output and /tmp (Landlock)"},
    {"unlink", CVB_SC_ALLOW, 0, ALWAYS, 0, "inside /output and /tmp (Landlock)"},
    {"unlinkat", CVB_SC_ALLOW, 0, ALWAYS, 0, "inside /output and /tmp (Landlock)"},
    {"rename", CVB_SC_ALLOW, 0, ALWAYS, 0, "inside /output and /tmp (Landlock)"},
    {"renameat", CVB_SC_ALLOW, 0, ALWAYS, 0, "inside /output and /tmp (Landlock)"},
    {"renameat2", CVB_SC_ALLOW, 0, ALWAYS, 0, "inside /output and /tmp (Landlock)"},
    {"chmod", CVB_SC_ALLOW, 0, ALWAYS, 0, "own files (nosuid mounts)"},
    {"fchmod", CVB_SC_ALLOW, 0, ALWAYS, 0, "own files (nosuid mounts)"},
    {"fchmodat", CVB_SC_ALLOW, 0, ALWAYS, 0, "own files (nosuid mounts)"},
    {"utimensat", CVB_SC_ALLOW, 0, ALWAYS, 0, "own files"},
    {"ftruncate", CVB_SC_ALLOW, 0, ALWAYS, 0, "own files"},
    {"truncate", CVB_SC_ALLOW, 0, ALWAYS, 0, "own files (Landlock TRUNCATE)"},
    {"fsync", CVB_SC_ALLOW, 0, ALWAYS, 0, "own files"},
    {"fdatasync", CVB_SC_ALLOW, 0, ALWAYS, 0, "own files"},
    {"fallocate", CVB_SC_ALLOW, 0, ALWAYS, 0, "own files (tmpfs size cap)"},
    {"fadvise64", CVB_SC_ALLOW, 0, ALWAYS, 0, "own files"},
    {"copy_file_range", CVB_SC_ALLOW, 0, ALWAYS, 0, "shutil copies"},
    {"sendfile", CVB_SC_ALLOW, 0, ALWAYS, 0, "shutil copies"},
    {"umask", CVB_SC_ALLOW, 0, ALWAYS, 0, "file modes"},
    /* signals, time, identity */
    {"rt_sigaction", CVB_SC_ALLOW, 0, ALWAYS, 0, "signal handlers"},
    {"rt_sigprocmask", CVB_SC_ALLOW, 0, ALWAYS, 0, "signal masks"},
    {"rt_sigreturn", CVB_SC_ALLOW, 0, ALWAYS, 0, "return from handlers"},
    {"rt_sigpending", CVB_SC_ALLOW, 0, ALWAYS, 0, "signal state"},
    {"rt_sigtimedwait", CVB_SC_ALLOW, 0, ALWAYS, 0, "signal state"},
    {"rt_sigsuspend", CVB_SC_ALLOW, 0, ALWAYS, 0, "signal state"},
    {"sigaltstack", CVB_SC_ALLOW, 0, ALWAYS, 0, "faulthandler stacks"},
    {"kill", CVB_SC_ALLOW, 0, ALWAYS, 0, "own pid namespace only (Landlock signal scope)"},
    {"tgkill", CVB_SC_ALLOW, 0, ALWAYS, 0, "own threads (raise, abort)"},
    {"tkill", CVB_SC_ALLOW, 0, ALWAYS, 0, "own threads"},
    {"clock_gettime", CVB_SC_ALLOW, 0, ALWAYS, 0, "time"},
    {"clock_getres", CVB_SC_ALLOW, 0, ALWAYS, 0, "time"},
    {"clock_nanosleep", CVB_SC_ALLOW, 0, ALWAYS, 0, "time.sleep"},
    {"nanosleep", CVB_SC_ALLOW, 0, ALWAYS, 0, "time.sleep"},
    {"gettimeofday", CVB_SC_ALLOW, 0, ALWAYS, 0, "time"},
    {"time", CVB_SC_ALLOW, 0, ALWAYS, 0, "time"},
    {"getpid", CVB_SC_ALLOW, 0, ALWAYS, 0, "identity"},
    {"getppid", CVB_SC_ALLOW, 0, ALWAYS, 0, "identity"},
    {"gettid", CVB_SC_ALLOW, 0, ALWAYS, 0, "identity"},
    {"getuid", CVB_SC_ALLOW, 0, ALWAYS, 0, "identity"},
    {"geteuid", CVB_SC_ALLOW, 0, ALWAYS, 0, "identity"},
    {"getgid", CVB_SC_ALLOW, 0, ALWAYS, 0, "identity"},
    {"getegid", CVB_SC_ALLOW, 0, ALWAYS, 0, "identity"},
    {"getgroups", CVB_SC_ALLOW, 0, ALWAYS, 0, "identity"},
    {"getresuid", CVB_SC_ALLOW, 0, ALWAYS, 0, "identity"},
    {"getresgid", CVB_SC_ALLOW, 0, ALWAYS, 0, "identity"},
    {"getpgrp", CVB_SC_ALLOW, 0, ALWAYS, 0, "identity"},
    {"getpgid", CVB_SC_ALLOW, 0, ALWAYS, 0, "identity"},
    {"getsid", CVB_SC_ALLOW, 0, ALWAYS, 0, "identity"},
    {"uname", CVB_SC_ALLOW, 0, ALWAYS, 0, "platform module"},
    {"sysinfo", CVB_SC_ALLOW, 0, ALWAYS, 0, "memory statistics"},
    {"getrlimit", CVB_SC_ALLOW, 0, ALWAYS, 0, "limits (raising needs a capability)"},
    {"prlimit64", CVB_SC_ALLOW, 0, ALWAYS, 0, "limits (raising needs a capability)"},
    {"getrusage", CVB_SC_ALLOW, 0, ALWAYS, 0, "resource usage"},
    {"times", CVB_SC_ALLOW, 0, ALWAYS, 0, "resource usage"},
    {"getpriority", CVB_SC_ALLOW, 0, ALWAYS, 0, "scheduling"},
    {"getrandom", CVB_SC_ALLOW, 0, ALWAYS, 0, "randomness"},
    {"futex", CVB_SC_ALLOW, 0, ALWAYS, 0, "locks and threads"},
    {"set_robust_list", CVB_SC_ALLOW, 0, ALWAYS, 0, "threads"},
    {"get_robust_list", CVB_SC_ALLOW, 0, ALWAYS, 0, "threads"},
    {"set_tid_address", CVB_SC_ALLOW, 0, ALWAYS, 0, "threads"},
    {"rseq", CVB_SC_ALLOW, 0, ALWAYS, 0, "threads (glibc registers it)"},
    {"arch_prctl", CVB_SC_ALLOW, 0, ALWAYS, 0, "thread-local storage"},
    {"sched_getaffinity", CVB_SC_ALLOW, 0, ALWAYS, 0, "os.cpu_count"},
    {"sched_yield", CVB_SC_ALLOW, 0, ALWAYS, 0, "threads"},
    {"getcpu", CVB_SC_ALLOW, 0, ALWAYS, 0, "threads"},
    {"clone", CVB_SC_ALLOW, 0, ALWAYS, CVB_SC_ARG_CLONE_THREAD,
     "threads only (CLONE_THREAD); counted by RLIMIT_NPROC"},
    {"clone3", CVB_SC_ERRNO, 38 /* ENOSYS */, ALWAYS, 0,
     "its flags cannot be inspected: libc falls back to clone"},
    {"exit", CVB_SC_ALLOW, 0, ALWAYS, 0, "ending"},
    {"exit_group", CVB_SC_ALLOW, 0, ALWAYS, 0, "ending"},
    {"wait4", CVB_SC_ALLOW, 0, ALWAYS, 0, "reaping own children"},
    {"waitid", CVB_SC_ALLOW, 0, ALWAYS, 0, "reaping own children"},
    /* waiting on descriptors */
    {"poll", CVB_SC_ALLOW, 0, ALWAYS, 0, "selectors"},
    {"ppoll", CVB_SC_ALLOW, 0, ALWAYS, 0, "selectors"},
    {"select", CVB_SC_ALLOW, 0, ALWAYS, 0, "selectors"},
    {"pselect6", CVB_SC_ALLOW, 0, ALWAYS, 0, "selectors"},
    {"epoll_create1", CVB_SC_ALLOW, 0, ALWAYS, 0, "selectors"},
    {"epoll_ctl", CVB_SC_ALLOW, 0, ALWAYS, 0, "selectors"},
    {"epoll_wait", CVB_SC_ALLOW, 0, ALWAYS, 0, "selectors"},
    {"epoll_pwait", CVB_SC_ALLOW, 0, ALWAYS, 0, "selectors"},
    {"eventfd2", CVB_SC_ALLOW, 0, ALWAYS, 0, "selectors"},
    /* existing sockets (the job channel); new ones need a network capability */
    {"sendto", CVB_SC_ALLOW, 0, ALWAYS, 0, "existing sockets only"},
    {"recvfrom", CVB_SC_ALLOW, 0, ALWAYS, 0, "existing sockets only"},
    {"sendmsg", CVB_SC_ALLOW, 0, ALWAYS, 0, "existing sockets only"},
    {"recvmsg", CVB_SC_ALLOW, 0, ALWAYS, 0, "existing sockets only"},
    {"shutdown", CVB_SC_ALLOW, 0, ALWAYS, 0, "existing sockets only"},
    {"getsockname", CVB_SC_ALLOW, 0, ALWAYS, 0, "existing sockets only"},
    {"getpeername", CVB_SC_ALLOW, 0, ALWAYS, 0, "existing sockets only"},
    {"getsockopt", CVB_SC_ALLOW, 0, ALWAYS, 0, "existing sockets only"},
    {"setsockopt", CVB_SC_ALLOW, 0, ALWAYS, 0, "existing sockets only"},
    {"socket", CVB_SC_ALLOW, 0, CVB_CAP_NETWORK_FULL, CVB_SC_ARG_SOCKET_INET,
     "IPv4/IPv6 (and netlink for name lookup); never AF_UNIX"},
    {"socket", CVB_SC_ERRNO, 13 /* EACCES */, ALWAYS, CVB_SC_ARG_NSCD_PROBE,
     "every user or group name lookup (ls -l, id) tries nscd first; libc then reads /etc"},
    {"connect", CVB_SC_ALLOW, 0, CVB_CAP_NETWORK_FULL, 0, "outgoing connections"},
    {"bind", CVB_SC_ALLOW, 0, CVB_CAP_NETWORK_FULL, 0, "sockets"},
    {"listen", CVB_SC_ALLOW, 0, CVB_CAP_NETWORK_FULL, 0, "sockets"},
    {"accept", CVB_SC_ALLOW, 0, CVB_CAP_NETWORK_FULL, 0, "sockets"},
    {"accept4", CVB_SC_ALLOW, 0, CVB_CAP_NETWORK_FULL, 0, "sockets"},
    {"sendmmsg", CVB_SC_ALLOW, 0, CVB_CAP_NETWORK_FULL, 0, "sockets"},
    {"recvmmsg", CVB_SC_ALLOW, 0, CVB_CAP_NETWORK_FULL, 0, "sockets"},
    /* processes: only with SHELL_EXECUTE, still inside every other layer */
    {"clone", CVB_SC_ALLOW, 0, CVB_CAP_SHELL_EXECUTE, 0, "child processes (pid namespace)"},
    {"fork", CVB_SC_ALLOW, 0, CVB_CAP_SHELL_EXECUTE, 0, "child processes"},
    {"vfork", CVB_SC_ALLOW, 0, CVB_CAP_SHELL_EXECUTE, 0, "child processes"},
    {"execve", CVB_SC_ALLOW, 0, CVB_CAP_SHELL_EXECUTE, 0, "/bin/sh (Landlock EXECUTE on /usr)"},
    {"execveat", CVB_SC_ALLOW, 0, CVB_CAP_SHELL_EXECUTE, 0, "programs (Landlock EXECUTE)"},
    {"setpgid", CVB_SC_ALLOW, 0, CVB_CAP_SHELL_EXECUTE, 0, "shells manage process groups"},
    {"setsid", CVB_SC_ALLOW, 0, CVB_CAP_SHELL_EXECUTE, 0, "shells (pid namespace holds)"},
    {"prctl", CVB_SC_ALLOW, 0, CVB_CAP_SHELL_EXECUTE, CVB_SC_ARG_NOT_SECCOMP,
     "shells call it; capabilities are gone and no_new_privs is set. Never a filter of "
     "the job's own: its errno or kill would outrank convbox's notification and hide the call"},
};

static const struct cvb_hook_row hook_rows[] = {
    {"import", "veto blocked_imports and their submodules", ALWAYS,
     "the spec's import blocking, at the real import machinery"},
    {"import", "veto native-code modules unless listed in native_modules", ALWAYS,
     "ctypes, _ctypes, cffi, _testcapi, _testinternalcapi, _posixsubprocess"},
    {"open", "allow reads of /usr, /etc, /dev, /converter", ALWAYS, "stdlib and data"},
    {"open", "allow reads of /input", CVB_CAP_READ_INPUT, "the input file"},
    {"open", "allow reads and writes under /output", CVB_CAP_WRITE_OUTPUT, "outputs"},
    {"open", "allow reads and writes under /tmp", CVB_CAP_FILE_TEMP, "temp files"},
    {"os.* file changes", "same paths as open() writes", ALWAYS,
     "remove, rename, mkdir, chmod, link, symlink, truncate, utime"},
    {"os.listdir os.scandir", "same paths as open() reads", ALWAYS, "directory listing"},
    {"os.system os.exec os.spawn os.posix_spawn os.fork os.forkpty subprocess.Popen pty.spawn",
     "veto", CVB_CAP_SHELL_EXECUTE, "running programs"},
    {"socket.*", "veto", CVB_CAP_NETWORK_FULL, "network access"},
    {"ctypes.*", "veto unless ctypes is in native_modules", ALWAYS, "native code"},
    {"code.__new__", "veto", ALWAYS, "crafted code objects"},
    {"os.kill os.killpg signal.pthread_kill", "veto", ALWAYS, "signalling processes"},
    {"sys.remote_exec sys._current_frames cpython.*", "veto", ALWAYS, "interpreter internals"},
};

const struct cvb_landlock_row *cvb_plan_landlock_rows(size_t *n)
{
	*n = N(landlock_rows);
	return landlock_rows;
}

const struct cvb_mount_row *cvb_plan_mount_rows(size_t *n)
{
	*n = N(mount_rows);
	return mount_rows;
}

const struct cvb_seccomp_row *cvb_plan_seccomp_rows(size_t *n)
{
	*n = N(seccomp_rows);
	return seccomp_rows;
}

const char *cvb_plan_syscall_capability(const char *name)
{
	for (size_t i = 0; name && i < N(seccomp_rows); i++)
		if (strcmp(seccomp_rows[i].name, name) == 0 && seccomp_rows[i].cap >= 0)
			return cvb_cap_name((enum cvb_cap)seccomp_rows[i].cap);
	return NULL;
}

const struct cvb_hook_row *cvb_plan_hook_rows(size_t *n)
{
	*n = N(hook_rows);
	return hook_rows;
}

uint64_t cvb_plan_landlock_handled_fs(int abi)
{
	uint64_t fs = (CVB_LL_MAKE_SYM << 1) - 1; /* ABI 1: bits 0..12 */
	if (abi >= 2)
		fs |= CVB_LL_REFER;
	if (abi >= 3)
		fs |= CVB_LL_TRUNCATE;
	if (abi >= 5)
		fs |= CVB_LL_IOCTL_DEV;
	return fs;
}
