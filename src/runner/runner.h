/*
 * convbox-runner internals.
 *
 * Theory of operation
 * -------------------
 * The host execs convbox-runner with one end of a unix socketpair (the
 * control channel) as fd 3. The runner:
 *
 *   1. receives SETUP (converter path, policy) with the validated bytes of
 *      the converter (a sealed memfd);
 *   2. enters an empty network namespace and, unless trusted, an empty IPC
 *      namespace (its own user namespace first when it is not root), probes
 *      which kernel layers exist, initialises the embedded CPython in
 *      isolated mode with the audit hook already installed, preloads the
 *      stdlib modules its converter names, and says READY;
 *   3. for each JOB frame (carrying the job's own channel, stdout, stderr and
 *      input descriptors) forks a job child into new user, pid, uts and mount
 *      namespaces (and ipc without seccomp), hands the host the child's pidfd
 *      (STARTED), and later reports its wait status and resource usage
 *      (EXITED).
 *
 * The job child confines itself, layer by layer (contain.c), hands the host
 * its seccomp filter's listener (the first frame on its channel: the host
 * answers every refused call, see seccomp.c), then runs the converter
 * (pyhost.c) and speaks only on its own channel. No converter code
 * ever runs in the runner's main process, which is therefore a zygote: the
 * cold path is simply a runner that gets one job.
 *
 * A child inherits nothing of the jobs forked before it: each job's shared
 * signal page is kept out of later forks (MADV_DONTFORK), the zygote
 * handles a JOB frame, and the spec it parses from it, in a scratch region
 * kept out of forks too and wiped before it forks the next spares
 * (scratch.c; what does not fit goes to the heap and is wiped when freed),
 * and it wipes a job's exit record once it is sent
 * (tests/zygote/memory_thief.py looks for all three).
 *
 * The fast path. A zygote rehearses convbox's own job (never the converter)
 * until CPython has specialised what every job runs, fills the holes its
 * start-up left in pymalloc's pools and malloc's heap so that a job's new
 * objects land packed in fresh memory (arena.c), then, as its last step
 * before its first fork, learns which of its pages a job writes (hotset.c),
 * and holds those it can, so that fork itself copies them into each child.
 * It keeps one spare child per job slot, plus one, forked ahead. A spare
 * copies the rest of those pages, builds the mount view with an input
 * folder staged read-only, drops every capability, applies Landlock and
 * seccomp, and makes the converter a code object, all before its job is
 * known; the first spare compiles, later ones load the code object it
 * marshalled (CODE frame; the zygote only stores the bytes).
 *
 * The zygote offers each spare to the host (SPARE frame: the spare's job
 * socket and pidfd), and the host sends a conversion's JOB frame straight
 * to the oldest one: no job waits for the zygote, which meanwhile forks the
 * next spare (a spare closes its socket to the zygote when it takes its
 * job). The zygote still reaps it and reports its exit under the spare's id.
 * A JOB frame on the control channel (no spare ready, or a validation job)
 * is forked as in 3. When the job arrives the spare checks that it asks for
 * the policy the spare was prepared for, copies the input in through the
 * stage's last writable descriptor, closes it, sets the job's descriptors
 * and limits, and runs the converter: no privilege is left by then, and
 * none is needed.
 */
#ifndef CONVBOX_RUNNER_H
#define CONVBOX_RUNNER_H

#include "convbox/frame.h"
#include "convbox/jobspec.h"

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

/* A build with AddressSanitizer (tests only): it owns malloc and the address space. */
#if defined(__SANITIZE_ADDRESS__)
#define CVB_SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CVB_SANITIZER_BUILD 1
#endif
#endif
#ifndef CVB_SANITIZER_BUILD
#define CVB_SANITIZER_BUILD 0
#endif

/* Descriptor numbers inside a job child, after setup_fds. */
#define CVB_JOB_FD_CHANNEL 3

/* Kernel layers, as probed at start-up. */
enum cvb_layer {
	CVB_LAYER_USERNS,
	CVB_LAYER_PIDNS,
	CVB_LAYER_MOUNTNS,
	CVB_LAYER_NETNS,
	CVB_LAYER_LANDLOCK,
	CVB_LAYER_SECCOMP,
	CVB_LAYER_COUNT
};

struct cvb_layers {
	bool present[CVB_LAYER_COUNT];
	int landlock_abi; /* 0 when absent */
};

const char *cvb_layer_name(enum cvb_layer l);

/*
 * What the job's signal handlers leave for the zygote, which reads it after
 * the job has exited: a page of the job's own (see fork_confined).
 */
struct cvb_signal_page {
	volatile uint32_t fsize_hit;   /* SIGXFSZ arrived: RLIMIT_FSIZE was reached */
	volatile int32_t fatal_signal; /* a signal that would have killed a normal process */
};

/* A compiled seccomp program, cached per capability set. */
struct cvb_bpf {
	cvb_caps caps;
	unsigned max_procs;
	struct sock_fprog prog;
};

struct cvb_pyhost;

struct cvb_runner {
	int ctl_fd;
	uint32_t max_frame;
	bool root;	 /* euid 0 at start: jobs map to the overflow user */
	uid_t outer_uid; /* uid a job's uid 1000 maps to, in the runner's namespace */
	gid_t outer_gid;
	bool network;	     /* the runner kept the host network (NETWORK_FULL jobs) */
	bool preload;	     /* import the stdlib modules its converter names (zygote) */
	unsigned spares;     /* pre-forked children kept ready for the next jobs */
	bool trusted;	     /* the runner's jobs run without confinement */
	bool allow_degraded; /* the runner's jobs may run without a missing layer */
	cvb_caps caps;	     /* the runner's policy, for compiling seccomp ahead of the first job */
	unsigned max_procs;
	unsigned max_output_mb; /* the runner's limits that shape the mount view */
	unsigned max_files;
	struct cvb_strlist blocked_imports; /* the policy's module lists, which the zygote */
	struct cvb_strlist native_modules;  /* drops from sys.modules once for all jobs */
	bool spare_view; /* set in a spare child only: build the view from the above */
	int view_ns_fd;	 /* the mount namespace with the policy's view at BASE, or -1 */
	int home_ns_fd;	 /* the zygote's own mount namespace */
	bool in_view;	 /* in a child: it was cloned inside the view's namespace */
	struct cvb_layers layers;
	char *converter_path;
	uint8_t *source;
	size_t source_len;
	uint8_t *code; /* the converter's marshalled code object, from a confined spare */
	size_t code_len;
	struct cvb_bpf bpf[4]; /* small cache of compiled filters */
	size_t n_bpf;
	struct cvb_pyhost *py;
};

/* Per-job state in the job child. */
struct cvb_job {
	struct cvb_jobspec spec;
	int channel_fd, stdout_fd, stderr_fd, input_fd;
	int tally_fd;		 /* the host's tally page until it is mapped, else -1 */
	struct cvb_tally *tally; /* the host's count of this job's audit-hook denials */
	int listener_fd;	 /* the seccomp filter's, until the host has it, else -1 */
	bool filtered;		 /* the host has the listener: it hears every refused call */
	struct cvb_signal_page *signals;
	const char *input_view;	 /* the path the converter sees */
	const char *output_view; /* CONVBOX_OUTPUT_DIR inside */
	const char *temp_view;	 /* NULL without FILE_TEMP */
	const char *converter_view;
	char err[512];
	const char *err_layer;
	bool view_ready;       /* the mount view is built (a spare does it ahead of its job) */
	bool staged;	       /* the input folder is staged: a spare copies its job's input in */
	int stage_fd;	       /* the stage's writable mount until then, else -1 */
	const char *view_root; /* where the view is being assembled: BASE, or "" (already root) */
	bool armed;	       /* a spare: every layer is in place before the job is known */
};

/* zygote.c */
int cvb_runner_main(int ctl_fd);
/*
 * The JSON of EXITED (from the zygote) and DONE (from the job itself): usage
 * and signals, written into buf; its length, 0 if it does not fit.
 */
#define CVB_EXIT_REPORT_MAX 192
size_t cvb_exit_report(char *buf, size_t size, const char *how, int value, const struct rusage *ru,
		       pid_t pid, const struct cvb_signal_page *signals);

/* contain.c: the containment sequence, one function per layer. */
int cvb_contain_job(struct cvb_runner *r, struct cvb_job *j, int sync_fd);
/* The job-independent first part (signals, id maps, job user): a spare child does it early. */
int cvb_contain_prepare(struct cvb_runner *r, struct cvb_job *j, int sync_fd);
/* The rest, once the job is known: mounts, descriptors, limits, capabilities, Landlock, seccomp. */
int cvb_contain_finish(struct cvb_runner *r, struct cvb_job *j);
void cvb_contain_probe(struct cvb_layers *layers);
int cvb_contain_enter_runner_ns(struct cvb_runner *r, bool keep_network, char *err, size_t errlen);

/*
 * The zygote builds its policy's mount view once, in a mount namespace of
 * its own, and forks spares from inside it: enter_view_ns(r, true) before
 * the fork, (r, false) after (contain.c). No-ops without a view.
 */
int cvb_contain_build_view(struct cvb_runner *r, char *err, size_t errlen);
int cvb_contain_enter_view_ns(const struct cvb_runner *r, bool enter);
int cvb_contain_write_maps(struct cvb_runner *r, pid_t pid, char *err, size_t errlen);

/* landlock.c */
int cvb_landlock_abi(void);
int cvb_landlock_apply(const struct cvb_job *j, int abi, char *err, size_t errlen);

/* seccomp.c */
const struct sock_fprog *cvb_seccomp_program(struct cvb_runner *r, cvb_caps caps,
					     unsigned max_procs, char *err, size_t errlen);
/* Installs the program; returns its notification listener (see seccomp.c), or -1. */
int cvb_seccomp_install(const struct sock_fprog *prog, char *err, size_t errlen);

/* pyhost.c: the embedded interpreter. */
int cvb_pyhost_init(struct cvb_runner *r, char *err, size_t errlen);
/* Where a confined job sees its output and temp folders (temp NULL: none). */
void cvb_contain_views(cvb_caps caps, const char **output, const char **temp);

void cvb_pyhost_after_fork_child(void);
/*
 * A zygote's last step before its first fork, with its heap as every job
 * will find it: start-up's garbage collected, the holes filled, the objects
 * frozen, and the pages a job writes learned from that very state
 * (hotset.c). Until then the zygote may allocate as it likes.
 */
void cvb_pyhost_seal(struct cvb_runner *r);

/*
 * hotset.c: the pages a typical job writes, learned in the zygote, then held
 * by it (every child gets its copy at fork) or copied by spares.
 */
int cvb_hotset_learn(int (*round)(void *), void *arg);
size_t cvb_hotset_pages(void);
/* Pin what may be pinned; -1 where io_uring is refused (spares then copy it all). */
int cvb_hotset_hold(void);
size_t cvb_hotset_held_pages(void);
/* In every child, first thing: close the ring that holds the zygote's pages. */
void cvb_hotset_forget(void);
void cvb_hotset_touch(void);

/*
 * scratch.c: the zygote's allocator (jansson's too). Between begin and end
 * (one control frame) it allocates from a region no child inherits, wiped
 * at end; otherwise, and when the region is full, from the heap. Its free
 * leaves region memory to end and wipes heap memory.
 */
void cvb_scratch_init(void);
void *cvb_scratch_malloc(size_t size);
void cvb_scratch_free(void *p);
bool cvb_scratch_contains(const void *p);
void cvb_scratch_begin(void);
void cvb_scratch_pause(void); /* what follows must outlive the frame, or reach a child */
void cvb_scratch_end(void);
void cvb_scratch_forget(void); /* in a child: the region is not there */
/* Heap memory that may have held a job's data: wiped, then freed. */
void cvb_wipe_free(void *p);

/* pymalloc arenas on 2 MiB-aligned regions (huge pages where available); zygote only. */
void cvb_arena_install(void);
/* Fill the holes start-up left in pymalloc's pools and in malloc's heap (zygote only). */
void cvb_arena_fill_pools(void);
void cvb_arena_fill_malloc_holes(void);
/*
 * A spare, confined, makes the runner's converter a code object before its
 * job arrives: from r->code (marshalled by an earlier spare) when there is
 * one, else by compiling, and then *code is the marshalled result (malloc'd)
 * for the spares after it. *code stays NULL when there is nothing to hand on.
 */
void cvb_pyhost_compile_ahead(struct cvb_runner *r, const char *path, uint8_t **code,
			      size_t *code_len);

/* Runs the job (converter or validation); never returns. */
void cvb_pyhost_run_job(struct cvb_runner *r, struct cvb_job *j) __attribute__((noreturn));

/* outputs.c: send what the converter left in the output folder. */
int cvb_outputs_send(struct cvb_job *j, uint64_t budget_bytes);

/* Report a failure before the converter ran, then exit. */
void cvb_job_fail(struct cvb_job *j, const char *outcome) __attribute__((noreturn));

#endif
