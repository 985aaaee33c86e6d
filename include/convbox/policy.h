/*
 * Capabilities and resource limits: the user-facing model of the spec,
 * and the small pure functions that name, parse and default them.
 */
#ifndef CONVBOX_POLICY_H
#define CONVBOX_POLICY_H

#include <stddef.h>
#include <stdint.h>

enum cvb_cap {
	CVB_CAP_READ_INPUT,
	CVB_CAP_WRITE_OUTPUT,
	CVB_CAP_NETWORK_WATS,
	CVB_CAP_NETWORK_LOCAL,
	CVB_CAP_NETWORK_FULL,
	CVB_CAP_LOG_DEBUG,
	CVB_CAP_LOG_INFO,
	CVB_CAP_LOG_WARNING,
	CVB_CAP_LOG_ERROR,
	CVB_CAP_FILE_TEMP,
	CVB_CAP_SHELL_EXECUTE,
	CVB_CAP_COUNT
};

typedef uint32_t cvb_caps; /* bit (1u << enum cvb_cap) per granted capability */

#define CVB_CAP_BIT(c) ((cvb_caps)1u << (c))

struct cvb_limits {
	double timeout_s;	 /* wall clock, enforced from outside */
	double cpu_s;		 /* RLIMIT_CPU, per conversion */
	unsigned memory_mb;	 /* RLIMIT_AS */
	unsigned max_output_mb;	 /* RLIMIT_FSIZE and the /output tmpfs size */
	unsigned max_open_files; /* RLIMIT_NOFILE */
	unsigned max_procs;	 /* RLIMIT_NPROC and the seccomp fork rule */
	unsigned max_files;	 /* inodes in /output and /tmp */
};

/* The spec's capability name ("READ_INPUT"), or NULL for an invalid value. */
const char *cvb_cap_name(enum cvb_cap cap);

/* One line saying what a capability grants. */
const char *cvb_cap_help(enum cvb_cap cap);

/* Parse a capability name in any case; returns the enum value or -1. */
int cvb_cap_parse(const char *name);

/* The spec's default set: READ_INPUT, WRITE_OUTPUT, LOG_INFO, LOG_WARNING, LOG_ERROR. */
cvb_caps cvb_caps_default(void);

/* The spec's default limits (300 s, 120 s CPU, 512 MB, 100 MB output, 50 files, 1 process). */
void cvb_limits_default(struct cvb_limits *l);

/*
 * The spec's default blocked imports, NULL-terminated. A configuration that
 * omits blocked_imports gets these, never an empty list.
 */
const char *const *cvb_default_blocked_imports(void);

/*
 * Modules that load or reach native code. The audit hook vetoes importing
 * them unless a configuration lists them in native_modules; the kernel
 * layers hold either way.
 */
const char *const *cvb_native_modules(void);

/*
 * Modules and functions a capability needs and therefore lifts from
 * blocked_imports, the native-module veto and the validator's tables
 * (SHELL_EXECUTE: subprocess, os.system ...; NETWORK_FULL: socket ...).
 * NULL-terminated; fnmatch(3) patterns. The kernel layers still apply.
 */
const char *const *cvb_cap_lifted_names(enum cvb_cap cap);

/* Whether a dotted name is lifted by a granted capability. */
int cvb_caps_lift(cvb_caps caps, const char *name);

/* Log level name ("DEBUG", "INFO", "WARNING", "ERROR") to the capability gating it, or -1. */
int cvb_cap_for_log_level(const char *level);

#endif
