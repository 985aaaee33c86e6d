/*
 * Running converters: the host side of a sandbox. A cvb_sandbox owns one
 * runner process (a zygote) for one converter source and policy; inputs are
 * submitted to it and come back as results, each with exactly one outcome.
 */
#ifndef CONVBOX_RUN_H
#define CONVBOX_RUN_H

#include "convbox/error.h"
#include "convbox/jobspec.h"
#include "convbox/policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cvb_outcome {
	CVB_OUTCOME_COMPLETED,
	CVB_OUTCOME_CONVERTER_ERROR,
	CVB_OUTCOME_SECURITY,
	CVB_OUTCOME_TIMEOUT,
	CVB_OUTCOME_CPU_LIMIT,
	CVB_OUTCOME_MEMORY_LIMIT,
	CVB_OUTCOME_OUTPUT_LIMIT,
	CVB_OUTCOME_CRASHED,
	CVB_OUTCOME_PROTOCOL,
	CVB_OUTCOME_SANDBOX_ERROR,
	CVB_OUTCOME_COUNT
};

/* "completed", "converter_error", ...; NULL when out of range. */
const char *cvb_outcome_name(enum cvb_outcome o);

/* Parse an outcome name; -1 when unknown. */
int cvb_outcome_parse(const char *name);

/*
 * The command's exit code for one result: 0 completed+Success, 1 other
 * status or converter_error, 3 security, 4 timeout, 5 cpu/memory/output
 * limit, 6 crashed/protocol/sandbox_error. (2 is usage, decided by the CLI.)
 */
int cvb_outcome_exit_code(enum cvb_outcome o, const char *status);

struct cvb_run_opts {
	const char *converter_path;
	const char *class_name;
	char *args_json; /* JSON object text; NULL = {} */
	cvb_caps caps;
	struct cvb_limits limits;
	bool trusted;
	bool allow_degraded;
	bool skip_validation;
	bool cold;		/* a fresh runner per input */
	unsigned jobs;		/* conversions at once */
	const char *output_dir; /* NULL: outputs are listed, not kept */
	uint32_t max_frame;
	struct cvb_strlist blocked_imports; /* config omitted: the spec's defaults */
	struct cvb_strlist allowed_imports;
	struct cvb_strlist native_modules;
	const char *runner_path; /* NULL: convbox-runner beside this executable */
};

/* The spec's defaults. */
void cvb_run_opts_init(struct cvb_run_opts *o);
void cvb_run_opts_clear(struct cvb_run_opts *o);

struct cvb_result {
	uint64_t job_id;
	char *input;
	enum cvb_outcome outcome;
	char status[16]; /* "Success"... when completed, else "" */
	char *line;	 /* the complete JSON object for this input, one line */
	char **reports;	 /* raw JSON text of each report, exactly as the converter made it */
	size_t n_reports;
	char post_action[8];
	double retry_after; /* seconds; < 0 when not given */
	char *message;	    /* one-line summary of an error, or NULL */
};

void cvb_result_clear(struct cvb_result *r);

struct cvb_sandbox;

/*
 * Start a runner for this converter source (read once by the caller: the
 * bytes validated are the bytes executed). Fails when the kernel lacks a
 * layer and degraded operation was not allowed.
 */
int cvb_sandbox_open(const struct cvb_run_opts *o, const uint8_t *source, size_t len,
		     struct cvb_sandbox **out, struct cvb_error *err);

/* Layers missing on this machine that the sandbox runs without (degraded mode); NULL-terminated. */
const char *const *cvb_sandbox_degraded(const struct cvb_sandbox *sb);

/* What the runner found on this machine, as malloc'd JSON: {"layers":{name:bool}, "landlock_abi":N,
 * "root":bool}. */
char *cvb_sandbox_facts(const struct cvb_sandbox *sb);

/*
 * Static analysis of the source, confined like a job. *findings is a
 * malloc'd JSON array (see convbox/validate.h).
 */
int cvb_sandbox_validate(struct cvb_sandbox *sb, char **findings, struct cvb_error *err);

/*
 * Static analysis of other bytes (`convbox validate`), in a confined job of
 * this sandbox's runner. path only names the file in messages.
 */
int cvb_sandbox_validate_bytes(struct cvb_sandbox *sb, const uint8_t *src, size_t len,
			       const char *path, char **findings, struct cvb_error *err);

/* Queue one input; returns its job id (> 0) or -1 with err set (unreadable input). */
int64_t cvb_sandbox_submit(struct cvb_sandbox *sb, const char *input_path, struct cvb_error *err);

/* Jobs submitted and not yet returned by cvb_sandbox_next. */
size_t cvb_sandbox_pending(const struct cvb_sandbox *sb);

/* Wait for the next finished job. Returns 1 with *res filled, 0 when nothing is pending. */
int cvb_sandbox_next(struct cvb_sandbox *sb, struct cvb_result *res);

void cvb_sandbox_close(struct cvb_sandbox *sb);

#endif
