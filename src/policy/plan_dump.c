/* `convbox policy`: the compiled plan as stable text, for people and golden tests. */
#include "convbox/plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct out {
	char *buf;
	size_t len, cap;
};

__attribute__((format(printf, 2, 3))) static void say(struct out *o, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (o->len + (size_t)n < o->cap) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = o->cap ? o->cap * 2 : 8192;
		while (cap <= o->len + (size_t)n)
			cap *= 2;
		char *nb = realloc(o->buf, cap);
		if (!nb)
			return;
		o->buf = nb;
		o->cap = cap;
	}
}

static const char *const ll_names[] = {
    "execute",	 "write_file", "read_file", "read_dir",	 "remove_dir", "remove_file",
    "make_char", "make_dir",   "make_reg",  "make_sock", "make_fifo",  "make_block",
    "make_sym",	 "refer",      "truncate",  "ioctl_dev",
};

static void rights(struct out *o, uint64_t access)
{
	bool first = true;
	for (size_t i = 0; i < sizeof(ll_names) / sizeof(ll_names[0]); i++)
		if (access & (1ull << i)) {
			say(o, "%s%s", first ? "" : ",", ll_names[i]);
			first = false;
		}
}

static const char *cap_label(int cap)
{
	return cap < 0 ? "always" : cvb_cap_name((enum cvb_cap)cap);
}

static void dump_mounts(struct out *o, cvb_caps caps)
{
	size_t n;
	const struct cvb_mount_row *rows = cvb_plan_mount_rows(&n);
	say(o, "[mounts]\n");
	for (size_t i = 0; i < n; i++)
		if (cvb_plan_row_applies(rows[i].cap, caps))
			say(o, "  %-46s %-50s (%s) %s\n", rows[i].target, rows[i].kind,
			    cap_label(rows[i].cap), rows[i].reason);
}

static void dump_landlock(struct out *o, cvb_caps caps, int abi)
{
	size_t n;
	const struct cvb_landlock_row *rows = cvb_plan_landlock_rows(&n);
	uint64_t handled = cvb_plan_landlock_handled_fs(abi);
	say(o, "[landlock] ABI %d\n  handled: ", abi);
	rights(o, handled);
	say(o, "\n");
	for (size_t i = 0; i < n; i++) {
		if (!cvb_plan_row_applies(rows[i].cap, caps))
			continue;
		say(o, "  allow %-14s ", rows[i].path);
		rights(o, rows[i].access & handled);
		say(o, " (%s) %s\n", cap_label(rows[i].cap), rows[i].reason);
	}
	if (abi >= 4)
		say(o, "  tcp bind/connect: %s\n",
		    caps & CVB_CAP_BIT(CVB_CAP_NETWORK_FULL) ? "not handled (NETWORK_FULL)"
							     : "denied on every port");
	if (abi >= 6)
		say(o, "  scoped: abstract unix sockets, signals\n");
}

static void dump_seccomp(struct out *o, cvb_caps caps)
{
	size_t n;
	const struct cvb_seccomp_row *rows = cvb_plan_seccomp_rows(&n);
	static const char *const arg_rules[] = {
	    "",
	    " [threads only]",
	    " [AF_INET, AF_INET6, AF_NETLINK]",
	    " [TCGETS, TIOCGWINSZ, FIONREAD, FIONBIO, FIOCLEX, FIONCLEX]",
	    " [AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK: nscd's]",
	    " [FICLONE, FICLONERANGE]",
	    " [not PR_SET_SECCOMP]"};
	say(o, "[seccomp] default: notify convbox, outside the sandbox (reported as a denial, "
	       "the call fails with EPERM)\n");
	for (size_t i = 0; i < n; i++) {
		if (!cvb_plan_row_applies(rows[i].cap, caps))
			continue;
		if (rows[i].action == CVB_SC_ERRNO)
			say(o, "  errno %-18s%s errno %d (%s) %s\n", rows[i].name,
			    arg_rules[rows[i].arg_rule], rows[i].err, cap_label(rows[i].cap),
			    rows[i].reason);
		else
			say(o, "  allow %-18s%s (%s) %s\n", rows[i].name,
			    arg_rules[rows[i].arg_rule], cap_label(rows[i].cap), rows[i].reason);
	}
}

static void dump_rlimits(struct out *o, const struct cvb_limits *l)
{
	unsigned cpu = (unsigned)(l->cpu_s + 0.999);
	say(o, "[rlimits]\n");
	say(o, "  RLIMIT_CPU     %u s (hard %u: SIGXCPU first, then SIGKILL)\n", cpu ? cpu : 1,
	    (cpu ? cpu : 1) + 1);
	say(o, "  RLIMIT_AS      %u MiB\n", l->memory_mb);
	say(o, "  RLIMIT_FSIZE   %u MiB\n", l->max_output_mb);
	say(o, "  RLIMIT_NOFILE  %u (+5 for the runner's own descriptors)\n", l->max_open_files);
	say(o, "  RLIMIT_NPROC   %u (processes and threads)\n", l->max_procs);
	say(o, "  RLIMIT_CORE    0\n");
	say(o, "  wall timeout   %g s (SIGKILL to the job's pid namespace)\n", l->timeout_s);
	say(o, "  outputs        %u MiB in %u files at most\n", l->max_output_mb, l->max_files);
}

static void dump_hook(struct out *o, cvb_caps caps)
{
	size_t n;
	const struct cvb_hook_row *rows = cvb_plan_hook_rows(&n);
	say(o,
	    "[audit-hook] installed before the interpreter starts; armed before converter code\n");
	for (size_t i = 0; i < n; i++) {
		bool granted = rows[i].cap >= 0 && (caps & CVB_CAP_BIT(rows[i].cap));
		say(o, "  %-40s %s%s (%s) %s\n", rows[i].event, granted ? "allowed: " : "",
		    rows[i].rule, cap_label(rows[i].cap), rows[i].reason);
	}
}

char *cvb_plan_dump(cvb_caps caps, const struct cvb_limits *limits, int landlock_abi, bool trusted)
{
	struct out o = {0};
	say(&o, "capabilities:");
	for (int c = 0; c < CVB_CAP_COUNT; c++)
		if (caps & CVB_CAP_BIT(c))
			say(&o, " %s", cvb_cap_name((enum cvb_cap)c));
	say(&o, "\n");
	if (trusted) {
		say(&o, "trusted mode: no namespaces, mounts, Landlock, seccomp or audit hook; "
			"rlimits and the wall timeout still apply\n");
		dump_rlimits(&o, limits);
		return o.buf;
	}
	say(&o,
	    "[namespaces] user (job uid 1000 -> unprivileged outer uid), pid, uts, mount; "
	    "ipc: the runner's own, empty (shared by its jobs while seccomp refuses every "
	    "IPC call; one per job without seccomp); network: %s\n",
	    caps & CVB_CAP_BIT(CVB_CAP_NETWORK_FULL) ? "host (NETWORK_FULL)"
						     : "one shared empty namespace");
	say(&o, "[privileges] all capabilities dropped (bounding, ambient), securebits locked, "
		"no_new_privs; descriptors: 0 /dev/null, 1-2 log pipes, 3 channel "
		"(the input only as its copy)\n");
	dump_mounts(&o, caps);
	dump_rlimits(&o, limits);
	dump_landlock(&o, caps, landlock_abi);
	dump_seccomp(&o, caps);
	dump_hook(&o, caps);
	return o.buf;
}
