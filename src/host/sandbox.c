/*
 * The sandbox's event loop: start jobs while there is a free slot, read
 * every job's channel and log pipes, enforce wall timeouts, notice runners
 * that die, and hand finished jobs out as results.
 */
#include "host/host.h"

#include "convbox/fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cvb_run_opts_init(struct cvb_run_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->caps = cvb_caps_default();
	cvb_limits_default(&o->limits);
	o->max_frame = CVB_FRAME_DEFAULT_MAX;
	o->jobs = 1;
}

void cvb_run_opts_clear(struct cvb_run_opts *o)
{
	free(o->args_json);
	cvb_strlist_clear(&o->blocked_imports);
	cvb_strlist_clear(&o->allowed_imports);
	cvb_strlist_clear(&o->native_modules);
	memset(o, 0, sizeof(*o));
}

/* convbox-runner lives beside the convbox executable. */
static char *default_runner_path(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return strdup("convbox-runner");
	self[n] = 0;
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = 0;
	char *p = NULL;
	return asprintf(&p, "%s/convbox-runner", self) < 0 ? NULL : p;
}

static int copy_opts(struct cvb_sandbox *sb, const struct cvb_run_opts *o)
{
	sb->opts = *o;
	sb->opts.args_json = o->args_json ? strdup(o->args_json) : NULL;
	memset(&sb->opts.blocked_imports, 0, sizeof(struct cvb_strlist));
	memset(&sb->opts.allowed_imports, 0, sizeof(struct cvb_strlist));
	memset(&sb->opts.native_modules, 0, sizeof(struct cvb_strlist));
	/* a granted capability lifts what it needs (subprocess for SHELL_EXECUTE ...) */
	for (size_t i = 0; i < o->blocked_imports.n; i++)
		if (!cvb_caps_lift(o->caps, o->blocked_imports.v[i]) &&
		    cvb_strlist_push(&sb->opts.blocked_imports, o->blocked_imports.v[i]) < 0)
			return -ENOMEM;
	if (cvb_strlist_copy(&sb->opts.allowed_imports, (const char *const *)o->allowed_imports.v,
			     o->allowed_imports.n) < 0 ||
	    cvb_strlist_copy(&sb->opts.native_modules, (const char *const *)o->native_modules.v,
			     o->native_modules.n) < 0)
		return -ENOMEM;
	if (sb->opts.jobs == 0)
		sb->opts.jobs = 1;
	return 0;
}

/*
 * The converter's bytes, sealed: every runner gets them as a descriptor with
 * its SETUP frame, so the host never waits on a runner that is slow to read,
 * and no runner can change what the next one gets.
 */
static int source_memfd(const uint8_t *source, size_t len)
{
	int fd = memfd_create("convbox-source", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -1;
	if (cvb_write_all(fd, source, len) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int cvb_sandbox_open(const struct cvb_run_opts *o, const uint8_t *source, size_t len,
		     struct cvb_sandbox **out, struct cvb_error *err)
{
	struct cvb_sandbox *sb = calloc(1, sizeof(*sb));
	*out = NULL;
	if (sb)
		sb->source_fd = -1;
	if (!sb || copy_opts(sb, o) < 0)
		goto out_oom;
	sb->converter_abs = realpath(o->converter_path, NULL);
	if (!sb->converter_abs) {
		cvb_error_errno(err, errno, "cannot read converter '%s'", o->converter_path);
		goto out_free;
	}
	sb->runner_path = o->runner_path ? strdup(o->runner_path) : default_runner_path();
	if (!sb->runner_path)
		goto out_oom;
	sb->source_fd = source_memfd(source, len);
	if (sb->source_fd < 0) {
		cvb_error_errno(err, errno, "cannot keep the converter's source (memfd)");
		goto out_free;
	}
	sb->source_len = len;
	sb->next_id = 1;
	struct runner_proc *rp = cvb_runner_start(sb, err);
	if (!rp)
		goto out_free;
	if (cvb_runner_check_layers(sb, rp, err) < 0) {
		cvb_runner_stop(rp);
		goto out_free;
	}
	if (o->cold)
		cvb_runner_stop(rp);
	else
		sb->warm = rp;
	*out = sb;
	return 0;
out_oom:
	cvb_error_set(err, "out of memory");
out_free:
	cvb_sandbox_close(sb);
	return -1;
}

const char *const *cvb_sandbox_degraded(const struct cvb_sandbox *sb)
{
	return sb->degraded;
}

char *cvb_sandbox_facts(const struct cvb_sandbox *sb)
{
	if (!sb->warm)
		return NULL;
	json_t *o = json_pack("{s:O, s:i, s:b}", "layers", sb->warm->layers, "landlock_abi",
			      sb->warm->landlock_abi, "root", sb->warm->root);
	char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return t;
}

int64_t cvb_sandbox_submit(struct cvb_sandbox *sb, const char *input_path, struct cvb_error *err)
{
	struct stat st;
	if (access(input_path, R_OK) < 0)
		return cvb_error_errno(err, errno, "cannot read input '%s'", input_path);
	if (stat(input_path, &st) < 0 || !S_ISREG(st.st_mode))
		return cvb_error_set(err, "cannot read input '%s': not a regular file", input_path);
	struct queued *nq = realloc(sb->queue, (sb->n_queue + 1) * sizeof(*nq));
	if (!nq)
		return cvb_error_set(err, "out of memory");
	sb->queue = nq;
	uint64_t id = sb->next_id++;
	sb->queue[sb->n_queue++] = (struct queued){.input = strdup(input_path), .id = id};
	sb->pending++;
	return (int64_t)id;
}

size_t cvb_sandbox_pending(const struct cvb_sandbox *sb)
{
	return sb->pending;
}

static void push_done(struct cvb_sandbox *sb, struct host_job *j)
{
	struct host_job **nd = realloc(sb->done, (sb->n_done + 1) * sizeof(*nd));
	if (!nd)
		abort(); /* cannot lose a finished job silently */
	sb->done = nd;
	sb->done[sb->n_done++] = j;
}

/* A job that could not even be started still gets exactly one result. */
static void fail_start(struct cvb_sandbox *sb, uint64_t id, const char *input, const char *msg)
{
	struct host_job *j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	j->id = id;
	j->input = strdup(input);
	j->chan_fd = j->out_fd = j->err_fd = j->pidfd = -1;
	j->listener = j->listener_rx = -1;
	j->logs = json_array();
	j->denied = json_array();
	j->outputs = json_array();
	/* msg may quote a path that is not UTF-8 */
	j->job_error = json_pack("{s:s, s:o, s:s}", "outcome", "sandbox_error", "error",
				 cvb_json_text(msg), "layer", "host");
	j->exited = true;
	j->started = cvb_now();
	push_done(sb, j);
}

static struct runner_proc *runner_for_job(struct cvb_sandbox *sb, struct cvb_error *err)
{
	if (sb->opts.cold)
		return cvb_runner_start(sb, err);
	if (sb->warm && sb->warm->dead && sb->warm->active == 0) {
		cvb_runner_stop(sb->warm); /* a zygote that died is replaced */
		sb->warm = NULL;
	}
	if (!sb->warm)
		sb->warm = cvb_runner_start(sb, err);
	return sb->warm && !sb->warm->dead ? sb->warm : NULL;
}

/*
 * A cold runner that is done with (its job finished, or it failed to start)
 * is told to end and reaped when its pidfd says it has exited, so the loop
 * does not wait for it; without a pidfd it is stopped (waited for) here.
 */
static void release_runner(struct cvb_sandbox *sb, struct runner_proc *rp)
{
	if (cvb_runner_release(rp) || rp->pidfd < 0) {
		cvb_runner_stop(rp);
		return;
	}
	struct runner_proc **nr = realloc(sb->reaping, (sb->n_reaping + 1) * sizeof(*nr));
	if (!nr) {
		cvb_runner_stop(rp);
		return;
	}
	sb->reaping = nr;
	sb->reaping[sb->n_reaping++] = rp;
}

/* Reap the released runners that have exited (or, forced, every one that is due). */
static void reap_runners(struct cvb_sandbox *sb, struct runner_proc *exited, bool due)
{
	double now = cvb_now();
	for (size_t k = 0; k < sb->n_reaping;) {
		struct runner_proc *rp = sb->reaping[k];
		bool force = due && now >= rp->gone_by;
		if ((rp == exited || force) && cvb_runner_reap(rp, force))
			sb->reaping[k] = sb->reaping[--sb->n_reaping];
		else
			k++;
	}
}

/* Start a job on rp (NULL when it has none); a job that cannot start gets its result now. */
static void begin_job(struct cvb_sandbox *sb, struct runner_proc *rp, uint64_t id, char *input,
		      struct cvb_error *err)
{
	struct host_job *j = rp ? cvb_job_start(sb, rp, id, input, CVB_JOB_CONVERT, err) : NULL;
	if (!j) {
		if (rp && sb->opts.cold)
			release_runner(sb, rp);
		fail_start(sb, id, input, err->msg);
	} else {
		sb->jobs[sb->n_jobs++] = j;
	}
	free(input);
}

/*
 * Whether the next job waits for the zygote's next spare: it is on its way
 * (the zygote forks one as soon as one is taken, and a few when it starts),
 * and a job the zygote forks itself would wait for the zygote anyway, and
 * then build its mount view and compile the converter on its own clock. A
 * zygote that offers none within CVB_SPARE_WAIT_S forks this job and every
 * next one itself, until a spare comes again (cvb_runner_add_spare).
 */
static bool wait_for_spare(struct runner_proc *rp)
{
	if (!rp || rp->dead || rp->spares_expected == 0 || rp->n_spares > 0)
		return false;
	double now = cvb_now();
	if (rp->spare_wait_until == 0)
		rp->spare_wait_until = now + CVB_SPARE_WAIT_S;
	return now < rp->spare_wait_until;
}

/*
 * A free slot takes the next input. In cold mode its runner is spawned and
 * the job starts when the runner's READY comes: runners start up alongside
 * the running jobs, whose frames and refused calls are answered meanwhile.
 */
static void start_queued(struct cvb_sandbox *sb)
{
	while (sb->n_queue > 0 && sb->n_jobs + sb->n_starting < sb->opts.jobs) {
		struct cvb_error err = {""};
		struct runner_proc *rp = sb->opts.cold ? NULL : runner_for_job(sb, &err);
		if (wait_for_spare(rp))
			return; /* its SPARE frame starts it (poll_once) */
		char *input = sb->queue[0].input;
		uint64_t id = sb->queue[0].id;
		memmove(sb->queue, sb->queue + 1, --sb->n_queue * sizeof(*sb->queue));
		if (!sb->opts.cold) {
			begin_job(sb, rp, id, input, &err);
			continue;
		}
		rp = cvb_runner_spawn(sb, &err);
		if (rp)
			sb->starting[sb->n_starting++] = (struct starting){rp, id, input};
		else
			begin_job(sb, NULL, id, input, &err);
	}
}

/* Forget starting runner k; its slot takes the last one. */
static struct starting take_starting(struct cvb_sandbox *sb, size_t k)
{
	struct starting st = sb->starting[k];
	sb->starting[k] = sb->starting[--sb->n_starting];
	return st;
}

/* A starting runner's channel is readable: its READY starts the job, anything else fails it. */
static void on_runner_ready(struct cvb_sandbox *sb, struct runner_proc *rp)
{
	for (size_t k = 0; k < sb->n_starting; k++) {
		if (sb->starting[k].rp != rp)
			continue;
		struct starting st = take_starting(sb, k);
		struct cvb_error err = {""};
		if (cvb_runner_read_ready(rp, &err) < 0) {
			release_runner(sb, rp);
			rp = NULL;
		}
		begin_job(sb, rp, st.id, st.input, &err);
		return;
	}
}

static struct host_job *job_by_id(struct cvb_sandbox *sb, struct runner_proc *rp, uint64_t id)
{
	for (size_t i = 0; i < sb->n_jobs; i++)
		if (sb->jobs[i]->runner_id == id && sb->jobs[i]->runner == rp)
			return sb->jobs[i];
	return NULL;
}

static void runner_died(struct cvb_sandbox *sb, struct runner_proc *rp)
{
	rp->dead = true;
	cvb_runner_drop_spares(rp);
	for (size_t i = 0; i < sb->n_jobs; i++)
		if (sb->jobs[i]->runner == rp && !sb->jobs[i]->exited) {
			cvb_job_kill(sb->jobs[i]);
			sb->jobs[i]->runner_died = true;
		}
	rp->active = 0;
}

/*
 * A frame on a runner's control channel: a ready SPARE, STARTED/EXITED for
 * one of our jobs (or the exit of a spare not used), or FATAL.
 */
static void on_control(struct cvb_sandbox *sb, struct runner_proc *rp)
{
	struct cvb_frame_header h;
	uint8_t *payload = NULL;
	int fds[8];
	size_t nfds = 8;
	int rc = cvb_frame_read(rp->ctl_fd, 1u << 20, &h, &payload, fds, &nfds);
	if (rc != CVB_FRAME_OK) {
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
		runner_died(sb, rp);
		free(payload);
		return;
	}
	if (h.type == CVB_FRAME_SPARE) {
		cvb_runner_add_spare(rp, h.job_id, fds, nfds);
		free(payload);
		return;
	}
	struct host_job *j = job_by_id(sb, rp, h.job_id);
	if (j)
		cvb_job_on_control(j, &h, payload, fds, nfds);
	else
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
	if (!j && h.type == CVB_FRAME_EXITED)
		cvb_runner_forget_spare(rp, h.job_id);
	if (h.type == CVB_FRAME_FATAL)
		runner_died(sb, rp);
	free(payload);
}

/*
 * Per job: its channel, pipes and listener, and in cold mode its runner; the
 * zygote; cold runners starting up, and released ones not yet exited (those
 * beyond the set are still killed when due).
 */
#define POLL_MAX (1 + 6 * 64 + 64)

struct pollset {
	struct pollfd pfd[POLL_MAX];
	struct host_job *job[POLL_MAX];
	/* 0 channel, 1 stdout, 2 stderr, 3 control, 4 listener, 5 start, 6 a runner's exit */
	int which[POLL_MAX];
	struct runner_proc *rp[POLL_MAX];
	size_t n;
};

static void add_fd(struct pollset *ps, int fd, struct host_job *j, int which,
		   struct runner_proc *rp)
{
	if (fd < 0 || ps->n >= sizeof(ps->pfd) / sizeof(ps->pfd[0]))
		return;
	ps->pfd[ps->n] = (struct pollfd){.fd = fd, .events = POLLIN};
	ps->job[ps->n] = j;
	ps->which[ps->n] = which;
	ps->rp[ps->n] = rp;
	ps->n++;
}

static void add_runner(struct pollset *ps, struct runner_proc *rp)
{
	for (size_t i = 0; i < ps->n; i++)
		if (ps->rp[i] == rp && ps->which[i] == 3)
			return;
	if (!rp->dead)
		add_fd(ps, rp->ctl_fd, NULL, 3, rp);
}

static int poll_timeout_ms(struct cvb_sandbox *sb)
{
	double next = 1e18, now = cvb_now();
	for (size_t k = 0; k < sb->n_starting; k++)
		if (sb->starting[k].rp->ready_by < next)
			next = sb->starting[k].rp->ready_by;
	for (size_t k = 0; k < sb->n_reaping; k++)
		if (sb->reaping[k]->gone_by < next)
			next = sb->reaping[k]->gone_by;
	if (sb->warm && sb->warm->spare_wait_until > now && sb->warm->spare_wait_until < next)
		next = sb->warm->spare_wait_until;
	for (size_t i = 0; i < sb->n_jobs; i++) {
		struct host_job *j = sb->jobs[i];
		double t = j->exited ? j->grace_until : (j->timed_out ? now + 0.05 : j->deadline);
		if (t < next)
			next = t;
	}
	if (next >= 1e17)
		return 1000;
	double ms = (next - now) * 1000.0;
	return ms < 0 ? 0 : (ms > 60000 ? 60000 : (int)ms + 1);
}

static void check_deadlines(struct cvb_sandbox *sb)
{
	double now = cvb_now();
	reap_runners(sb, NULL, true);
	for (size_t k = 0; k < sb->n_starting;) {
		if (now < sb->starting[k].rp->ready_by) {
			k++;
			continue;
		}
		struct starting st = take_starting(sb, k);
		struct cvb_error err = {""};
		cvb_runner_start_error(&err);
		release_runner(sb, st.rp);
		begin_job(sb, NULL, st.id, st.input, &err);
	}
	for (size_t i = 0; i < sb->n_jobs; i++) {
		struct host_job *j = sb->jobs[i];
		if (!j->exited && now >= j->deadline) {
			j->timed_out = true;
			cvb_job_kill(j);
		}
	}
}

static void poll_once(struct cvb_sandbox *sb)
{
	static struct pollset ps; /* large; the loop is not re-entrant */
	ps.n = 0;
	if (sb->warm)
		add_runner(&ps, sb->warm);
	for (size_t k = 0; k < sb->n_starting; k++)
		add_fd(&ps, sb->starting[k].rp->ctl_fd, NULL, 5, sb->starting[k].rp);
	for (size_t k = 0; k < sb->n_reaping; k++)
		add_fd(&ps, sb->reaping[k]->pidfd, NULL, 6, sb->reaping[k]);
	for (size_t i = 0; i < sb->n_jobs; i++) {
		struct host_job *j = sb->jobs[i];
		add_runner(&ps, j->runner);
		add_fd(&ps, j->chan_fd, j, 0, NULL);
		add_fd(&ps, j->out_fd, j, 1, NULL);
		add_fd(&ps, j->err_fd, j, 2, NULL);
		add_fd(&ps, j->listener, j, 4, NULL);
	}
	int n = poll(ps.pfd, ps.n, poll_timeout_ms(sb));
	for (size_t i = 0; n > 0 && i < ps.n; i++) {
		if (!ps.pfd[i].revents)
			continue;
		if (ps.which[i] == 3)
			on_control(sb, ps.rp[i]);
		else if (ps.which[i] == 5)
			on_runner_ready(sb, ps.rp[i]);
		else if (ps.which[i] == 6)
			reap_runners(sb, ps.rp[i], false);
		else if (ps.which[i] == 4)
			cvb_job_on_listener(ps.job[i], ps.pfd[i].revents);
		else if (ps.which[i] == 0)
			cvb_job_on_channel(sb, ps.job[i]);
		else
			cvb_job_on_pipe(sb, ps.job[i], ps.which[i]);
	}
	check_deadlines(sb);
}

/* A finished job lets go of its runner. */
static void retire_job(struct cvb_sandbox *sb, struct host_job *j)
{
	if (!j->exited) { /* finished by DONE: end the process, forget its EXITED */
		cvb_job_kill(j);
		if (j->runner->active > 0)
			j->runner->active--;
	}
	if (sb->opts.cold)
		release_runner(sb, j->runner);
	j->runner = NULL;
}

static void retire_finished(struct cvb_sandbox *sb)
{
	for (size_t i = 0; i < sb->n_jobs;) {
		struct host_job *j = sb->jobs[i];
		if (!cvb_job_finished(j)) {
			i++;
			continue;
		}
		sb->jobs[i] = sb->jobs[--sb->n_jobs];
		retire_job(sb, j);
		push_done(sb, j);
	}
}

static int ensure_job_table(struct cvb_sandbox *sb)
{
	if (sb->jobs)
		return sb->starting ? 0 : -ENOMEM;
	if (sb->opts.jobs > 64)
		sb->opts.jobs = 64;
	sb->jobs = calloc(sb->opts.jobs, sizeof(*sb->jobs));
	sb->starting = calloc(sb->opts.jobs, sizeof(*sb->starting));
	return sb->jobs && sb->starting ? 0 : -ENOMEM;
}

int cvb_sandbox_next(struct cvb_sandbox *sb, struct cvb_result *res)
{
	if (sb->pending == 0 || ensure_job_table(sb) < 0)
		return 0;
	for (;;) {
		start_queued(sb);
		if (sb->n_done > 0) {
			struct host_job *j = sb->done[0];
			memmove(sb->done, sb->done + 1, --sb->n_done * sizeof(*sb->done));
			cvb_job_finalize(sb, j, res);
			cvb_job_free(j);
			sb->pending--;
			return 1;
		}
		poll_once(sb);
		retire_finished(sb);
	}
}

/* Run one job to its end outside the queue (validation), and finalise it. */
static int run_alone(struct cvb_sandbox *sb, struct host_job *j, char **findings,
		     struct cvb_error *err)
{
	sb->jobs[sb->n_jobs++] = j;
	while (!cvb_job_finished(j))
		poll_once(sb);
	for (size_t i = 0; i < sb->n_jobs; i++)
		if (sb->jobs[i] == j)
			sb->jobs[i] = sb->jobs[--sb->n_jobs];
	retire_job(sb, j);
	struct cvb_result res;
	cvb_job_finalize(sb, j, &res);
	int rc = 0;
	if (j->findings && res.outcome == CVB_OUTCOME_COMPLETED) {
		*findings = j->findings;
		j->findings = NULL;
	} else {
		rc = cvb_error_set(err, "the validator could not run: %s",
				   res.message ? res.message : cvb_outcome_name(res.outcome));
	}
	cvb_result_clear(&res);
	cvb_job_free(j);
	return rc;
}

/* Validation runs in a job of its own: confined like a conversion, with no input. */
int cvb_sandbox_validate(struct cvb_sandbox *sb, char **findings, struct cvb_error *err)
{
	*findings = NULL;
	if (ensure_job_table(sb) < 0)
		return cvb_error_set(err, "out of memory");
	struct runner_proc *rp = runner_for_job(sb, err);
	struct host_job *j =
	    rp ? cvb_job_start(sb, rp, sb->next_id++, NULL, CVB_JOB_VALIDATE, err) : NULL;
	if (!j) {
		if (rp && sb->opts.cold)
			cvb_runner_stop(rp);
		return -1;
	}
	return run_alone(sb, j, findings, err);
}

int cvb_sandbox_validate_bytes(struct cvb_sandbox *sb, const uint8_t *src, size_t len,
			       const char *path, char **findings, struct cvb_error *err)
{
	*findings = NULL;
	if (ensure_job_table(sb) < 0)
		return cvb_error_set(err, "out of memory");
	struct runner_proc *rp = runner_for_job(sb, err);
	struct host_job *j =
	    rp ? cvb_job_start_inline(sb, rp, sb->next_id++, src, len, path, err) : NULL;
	if (!j) {
		if (rp && sb->opts.cold)
			cvb_runner_stop(rp);
		return -1;
	}
	return run_alone(sb, j, findings, err);
}

void cvb_sandbox_close(struct cvb_sandbox *sb)
{
	if (!sb)
		return;
	for (size_t i = 0; i < sb->n_jobs; i++) {
		cvb_job_kill(sb->jobs[i]);
		if (sb->opts.cold)
			cvb_runner_stop(sb->jobs[i]->runner);
		cvb_job_free(sb->jobs[i]);
	}
	for (size_t k = 0; k < sb->n_starting; k++) {
		cvb_runner_stop(sb->starting[k].rp);
		free(sb->starting[k].input);
	}
	for (size_t k = 0; k < sb->n_reaping; k++) { /* each gets its grace to end on its own */
		struct runner_proc *rp = sb->reaping[k];
		struct pollfd p = {.fd = rp->pidfd, .events = POLLIN};
		double left_ms = (rp->gone_by - cvb_now()) * 1000.0;
		if (left_ms > 0)
			poll(&p, 1, (int)left_ms + 1);
		cvb_runner_reap(rp, true);
	}
	for (size_t i = 0; i < sb->n_done; i++)
		cvb_job_free(sb->done[i]);
	for (size_t i = 0; i < sb->n_queue; i++)
		free(sb->queue[i].input);
	cvb_runner_stop(sb->warm);
	free(sb->jobs);
	free(sb->starting);
	free(sb->reaping);
	free(sb->done);
	free(sb->queue);
	if (sb->source_fd >= 0)
		close(sb->source_fd);
	free(sb->converter_abs);
	free(sb->runner_path);
	cvb_run_opts_clear(&sb->opts);
	free(sb);
}
