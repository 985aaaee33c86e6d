/*
 * The containment sequence of a job child, one function per layer, applied
 * in a fixed order by cvb_contain_job(). Each function says what it stops.
 *
 *   1. namespaces      (clone flags in zygote.c; maps written by the parent)
 *   2. job user        uid/gid 1000 inside, an unprivileged uid outside
 *   3. mount view      minimal root, read-only system, capped /output and /tmp
 *   4. descriptors     only the channel, stdio pipes and input survive
 *   5. rlimits         CPU, memory, files, file size, processes, no core
 *   6. capabilities    all dropped, no_new_privs
 *   7. Landlock        filesystem rights, TCP ports, abstract sockets, signals
 *   8. seccomp         syscall allowlist (raw BPF compiled once per policy)
 *   9. audit hook      armed by pyhost.c right before converter code runs
 *
 * A spare child of the zygote applies 1-3 and 6-8 before its job is known
 * (in the view the zygote built once, with the input folder staged), and 4
 * and 5 when the job arrives: neither needs a privilege, and none is left.
 */
#include "runner/runner.h"

#include "convbox/frame.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sendfile.h>
#include <sys/wait.h>
#include <unistd.h>

#define JOB_UID 1000
#define JOB_GID 1000
#define BASE	"/tmp" /* where the new root is assembled before pivot_root */

static const char *const layer_names[CVB_LAYER_COUNT] = {
    [CVB_LAYER_USERNS] = "user namespace",   [CVB_LAYER_PIDNS] = "pid namespace",
    [CVB_LAYER_MOUNTNS] = "mount namespace", [CVB_LAYER_NETNS] = "network namespace",
    [CVB_LAYER_LANDLOCK] = "landlock",	     [CVB_LAYER_SECCOMP] = "seccomp",
};

const char *cvb_layer_name(enum cvb_layer l)
{
	return (unsigned)l < CVB_LAYER_COUNT ? layer_names[l] : "?";
}

__attribute__((format(printf, 3, 4))) static int fail(struct cvb_job *j, const char *layer,
						      const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(j->err, sizeof(j->err), fmt, ap);
	va_end(ap);
	size_t n = strlen(j->err);
	if (e && n < sizeof(j->err) - 2)
		snprintf(j->err + n, sizeof(j->err) - n, ": %s", strerror(e));
	j->err_layer = layer;
	return -1;
}

void cvb_job_fail(struct cvb_job *j, const char *outcome)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "outcome", outcome, "error",
			      j->err[0] ? j->err : "job setup failed", "layer",
			      j->err_layer ? j->err_layer : "runner");
	char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (t)
		cvb_frame_write(j->channel_fd, CVB_FRAME_JOB_ERROR, j->spec.job_id, t, strlen(t));
	_exit(CVB_JOBEXIT_SETUP);
}

/* Write text to path, relative to dir_fd (AT_FDCWD: the working directory). */
static int write_file_at(int dir_fd, const char *path, const char *text)
{
	int fd = openat(dir_fd, path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, text, strlen(text));
	int e = errno;
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -e;
}

static int write_file(const char *path, const char *text)
{
	return write_file_at(AT_FDCWD, path, text);
}

/* ---- runner-wide setup (zygote) ---------------------------------------- */

/*
 * The runner leaves the host network once, at start: every job it forks
 * shares this one empty network namespace (no interfaces, not even a live
 * loopback), which is much cheaper than a namespace per job. A confining
 * runner also leaves the host's IPC namespace (System V objects, POSIX
 * message queues): its jobs share this empty one while seccomp refuses
 * every call that could put something in it, and get one each where it
 * cannot (job_clone_flags in zygote.c). An unprivileged runner first makes a
 * user namespace of its own, where it is root, so it can do that and later
 * write its jobs' uid maps.
 */
int cvb_contain_enter_runner_ns(struct cvb_runner *r, bool keep_network, char *err, size_t errlen)
{
	int flags = (keep_network ? 0 : CLONE_NEWNET) | (r->trusted ? 0 : CLONE_NEWIPC);
	if (r->root) {
		r->outer_uid = 65534; /* the overflow user: owns nothing on the host */
		r->outer_gid = 65534;
		if (setgroups(0, NULL) < 0) {
			snprintf(err, errlen, "setgroups: %s", strerror(errno));
			return -errno;
		}
	} else {
		uid_t uid = geteuid();
		gid_t gid = getegid();
		char map[64];
		flags |= CLONE_NEWUSER;
		r->outer_uid = 0;
		r->outer_gid = 0;
		if (unshare(flags) == 0) {
			snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
			write_file("/proc/self/setgroups", "deny");
			write_file("/proc/self/uid_map", map);
			snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
			write_file("/proc/self/gid_map", map);
			flags = 0;
		}
	}
	if (flags && unshare(flags) < 0) {
		cvb_contain_probe(&r->layers);
		r->layers.present[CVB_LAYER_NETNS] = false;
		if (!r->root)
			r->layers.present[CVB_LAYER_USERNS] = false;
		return 0; /* the host decides: strict mode refuses, degraded mode lists it */
	}
	cvb_contain_probe(&r->layers);
	return 0;
}

/*
 * A filter whose refusals reach the host needs a listener of its own; the
 * kernel has them since 5.0, and gives none under another process's
 * seccomp supervisor (EBUSY).
 */
static bool seccomp_listener_works(void)
{
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = {.len = 1, .filter = &allow};
	char err[128];
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
	       cvb_seccomp_install(&prog, err, sizeof(err)) >= 0;
}

/*
 * Which layers exist: a throwaway child tries the namespaces and a seccomp
 * filter with a listener (exit bits 1 and 2); Landlock is asked.
 */
void cvb_contain_probe(struct cvb_layers *layers)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit((unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC |
			       CLONE_NEWUTS) == 0
			   ? 0
			   : 1) |
		      (seccomp_listener_works() ? 0 : 2));
	int st = 3 << 8;
	if (pid > 0)
		waitpid(pid, &st, 0);
	int failed = WIFEXITED(st) ? WEXITSTATUS(st) : 3;
	bool ns = pid > 0 && !(failed & 1);
	layers->present[CVB_LAYER_USERNS] = ns;
	layers->present[CVB_LAYER_PIDNS] = ns;
	layers->present[CVB_LAYER_MOUNTNS] = ns;
	layers->present[CVB_LAYER_NETNS] = true; /* cleared by the caller when unshare failed */
	layers->landlock_abi = cvb_landlock_abi();
	layers->present[CVB_LAYER_LANDLOCK] = layers->landlock_abi > 0;
	layers->present[CVB_LAYER_SECCOMP] = pid > 0 && !(failed & 2);
}

/* Parent side: the job's uid/gid 1000 is the runner's unprivileged outer user. */
int cvb_contain_write_maps(struct cvb_runner *r, pid_t pid, char *err, size_t errlen)
{
	char path[64], map[64];
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	int dir = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC); /* one lookup of the pid */
	int rc = dir < 0 ? -errno : write_file_at(dir, "setgroups", "deny");
	snprintf(map, sizeof(map), "%d %u 1", JOB_UID, (unsigned)r->outer_uid);
	if (rc == 0)
		rc = write_file_at(dir, "uid_map", map);
	snprintf(map, sizeof(map), "%d %u 1", JOB_GID, (unsigned)r->outer_gid);
	if (rc == 0)
		rc = write_file_at(dir, "gid_map", map);
	if (dir >= 0)
		close(dir);
	if (rc < 0)
		snprintf(err, errlen, "writing the job's id maps: %s", strerror(-rc));
	return rc;
}

/* ---- job child ----------------------------------------------------------- */

static struct cvb_signal_page *sig_page; /* for the signal handlers only */

/* RLIMIT_CPU's soft limit: end now with a code the host reads as cpu_limit. */
static void on_sigxcpu(int sig)
{
	_exit(CVB_JOBEXIT_CPU);
}

/* RLIMIT_FSIZE: the write fails with EFBIG; remember that the limit was hit. */
static void on_sigxfsz(int sig)
{
	if (sig_page)
		sig_page->fsize_hit = 1;
}

/*
 * The job is init of its pid namespace, where the kernel drops signals the
 * process sends itself (raise, abort, os.kill(os.getpid())) when they have no
 * handler. These handlers give such signals their normal meaning: the job
 * ends, and the host reports it as crashed with the signal's name.
 */
static void on_fatal(int sig)
{
	if (sig_page)
		sig_page->fatal_signal = sig;
	_exit(128 + sig);
}

static int setup_fatal_signals(struct cvb_job *j)
{
	static const int fatal[] = {SIGHUP,  SIGINT,	SIGQUIT,   SIGILL,  SIGTRAP, SIGABRT,
				    SIGBUS,  SIGFPE,	SIGUSR1,   SIGSEGV, SIGUSR2, SIGALRM,
				    SIGTERM, SIGSTKFLT, SIGVTALRM, SIGPROF, SIGPOLL, SIGPWR};
	static char altstack[64 * 1024]; /* a stack overflow still reaches the handler */
	stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal;
	sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
	if (sigaltstack(&ss, NULL) < 0)
		return fail(j, "runner", "sigaltstack");
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		if (sigaction(fatal[i], &sa, NULL) < 0)
			return fail(j, "runner", "signal handlers");
	return 0;
}

static int setup_signals(struct cvb_job *j)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sig_page = j->signals;
	sa.sa_handler = on_sigxcpu;
	if (sigaction(SIGXCPU, &sa, NULL) < 0)
		return fail(j, "rlimits", "SIGXCPU handler");
	sa.sa_handler = on_sigxfsz;
	if (sigaction(SIGXFSZ, &sa, NULL) < 0)
		return fail(j, "rlimits", "SIGXFSZ handler");
	if (setup_fatal_signals(j) < 0)
		return -1;
	signal(SIGPIPE, SIG_IGN); /* as in any Python program: a broken pipe is an exception */
	sigset_t none;
	sigemptyset(&none);
	return sigprocmask(SIG_SETMASK, &none, NULL);
}

/* The parent writes our id maps, then closes the pipe; nothing to read means it failed. */
static int wait_for_parent(struct cvb_job *j, int sync_fd)
{
	char c;
	ssize_t n;
	do
		n = read(sync_fd, &c, 1);
	while (n < 0 && errno == EINTR);
	close(sync_fd);
	if (n != 1) {
		errno = 0;
		return fail(j, "user namespace", "the runner could not map the job's user");
	}
	return 0;
}

/*
 * Layer 2. Become uid/gid 1000 inside the job's user namespace, which maps
 * to an unprivileged user outside: the converter never holds a capability
 * in the initial namespace, and RLIMIT_NPROC applies (it is ignored for root).
 * Capabilities are kept across the switch only until the mounts are done.
 */
static int become_job_user(struct cvb_job *j)
{
	if (prctl(PR_SET_KEEPCAPS, 1) < 0)
		return fail(j, "user namespace", "PR_SET_KEEPCAPS");
	if (setresgid(JOB_GID, JOB_GID, JOB_GID) < 0 || setresuid(JOB_UID, JOB_UID, JOB_UID) < 0)
		return fail(j, "user namespace", "switching to the job user");
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0)
		return fail(j, "user namespace", "capget");
	d[0].effective = d[0].permitted;
	d[1].effective = d[1].permitted;
	if (syscall(SYS_capset, &h, d) < 0)
		return fail(j, "user namespace", "capset");
	if (sethostname("convbox", 7) < 0)
		return fail(j, "uts namespace", "sethostname");
	return 0;
}

/* Flags a read-only remount must keep: the kernel refuses to clear locked ones. */
static unsigned long kept_flags(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;
	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

/* Bind src read-only at BASE/dst; dst is created as a directory or an empty file. */
static int bind_ro(struct cvb_job *j, const char *src, const char *dst, unsigned long extra,
		   bool optional)
{
	char target[512];
	struct stat st;
	snprintf(target, sizeof(target), BASE "/%s", dst);
	if (stat(src, &st) < 0)
		return optional ? 0 : fail(j, "mount", "bind source %s", src);
	if (S_ISDIR(st.st_mode) ? mkdir(target, 0755) < 0 && errno != EEXIST
				: mknod(target, S_IFREG | 0444, 0) < 0 && errno != EEXIST)
		return fail(j, "mount", "creating %s", dst);
	if (mount(src, target, NULL, MS_BIND | MS_REC, NULL) < 0)
		return fail(j, "mount", "binding %s", dst);
	if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | kept_flags(target) | extra,
		  NULL) < 0)
		return fail(j, "mount", "making %s read-only", dst);
	return 0;
}

/* A size- and inode-capped, noexec tmpfs owned by the job user. */
static int mount_tmpfs(struct cvb_job *j, const char *dst, unsigned long long bytes,
		       unsigned inodes)
{
	char target[512], opts[128];
	snprintf(target, sizeof(target), "%s/%s", j->view_root, dst);
	snprintf(opts, sizeof(opts), "size=%llu,nr_inodes=%u,mode=0700", bytes, inodes);
	if (access(target, F_OK) < 0 && mkdir(target, 0755) < 0)
		return fail(j, "mount", "creating %s", dst);
	if (mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0)
		return fail(j, "mount", "tmpfs on %s", dst);
	return 0;
}

/* Symlinks like /bin -> usr/bin on merged-/usr systems are copied; real dirs are bound. */
static int link_or_bind(struct cvb_job *j, const char *name)
{
	char src[64], target[512], link[256];
	snprintf(src, sizeof(src), "/%s", name);
	ssize_t n = readlink(src, link, sizeof(link) - 1);
	if (n < 0)
		return bind_ro(j, src, name, MS_NOSUID | MS_NODEV, true);
	link[n] = 0;
	snprintf(target, sizeof(target), BASE "/%s", name);
	if (symlink(link, target) < 0)
		return fail(j, "mount", "symlink %s", name);
	return 0;
}

static bool safe_name(const char *s)
{
	return s && *s && strlen(s) < 256 && !strchr(s, '/') && strcmp(s, ".") != 0 &&
	       strcmp(s, "..") != 0;
}

/*
 * The paths of the job's input and converter in its view. A job child has
 * one job, so these live here rather than in struct cvb_job, which the
 * zygote zeroes for every JOB frame: 8 KiB less of its stack written, and
 * copied, between two forks.
 */
static char input_view_buf[4096], converter_view_buf[4096];

/* The converter is told where its input is even without READ_INPUT. */
static int name_input(struct cvb_job *j)
{
	if (!safe_name(j->spec.input_name)) {
		errno = 0;
		return fail(j, "mount", "unusable input name");
	}
	snprintf(input_view_buf, sizeof(input_view_buf), "/input/%s", j->spec.input_name);
	j->input_view = input_view_buf;
	return 0;
}

/* Copy the input the host opened into a folder of the job's own tmpfs, read-only. */
static int copy_input(struct cvb_job *j, int dir_fd)
{
	int out = openat(dir_fd, j->spec.input_name,
			 O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
	if (out < 0)
		return fail(j, "mount", "creating the input copy");
	off_t off = 0;
	for (;;) {
		ssize_t n = sendfile(out, j->input_fd, &off, 1 << 30);
		if (n == 0)
			break;
		if (n < 0) {
			close(out);
			return fail(j, "mount", "copying the input");
		}
	}
	close(out);
	return 0;
}

/*
 * The input is a private read-only copy of what the host opened: the
 * converter sees a snapshot under its original name, never the host path,
 * and the copy works whatever the file's owner and mode on the host.
 */
static int mount_input(struct cvb_job *j)
{
	char opts[96];
	struct stat st;
	if (!j->spec.input_name)
		return 0; /* validation jobs have no input */
	if (name_input(j) < 0)
		return -1;
	if (!(j->spec.caps & CVB_CAP_BIT(CVB_CAP_READ_INPUT)) || j->input_fd < 0)
		return 0;
	if (fstat(j->input_fd, &st) < 0)
		return fail(j, "mount", "input size");
	snprintf(opts, sizeof(opts), "size=%llu,nr_inodes=8,mode=0755",
		 (unsigned long long)st.st_size + 65536);
	if (mount("tmpfs", "/input", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0)
		return fail(j, "mount", "tmpfs for the input");
	int dir = open("/input", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int rc = dir < 0 ? fail(j, "mount", "opening /input") : copy_input(j, dir);
	if (dir >= 0)
		close(dir);
	if (rc == 0 && mount(NULL, "/input", NULL,
			     MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return fail(j, "mount", "making the input read-only");
	return rc;
}

/*
 * A spare stages its input folder before its job is known: an empty tmpfs
 * at /input, covered by a read-only bind of itself. The writable mount
 * underneath is reachable only through the descriptor kept in stage_fd; the
 * spare copies its job's input in through it and closes it before any
 * converter code runs, so the converter has no way to write there.
 */
static int stage_input(struct cvb_job *j)
{
	char input[512];
	snprintf(input, sizeof(input), "%s/input", j->view_root);
	if (mount("tmpfs", input, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "nr_inodes=8,mode=0755") < 0)
		return fail(j, "mount", "tmpfs for the input");
	j->stage_fd = open(input, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (j->stage_fd < 0)
		return fail(j, "mount", "opening the input stage");
	if (mount(input, input, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, input, NULL,
		  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return fail(j, "mount", "binding the input read-only");
	return 0;
}

/* A staged spare's job: its input goes in through the stage, which is then closed. */
static int fill_stage(struct cvb_job *j)
{
	int rc = 0;
	if (j->spec.input_name)
		rc = name_input(j);
	if (rc == 0 && j->stage_fd >= 0 && j->input_fd >= 0 && j->spec.input_name &&
	    (j->spec.caps & CVB_CAP_BIT(CVB_CAP_READ_INPUT)))
		rc = copy_input(j, j->stage_fd);
	if (j->stage_fd >= 0)
		close(j->stage_fd);
	j->stage_fd = -1;
	return rc;
}

/* NETWORK_FULL: what name resolution and TLS need; nothing else of /etc. */
static int bind_network_files(struct cvb_job *j)
{
	static const char *const files[] = {"etc/resolv.conf", "etc/hosts", "etc/nsswitch.conf",
					    "etc/gai.conf",    "etc/ssl",   NULL};
	char src[64];
	for (int i = 0; files[i]; i++) {
		snprintf(src, sizeof(src), "/%s", files[i]);
		if (bind_ro(j, src, files[i], MS_NOSUID | MS_NODEV | MS_NOEXEC, true) < 0)
			return -1;
	}
	return 0;
}

static int populate_root(struct cvb_job *j, int conv_dir_fd)
{
	static const char *const dirs[] = {"input", "etc", "dev", "converter", NULL};
	static const char *const devs[] = {"null", "zero", "urandom", "random", NULL};
	static const char *const links[] = {"bin", "lib", "lib64", "sbin", "lib32", "libx32", NULL};
	char src[64], dst[64];
	for (int i = 0; dirs[i]; i++) {
		snprintf(dst, sizeof(dst), BASE "/%s", dirs[i]);
		if (mkdir(dst, 0755) < 0 && errno != EEXIST)
			return fail(j, "mount", "creating /%s", dirs[i]);
	}
	if (bind_ro(j, "/usr", "usr", 0, false) < 0)
		return -1;
	for (int i = 0; links[i]; i++) {
		snprintf(src, sizeof(src), "/%s", links[i]);
		if (access(src, F_OK) == 0 && link_or_bind(j, links[i]) < 0)
			return -1;
	}
	for (int i = 0; devs[i]; i++) {
		snprintf(src, sizeof(src), "/dev/%s", devs[i]);
		snprintf(dst, sizeof(dst), "dev/%s", devs[i]);
		if (bind_ro(j, src, dst, MS_NOSUID | MS_NOEXEC, false) < 0)
			return -1;
	}
	if ((j->spec.caps & CVB_CAP_BIT(CVB_CAP_NETWORK_FULL)) && bind_network_files(j) < 0)
		return -1;
	if (bind_ro(j, "/etc/ld.so.cache", "etc/ld.so.cache", MS_NOSUID | MS_NODEV, true) < 0 ||
	    bind_ro(j, "/etc/localtime", "etc/localtime", MS_NOSUID | MS_NODEV, true) < 0)
		return -1;
	if (conv_dir_fd >= 0) {
		snprintf(src, sizeof(src), "/proc/self/fd/%d", conv_dir_fd);
		if (bind_ro(j, src, "converter", MS_NOSUID | MS_NODEV | MS_NOEXEC, false) < 0)
			return -1;
	}
	return 0;
}

static int mount_writable(struct cvb_job *j)
{
	const struct cvb_limits *l = &j->spec.limits;
	unsigned long long bytes = (unsigned long long)l->max_output_mb << 20;
	if ((j->spec.caps & CVB_CAP_BIT(CVB_CAP_WRITE_OUTPUT)) &&
	    mount_tmpfs(j, "output", bytes, l->max_files + 1) < 0)
		return -1;
	if ((j->spec.caps & CVB_CAP_BIT(CVB_CAP_FILE_TEMP)) &&
	    mount_tmpfs(j, "tmp", bytes, l->max_files + 1) < 0)
		return -1;
	return 0;
}

/* Swap the assembled tree in as "/", drop the host's tree, make "/" read-only. */
static int pivot_into_base(struct cvb_job *j)
{
	if (chdir(BASE) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
		return fail(j, "mount", "pivot_root");
	if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return fail(j, "mount", "detaching the host's root");
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) <
	    0)
		return fail(j, "mount", "making / read-only");
	return 0;
}

/* The converter's file name: the view shows its folder at /converter. */
static const char *converter_name(const struct cvb_job *j)
{
	const char *path = j->spec.converter_path ? j->spec.converter_path : "";
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* The converter's folder, as a descriptor, looked up in the current mount namespace. */
static int open_converter_dir(const struct cvb_job *j)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", j->spec.converter_path ? j->spec.converter_path : "");
	char *slash = strrchr(dir, '/');
	if (!slash)
		return -1;
	if (slash == dir)
		slash[1] = 0;
	else
		*slash = 0;
	return open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static void set_views(struct cvb_job *j, const char *converter_name)
{
	snprintf(converter_view_buf, sizeof(converter_view_buf), "/converter/%s", converter_name);
	j->converter_view = converter_view_buf;
	j->input_view = NULL; /* mount_input, once the job is known */
	cvb_contain_views(j->spec.caps, &j->output_view, &j->temp_view);
	j->view_ready = true;
}

/*
 * A spare forked inside the zygote's view namespace: the view is already its
 * root (every mount of it locked read-only by the copy into the spare's user
 * namespace, nothing of the host's tree left). It adds its job's writable
 * folders and input stage, and that is all.
 */
static int enter_built_view(struct cvb_job *j)
{
	j->view_root = "";
	if (chdir("/") < 0)
		return fail(j, "mount", "entering the runner's view");
	if (mount_writable(j) < 0 || (j->staged && stage_input(j) < 0))
		return -1;
	set_views(j, converter_name(j));
	return 0;
}

/* The read-only part of the view, assembled at BASE: the root tmpfs and what populate_root binds.
 */
static int assemble_root(struct cvb_job *j)
{
	int conv_dir_fd = open_converter_dir(j);
	int rc = 0;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		rc = fail(j, "mount", "making mounts private");
	else if (mount("tmpfs", BASE, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		       "size=1m,nr_inodes=128,mode=0755") < 0)
		rc = fail(j, "mount", "tmpfs for the new root");
	else
		rc = populate_root(j, conv_dir_fd);
	if (conv_dir_fd >= 0)
		close(conv_dir_fd);
	return rc;
}

/*
 * Layer 3. A minimal root: read-only /usr (system and the Python stdlib),
 * a few device nodes and /etc files, the converter's folder read-only at
 * /converter, the input under /input, and /output and /tmp only when
 * granted, as capped noexec tmpfs. No /proc, /run, /home, host /tmp or /etc.
 */
static int setup_mounts(struct cvb_runner *r, struct cvb_job *j)
{
	/* a spare cloned inside the zygote's view; other jobs build their own */
	if (r->in_view && r->spare_view)
		return enter_built_view(j);
	j->view_root = BASE;
	if (assemble_root(j) < 0 || mount_writable(j) < 0 || (j->staged && stage_input(j) < 0) ||
	    pivot_into_base(j) < 0)
		return -1;
	set_views(j, converter_name(j));
	return 0;
}

/*
 * A zygote with spares builds the part of the mount view that its policy
 * fixes (the read-only root, /usr, devices, /etc files, the converter's
 * folder, empty mountpoints) once, as the root of a mount namespace of its
 * own, and stays in its original one. Spares are forked from inside the
 * view's namespace, so theirs is a copy of the view and nothing else: a
 * spare only adds its job's writable folders and input stage. Other jobs
 * are forked from the original namespace and build their view themselves.
 * On any failure there is no view and spares build their own too.
 */
int cvb_contain_build_view(struct cvb_runner *r, char *err, size_t errlen)
{
	struct cvb_job j;
	memset(&j, 0, sizeof(j));
	j.spec.caps = r->caps;
	j.spec.converter_path = r->converter_path;
	j.stage_fd = -1;
	j.view_root = BASE;
	/* a namespace of our own to come back to (not the host's when we are not root) */
	if (!r->root && unshare(CLONE_NEWNS) < 0) {
		snprintf(err, errlen, "a mount namespace for the runner: %s", strerror(errno));
		return -1;
	}
	r->home_ns_fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (r->home_ns_fd < 0 || unshare(CLONE_NEWNS) < 0) {
		snprintf(err, errlen, "a mount namespace for the view: %s", strerror(errno));
		return -1;
	}
	r->view_ns_fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	int rc = r->view_ns_fd < 0 ? -1 : assemble_root(&j);
	if (rc == 0 && (r->caps & CVB_CAP_BIT(CVB_CAP_WRITE_OUTPUT)))
		rc = mkdir(BASE "/output", 0755);
	if (rc == 0 && (r->caps & CVB_CAP_BIT(CVB_CAP_FILE_TEMP)))
		rc = mkdir(BASE "/tmp", 0755);
	if (rc == 0)
		rc = pivot_into_base(&j);
	if (rc < 0)
		snprintf(err, errlen, "building the runner's view: %s",
			 j.err[0] ? j.err : strerror(errno));
	if (setns(r->home_ns_fd, CLONE_NEWNS) < 0) {
		snprintf(err, errlen, "back to the runner's mount namespace: %s", strerror(errno));
		_exit(1); /* in the view's namespace by mistake: nothing must run here */
	}
	if (rc < 0 && r->view_ns_fd >= 0) {
		close(r->view_ns_fd);
		r->view_ns_fd = -1;
	}
	return rc < 0 ? -1 : 0;
}

int cvb_contain_enter_view_ns(const struct cvb_runner *r, bool enter)
{
	if (r->view_ns_fd < 0)
		return 0;
	return setns(enter ? r->view_ns_fd : r->home_ns_fd, CLONE_NEWNS);
}

void cvb_contain_views(cvb_caps caps, const char **output, const char **temp)
{
	*output = (caps & CVB_CAP_BIT(CVB_CAP_WRITE_OUTPUT)) ? "/output" : "/nonexistent";
	*temp = (caps & CVB_CAP_BIT(CVB_CAP_FILE_TEMP)) ? "/tmp" : NULL;
}

/* Trusted mode: the converter sees the host's paths; outputs go to a host staging folder. */
static void trusted_views(struct cvb_job *j)
{
	j->converter_view = j->spec.converter_path;
	j->input_view = j->spec.input_path;
	j->output_view = j->spec.output_dir;
	j->temp_view = "/tmp";
}

/* Move fd to a number above every target, so the dup2s below cannot clobber each other. */
static int lift(int fd)
{
	return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 64);
}

/*
 * Layer 4. Only the job's own descriptors survive: stdin is /dev/null,
 * stdout/stderr are the host's log pipes, 3 is the job channel. Landlock does
 * not revoke open descriptors, so nothing else may stay open; above all not
 * the host's input file, which the job reads as its copy under /input (with
 * READ_INPUT) and could otherwise read without it, or fchmod as its owner.
 */
static int setup_fds(struct cvb_job *j)
{
	int ch = lift(j->channel_fd), out = lift(j->stdout_fd), er = lift(j->stderr_fd);
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (ch < 0 || out < 0 || er < 0 || devnull < 0)
		return fail(j, "descriptors", "preparing descriptors");
	if (dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(er, 2) < 0 ||
	    dup2(ch, CVB_JOB_FD_CHANNEL) < 0)
		return fail(j, "descriptors", "dup2");
	if (syscall(SYS_close_range, CVB_JOB_FD_CHANNEL + 1, ~0u, 0) < 0)
		return fail(j, "descriptors", "close_range");
	j->channel_fd = CVB_JOB_FD_CHANNEL;
	j->input_fd = -1;
	j->stdout_fd = 1;
	j->stderr_fd = 2;
	return 0;
}

struct rlimit_row {
	int resource;
	const char *name;
};

static int set_limit(struct cvb_job *j, int res, const char *name, rlim_t soft, rlim_t hard)
{
	struct rlimit rl = {soft, hard};
	if (setrlimit(res, &rl) < 0)
		return fail(j, "rlimits", "setting %s", name);
	return 0;
}

/*
 * Layer 5. Each limit is set or the job does not run (fail closed). CPU gets
 * hard = soft + 1 so SIGXCPU comes first and SIGKILL one second later.
 * Descriptors: the spec's count is for the converter; 0-3 are ours.
 */
static int setup_rlimits(struct cvb_job *j)
{
	const struct cvb_limits *l = &j->spec.limits;
	rlim_t cpu = (rlim_t)(l->cpu_s + 0.999);
	rlim_t mem = (rlim_t)l->memory_mb << 20;
	rlim_t fsize = (rlim_t)l->max_output_mb << 20;
	rlim_t nofile = (rlim_t)l->max_open_files + CVB_JOB_FD_CHANNEL + 1;
	if (cpu < 1)
		cpu = 1;
	/*
	 * AddressSanitizer reserves terabytes of address space for its shadow,
	 * so a sanitizer build (tests only) cannot cap RLIMIT_AS; every other
	 * limit holds.
	 */
	if (set_limit(j, RLIMIT_CPU, "RLIMIT_CPU", cpu, cpu + 1) < 0 ||
	    (!CVB_SANITIZER_BUILD && set_limit(j, RLIMIT_AS, "RLIMIT_AS", mem, mem) < 0) ||
	    set_limit(j, RLIMIT_FSIZE, "RLIMIT_FSIZE", fsize, fsize) < 0 ||
	    set_limit(j, RLIMIT_NOFILE, "RLIMIT_NOFILE", nofile, nofile) < 0 ||
	    set_limit(j, RLIMIT_CORE, "RLIMIT_CORE", 0, 0) < 0)
		return -1;
	if (!j->spec.trusted &&
	    set_limit(j, RLIMIT_NPROC, "RLIMIT_NPROC", l->max_procs, l->max_procs) < 0)
		return -1;
	return 0;
}

/*
 * Layer 6. No capability survives in any set, none can come back through
 * exec (securebits locked), and no_new_privs stops setuid binaries.
 */
static int drop_caps(struct cvb_job *j)
{
	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
					 SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
					 SECBIT_NO_CAP_AMBIENT_RAISE |
					 SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED) < 0)
		return fail(j, "capabilities", "securebits");
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return fail(j, "capabilities", "dropping bounding capability %d", c);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return fail(j, "capabilities", "clearing ambient capabilities");
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) < 0)
		return fail(j, "capabilities", "capset");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(j, "capabilities", "no_new_privs");
	return 0;
}

static int apply_landlock(struct cvb_runner *r, struct cvb_job *j)
{
	if (!r->layers.present[CVB_LAYER_LANDLOCK])
		return j->spec.allow_degraded
			   ? 0
			   : (errno = 0, fail(j, "landlock", "Landlock is not available"));
	if (cvb_landlock_apply(j, r->layers.landlock_abi, j->err, sizeof(j->err)) < 0) {
		j->err_layer = "landlock";
		return -1;
	}
	return 0;
}

static int apply_seccomp(struct cvb_runner *r, struct cvb_job *j)
{
	if (!r->layers.present[CVB_LAYER_SECCOMP]) {
		errno = 0;
		return j->spec.allow_degraded ? 0 : fail(j, "seccomp", "seccomp is not available");
	}
	const struct sock_fprog *prog =
	    cvb_seccomp_program(r, j->spec.caps, j->spec.limits.max_procs, j->err, sizeof(j->err));
	if (!prog || (j->listener_fd = cvb_seccomp_install(prog, j->err, sizeof(j->err))) < 0) {
		j->err_layer = "seccomp";
		return -1;
	}
	return 0;
}

/*
 * The filter's listener goes to the host as the first frame on the job's
 * channel, and is closed here, before any converter code runs: from then on
 * only the host hears a refused call, and only the host answers it (a
 * listener in the job's hands could let its own calls through). Until then
 * the job makes no call the filter refuses: it would wait for an answer that
 * nobody gives.
 */
static int hand_over_listener(struct cvb_job *j)
{
	if (j->listener_fd < 0)
		return 0; /* no filter: trusted, or degraded without seccomp */
	int rc = cvb_frame_write_fds(j->channel_fd, CVB_FRAME_LISTENER, j->spec.job_id, NULL, 0,
				     &j->listener_fd, 1);
	close(j->listener_fd);
	j->listener_fd = -1;
	if (rc != CVB_FRAME_OK)
		return fail(j, "seccomp", "handing the filter's listener to convbox");
	j->filtered = true;
	return 0;
}

/*
 * A spare child goes as far as the runner's policy allows before its job is
 * known: the mount view with a staged input folder, capabilities dropped,
 * Landlock and seccomp in place. What is left for the job is copying its
 * input in, its descriptors and its limits; no privilege is needed for
 * those, and none is left.
 */
static int arm_spare(struct cvb_runner *r, struct cvb_job *j)
{
	j->staged = (j->spec.caps & CVB_CAP_BIT(CVB_CAP_READ_INPUT)) != 0;
	if (setup_mounts(r, j) < 0 || drop_caps(j) < 0 || apply_landlock(r, j) < 0 ||
	    apply_seccomp(r, j) < 0)
		return -1;
	j->armed = true;
	return 0;
}

int cvb_contain_prepare(struct cvb_runner *r, struct cvb_job *j, int sync_fd)
{
	if (setup_signals(j) < 0 || wait_for_parent(j, sync_fd) < 0)
		return -1;
	if (!j->spec.trusted && become_job_user(j) < 0)
		return -1;
	/* set again: a change of uid clears it. No job outlives its zygote. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return fail(j, "runner", "PR_SET_PDEATHSIG");
	if (j->spec.trusted) {
		/* the converter at its host path, known before the job (a spare compiles it) */
		j->converter_view = j->spec.converter_path;
		return 0;
	}
	return r->spare_view ? arm_spare(r, j) : 0;
}

/* The host's tally page (see struct cvb_tally), mapped before any converter code runs. */
static int map_tally(struct cvb_job *j)
{
	if (j->tally_fd < 0)
		return fail(j, "runner", "the JOB frame has no tally page");
	void *p = mmap(NULL, CVB_TALLY_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, j->tally_fd, 0);
	close(j->tally_fd);
	j->tally_fd = -1;
	if (p == MAP_FAILED)
		return fail(j, "runner", "mapping the tally page");
	j->tally = p;
	return 0;
}

int cvb_contain_finish(struct cvb_runner *r, struct cvb_job *j)
{
	if (map_tally(j) < 0)
		return -1;
	if (j->spec.trusted) {
		trusted_views(j);
		return setup_fds(j) < 0 || setup_rlimits(j) < 0 ? -1 : 0;
	}
	if (j->armed)
		return hand_over_listener(j) < 0 || fill_stage(j) < 0 || setup_fds(j) < 0 ||
			       setup_rlimits(j) < 0
			   ? -1
			   : 0;
	if ((!j->view_ready && setup_mounts(r, j) < 0) || mount_input(j) < 0 || setup_fds(j) < 0 ||
	    setup_rlimits(j) < 0 || drop_caps(j) < 0 || apply_landlock(r, j) < 0 ||
	    apply_seccomp(r, j) < 0 || hand_over_listener(j) < 0)
		return -1;
	return 0;
}

int cvb_contain_job(struct cvb_runner *r, struct cvb_job *j, int sync_fd)
{
	return cvb_contain_prepare(r, j, sync_fd) < 0 ? -1 : cvb_contain_finish(r, j);
}
