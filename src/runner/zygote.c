/*
 * The runner's main process: set up once, then fork one confined child per
 * job. It never imports or runs converter code itself.
 */
#include "runner/runner.h"

#include "convbox/frame.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_JOBS 64

struct job_slot {
	uint64_t id;
	pid_t pid;
	int pidfd;
	struct cvb_denial_page *denials;
};

struct zygote {
	struct cvb_runner r;
	struct job_slot jobs[MAX_JOBS];
	size_t n_jobs;
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

/* SETUP then SOURCE: the converter path, frame limit, network choice, and the bytes. */
static int read_setup(struct cvb_runner *r, char *err, size_t errlen)
{
	struct cvb_frame_header h;
	uint8_t *p = NULL;
	int rc = cvb_frame_read(r->ctl_fd, 1u << 20, &h, &p, NULL, NULL);
	if (rc != CVB_FRAME_OK || h.type != CVB_FRAME_SETUP) {
		snprintf(err, errlen, "expected SETUP frame: %s", cvb_frame_strerror(rc));
		free(p);
		return -EPROTO;
	}
	json_t *o = json_loads((char *)p, 0, NULL);
	free(p);
	json_int_t max_frame = 0;
	int network = 0, preload = 1;
	const char *path = NULL;
	if (!o || json_unpack(o, "{s:I, s:b, s:s, s?b}", "max_frame", &max_frame, "network",
			      &network, "converter_path", &path, "preload", &preload) < 0) {
		snprintf(err, errlen, "malformed SETUP frame");
		json_decref(o);
		return -EPROTO;
	}
	r->max_frame = (uint32_t)max_frame;
	r->network = network;
	r->preload = preload;
	r->converter_path = strdup(path);
	json_decref(o);
	rc = cvb_frame_read(r->ctl_fd, r->max_frame, &h, &r->source, NULL, NULL);
	if (rc != CVB_FRAME_OK || h.type != CVB_FRAME_SOURCE) {
		snprintf(err, errlen, "expected SOURCE frame: %s", cvb_frame_strerror(rc));
		return -EPROTO;
	}
	r->source_len = h.len;
	return 0;
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
static void job_child(struct cvb_runner *r, struct cvb_job *j, int sync_fd)
{
	cvb_pyhost_after_fork_child();
	if (cvb_contain_job(r, j, sync_fd) < 0)
		cvb_job_fail(j, "sandbox_error");
	cvb_pyhost_run_job(r, j);
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

static unsigned long job_clone_flags(const struct cvb_runner *r, const struct cvb_jobspec *s)
{
	if (s->trusted)
		return CLONE_NEWPID; /* lifecycle only: the timeout still kills the tree */
	return CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;
}

/* fds: channel, stdout, stderr, input (input may be -1 for validation). */
static int spawn_job(struct zygote *z, struct cvb_job *j)
{
	struct cvb_runner *r = &z->r;
	int sync[2], pidfd = -1;
	if (z->n_jobs >= MAX_JOBS)
		return -EAGAIN;
	j->denials = mmap(NULL, sizeof(*j->denials), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (j->denials == MAP_FAILED)
		return -errno;
	if (pipe2(sync, O_CLOEXEC) < 0)
		return -errno;
	/* compiled here, once per policy, so the child only installs it */
	char cerr[256];
	if (!j->spec.trusted &&
	    !cvb_seccomp_program(r, j->spec.caps, j->spec.limits.max_procs, cerr, sizeof(cerr)))
		return -EINVAL;
	unsigned long flags = job_clone_flags(r, &j->spec);
	cvb_pyhost_before_fork();
	pid_t pid = clone_job(flags, &pidfd);
	if (pid == 0) {
		close(sync[1]);
		job_child(r, j, sync[0]);
	}
	int saved = errno;
	cvb_pyhost_after_fork_parent();
	close(sync[0]);
	if (pid < 0) {
		close(sync[1]);
		munmap(j->denials, sizeof(*j->denials));
		return -saved;
	}
	char err[256] = "";
	if ((flags & CLONE_NEWUSER) && cvb_contain_write_maps(r, pid, err, sizeof(err)) < 0)
		kill(pid, SIGKILL); /* the child sees the closed pipe and reports */
	if (write(sync[1], "g", 1) != 1)
		kill(pid, SIGKILL);
	close(sync[1]);
	struct job_slot *s = &z->jobs[z->n_jobs++];
	*s = (struct job_slot){
	    .id = j->spec.job_id, .pid = pid, .pidfd = pidfd, .denials = j->denials};
	return cvb_frame_write_fds(r->ctl_fd, CVB_FRAME_STARTED, s->id, NULL, 0, &pidfd, 1);
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

static int handle_job_frame(struct zygote *z, const struct cvb_frame_header *h, uint8_t *payload,
			    int *fds, size_t nfds)
{
	struct cvb_job j;
	memset(&j, 0, sizeof(j));
	char err[256];
	if (nfds < 3 || cvb_jobspec_from_json((char *)payload, &j.spec, err, sizeof(err)) < 0) {
		close_fds(fds, nfds);
		send_fatal(&z->r, nfds < 3 ? "JOB frame without its descriptors" : err);
		return -EPROTO;
	}
	uint8_t *own_source = NULL;
	if (j.spec.inline_source && read_inline_source(z, &j, &own_source) < 0) {
		close_fds(fds, nfds);
		cvb_jobspec_clear(&j.spec);
		return -EPROTO;
	}
	j.channel_fd = fds[0];
	j.stdout_fd = fds[1];
	j.stderr_fd = fds[2];
	j.input_fd = nfds > 3 ? fds[3] : -1;
	uint8_t *saved = z->r.source;
	size_t saved_len = z->r.source_len;
	if (own_source) { /* this job validates other bytes than the runner's converter */
		z->r.source = own_source;
		z->r.source_len = j.spec.inline_source_len;
	}
	int rc = spawn_job(z, &j);
	z->r.source = saved;
	z->r.source_len = saved_len;
	free(own_source);
	close_fds(fds, nfds); /* the child has its copies */
	if (rc < 0) {
		snprintf(err, sizeof(err), "cannot start job: %s", strerror(-rc));
		send_fatal(&z->r, err);
	}
	cvb_jobspec_clear(&j.spec);
	return 0;
}

static void send_exited(struct zygote *z, struct job_slot *s, const siginfo_t *si,
			const struct rusage *ru)
{
	char denials[2048];
	cvb_seccomp_denial_json(s->denials, denials, sizeof(denials));
	json_t *den = json_loads(denials, 0, NULL);
	json_t *o = json_pack("{s:s, s:i, s:I, s:I, s:I, s:o}", "how",
			      si->si_code == CLD_EXITED ? "exited" : "signaled", "value",
			      si->si_status, "cpu_us",
			      (json_int_t)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000000 +
				  ru->ru_utime.tv_usec + ru->ru_stime.tv_usec,
			      "max_rss_kb", (json_int_t)ru->ru_maxrss, "pid", (json_int_t)s->pid,
			      "seccomp_denials", den ? den : json_array());
	char *t = json_dumps(o, JSON_COMPACT);
	cvb_frame_write(z->r.ctl_fd, CVB_FRAME_EXITED, s->id, t, strlen(t));
	free(t);
	json_decref(o);
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
	munmap(s->denials, sizeof(*s->denials));
	z->jobs[idx] = z->jobs[--z->n_jobs];
}

/* Returns 1 to keep going, 0 on SHUTDOWN/EOF, negative on a protocol error. */
static int handle_control(struct zygote *z)
{
	struct cvb_frame_header h;
	uint8_t *p = NULL;
	int fds[8];
	size_t nfds = 8;
	int rc = cvb_frame_read(z->r.ctl_fd, z->r.max_frame, &h, &p, fds, &nfds);
	if (rc == CVB_FRAME_EOF)
		return 0;
	if (rc != CVB_FRAME_OK) {
		close_fds(fds, nfds);
		return -EPROTO;
	}
	if (h.type == CVB_FRAME_SHUTDOWN) {
		free(p);
		close_fds(fds, nfds);
		return 0;
	}
	rc = h.type == CVB_FRAME_JOB ? handle_job_frame(z, &h, p, fds, nfds) : -EPROTO;
	if (h.type != CVB_FRAME_JOB)
		close_fds(fds, nfds);
	free(p);
	return rc < 0 ? rc : 1;
}

static void serve_jobs(struct zygote *z)
{
	int running = 1;
	while (running || z->n_jobs > 0) {
		struct pollfd pfd[MAX_JOBS + 1];
		size_t n = 0;
		for (size_t i = 0; i < z->n_jobs; i++)
			pfd[n++] = (struct pollfd){.fd = z->jobs[i].pidfd, .events = POLLIN};
		if (running)
			pfd[n++] = (struct pollfd){.fd = z->r.ctl_fd, .events = POLLIN};
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (size_t i = z->n_jobs; i-- > 0;)
			if (pfd[i].revents)
				reap_job(z, i);
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
	signal(SIGPIPE, SIG_IGN);
	if (read_setup(&z.r, err, sizeof(err)) < 0 ||
	    cvb_contain_enter_runner_ns(&z.r, z.r.network, err, sizeof(err)) < 0 ||
	    cvb_pyhost_init(&z.r, err, sizeof(err)) < 0) {
		send_fatal(&z.r, err);
		return 1;
	}
	if (send_ready(&z.r) != CVB_FRAME_OK)
		return 1;
	serve_jobs(&z);
	return 0;
}
