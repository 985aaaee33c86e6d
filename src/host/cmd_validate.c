/*
 * `convbox validate FILE...`: the static validator as a command. Every file
 * is parsed by CPython's own parser inside a confined job of one runner.
 * Exit 0 clean, 3 when any finding is an error, 2 for usage or an
 * unreadable file.
 */
#include "convbox/cli.h"
#include "convbox/config.h"
#include "convbox/findings.h"
#include "convbox/run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SOURCE_BYTES (8u << 20)

struct validate_cli {
	struct cvb_run_opts o;
	enum cvb_findings_format fmt;
	const char **files;
	size_t n_files;
	bool help, blocked_given;
	const char *config;
};

static void validate_help(void)
{
	printf("usage: convbox validate FILE... [--format text|json|sarif] [--config FILE]\n"
	       "                        [--blocked-import NAME]... [--allowed-imports NAME,...]\n\n"
	       "Static analysis of converter source, with CPython's own parser, in a confined\n"
	       "process. Text findings read like a compiler's:\n"
	       "  file:line:col: error[rule-id]: message (hint)\n"
	       "--format json prints one array of findings, --format sarif a SARIF 2.1.0 log.\n"
	       "Blocked imports default to the spec's (subprocess, os.system, socket, ctypes,\n"
	       "multiprocessing), or the config's sandbox.blocked_imports; --blocked-import adds\n"
	       "to them. --allowed-imports turns on an allowlist of modules.\n\n"
	       "exit status: 0 clean, 3 an error-level finding, 2 usage or an unreadable file.\n");
}

static int add_allowed(struct validate_cli *c, const char *list)
{
	char *copy = strdup(list), *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (*t)
			cvb_strlist_push(&c->o.allowed_imports, t);
	free(copy);
	return 0;
}

static int parse(struct validate_cli *c, int argc, char **argv, struct cvb_error *e)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0)
			c->help = true;
		else if (strcmp(a, "--format") == 0 && v) {
			if (cvb_findings_format_parse(v, &c->fmt) < 0)
				return cvb_error_set(
				    e, "--format '%s': expected text, json or sarif", v);
			i++;
		} else if (strcmp(a, "--config") == 0 && v) {
			c->config = v;
			i++;
		} else if (strcmp(a, "--blocked-import") == 0 && v) {
			cvb_strlist_push(&c->o.native_modules, v); /* staged; merged below */
			c->blocked_given = true;
			i++;
		} else if (strcmp(a, "--allowed-imports") == 0 && v) {
			add_allowed(c, v);
			i++;
		} else if (strncmp(a, "--", 2) == 0)
			return cvb_error_set(e,
					     "unknown option or missing value '%s' (see convbox "
					     "validate --help)",
					     a);
		else
			c->files[c->n_files++] = a;
	}
	return 0;
}

/* Config first (its blocked_imports or the spec's defaults), then --blocked-import adds. */
static int apply_lists(struct validate_cli *c, struct cvb_error *e)
{
	struct cvb_strlist extra = c->o.native_modules;
	memset(&c->o.native_modules, 0, sizeof(extra));
	int rc = 0;
	json_t *root = c->config ? cvb_config_read(c->config, e) : NULL;
	json_t *block = root ? json_object_get(root, "sandbox") : NULL;
	if (c->config && !root)
		rc = -1;
	else if (block)
		rc = cvb_config_apply_sandbox(block, "sandbox", &c->o, e);
	else
		rc = cvb_config_default_blocked(&c->o);
	json_decref(root);
	for (size_t i = 0; rc == 0 && i < extra.n; i++)
		cvb_strlist_push(&c->o.blocked_imports, extra.v[i]);
	cvb_strlist_clear(&extra);
	return rc;
}

static int validate_one(struct cvb_sandbox *sb, struct cvb_findings_doc *doc, const char *path,
			int *worst)
{
	size_t len = 0;
	struct cvb_error e = {""};
	unsigned char *src = cvb_read_file(path, MAX_SOURCE_BYTES, &len);
	if (!src) {
		cvb_findings_doc_add_unreadable(doc, path, errno);
		*worst = *worst > 2 ? *worst : 2;
		return 0;
	}
	char *findings = NULL;
	int rc = cvb_sandbox_validate_bytes(sb, src, len, path, &findings, &e);
	free(src);
	if (rc < 0) {
		fprintf(stderr, "convbox validate: %s: %s\n", path, e.msg);
		*worst = 6;
		return -1;
	}
	cvb_findings_doc_add(doc, path, findings);
	if (cvb_findings_count_errors(findings) > 0 && *worst < 3)
		*worst = 3;
	free(findings);
	return 0;
}

static int validate_all(struct validate_cli *c)
{
	static const char placeholder[] = "";
	struct cvb_sandbox *sb = NULL;
	struct cvb_error e = {""};
	int worst = 0;
	c->o.converter_path = c->files[0];
	c->o.jobs = 1;
	if (cvb_sandbox_open(&c->o, (const uint8_t *)placeholder, 0, &sb, &e) < 0) {
		/* the first file may be unreadable: any readable path names the runner's source */
		c->o.converter_path = "/dev/null";
		if (cvb_sandbox_open(&c->o, (const uint8_t *)placeholder, 0, &sb, &e) < 0) {
			fprintf(stderr, "convbox validate: %s\n", e.msg);
			return 6;
		}
	}
	struct cvb_findings_doc *doc = cvb_findings_doc_new(c->fmt);
	for (size_t i = 0; doc && i < c->n_files; i++)
		if (validate_one(sb, doc, c->files[i], &worst) < 0)
			break;
	char *out = NULL;
	if (doc && cvb_findings_doc_render(doc, &out) == 0 && out)
		fputs(out, stdout);
	free(out);
	cvb_findings_doc_free(doc);
	cvb_sandbox_close(sb);
	return worst;
}

int cvb_cmd_validate(int argc, char **argv)
{
	struct validate_cli c;
	struct cvb_error e = {""};
	memset(&c, 0, sizeof(c));
	cvb_run_opts_init(&c.o);
	c.files = calloc((size_t)argc, sizeof(*c.files));
	int rc = c.files ? parse(&c, argc, argv, &e) : -1;
	if (rc == 0 && c.help) {
		validate_help();
	} else if (rc < 0 || c.n_files == 0 || apply_lists(&c, &e) < 0) {
		fprintf(stderr, "convbox validate: %s\n",
			e.msg[0] ? e.msg
				 : "expected at least one FILE (see convbox validate --help)");
		rc = 2;
	} else {
		rc = validate_all(&c);
	}
	free(c.files);
	cvb_run_opts_clear(&c.o);
	return rc < 0 ? 2 : rc;
}
