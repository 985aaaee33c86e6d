/*
 * The containment plan: capabilities and limits compiled into rows of the
 * mount, Landlock, seccomp and audit-hook tables. The runner applies these
 * rows; `convbox policy` prints them, so a policy change shows as a diff in
 * a golden test. Every row carries the reason it exists.
 */
#ifndef CONVBOX_PLAN_H
#define CONVBOX_PLAN_H

#include "convbox/policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Landlock access rights (defined here: older kernel headers lack the newer ones). */
#define CVB_LL_EXECUTE		   (1ull << 0)
#define CVB_LL_WRITE_FILE	   (1ull << 1)
#define CVB_LL_READ_FILE	   (1ull << 2)
#define CVB_LL_READ_DIR		   (1ull << 3)
#define CVB_LL_REMOVE_DIR	   (1ull << 4)
#define CVB_LL_REMOVE_FILE	   (1ull << 5)
#define CVB_LL_MAKE_CHAR	   (1ull << 6)
#define CVB_LL_MAKE_DIR		   (1ull << 7)
#define CVB_LL_MAKE_REG		   (1ull << 8)
#define CVB_LL_MAKE_SOCK	   (1ull << 9)
#define CVB_LL_MAKE_FIFO	   (1ull << 10)
#define CVB_LL_MAKE_BLOCK	   (1ull << 11)
#define CVB_LL_MAKE_SYM		   (1ull << 12)
#define CVB_LL_REFER		   (1ull << 13) /* ABI 2 */
#define CVB_LL_TRUNCATE		   (1ull << 14) /* ABI 3 */
#define CVB_LL_IOCTL_DEV	   (1ull << 15) /* ABI 5 */
#define CVB_LL_NET_BIND_TCP	   (1ull << 0)	/* ABI 4 */
#define CVB_LL_NET_CONNECT_TCP	   (1ull << 1)
#define CVB_LL_SCOPE_ABSTRACT_UNIX (1ull << 0) /* ABI 6 */
#define CVB_LL_SCOPE_SIGNAL	   (1ull << 1)

#define CVB_LL_READ (CVB_LL_READ_FILE | CVB_LL_READ_DIR)
#define CVB_LL_RW                                                                                  \
	(CVB_LL_READ | CVB_LL_WRITE_FILE | CVB_LL_MAKE_REG | CVB_LL_MAKE_DIR |                     \
	 CVB_LL_REMOVE_FILE | CVB_LL_REMOVE_DIR | CVB_LL_REFER | CVB_LL_TRUNCATE)

/* A row of a table: granted when `cap` is held (or always when cap < 0). */
struct cvb_landlock_row {
	const char *path;
	uint64_t access;
	int cap;
	const char *reason;
};

struct cvb_mount_row {
	const char *target;
	const char *kind; /* "bind-ro", "tmpfs", "copy", "symlink" */
	int cap;
	const char *reason;
};

/* What a row does. A call no row names is refused: the host records it, and fails it (EPERM). */
enum cvb_sc_action {
	CVB_SC_ALLOW,
	CVB_SC_ERRNO, /* fail quietly: an interface probe libc falls back from */
};

struct cvb_seccomp_row {
	const char *name; /* syscall name as libseccomp knows it */
	enum cvb_sc_action action;
	int err;      /* errno for CVB_SC_ERRNO */
	int cap;      /* allowed only with this capability (< 0: always) */
	int arg_rule; /* CVB_SC_ARG_* refinement, 0 for none */
	const char *reason;
};

enum {
	CVB_SC_ARG_NONE = 0,
	CVB_SC_ARG_CLONE_THREAD, /* clone: threads always, processes only with the cap */
	CVB_SC_ARG_SOCKET_INET,	 /* socket: AF_INET/AF_INET6 only, with the cap */
	CVB_SC_ARG_IOCTL_SAFE,	 /* ioctl: terminal queries only */
	CVB_SC_ARG_NSCD_PROBE,	 /* socket: glibc's nscd probe, AF_UNIX stream, cloexec, nonblock */
	CVB_SC_ARG_IOCTL_CLONE,	 /* ioctl: FICLONE, FICLONERANGE (cp's reflink probe) */
	CVB_SC_ARG_NOT_SECCOMP,	 /* prctl: anything but PR_SET_SECCOMP */
};

struct cvb_hook_row {
	const char *event; /* audit event name, "*" suffix matches a prefix */
	const char *rule;  /* what the hook does */
	int cap;
	const char *reason;
};

const struct cvb_landlock_row *cvb_plan_landlock_rows(size_t *n);
const struct cvb_mount_row *cvb_plan_mount_rows(size_t *n);
const struct cvb_seccomp_row *cvb_plan_seccomp_rows(size_t *n);
const struct cvb_hook_row *cvb_plan_hook_rows(size_t *n);

/* The capability that would have allowed a refused syscall (NULL: none would). */
const char *cvb_plan_syscall_capability(const char *name);

/* Every filesystem right the given Landlock ABI knows (what a ruleset must handle). */
uint64_t cvb_plan_landlock_handled_fs(int abi);

/* Whether a row applies to this capability set. */
static inline bool cvb_plan_row_applies(int cap, cvb_caps caps)
{
	return cap < 0 || (caps & CVB_CAP_BIT(cap));
}

/*
 * Print the compiled plan for a capability set and limits, as stable text
 * (one row per line), to a malloc'd string.
 */
char *cvb_plan_dump(cvb_caps caps, const struct cvb_limits *limits, int landlock_abi, bool trusted);

#endif
