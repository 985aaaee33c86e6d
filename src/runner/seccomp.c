/*
 * Layer 8: seccomp. The plan's rows are compiled with libseccomp once per
 * (capabilities, process limit) in the zygote and exported as raw BPF; each
 * job installs the ready program, which costs a fraction of seccomp_load.
 *
 * Default action: SECCOMP_RET_USER_NOTIF. A refused call waits while the
 * kernel tells the filter's listener, which the job hands to the host before
 * any converter code runs; the host records the denial and makes the call
 * fail with EPERM. So the refusals of every process under the filter reach
 * the host from the kernel: the converter's, a program it runs (whose signal
 * handlers exec has dropped), native code's. None of them can be kept from
 * the host, whatever the job does with its own memory or channel.
 */
#include "runner/runner.h"

#include "convbox/plan.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <linux/fs.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

/* One rule comparing one argument (all four fields spelled out). */
static int rule_if(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned arg, enum scmp_compare op,
		   scmp_datum_t a, scmp_datum_t b)
{
	struct scmp_arg_cmp cmp = {.arg = arg, .op = op, .datum_a = a, .datum_b = b};
	return seccomp_rule_add_array(ctx, action, nr, 1, &cmp);
}

/* One argument value out of a list, each a rule of its own. */
static int rule_if_any(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned arg,
		       const unsigned long *values, size_t n)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = rule_if(ctx, action, nr, arg, SCMP_CMP_EQ, values[i], 0);
	return rc;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int add_arg_rule(scmp_filter_ctx ctx, uint32_t action, int nr, int arg_rule)
{
	static const unsigned long safe_ioctls[] = {TCGETS,  TIOCGWINSZ, FIONREAD,
						    FIONBIO, FIOCLEX,	 FIONCLEX};
	static const unsigned long clone_ioctls[] = {FICLONE, FICLONERANGE};
	static const unsigned long families[] = {AF_INET, AF_INET6, AF_NETLINK};
	/* what glibc's nscd client asks for, exactly: any other unix socket is still refused */
	static const struct scmp_arg_cmp nscd[] = {
	    {.arg = 0, .op = SCMP_CMP_EQ, .datum_a = AF_UNIX},
	    {.arg = 1, .op = SCMP_CMP_EQ, .datum_a = SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK},
	    {.arg = 2, .op = SCMP_CMP_EQ, .datum_a = 0}};
	switch (arg_rule) {
	case CVB_SC_ARG_CLONE_THREAD:
		return rule_if(ctx, action, nr, 0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD);
	case CVB_SC_ARG_SOCKET_INET:
		return rule_if_any(ctx, action, nr, 0, families, N(families));
	case CVB_SC_ARG_IOCTL_SAFE:
		return rule_if_any(ctx, action, nr, 1, safe_ioctls, N(safe_ioctls));
	case CVB_SC_ARG_IOCTL_CLONE:
		return rule_if_any(ctx, action, nr, 1, clone_ioctls, N(clone_ioctls));
	case CVB_SC_ARG_NSCD_PROBE:
		return seccomp_rule_add_array(ctx, action, nr, N(nscd), nscd);
	case CVB_SC_ARG_NOT_SECCOMP:
		return rule_if(ctx, action, nr, 0, SCMP_CMP_NE, PR_SET_SECCOMP, 0);
	}
	return seccomp_rule_add(ctx, action, nr, 0);
}

/* A capability's unconditional row supersedes the argument-filtered always-row. */
static bool superseded(const struct cvb_seccomp_row *rows, size_t n, size_t i, cvb_caps caps)
{
	for (size_t k = 0; k < n; k++)
		if (k != i && strcmp(rows[k].name, rows[i].name) == 0 && rows[k].cap >= 0 &&
		    rows[k].arg_rule == 0 && cvb_plan_row_applies(rows[k].cap, caps))
			return rows[i].arg_rule != 0;
	return false;
}

static int add_rows(scmp_filter_ctx ctx, cvb_caps caps)
{
	size_t n;
	const struct cvb_seccomp_row *rows = cvb_plan_seccomp_rows(&n);
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(rows[i].name);
		if (nr == __NR_SCMP_ERROR || !cvb_plan_row_applies(rows[i].cap, caps) ||
		    superseded(rows, n, i, caps))
			continue;
		uint32_t action = rows[i].action == CVB_SC_ERRNO
				      ? SCMP_ACT_ERRNO((uint32_t)rows[i].err)
				      : SCMP_ACT_ALLOW;
		int rc = add_arg_rule(ctx, action, nr, rows[i].arg_rule);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* libseccomp writes BPF to a descriptor; read it back from a memfd. */
static int export_bpf(scmp_filter_ctx ctx, struct sock_fprog *prog)
{
	int fd = memfd_create("convbox-bpf", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = seccomp_export_bpf(ctx, fd);
	off_t size = rc == 0 ? lseek(fd, 0, SEEK_END) : -1;
	struct sock_filter *f = size > 0 ? malloc((size_t)size) : NULL;
	if (!f || pread(fd, f, (size_t)size, 0) != size) {
		free(f);
		close(fd);
		return rc < 0 ? rc : -EIO;
	}
	close(fd);
	prog->filter = f;
	prog->len = (unsigned short)((size_t)size / sizeof(*f));
	return 0;
}

static int compile_program(cvb_caps caps, struct sock_fprog *prog, char *err, size_t errlen)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_NOTIFY);
	if (!ctx) {
		snprintf(err, errlen, "seccomp_init failed");
		return -ENOMEM;
	}
	/*
	 * A binary tree over syscall numbers rather than a list: the kernel
	 * emulates the filter for every syscall number when it is installed (to
	 * build its cache of always-allowed calls), so each job pays for the
	 * length of the path to each number, not for the whole program.
	 */
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (rc == 0)
		rc = add_rows(ctx, caps);
	if (rc == 0)
		rc = export_bpf(ctx, prog);
	seccomp_release(ctx);
	if (rc < 0)
		snprintf(err, errlen, "compiling the seccomp filter: %s", strerror(-rc));
	return rc;
}

const struct sock_fprog *cvb_seccomp_program(struct cvb_runner *r, cvb_caps caps,
					     unsigned max_procs, char *err, size_t errlen)
{
	for (size_t i = 0; i < r->n_bpf; i++)
		if (r->bpf[i].caps == caps && r->bpf[i].max_procs == max_procs)
			return &r->bpf[i].prog;
	struct cvb_bpf b = {.caps = caps, .max_procs = max_procs};
	if (compile_program(caps, &b.prog, err, errlen) < 0)
		return NULL;
	if (r->n_bpf < sizeof(r->bpf) / sizeof(r->bpf[0]))
		r->bpf[r->n_bpf++] = b;
	else {
		free(r->bpf[0].prog.filter);
		r->bpf[0] = b;
		return &r->bpf[0].prog;
	}
	return &r->bpf[r->n_bpf - 1].prog;
}

int cvb_seccomp_install(const struct sock_fprog *prog, char *err, size_t errlen)
{
	long fd =
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, prog);
	if (fd < 0) {
		/* EBUSY: a supervisor already listens to a filter this process is under */
		snprintf(err, errlen, "installing the seccomp filter with its listener: %s",
			 strerror(errno));
		return -1;
	}
	return (int)fd;
}
