/*
 * `convbox check`: which sandbox layers this machine offers, proven by
 * starting a real runner and converting one file in a confined job.
 * Exit 0 when strict mode can run.
 */
#include "convbox/cli.h"
#include "convbox/run.h"

#include <errno.h>
#include <jansson.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

static const char probe_source[] = "class Probe:\n"
				   "    def convert_file(self, path, args):\n"
				   "        return {'status': 'Success', 'report': {'bytes': "
				   "len(path.read_bytes())}}\n";

static void row(const char *layer, const char *status, const char *detail)
{
	printf("  %-22s %-8s %s\n", layer, status, detail);
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static void host_rows(void)
{
	struct statfs sf;
	const char *cg = "absent";
	if (statfs("/sys/fs/cgroup", &sf) == 0)
		cg = sf.f_type == CGROUP2_SUPER_MAGIC ? "v2" : "v1/hybrid";
	row("cgroups", cg,
	    "not required: limits are rlimits, the wall timeout kills the pid namespace");
	long max_ns = read_long("/proc/sys/user/max_user_namespaces");
	long unpriv = read_long("/proc/sys/kernel/unprivileged_userns_clone");
	bool ok = max_ns != 0 && unpriv != 0;
	char detail[128];
	snprintf(detail, sizeof(detail), "user.max_user_namespaces=%ld%s", max_ns,
		 unpriv >= 0
		     ? (unpriv ? ", unprivileged_userns_clone=1" : ", unprivileged_userns_clone=0")
		     : "");
	row("unprivileged use", ok ? "yes" : "no", detail);
}

static bool layer_rows(const char *facts_json, int *abi)
{
	json_t *f = json_loads(facts_json, 0, NULL);
	json_t *layers = json_object_get(f, "layers");
	const char *k;
	json_t *v;
	bool all = true;
	*abi = (int)json_integer_value(json_object_get(f, "landlock_abi"));
	json_object_foreach(layers, k, v)
	{
		char detail[96] = "";
		if (strcmp(k, "landlock") == 0 && *abi > 0)
			snprintf(detail, sizeof(detail), "ABI %d: filesystem%s%s", *abi,
				 *abi >= 4 ? ", TCP ports" : "", *abi >= 6 ? ", scopes" : "");
		else if (strcmp(k, "seccomp") == 0)
			snprintf(detail, sizeof(detail), "%s",
				 json_is_true(v)
				     ? "refused calls reach convbox from the kernel"
				     : "no filter with a listener (kernel < 5.0, or under "
				       "another seccomp supervisor)");
		row(k, json_is_true(v) ? "yes" : "MISSING", detail);
		all &= json_is_true(v);
	}
	json_decref(f);
	return all;
}

/* Convert one file in a fully confined job: the layers exist and work together. */
static bool job_row(struct cvb_sandbox *sb)
{
	char path[] = "/tmp/convbox-check-XXXXXX";
	int fd = mkstemp(path);
	struct cvb_error e = {""};
	if (fd < 0 || write(fd, "probe\n", 6) != 6) {
		row("confined job", "FAILED", "cannot create a probe input in /tmp");
		return false;
	}
	close(fd);
	struct cvb_result r;
	bool ok = cvb_sandbox_submit(sb, path, &e) > 0 && cvb_sandbox_next(sb, &r) == 1;
	char detail[sizeof(e.msg)];
	if (ok) {
		ok = r.outcome == CVB_OUTCOME_COMPLETED && strcmp(r.status, "Success") == 0;
		snprintf(detail, sizeof(detail), "%s",
			 ok ? "a converter ran under every layer"
			    : (r.message ? r.message : cvb_outcome_name(r.outcome)));
		cvb_result_clear(&r);
	} else
		snprintf(detail, sizeof(detail), "%s", e.msg);
	unlink(path);
	row("confined job", ok ? "ok" : "FAILED", detail);
	return ok;
}

int cvb_cmd_check(int argc, char **argv)
{
	if (argc > 1) {
		printf(
		    "usage: convbox check\n\nPrints which sandbox layers this machine offers and "
		    "runs one confined job.\nExit 0 when strict mode (every layer) can run.\n");
		return strcmp(argv[1], "--help") == 0 ? 0 : 2;
	}
	struct cvb_run_opts o;
	struct cvb_sandbox *sb = NULL;
	struct cvb_error e = {""};
	cvb_run_opts_init(&o);
	o.converter_path = "/proc/self/exe"; /* any readable path: the source is given as bytes */
	o.allow_degraded = true;
	printf("convbox check (%s)\n", geteuid() == 0 ? "running as root" : "running unprivileged");
	bool strict = false;
	int abi = 0;
	if (cvb_sandbox_open(&o, (const uint8_t *)probe_source, strlen(probe_source), &sb, &e) <
	    0) {
		row("runner", "FAILED", e.msg);
	} else {
		char *facts = cvb_sandbox_facts(sb);
		strict = facts && layer_rows(facts, &abi);
		free(facts);
		strict &= job_row(sb);
	}
	host_rows();
	printf("strict mode: %s\n", strict ? "can run" : "cannot run (see MISSING/FAILED above)");
	cvb_sandbox_close(sb);
	cvb_run_opts_clear(&o);
	return strict ? 0 : 1;
}
