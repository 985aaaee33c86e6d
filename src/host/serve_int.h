/*
 * Internals of `convbox serve`, shared by serve.c (the command, the loop,
 * converters and their drivers) and serve_results.c (what becomes of a
 * finished conversion). Not a public interface.
 */
#ifndef CONVBOX_SERVE_INT_H
#define CONVBOX_SERVE_INT_H

#include "convbox/queue.h"
#include "convbox/serve.h"
#include "convbox/spool.h"
#include "convbox/watch.h"

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#define RETRY_LATER_SECONDS 30.0 /* a spool or folder failure on our side */

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERROR };

enum conv_state {
	CS_OFF,		 /* enabled: false in the config */
	CS_DISABLED,	 /* cannot run until its file changes: unreadable, rejected, no sandbox */
	CS_STARTING,	 /* driver started, waiting for READY */
	CS_READY,	 /* takes files */
	CS_DRAINING,	 /* its file changed: no new files until the running ones finish */
	CS_RESTART_WAIT, /* its driver died: started again at restart_at */
};

struct conv_rt {
	enum conv_state state;
	struct cvb_driver *drv;
	uint8_t *src;
	size_t src_len;
	uint8_t sha[32];
	struct stat st; /* of the converter file when it was read */
	unsigned in_flight;
	unsigned restarts;
	unsigned acks; /* results read and not yet acknowledged to the driver */
	double restart_at;
	int folder;
	bool reload;
};

struct job {
	uint64_t token;
	unsigned conv;
	struct cvb_queue_entry e; /* key: the claimed path */
	double started;
	time_t started_wall;
};

/* A finished job and what becomes of it. */
enum fate { F_POST, F_ERROR, F_SUSPEND, F_RETRY, F_LOST };

struct finished {
	struct job job;
	struct cvb_driver_msg m;
	enum fate fate;
	char why[1280];			     /* room for a cvb_error message and a prefix */
	size_t written, replaced, unchanged; /* reports new to the spool, newer, the same */
};

struct serve {
	struct cvb_serve_config cfg;
	struct conv_rt *rt;
	struct cvb_watch *watch;
	struct cvb_queue *queue;
	struct cvb_spool *spool;
	int lock_fd;
	struct job *jobs;
	size_t n_jobs, cap_jobs;
	struct finished *batch;
	size_t n_batch, cap_batch;
	bool *lane_ok;	    /* per converter: may take a file now */
	struct pollfd *pfd; /* signalfd, inotify, then one per driver */
	unsigned *pfd_conv; /* which converter each driver entry is */
	uint64_t next_token;
	int sigfd;
	enum log_level level;
	bool stopping, reloading;
	double stop_deadline, next_conv_check;
	struct cvb_serve_config *next_cfg; /* SIGHUP: the configuration to switch to */
	unsigned long n_converted, n_failed, n_suspended;
};

/* serve.c */

/* Monotonic seconds. */
double serve_now(void);

/*
 * One log line on stderr: serve_log(s, level, event, key, value, ...,
 * NULL); NULL values are left out, values with spaces are quoted.
 */
__attribute__((sentinel)) void serve_log(const struct serve *s, enum log_level lv,
					 const char *event, ...);

/* A number as text in buf, for serve_log. */
const char *serve_num(char buf[32], double v);

/* A converter's name. */
const char *serve_conv_name(const struct serve *s, unsigned c);

/* A level name ("warning", any case) to its level; LOG_INFO when unknown. */
enum log_level serve_level_parse(const char *name, bool *known);

/* Back into the queue, due after `delay` seconds (0: now); the entry is cleared. */
void serve_requeue(struct serve *s, struct cvb_queue_entry *e, double delay);

/* Remove running job i (its worker is free); the caller owns what it returns. */
struct job serve_take_job(struct serve *s, size_t i);

/*
 * Without waiting: read the results the drivers have sent, give the freed
 * workers their next files, acknowledge. Called between the slow (fsync)
 * steps of a batch; new results join the next batch.
 */
void serve_pump(struct serve *s);

/* serve_results.c */

/* A result read from converter c's driver: its job leaves the running set for the batch. */
void serve_on_result(struct serve *s, unsigned c, struct cvb_driver_msg *m);

/* Every result of this turn: reports spooled, one fsync of the spool, then post actions. */
void serve_finish_batch(struct serve *s);

/* Into converter c's Error folder with <name>.error.json; requeued when that fails. */
void serve_to_error(struct serve *s, struct job *j, const char *outcome, const char *status,
		    const char *message, json_t *detail);

/* A finished zip from a claim folder into converter c's Done folder as <name>.zip. */
void serve_finish_zip(const struct serve *s, unsigned c, const char *zip, char **final);

#endif
