/*
 * `convbox serve`, the station service: its configuration, and the driver
 * process that runs one converter's sandbox on its behalf.
 *
 * The service is one event loop (src/host/serve.c) over inotify, a
 * signalfd and one socket per converter driver. A driver is a child process
 * of the service that owns one cvb_sandbox (one runner zygote) for one
 * converter: the sandbox API waits for results one sandbox at a time, so
 * each converter gets a process of its own that waits on its own sandbox,
 * and the service never blocks on a conversion. The driver is a fork of
 * the service, not a sandbox: the sandbox is the runner it starts.
 */
#ifndef CONVBOX_SERVE_H
#define CONVBOX_SERVE_H

#include "convbox/error.h"
#include "convbox/jobspec.h"
#include "convbox/run.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- configuration (serve_config.c) ---- */

enum cvb_post_action {
	CVB_POST_MOVE,	 /* into the Done folder, unique name */
	CVB_POST_DELETE, /* removed */
	CVB_POST_ZIP,	 /* into the Done folder as <name>.zip */
	CVB_POST_KEEP,	 /* back into the watch folder, marked as converted */
	CVB_POST_COUNT
};

/* "move", "delete", "zip", "keep"; NULL when out of range. */
const char *cvb_post_action_name(enum cvb_post_action a);

/* Parse a post action name in any case; -1 when unknown. */
int cvb_post_action_parse(const char *name);

struct cvb_serve_converter {
	char *name;
	char *path;		     /* the converter's .py file, resolved */
	char *class_name;	     /* NULL: the one converter class in the module */
	char *watch_folder;	     /* folders: resolved against the config file's folder */
	char *done_folder;	     /* default <watch_folder>/Done */
	char *error_folder;	     /* default <watch_folder>/Error */
	struct cvb_strlist patterns; /* case-insensitive globs on the file name */
	unsigned priority;	     /* 1 (first) .. 10 (last) */
	enum cvb_post_action post_action;
	bool enabled;
	struct cvb_run_opts opts; /* the global sandbox block, then this converter's keys */
};

struct cvb_serve_config {
	char *path;	/* the config file */
	char *base_dir; /* relative paths in it are resolved against this folder */
	unsigned workers;
	char *reports_folder;
	char *machine_name, *location, *purpose;
	double rescan_seconds;	       /* periodic look at every folder (5) */
	double settle_seconds;	       /* two looks this far apart agree: complete (1) */
	double suspend_retry_seconds;  /* when a Suspended result gives no retry_after (60) */
	unsigned max_suspend_retries;  /* then the file goes to Error (5) */
	unsigned max_attempts;	       /* conversions lost on our side before Error (3) */
	double shutdown_grace_seconds; /* SIGTERM waits this long for running conversions (30) */
	struct cvb_serve_converter *conv;
	size_t n_conv;
};

/*
 * The i-th top-level config key and its one-line help (into *help when not
 * NULL), or NULL past the last: for `convbox serve --help` and the docs.
 */
const char *cvb_serve_config_key(size_t i, const char **help);

/* The same for the keys of one converter. */
const char *cvb_serve_converter_key(size_t i, const char **help);

/*
 * Read and check a config file. Every error names the key path and what is
 * expected (`converters[2].priority: expected an integer 1..10`); JSON
 * syntax errors name file:line:column. The converter files are not read
 * here (a converter that cannot be read is disabled at start, not fatal).
 * On failure *cfg holds nothing (clearing it again is harmless).
 */
int cvb_serve_config_load(const char *path, struct cvb_serve_config *cfg, struct cvb_error *err);

/* Same, from a parsed document; relative paths resolve against base_dir. */
int cvb_serve_config_parse(json_t *root, const char *base_dir, struct cvb_serve_config *cfg,
			   struct cvb_error *err);

/* The extra check of --check-config: every enabled converter's file is readable. */
int cvb_serve_config_check_files(const struct cvb_serve_config *cfg, struct cvb_error *err);

void cvb_serve_config_clear(struct cvb_serve_config *cfg);

/* Whether a file name matches one of the converter's patterns (case-insensitive). */
bool cvb_serve_matches(const struct cvb_serve_converter *c, const char *file_name);

/* ---- the driver process (serve_driver.c) ---- */

struct cvb_driver;

/* Start a driver: fork, open the sandbox with c->opts and this source, validate. */
int cvb_driver_start(const struct cvb_serve_converter *c, const uint8_t *source, size_t len,
		     struct cvb_driver **out, struct cvb_error *err);

/* The socket to poll (readable: call cvb_driver_read). */
int cvb_driver_fd(const struct cvb_driver *d);

pid_t cvb_driver_pid(const struct cvb_driver *d);

/* Queue one claimed input in the driver's sandbox, under the service's token. */
int cvb_driver_submit(struct cvb_driver *d, uint64_t token, const char *path,
		      struct cvb_error *err);

/*
 * Acknowledge `results` results read from the driver, after giving it the
 * jobs the freed workers take: the driver waits for this (briefly) before
 * it waits on its sandbox again, so those jobs start at once.
 */
int cvb_driver_ack(struct cvb_driver *d, unsigned results, struct cvb_error *err);

enum cvb_driver_msg_kind {
	CVB_DRIVER_READY,  /* the sandbox is open and the converter validated */
	CVB_DRIVER_FAILED, /* the sandbox could not be opened or validation could not run */
	CVB_DRIVER_RESULT, /* one submitted input finished */
};

struct cvb_driver_msg {
	enum cvb_driver_msg_kind kind;
	/* READY */
	unsigned validation_errors;
	char *findings_summary; /* the first errors, one line; NULL when none */
	/* FAILED, or the result's error */
	char *message;
	/* RESULT */
	uint64_t token;
	enum cvb_outcome outcome;
	char status[16];
	char post_action[8];
	double retry_after;
	json_t *detail; /* the result object without its reports: logs, denied, error, usage */
	char **reports; /* raw report texts, byte-exact */
	size_t n_reports;
};

/*
 * Take the next message without blocking: 1 with *m filled, 0 when none is
 * complete yet, -1 when the driver is gone or broke the protocol (err says
 * which).
 */
int cvb_driver_read(struct cvb_driver *d, struct cvb_driver_msg *m, struct cvb_error *err);

void cvb_driver_msg_clear(struct cvb_driver_msg *m);

/*
 * Stop a driver: close its socket (it finishes its current result, closes
 * its sandbox and exits), wait up to `grace` seconds, then SIGKILL it; reap
 * it. NULL is ignored.
 */
void cvb_driver_stop(struct cvb_driver *d, double grace);

#endif
