/*
 * Layer 7: Landlock. The ruleset handles every right the kernel's ABI
 * knows, so anything not granted by a row of the plan is refused, including
 * through paths the mount view would otherwise allow. TCP is refused unless
 * NETWORK_FULL; abstract unix sockets and signals are scoped to the job.
 */
#include "runner/runner.h"

#include "convbox/plan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_add_rule	     445
#define __NR_landlock_restrict_self  446
#endif

#define LL_CREATE_RULESET_VERSION (1u << 0)
#define LL_RULE_PATH_BENEATH	  1

/* The ABI 6 layout; older kernels accept a shorter size. */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

struct ll_path_beneath {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

int cvb_landlock_abi(void)
{
	long abi = syscall(__NR_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
	return abi < 0 ? 0 : (int)abi;
}

static int create_ruleset(const struct cvb_job *j, int abi)
{
	struct ll_ruleset_attr attr = {.handled_access_fs = cvb_plan_landlock_handled_fs(abi)};
	size_t size = sizeof(attr.handled_access_fs);
	if (abi >= 4) {
		size = offsetof(struct ll_ruleset_attr, scoped);
		if (!(j->spec.caps & CVB_CAP_BIT(CVB_CAP_NETWORK_FULL)))
			attr.handled_access_net = CVB_LL_NET_BIND_TCP | CVB_LL_NET_CONNECT_TCP;
	}
	if (abi >= 6) {
		size = sizeof(attr);
		attr.scoped = CVB_LL_SCOPE_ABSTRACT_UNIX | CVB_LL_SCOPE_SIGNAL;
	}
	return (int)syscall(__NR_landlock_create_ruleset, &attr, size, 0);
}

/* File rules may only carry rights that make sense on a file. */
static uint64_t rights_for(int fd, uint64_t access, uint64_t handled)
{
	struct stat st;
	const uint64_t file_rights = CVB_LL_EXECUTE | CVB_LL_WRITE_FILE | CVB_LL_READ_FILE |
				     CVB_LL_TRUNCATE | CVB_LL_IOCTL_DEV;
	access &= handled;
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		access &= file_rights;
	return access;
}

static int add_path_rule(int ruleset, const char *path, uint64_t access, uint64_t handled,
			 char *err, size_t errlen)
{
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT
			   ? 0
			   : (snprintf(err, errlen, "landlock: %s: %s", path, strerror(errno)), -1);
	struct ll_path_beneath rule = {.allowed_access = rights_for(fd, access, handled),
				       .parent_fd = fd};
	long rc = rule.allowed_access
		      ? syscall(__NR_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &rule, 0)
		      : 0;
	int e = errno;
	close(fd);
	if (rc < 0) {
		snprintf(err, errlen, "landlock rule for %s: %s", path, strerror(e));
		return -1;
	}
	return 0;
}

int cvb_landlock_apply(const struct cvb_job *j, int abi, char *err, size_t errlen)
{
	size_t n;
	const struct cvb_landlock_row *rows = cvb_plan_landlock_rows(&n);
	uint64_t handled = cvb_plan_landlock_handled_fs(abi);
	int ruleset = create_ruleset(j, abi);
	if (ruleset < 0) {
		snprintf(err, errlen, "landlock_create_ruleset (ABI %d): %s", abi, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!cvb_plan_row_applies(rows[i].cap, j->spec.caps))
			continue;
		if (add_path_rule(ruleset, rows[i].path, rows[i].access, handled, err, errlen) <
		    0) {
			close(ruleset);
			return -1;
		}
	}
	long rc = syscall(__NR_landlock_restrict_self, ruleset, 0);
	int e = errno;
	close(ruleset);
	if (rc < 0) {
		snprintf(err, errlen, "landlock_restrict_self: %s", strerror(e));
		return -1;
	}
	return 0;
}
