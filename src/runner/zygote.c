/*
 * The runner's main process: set up once, then fork one confined child per
 * job. It never imports or runs converter code itself.
 */
#include "runner/runner.h"

#include "convbox/frame.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <malloc.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * The host runs at most 64 jobs at once; a job it finished by DONE and
 * killed stays here until it is reaped, so there is room for as many again.
 */
#define MAX_JOBS	128
#define MAX_SPARES	8
#define MAX_SHARED_CODE (64u << 10)  /* fits a socket buffer: see spare_child */
#define SPARE_ID_BASE	(1ull << 62) /* the ids of spares: never one of the host's job ids */

struct job_slot {
	uint64_t id;
	pid_t pid;
	int pidfd;
	struct cvb_signal_page *signals;
};

/*
 * A pre-forked child of the runner's policy, confined as far as that policy
 * allows (see spare_child), waiting for its JOB frame: the fork, the mounts,
 * the layers and the copied pages are off the job's clock. The host has the
 * other end of its job socket (SPARE frame) and sends the JOB there itself,
 * so the zygote is not on a job's path at all. `sock` is the spare's line to
 * the zygote: the compiled converter comes that way, and the spare closes it
 * when it takes its job, which tells the zygote to fork the next one.
 */
struct spare {
	uint64_t id; /* the host's name for it, and for its job's EXITED */
	pid_t pid;
	int pidfd;
	int sock;
	struct cvb_signal_page *signals;
};

struct zygote {
	struct cvb_runner r;
	struct job_slot jobs[MAX_JOBS];
	size_t n_jobs;
	struct spare spares[MAX_SPARES]; /* oldest first */
	size_t n_spares;
	uint64_t next_spare_id;
};

static void send_fatal(struct cvb_runner *r, const char *msg)
{
	json_t *o = json_pack("{s:s}", "error", msg);
	char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (t)
		cvb_frame_write(r->ctl_fd, CVB_FRAME_FATAL, 0, t, strlen(t));
	free(t);
	json_decref(o);
}

/* The converter's bytes, from the sealed memfd that came with SETUP (closed here). */
static int read_source(struct cvb_runner *r, int fd, json_int_t len, char *err, size_t errlen)
{
	struct stat st;
	int rc = -EPROTO;
	errno = 0; /* a short read sets none */
	if (fstat(fd, &st) < 0 || len < 0 || st.st_size != len || (uint64_t)len > r->max_frame)
		snprintf(err, errlen, "the SETUP frame's source is not the %lld bytes it says",
			 (long long)len);
	else if (!(r->source = malloc(len ? (size_t)len : 1)))
		snprintf(err, errlen, "out of memory for the converter's source");
	else if (pread(fd, r->source, (size_t)len, 0) != len) /* a memfd reads whole */
		snprintf(err, errlen, "reading the converter's source: %s",
			 errno ? strerror(errno) : "short");
	else
		rc = 0;
	r->source_len = (size_t)len;
	close(fd);
	return rc;
}

/* SETUP: the converter path, frame limit, network choice; and the bytes, as a descriptor. */
static int read_setup(struct cvb_runner *r, char *err, size_t errlen)
{
	struct cvb_frame_header h;
	uint8_t *p = NULL;
	int fds[1] = {-1};
	size_t nfds = 1;
	int rc = cvb_frame_read(r->ctl_fd, 1u << 20, &h, &p, fds, &nfds);
	if (rc != CVB_FRAME_OK || h.type != CVB_FRAME_SETUP || nfds != 1) {
		snprintf(err, errlen, "expected SETUP frame with the source: %s",
			 rc != CVB_FRAME_OK ? cvb_frame_strerror(rc) : "wrong frame");
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
		free(p);
		return -EPROTO;
	}
	json_t *o = json_loads((char *)p, 0, NULL);
	free(p);
	json_int_t max_frame = 0;
	int network = 0, preload = 1, trusted = 0, allow_degraded = 0;
	json_int_t caps = 0, max_procs = 1, max_output_mb = 100, max_files = 1000, spares = 0,
		   source_len = -1;
	const char *path = NULL;
	json_t *blocked = NULL, *native = NULL;
	if (!o ||
	    json_unpack(o, "{s:I, s:I, s:b, s:s, s?b, s?I, s?b, s?I, s?I, s?I, s?I, s?b, s?o, s?o}",
			"max_frame", &max_frame, "source_len", &source_len, "network", &network,
			"converter_path", &path, "preload", &preload, "spares", &spares, "trusted",
			&trusted, "caps", &caps, "max_procs", &max_procs, "max_output_mb",
			&max_output_mb, "max_files", &max_files, "allow_degraded", &allow_degraded,
			"blocked_imports", &blocked, "native_modules", &native) < 0 ||
	    (blocked && cvb_strlist_from_json(blocked, &r->blocked_imports) < 0) ||
	    (native && cvb_strlist_from_json(native, &r->native_modules) < 0)) {
		snprintf(err, errlen, "malformed SETUP frame");
		json_decref(o);
		close(fds[0]);
		return -EPROTO;
	}
	r->max_frame = (uint32_t)max_frame;
	r->network = network;
	r->preload = preload;
	r->spares = spares < 0 ? 0 : spares > MAX_SPARES ? MAX_SPARES : (unsigned)spares;
	r->trusted = trusted;
	r->allow_degraded = allow_degraded;
	r->caps = (cvb_caps)caps;
	r->max_procs = (unsigned)max_procs;
	r->max_output_mb = (unsigned)max_output_mb;
	r->max_files = (unsigned)max_files;
	r->converter_path = strdup(path);
	json_decref(o);
	return read_source(r, fds[0], source_len, err, errlen);
}

static int send_ready(struct cvb_runner *r)
{
	json_t *layers = json_object();
	for (int i = 0; i < CVB_LAYER_COUNT; i++)
		json_object_set_new(layers, cvb_layer_name((enum cvb_layer)i),
				    json_boolean(r->layers.present[i]));
	json_t *o = json_pack("{s:o, s:i, s:I, s:b}", "layers", layers, "landlock_abi",
			      r->layers.landlock_abi, "pid", (json_int_t)getpid(), "root", r->root);
	char *t = json_dumps(o, JSON_COMPACT);
	int rc = cvb_frame_write(r->ctl_fd, CVB_FRAME_READY, 0, t, strlen(t));
	free(t);
	json_decref(o);
	return rc;
}

/* The job child: confine, run, exit. Never returns. */
static void job_child(struct zygote *z, void *arg, int sync_fd, struct cvb_signal_page *signals)
{
	struct cvb_job *j = arg;
	j->signals = signals;
	prctl(PR_SET_PDEATHSIG, SIGKILL); /* no job outlives its zygote */
	cvb_pyhost_after_fork_child();
	if (cvb_contain_job(&z->r, j, sync_fd) < 0)
		cvb_job_fail(j, "sandbox_error");
	cvb_pyhost_run_job(&z->r, j);
}

static pid_t clone_job(unsigned long flags, int *pidfd)
{
	struct clone_args args = {
	    .flags = flags | CLONE_PIDFD,
	    .pidfd = (uint64_t)(uintptr_t)pidfd,
	    .exit_signal = SIGCHLD,
	};
	return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}

static unsigned long job_clone_flags(const struct cvb_runner *r, bool trusted)
{
	if (trusted)
		return CLONE_NEWPID; /* lifecycle only: the timeout still kills the tree */
	unsigned long flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS;
	/*
	 * The runner's IPC namespace is empty, and a job's seccomp filter
	 * refuses every System V IPC and POSIX message queue call, so nothing
	 * one job could leave there for the next exists: sharing it spares each
	 * job creating and tearing down one of its own (measured: 4 % of the CPU
	 * per file). Without seccomp (a degraded run) each job gets its own.
	 */
	if (!r->layers.present[CVB_LAYER_SECCOMP])
		flags |= CLONE_NEWIPC;
	return flags;
}

struct forked {
	pid_t pid;
	int pidfd;
	struct cvb_signal_page *signals;
};

typedef void (*child_fn)(struct zygote *z, void *arg, int sync_fd, struct cvb_signal_page *signals);

/*
 * Fork a child into the job namespaces and write its id maps; the child
 * waits on the sync pipe until they are written, then runs fn.
 */
static int fork_confined(struct zygote *z, bool trusted, bool in_view, child_fn fn, void *arg,
			 struct forked *f)
{
	int sync[2];
	f->pidfd = -1;
	f->signals = mmap(NULL, sizeof(*f->signals), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (f->signals == MAP_FAILED)
		return -errno;
	if (pipe2(sync, O_CLOEXEC) < 0) {
		munmap(f->signals, sizeof(*f->signals));
		return -errno;
	}
	unsigned long flags = job_clone_flags(&z->r, trusted);
	/* a spare starts from the view: cloned inside its namespace (and told so) */
	z->r.in_view =
	    in_view && z->r.view_ns_fd >= 0 && cvb_contain_enter_view_ns(&z->r, true) == 0;
	f->pid = clone_job(flags, &f->pidfd);
	if (f->pid == 0) {
		cvb_hotset_forget();  /* the zygote's pins: never a child's */
		cvb_scratch_forget(); /* not inherited: MADV_DONTFORK */
		close(sync[1]);
		fn(z, arg, sync[0], f->signals);
		_exit(CVB_JOBEXIT_SETUP);
	}
	int saved = errno;
	if (z->r.in_view && cvb_contain_enter_view_ns(&z->r, false) < 0)
		_exit(1); /* only spares may start from the view; the host restarts us */
	z->r.in_view = false;
	close(sync[0]);
	if (f->pid < 0) {
		close(sync[1]);
		munmap(f->signals, sizeof(*f->signals));
		return -saved;
	}
	/*
	 * The page is this child's alone: the children forked after it must not
	 * inherit it, or one of them, become a job, could read what this job's
	 * signal handlers left there and forge it. Without that guarantee the
	 * child does not run.
	 */
	if (madvise(f->signals, sizeof(*f->signals), MADV_DONTFORK) < 0) {
		saved = errno;
		kill(f->pid, SIGKILL); /* it waits on the sync pipe, which closes */
		close(sync[1]);
		waitpid(f->pid, NULL, 0);
		close(f->pidfd);
		munmap(f->signals, sizeof(*f->signals));
		return -saved;
	}
	char err[256] = "";
	if ((flags & CLONE_NEWUSER) && cvb_contain_write_maps(&z->r, f->pid, err, sizeof(err)) < 0)
		kill(f->pid, SIGKILL); /* the child sees the closed pipe and reports */
	if (write(sync[1], "g", 1) != 1)
		kill(f->pid, SIGKILL);
	close(sync[1]);
	return 0;
}

/* A child the zygote watches until it exits, and then reports under id. */
static void add_job(struct zygote *z, uint64_t id, const struct forked *f)
{
	z->jobs[z->n_jobs++] =
	    (struct job_slot){.id = id, .pid = f->pid, .pidfd = f->pidfd, .signals = f->signals};
}

/* A forked job is the host's from now on: it gets the pidfd with STARTED. */
static int register_job(struct zygote *z, uint64_t id, const struct forked *f)
{
	add_job(z, id, f);
	return cvb_frame_write_fds(z->r.ctl_fd, CVB_FRAME_STARTED, id, NULL, 0, &f->pidfd, 1);
}

/* Compiled in the zygote, once per policy, so children only install it. */
static int precompile(struct zygote *z, const struct cvb_jobspec *spec)
{
	char err[256];
	if (spec->trusted)
		return 0;
	return cvb_seccomp_program(&z->r, spec->caps, spec->limits.max_procs, err, sizeof(err))
		   ? 0
		   : -EINVAL;
}

static int spawn_job(struct zygote *z, struct cvb_job *j)
{
	struct forked f;
	if (z->n_jobs >= MAX_JOBS)
		return -EAGAIN;
	int rc = precompile(z, &j->spec);
	if (rc == 0)
		rc = fork_confined(z, j->spec.trusted, false, job_child, j, &f);
	return rc < 0 ? rc : register_job(z, j->spec.job_id, &f);
}

static int by_number(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Close every descriptor from 3 up except the n in keep. */
static void close_all_but(int *keep, size_t n)
{
	qsort(keep, n, sizeof(*keep), by_number);
	unsigned next = 3;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned)keep[i] > next)
			syscall(SYS_close_range, next, (unsigned)keep[i] - 1, 0);
		next = (unsigned)keep[i] + 1;
	}
	syscall(SYS_close_range, next, ~0u, 0);
}

/* What a spare was prepared for (the runner's policy) is what the job asks for. */
static bool fits_spare(const struct cvb_runner *r, const struct cvb_jobspec *spec)
{
	return spec->trusted == r->trusted && !spec->inline_source && spec->caps == r->caps &&
	       spec->limits.max_output_mb == r->max_output_mb &&
	       spec->limits.max_files == r->max_files && spec->limits.max_procs == r->max_procs &&
	       spec->allow_degraded == r->allow_degraded && spec->converter_path &&
	       strcmp(spec->converter_path, r->converter_path) == 0;
}

/* A spare's two sockets: to the zygote, and the one the host sends its JOB on. */
struct spare_socks {
	int zygote, job;
};

/* The spare's life: prepare, warm up, wait for a job, then become it. */
static void spare_child(struct zygote *z, void *arg, int sync_fd, struct cvb_signal_page *signals)
{
	const struct spare_socks *socks = arg;
	int sock = socks->zygote, job_sock = socks->job;
	/*
	 * Keep only the spare's two sockets and the sync pipe: in particular not
	 * the other ends, so that if the host goes away the read below ends,
	 * even if the parent-death signal was missed.
	 */
	int keep[3] = {sock, job_sock, sync_fd};
	close_all_but(keep, 3);
	struct cvb_job j;
	memset(&j, 0, sizeof(j));
	j.signals = signals;
	j.spec.trusted = z->r.trusted;
	j.channel_fd = j.stdout_fd = j.stderr_fd = j.input_fd = j.stage_fd = j.tally_fd = -1;
	j.listener_fd = -1;
	/* the runner's policy, borrowed until the job's own spec replaces it */
	j.spec.caps = z->r.caps;
	j.spec.limits.max_output_mb = z->r.max_output_mb;
	j.spec.limits.max_files = z->r.max_files;
	j.spec.limits.max_procs = z->r.max_procs;
	j.spec.allow_degraded = z->r.allow_degraded;
	j.spec.converter_path = z->r.converter_path;
	z->r.spare_view = true;
	prctl(PR_SET_PDEATHSIG, SIGKILL); /* no job outlives its zygote */
	cvb_hotset_touch();		  /* the pages a job writes, copied before it arrives */
	cvb_pyhost_after_fork_child();
	if (cvb_contain_prepare(&z->r, &j, sync_fd) < 0)
		_exit(CVB_JOBEXIT_SETUP);
	uint8_t *code = NULL;
	size_t code_len = 0;
	if (j.armed || z->r.trusted)
		cvb_pyhost_compile_ahead(&z->r, j.converter_view, &code, &code_len);
	if (code) {
		/*
		 * The zygote hands it to the spares after this one: they skip the
		 * compiler. Once it has one it reads no more, so only what fits a
		 * socket buffer is sent: a spare stuck in this write could not read
		 * a large JOB frame, and the zygote would wait on it for ever. A
		 * larger code object is compiled by each spare.
		 */
		if (code_len <= MAX_SHARED_CODE)
			cvb_frame_write(sock, CVB_FRAME_CODE, 0, code, code_len);
		free(code);
	}
	struct cvb_frame_header h;
	uint8_t *payload = NULL;
	int fds[5] = {-1, -1, -1, -1, -1};
	size_t nfds = 5;
	if (cvb_frame_read(job_sock, z->r.max_frame, &h, &payload, fds, &nfds) != CVB_FRAME_OK ||
	    h.type != CVB_FRAME_JOB || nfds < 4)
		_exit(0); /* the host went away or let the runner go */
	close(sock);	  /* taken: the zygote forks the next spare */
	close(job_sock);
	char err[256];
	if (cvb_jobspec_from_json((char *)payload, &j.spec, err, sizeof(err)) < 0)
		_exit(CVB_JOBEXIT_SETUP);
	j.channel_fd = fds[0];
	j.stdout_fd = fds[1];
	j.stderr_fd = fds[2];
	j.tally_fd = fds[3];
	j.input_fd = nfds > 4 ? fds[4] : -1;
	if (!fits_spare(&z->r, &j.spec)) {
		snprintf(j.err, sizeof(j.err),
			 "the job's policy is not the one its process was "
			 "prepared for");
		j.err_layer = "runner";
		cvb_job_fail(&j, "sandbox_error");
	}
	if (cvb_contain_finish(&z->r, &j) < 0)
		cvb_job_fail(&j, "sandbox_error");
	cvb_pyhost_run_job(&z->r, &j);
}

/* Forget spare idx (the list stays oldest first) and return what it was. */
static struct spare remove_spare(struct zygote *z, size_t idx)
{
	struct spare sp = z->spares[idx];
	memmove(&z->spares[idx], &z->spares[idx + 1], (--z->n_spares - idx) * sizeof(sp));
	return sp;
}

static void drop_spare(struct zygote *z, size_t idx)
{
	struct spare sp = remove_spare(z, idx);
	close(sp.sock);
	syscall(SYS_pidfd_send_signal, sp.pidfd, SIGKILL, NULL, 0);
	siginfo_t si;
	syscall(SYS_waitid, P_PIDFD, sp.pidfd, &si, WEXITED, NULL);
	close(sp.pidfd);
	munmap(sp.signals, sizeof(*sp.signals));
}

/* A spare's JOB comes from the host: it gets the spare's job socket and pidfd. */
static int offer_spare(struct zygote *z, const struct spare *sp, int host_end)
{
	int give[2] = {host_end, sp->pidfd};
	return cvb_frame_write_fds(z->r.ctl_fd, CVB_FRAME_SPARE, sp->id, NULL, 0, give, 2);
}

/*
 * Keep the runner's number of spares forked: while a job runs, the next
 * ones build their mount views and copy their pages, on the other CPUs.
 */
static void ensure_spares(struct zygote *z)
{
	while (z->n_spares < z->r.spares) {
		int sv[2], jb[2];
		struct forked f;
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			return;
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, jb) < 0) {
			close(sv[0]);
			close(sv[1]);
			return;
		}
		struct spare_socks socks = {.zygote = sv[1], .job = jb[1]};
		int rc = fork_confined(z, z->r.trusted, true, spare_child, &socks, &f);
		close(sv[1]);
		close(jb[1]);
		if (rc < 0) {
			close(sv[0]);
			close(jb[0]);
			return;
		}
		struct spare *sp = &z->spares[z->n_spares++];
		*sp = (struct spare){.id = SPARE_ID_BASE + z->next_spare_id++,
				     .pid = f.pid,
				     .pidfd = f.pidfd,
				     .sock = sv[0],
				     .signals = f.signals};
		rc = offer_spare(z, sp, jb[0]);
		close(jb[0]); /* the host has its copy, or the spare is of no use */
		if (rc != CVB_FRAME_OK) {
			drop_spare(z, z->n_spares - 1);
			return;
		}
	}
}

static void close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* The SOURCE frame that follows a JOB frame with inline_source. */
static int read_inline_source(struct zygote *z, struct cvb_job *j, uint8_t **out)
{
	struct cvb_frame_header h;
	int rc = cvb_frame_read(z->r.ctl_fd, z->r.max_frame, &h, out, NULL, NULL);
	if (rc != CVB_FRAME_OK || h.type != CVB_FRAME_SOURCE || h.job_id != j->spec.job_id) {
		free(*out);
		*out = NULL;
		send_fatal(&z->r, "expected the job's SOURCE frame");
		return -EPROTO;
	}
	j->spec.inline_source_len = h.len;
	return 0;
}

static void reap_job(struct zygote *z, size_t idx);

/* Every slot taken (by killed jobs not yet gone): wait for one to be reaped. */
static void make_room(struct zygote *z)
{
	struct pollfd pfd[MAX_JOBS];
	for (size_t i = 0; i < z->n_jobs; i++)
		pfd[i] = (struct pollfd){.fd = z->jobs[i].pidfd, .events = POLLIN};
	if (z->n_jobs < MAX_JOBS || poll(pfd, z->n_jobs, 10000) <= 0)
		return;
	for (size_t i = z->n_jobs; i-- > 0;)
		if (pfd[i].revents)
			reap_job(z, i);
}

/* A job no spare can take: the zygote forks it itself, and its child takes the spec along. */
static int fork_job(struct zygote *z, struct cvb_job *j, uint8_t *own_source, int *fds, size_t nfds)
{
	j->channel_fd = fds[0];
	j->stdout_fd = fds[1];
	j->stderr_fd = fds[2];
	j->tally_fd = fds[3];
	j->input_fd = nfds > 4 ? fds[4] : -1;
	uint8_t *saved = z->r.source;
	size_t saved_len = z->r.source_len;
	if (own_source) { /* this job validates other bytes than the runner's converter */
		z->r.source = own_source;
		z->r.source_len = j->spec.inline_source_len;
	}
	int rc = spawn_job(z, j);
	z->r.source = saved;
	z->r.source_len = saved_len;
	return rc;
}

static int handle_job_frame(struct zygote *z, const struct cvb_frame_header *h, uint8_t *payload,
			    int *fds, size_t nfds)
{
	struct cvb_job j;
	memset(&j, 0, sizeof(j));
	j.stage_fd = j.listener_fd = -1;
	char err[256];
	if (nfds < 4 || cvb_jobspec_from_json((char *)payload, &j.spec, err, sizeof(err)) < 0) {
		close_fds(fds, nfds);
		send_fatal(&z->r, nfds < 4 ? "JOB frame without its descriptors" : err);
		return -EPROTO;
	}
	make_room(z);
	/* the child takes its spec: parsed again, out of the scratch region */
	cvb_jobspec_clear(&j.spec);
	cvb_scratch_pause();
	uint8_t *own_source = NULL;
	int rc = cvb_jobspec_from_json((char *)payload, &j.spec, err, sizeof(err));
	if (rc < 0)
		send_fatal(&z->r, err);
	else if (j.spec.inline_source)
		rc = read_inline_source(z, &j, &own_source);
	if (rc < 0) {
		close_fds(fds, nfds);
		cvb_jobspec_clear(&j.spec);
		return -EPROTO;
	}
	rc = fork_job(z, &j, own_source, fds, nfds);
	cvb_wipe_free(own_source);
	close_fds(fds, nfds); /* the child has its copies */
	if (rc < 0) {
		snprintf(err, sizeof(err), "cannot start job: %s", strerror(-rc));
		send_fatal(&z->r, err);
	}
	cvb_jobspec_clear(&j.spec);
	return 0;
}

/*
 * Formatted in place, without the allocator: in the zygote every heap page
 * written between two forks is copied, because the spare forked last still
 * shares it. `how` is one of convbox's own words; the rest are numbers.
 */
size_t cvb_exit_report(char *buf, size_t size, const char *how, int value, const struct rusage *ru,
		       pid_t pid, const struct cvb_signal_page *signals)
{
	long long cpu = (long long)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000000 +
			ru->ru_utime.tv_usec + ru->ru_stime.tv_usec;
	int n = snprintf(buf, size,
			 "{\"fatal_signal\":%d,\"how\":\"%s\",\"value\":%d,\"cpu_us\":%lld,"
			 "\"max_rss_kb\":%lld,\"pid\":%lld}",
			 (int)signals->fatal_signal, how, value, cpu, (long long)ru->ru_maxrss,
			 (long long)pid);
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

/* A job's exit, reported and then wiped: the spares forked next inherit no trace of it. */
static void send_exited(struct zygote *z, struct job_slot *s, const siginfo_t *si,
			const struct rusage *ru)
{
	char t[CVB_EXIT_REPORT_MAX];
	size_t n = cvb_exit_report(t, sizeof(t), si->si_code == CLD_EXITED ? "exited" : "signaled",
				   si->si_status, ru, s->pid, s->signals);
	if (n)
		cvb_frame_write(z->r.ctl_fd, CVB_FRAME_EXITED, s->id, t, n);
	explicit_bzero(t, sizeof(t));
}

/* A job's pidfd became readable: reap it and report. */
static void reap_job(struct zygote *z, size_t idx)
{
	struct job_slot *s = &z->jobs[idx];
	siginfo_t si;
	struct rusage ru;
	memset(&si, 0, sizeof(si));
	memset(&ru, 0, sizeof(ru));
	if (syscall(SYS_waitid, P_PIDFD, s->pidfd, &si, WEXITED, &ru) < 0)
		return;
	send_exited(z, s, &si, &ru);
	close(s->pidfd);
	munmap(s->signals, sizeof(*s->signals));
	z->jobs[idx] = z->jobs[--z->n_jobs];
}

/* Returns 1 to keep going, 0 on SHUTDOWN/EOF, negative on a protocol error. */
static int handle_control(struct zygote *z)
{
	struct cvb_frame_header h;
	uint8_t *p = NULL;
	int fds[8];
	size_t nfds = 8;
	cvb_scratch_begin();
	int rc = cvb_frame_read_alloc(z->r.ctl_fd, z->r.max_frame, &h, &p, fds, &nfds,
				      cvb_scratch_malloc, cvb_scratch_free);
	if (rc != CVB_FRAME_OK || h.type == CVB_FRAME_SHUTDOWN) {
		cvb_scratch_free(p);
		cvb_scratch_end();
		close_fds(fds, nfds);
		return rc == CVB_FRAME_EOF || rc == CVB_FRAME_OK ? 0 : -EPROTO;
	}
	rc = h.type == CVB_FRAME_JOB ? handle_job_frame(z, &h, p, fds, nfds) : -EPROTO;
	if (h.type != CVB_FRAME_JOB)
		close_fds(fds, nfds);
	cvb_scratch_free(p);
	cvb_scratch_end();
	/*
	 * The next jobs' processes, prepared while this one runs. They are
	 * forked only now, with the job's frame and spec wiped (the scratch
	 * region, which no child has anyway, or the heap by cvb_scratch_free), so
	 * that no later job finds this one's input name, path or arguments in
	 * the memory it inherits.
	 */
	if (h.type == CVB_FRAME_JOB && rc >= 0)
		ensure_spares(z);
	return rc < 0 ? rc : 1;
}

/*
 * A spare is a job now, or gone: its process is watched as a job's is, and
 * its exit reported under the spare's id (the host knows its job by that).
 * One that broke the protocol is killed first.
 */
static void spare_taken(struct zygote *z, size_t idx, bool kill)
{
	struct spare sp = remove_spare(z, idx);
	close(sp.sock);
	if (kill)
		syscall(SYS_pidfd_send_signal, sp.pidfd, SIGKILL, NULL, 0);
	make_room(z);
	struct forked f = {.pid = sp.pid, .pidfd = sp.pidfd, .signals = sp.signals};
	add_job(z, sp.id, &f);
}

/*
 * A spare's socket to the zygote. The first spare to compile the converter
 * sends its code object, marshalled: the zygote keeps the bytes as they are
 * (it never reads them) and passes them on to every later spare, which loads
 * them once confined; a later one is read and let go. The end of the socket
 * means the spare took its JOB from the host (or died). Anything else breaks
 * the protocol.
 */
static void on_spare(struct zygote *z, size_t idx)
{
	struct cvb_frame_header h;
	uint8_t *p = NULL;
	int rc = cvb_frame_read(z->spares[idx].sock, z->r.max_frame, &h, &p, NULL, NULL);
	if (rc == CVB_FRAME_OK && h.type == CVB_FRAME_CODE && h.len > 0) {
		if (!z->r.code) {
			z->r.code = p;
			z->r.code_len = h.len;
		} else {
			free(p);
		}
		return;
	}
	free(p);
	spare_taken(z, idx, rc != CVB_FRAME_EOF);
}

static void serve_jobs(struct zygote *z)
{
	int running = 1;
	while (running || z->n_jobs > 0) {
		struct pollfd pfd[MAX_JOBS + MAX_SPARES + 1];
		size_t n = 0, n_spares = z->n_spares;
		for (size_t i = 0; i < z->n_jobs; i++)
			pfd[n++] = (struct pollfd){.fd = z->jobs[i].pidfd, .events = POLLIN};
		for (size_t i = 0; i < n_spares; i++)
			pfd[n++] = (struct pollfd){.fd = z->spares[i].sock, .events = POLLIN};
		if (running)
			pfd[n++] = (struct pollfd){.fd = z->r.ctl_fd, .events = POLLIN};
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		size_t n_jobs = z->n_jobs, taken = 0;
		for (size_t i = n_spares; i-- > 0;)
			if (pfd[n_jobs + i].revents) {
				size_t before = z->n_spares;
				on_spare(z, i);
				taken += before - z->n_spares;
			}
		for (size_t i = n_jobs; i-- > 0;)
			if (pfd[i].revents)
				reap_job(z, i);
		if (taken && running)
			ensure_spares(z); /* the next ones, while the taken run */
		if (running && pfd[n - 1].revents && handle_control(z) <= 0)
			running = 0;
	}
}

int cvb_runner_main(int ctl_fd)
{
	static struct zygote z; /* one per process; static only to keep it off the stack */
	char err[512];
	z.r.ctl_fd = ctl_fd;
	z.r.max_frame = CVB_FRAME_DEFAULT_MAX;
	z.r.root = geteuid() == 0;
	z.r.view_ns_fd = z.r.home_ns_fd = -1;
	/*
	 * No fast bins: a child's first large allocation would consolidate the
	 * zygote's, writing to (and copying) heap pages all over. Measured: 2-5%
	 * less CPU per job.
	 */
	mallopt(M_MXFAST, 0);
	cvb_scratch_init();
	json_set_alloc_funcs(cvb_scratch_malloc, cvb_scratch_free);
	signal(SIGPIPE, SIG_IGN);
	/* the runner, and with it every job, ends when the host does (even on SIGKILL) */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		return 1;
	if (read_setup(&z.r, err, sizeof(err)) < 0 ||
	    cvb_contain_enter_runner_ns(&z.r, z.r.network, err, sizeof(err)) < 0 ||
	    cvb_pyhost_init(&z.r, err, sizeof(err)) < 0) {
		send_fatal(&z.r, err);
		return 1;
	}
	if (!z.r.trusted)
		cvb_seccomp_program(&z.r, z.r.caps, z.r.max_procs, err, sizeof(err));
	/* spares then start from the view; without it each builds its own */
	if (!z.r.trusted && z.r.spares > 0)
		cvb_contain_build_view(&z.r, err, sizeof(err));
	if (send_ready(&z.r) != CVB_FRAME_OK)
		return 1;
	cvb_pyhost_seal(&z.r); /* after the program, the view and READY: nothing allocates after */
	ensure_spares(&z);
	serve_jobs(&z);
	/* every spare is killed first, so that their exits overlap; then each is reaped */
	for (size_t i = 0; i < z.n_spares; i++)
		syscall(SYS_pidfd_send_signal, z.spares[i].pidfd, SIGKILL, NULL, 0);
	while (z.n_spares > 0)
		drop_spare(&z, z.n_spares - 1);
	return 0;
}
