/*
 * Host internals of the sandbox (never includes runner headers).
 *
 * A cvb_sandbox keeps one runner process (the zygote) for a converter and
 * policy, or a fresh one per job in cold mode. Each job has its own channel
 * socket and stdout/stderr pipes; the event loop in sandbox.c reads them all,
 * enforces wall timeouts through the job's pidfd, and turns what arrived
 * into exactly one outcome (result.c).
 */
#ifndef CONVBOX_HOST_H
#define CONVBOX_HOST_H

#include "convbox/frame.h"
#include "convbox/run.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define CVB_LOG_MAX_LINES 10000
#define CVB_LOG_MAX_BYTES (1u << 20)
#define CVB_LOG_LINE_MAX  8192
#define CVB_HOST_SPARES	  8   /* ready spares a runner offers at most (MAX_SPARES of the zygote) */
#define CVB_SPARE_WAIT_S  1.0 /* then a job goes to the zygote, which forks it itself */

/*
 * A process the zygote prepared for the runner's policy, waiting for its JOB
 * (SPARE frame): the host sends it there itself, so a job never waits for
 * the zygote, which may be busy forking the next one.
 */
struct host_spare {
	uint64_t id; /* the runner's name for it, in the EXITED of its job */
	int sock;    /* the spare's job socket */
	int pidfd;
};

struct runner_proc {
	pid_t pid;
	int ctl_fd;
	double ready_by; /* when a runner that has not sent READY is given up */
	int pidfd;	 /* of a released runner that has not exited yet, or -1 */
	double gone_by;	 /* when such a runner is killed */
	bool dead;
	bool root;
	unsigned active; /* jobs started and not yet EXITED */
	json_t *layers;	 /* from READY */
	int landlock_abi;
	struct host_spare spares[CVB_HOST_SPARES]; /* oldest first */
	size_t n_spares;
	unsigned spares_expected; /* what the runner keeps ready (SETUP) */
	double spare_wait_until;  /* jobs wait for a spare until then (0: none has waited) */
};

struct linebuf {
	char buf[CVB_LOG_LINE_MAX];
	size_t len;
	bool truncated;
};

struct host_job {
	uint64_t id;
	uint64_t runner_id; /* the runner's name for it: the id, or the spare's it took */
	char *input;
	struct runner_proc *runner;
	int chan_fd, out_fd, err_fd, pidfd;
	struct cvb_frame_reader *chan;
	struct linebuf out, err;
	double started, deadline, grace_until;
	bool timed_out, exited, runner_died;
	char protocol[256]; /* non-empty: the job broke the protocol */
	json_t *logs;
	size_t log_lines, log_bytes, logs_dropped;
	json_t *denied;
	char **reports;
	size_t n_reports, report_bytes;
	char *result_raw;
	json_t *job_error;
	json_t *exit_info; /* EXITED from the runner, or the job's own DONE */
	bool done;	   /* DONE arrived: finish when the descriptors close */
	json_t *outputs;
	uint64_t output_bytes;
	char *staging; /* trusted mode: host folder the converter writes to */
	char *findings;
	int input_fd;
	struct cvb_tally *tally;   /* the job's count of its hook denials, mapped read-only */
	int listener;		   /* the job's seccomp listener: refused calls wait for us */
	int listener_rx;	   /* a descriptor that came with the channel's first bytes */
	bool chan_read;		   /* the channel's first bytes have arrived */
	unsigned frames;	   /* frames taken from the channel */
	unsigned hook_frames;	   /* DENIED frames of the audit hook that arrived */
	const uint8_t *inline_src; /* validation of other bytes (borrowed) */
	size_t inline_len;
	const char *inline_path;
};

struct cvb_sandbox {
	struct cvb_run_opts opts;
	char *converter_abs;
	int source_fd; /* the converter's bytes, in a sealed memfd that every runner gets */
	size_t source_len;
	char *runner_path;
	struct runner_proc *warm; /* the zygote (NULL in cold mode) */
	struct host_job **jobs;	  /* running */
	size_t n_jobs;
	struct queued {
		char *input;
		uint64_t id; /* assigned at submit, so results match what the caller was told */
	} * queue;	     /* inputs waiting for a free slot */
	size_t n_queue;
	struct starting {
		struct runner_proc *rp;
		uint64_t id;
		char *input;
	} * starting; /* cold mode: a runner spawned per queued input, not yet READY */
	size_t n_starting;
	struct runner_proc **reaping; /* cold mode: runners of finished jobs, exiting */
	size_t n_reaping;
	struct host_job **done; /* finished, not yet returned */
	size_t n_done;
	uint64_t next_id;
	size_t pending;
	const char *degraded[8];
	char *findings_json;
};

double cvb_now(void);

/* runner.c */
#define CVB_RUNNER_READY_TIMEOUT_MS 30000
/* Exec a runner and send it its set-up; it is ready once its READY has been read. */
struct runner_proc *cvb_runner_spawn(struct cvb_sandbox *sb, struct cvb_error *err);
/* Read the READY (or FATAL) frame of a spawned runner: when its channel is readable. */
int cvb_runner_read_ready(struct runner_proc *rp, struct cvb_error *err);
/* The error of a runner that sent nothing by its ready_by. */
int cvb_runner_start_error(struct cvb_error *err);
/* Spawn and wait for READY. */
struct runner_proc *cvb_runner_start(struct cvb_sandbox *sb, struct cvb_error *err);
#define CVB_RUNNER_EXIT_GRACE_MS 1000
/*
 * Tell a runner to end, without waiting: true when it is gone (then free it
 * with cvb_runner_stop), else its pidfd (-1 on kernels without pidfd_open)
 * becomes readable when it exits, and it is killed at gone_by.
 */
bool cvb_runner_release(struct runner_proc *rp);
/* Reap a released runner and free it: false (and nothing done) while it runs, unless forced. */
bool cvb_runner_reap(struct runner_proc *rp, bool force);
void cvb_runner_stop(struct runner_proc *rp);
/* A SPARE frame: keep the spare (its descriptors are the runner's now), or close them. */
void cvb_runner_add_spare(struct runner_proc *rp, uint64_t id, int *fds, size_t nfds);
/* Spare i, out of the list (which stays oldest first); its descriptors are the caller's. */
struct host_spare cvb_runner_take_spare(struct runner_proc *rp, size_t i);
/* The runner reported spare id gone before the host used it. */
void cvb_runner_forget_spare(struct runner_proc *rp, uint64_t id);
/* Let every spare go (each ends when its socket does). */
void cvb_runner_drop_spares(struct runner_proc *rp);
int cvb_runner_check_layers(struct cvb_sandbox *sb, struct runner_proc *rp, struct cvb_error *err);

/* job.c */
struct host_job *cvb_job_start(struct cvb_sandbox *sb, struct runner_proc *rp, uint64_t id,
			       const char *input, enum cvb_job_mode mode, struct cvb_error *err);
/* A validation job for other bytes: JOB with inline_source, then a SOURCE frame. */
struct host_job *cvb_job_start_inline(struct cvb_sandbox *sb, struct runner_proc *rp, uint64_t id,
				      const uint8_t *src, size_t len, const char *path,
				      struct cvb_error *err);
void cvb_job_on_channel(struct cvb_sandbox *sb, struct host_job *j);
void cvb_job_on_pipe(struct cvb_sandbox *sb, struct host_job *j, int which);
void cvb_job_on_listener(struct host_job *j, short revents);
/* One entry of the result's `denied` list; mode and capability may be NULL. */
void cvb_job_add_denial(struct host_job *j, const char *action, const char *target,
			const char *mode, const char *capability, const char *layer);
void cvb_job_on_control(struct host_job *j, const struct cvb_frame_header *h, uint8_t *payload,
			int *fds, size_t nfds);
void cvb_job_kill(struct host_job *j);
bool cvb_job_finished(const struct host_job *j);
void cvb_job_free(struct host_job *j);

/* result.c */
void cvb_job_finalize(struct cvb_sandbox *sb, struct host_job *j, struct cvb_result *res);

/* outputs.c */
int cvb_host_output_store(struct cvb_sandbox *sb, struct host_job *j, const uint8_t *payload,
			  size_t len);
/* Remove a staging folder and everything in it, never following symlinks. */
void cvb_host_remove_tree(const char *path);

#endif
