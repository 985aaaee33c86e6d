/* `convbox policy`: print the containment plan for a set of capabilities and limits. */
#include "convbox/cli.h"
#include "convbox/config.h"
#include "convbox/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void policy_help(void)
{
	printf("usage: convbox policy [--cap NAME]... [--no-default-caps] [--trusted]\n"
	       "                      [--config FILE] [--landlock-abi N]\n\n"
	       "Prints the compiled plan: namespaces, mounts, rlimits, Landlock rules, seccomp\n"
	       "rows and audit-hook rules, each row with the capability that turns it on and\n"
	       "the reason it exists. --landlock-abi picks the ABI to plan for (default 7).\n");
}

static int policy_arg(char **argv, int *i, int argc, struct cvb_run_opts *o, cvb_caps *extra,
		      bool *no_default, int *abi, struct cvb_error *e)
{
	const char *a = argv[*i];
	const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
	if (strcmp(a, "--no-default-caps") == 0)
		*no_default = true;
	else if (strcmp(a, "--trusted") == 0)
		o->trusted = true;
	else if (strcmp(a, "--cap") == 0 && v) {
		int c = cvb_cap_parse(v);
		if (c < 0)
			return cvb_error_set(e, "--cap '%s': unknown capability", v);
		*extra |= CVB_CAP_BIT(c);
		(*i)++;
	} else if (strcmp(a, "--landlock-abi") == 0 && v) {
		*abi = atoi(v);
		(*i)++;
	} else if (strcmp(a, "--config") == 0 && v) {
		json_t *root = cvb_config_read(v, e);
		json_t *block = root ? json_object_get(root, "sandbox") : NULL;
		int rc = !root ? -1 : block ? cvb_config_apply_sandbox(block, "sandbox", o, e) : 0;
		json_decref(root);
		(*i)++;
		return rc;
	} else
		return cvb_error_set(e, "unknown option '%s' (see convbox policy --help)", a);
	return 0;
}

int cvb_cmd_policy(int argc, char **argv)
{
	struct cvb_run_opts o;
	struct cvb_error e = {""};
	cvb_caps extra = 0;
	bool no_default = false;
	int abi = 7, rc = 0;
	cvb_run_opts_init(&o);
	for (int i = 1; i < argc && rc == 0; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			policy_help();
			cvb_run_opts_clear(&o);
			return 0;
		}
		rc = policy_arg(argv, &i, argc, &o, &extra, &no_default, &abi, &e);
	}
	if (rc < 0) {
		fprintf(stderr, "convbox policy: %s\n", e.msg);
		cvb_run_opts_clear(&o);
		return 2;
	}
	char *text = cvb_plan_dump((no_default ? 0 : o.caps) | extra, &o.limits, abi, o.trusted);
	if (text)
		fputs(text, stdout);
	free(text);
	cvb_run_opts_clear(&o);
	return text ? 0 : 6;
}
