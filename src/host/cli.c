/*
 * `convbox run`: the spec's ConverterSandbox.run_converter as a command.
 * Options are a table; a config file is applied first and the command line
 * overrides it.
 */
#include "convbox/cli.h"
#include "convbox/config.h"
#include "convbox/run.h"

#include <errno.h>
#include <stdarg.h>
#include <time.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_CONVERTER_BYTES (8u << 20)

struct run_cli {
	struct cvb_run_opts o;
	const char **inputs;
	size_t n_inputs;
	json_t *args;
	cvb_caps extra_caps;
	bool no_default_caps;
	bool help;
	const char *config;
	char err[1100];
};

typedef int (*opt_fn)(struct run_cli *c, const char *val);

struct opt {
	const char *name;
	const char *metavar; /* NULL: a flag */
	opt_fn apply;
	const char *help;
};

__attribute__((format(printf, 2, 3))) static int set_err(struct run_cli *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return -1;
}

static int parse_positive(struct run_cli *c, const char *opt, const char *val, double max,
			  double *out)
{
	char *end = NULL;
	errno = 0;
	double d = strtod(val, &end);
	if (errno || end == val || *end || !(d > 0) || d > max)
		return set_err(c, "%s: '%s' is not a positive number in range", opt, val);
	*out = d;
	return 0;
}

static int parse_uint(struct run_cli *c, const char *opt, const char *val, unsigned max,
		      unsigned *out)
{
	double d = 0; /* -O3 cannot see that parse_positive sets it on success */
	if (parse_positive(c, opt, val, max, &d) < 0 || d != (double)(unsigned)d)
		return set_err(c, "%s: '%s' is not a positive whole number in range", opt, val);
	*out = (unsigned)d;
	return 0;
}

static int o_class(struct run_cli *c, const char *v)
{
	c->o.class_name = v;
	return 0;
}

/* VALUE is JSON when it parses as JSON, else a string. */
static int o_arg(struct run_cli *c, const char *v)
{
	const char *eq = strchr(v, '=');
	if (!eq || eq == v)
		return set_err(c, "--arg '%s': expected KEY=VALUE", v);
	char key[256];
	snprintf(key, sizeof(key), "%.*s", (int)(eq - v), v);
	json_t *val = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
	if (!val)
		val = json_string(eq + 1);
	if (!val)
		return set_err(c, "--arg '%s': the value is not valid UTF-8", v);
	json_object_set_new(c->args, key, val);
	return 0;
}

static int o_args_json(struct run_cli *c, const char *v)
{
	json_error_t e;
	json_t *obj = json_loads(v, 0, &e);
	if (!obj)
		return set_err(c, "--args-json: not valid JSON (%s)", e.text);
	if (!json_is_object(obj)) {
		json_decref(obj);
		return set_err(c, "--args-json: expected a JSON object such as {\"key\": 1}");
	}
	json_object_update(c->args, obj);
	json_decref(obj);
	return 0;
}

static int o_cap(struct run_cli *c, const char *v)
{
	int cap = cvb_cap_parse(v);
	if (cap < 0)
		return set_err(c,
			       "--cap '%s': unknown capability (READ_INPUT, WRITE_OUTPUT, "
			       "NETWORK_FULL, LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERROR, "
			       "FILE_TEMP, SHELL_EXECUTE)%s",
			       v, "");
	if (cvb_cap_unavailable(cap))
		return set_err(c, "--cap %s: %s", cvb_cap_name(cap), cvb_cap_unavailable(cap));
	c->extra_caps |= CVB_CAP_BIT(cap);
	return 0;
}

static int o_no_default_caps(struct run_cli *c, const char *v)
{
	c->no_default_caps = true;
	return 0;
}

static int o_timeout(struct run_cli *c, const char *v)
{
	return parse_positive(c, "--timeout", v, 86400, &c->o.limits.timeout_s);
}

static int o_cpu(struct run_cli *c, const char *v)
{
	return parse_positive(c, "--cpu", v, 86400, &c->o.limits.cpu_s);
}

static int o_memory(struct run_cli *c, const char *v)
{
	return parse_uint(c, "--memory", v, 1u << 20, &c->o.limits.memory_mb);
}

static int o_max_output(struct run_cli *c, const char *v)
{
	return parse_uint(c, "--max-output", v, 1u << 20, &c->o.limits.max_output_mb);
}

static int o_max_files(struct run_cli *c, const char *v)
{
	return parse_uint(c, "--max-files", v, 1u << 24, &c->o.limits.max_open_files);
}

static int o_max_procs(struct run_cli *c, const char *v)
{
	return parse_uint(c, "--max-procs", v, 4096, &c->o.limits.max_procs);
}

static int o_max_frame(struct run_cli *c, const char *v)
{
	unsigned mb = 0;
	if (parse_uint(c, "--max-frame", v, 1024, &mb) < 0)
		return -1;
	c->o.max_frame = mb << 20;
	return 0;
}

static int o_jobs(struct run_cli *c, const char *v)
{
	return parse_uint(c, "--jobs", v, 64, &c->o.jobs);
}

static int o_output_dir(struct run_cli *c, const char *v)
{
	struct stat st;
	if (stat(v, &st) < 0 || !S_ISDIR(st.st_mode))
		return set_err(c, "--output-dir '%s': not an existing folder", v);
	c->o.output_dir = v;
	return 0;
}

static int o_flag_trusted(struct run_cli *c, const char *v)
{
	c->o.trusted = true;
	return 0;
}

static int o_flag_skip_validation(struct run_cli *c, const char *v)
{
	c->o.skip_validation = true;
	return 0;
}

static int o_flag_degraded(struct run_cli *c, const char *v)
{
	c->o.allow_degraded = true;
	return 0;
}

static int o_flag_cold(struct run_cli *c, const char *v)
{
	c->o.cold = true;
	return 0;
}

static int o_config(struct run_cli *c, const char *v)
{
	c->config = v;
	return 0;
}

static int o_help(struct run_cli *c, const char *v)
{
	c->help = true;
	return 0;
}

static const struct opt run_opts[] = {
    {"--class", "NAME", o_class,
     "converter class (default: the one class with convert_file/convert)"},
    {"--arg", "KEY=VALUE", o_arg,
     "converter argument; VALUE is JSON when it parses, else a string"},
    {"--args-json", "OBJECT", o_args_json, "converter arguments as one JSON object"},
    {"--cap", "NAME", o_cap, "grant a capability (repeatable, any case)"},
    {"--no-default-caps", NULL, o_no_default_caps,
     "start from no capabilities instead of READ_INPUT, WRITE_OUTPUT, LOG_INFO/WARNING/ERROR"},
    {"--timeout", "SEC", o_timeout, "wall-clock limit per file (default 300)"},
    {"--cpu", "SEC", o_cpu, "CPU-time limit per file (default 120)"},
    {"--memory", "MB", o_memory, "address-space limit (default 512)"},
    {"--max-output", "MB", o_max_output, "output size limit, per file and in total (default 100)"},
    {"--max-files", "N", o_max_files, "open-file limit for the converter (default 50)"},
    {"--max-procs", "N", o_max_procs, "process and thread limit (default 1)"},
    {"--output-dir", "DIR", o_output_dir,
     "keep the converter's output files here (never overwritten)"},
    {"--trusted", NULL, o_flag_trusted, "run without confinement (the spec's trusted mode)"},
    {"--config", "FILE", o_config, "JSON config; its \"sandbox\" block sets the defaults"},
    {"--allow-degraded", NULL, o_flag_degraded,
     "run even when the kernel lacks a layer (listed in the result)"},
    {"--skip-validation", NULL, o_flag_skip_validation,
     "do not run the static validator first (testing the runtime layers)"},
    {"--jobs", "N", o_jobs, "conversions at once (default: number of CPUs)"},
    {"--cold", NULL, o_flag_cold, "a fresh runner per file instead of the prepared zygote"},
    {"--max-frame", "MB", o_max_frame,
     "largest message from the sandbox, and of a file's reports together (default 64)"},
    {"--help", NULL, o_help, "this help"},
};

#define N_RUN_OPTS (sizeof(run_opts) / sizeof(run_opts[0]))

static void run_help(void)
{
	printf(
	    "usage: convbox run CONVERTER.py INPUT [INPUT...] [options]\n\n"
	    "Converts each INPUT with the converter, each in a fresh confined process, and\n"
	    "prints one JSON object per input on its own line (in input order):\n"
	    "  outcome  completed | converter_error | security | timeout | cpu_limit |\n"
	    "           memory_limit | output_limit | crashed | protocol | sandbox_error\n"
	    "  status, report/reports, metadata, post_action (when completed), error,\n"
	    "  logs [{level, message}], denied [{action, target, mode, capability}],\n"
	    "  usage {wall_ms, cpu_ms, max_rss_kb}, input\n\n"
	    "Inside the sandbox the converter reads /input/<name>, writes to $CONVBOX_OUTPUT_DIR\n"
	    "(/output), and gets a private /tmp only with FILE_TEMP.\n\noptions:\n");
	for (size_t i = 0; i < N_RUN_OPTS; i++)
		cvb_print_option(run_opts[i].name, run_opts[i].metavar, run_opts[i].help, 24);
	printf("\ncapabilities (--cap):\n");
	for (int c = 0; c < CVB_CAP_COUNT; c++)
		printf("  %-14s %s%s\n", cvb_cap_name(c), cvb_cap_help(c),
		       cvb_cap_unavailable(c) ? " (not available yet)" : "");
	printf("\n\nexit status: 0 success, 1 converter failed or returned another status,\n"
	       "2 usage or unreadable input/converter, 3 security, 4 timeout,\n"
	       "5 cpu/memory/output limit, 6 crashed/protocol/sandbox error;\n"
	       "with several inputs, the highest.\n");
}

static const struct opt *find_opt(const char *name)
{
	for (size_t i = 0; i < N_RUN_OPTS; i++)
		if (strcmp(run_opts[i].name, name) == 0)
			return &run_opts[i];
	return NULL;
}

/* One pass over argv; `only_config` picks out --config and --help first. */
static int parse_args(struct run_cli *c, int argc, char **argv, bool only_config)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		if (strncmp(a, "--", 2) != 0 || strcmp(a, "--") == 0) {
			if (!only_config)
				c->inputs[c->n_inputs++] = a;
			continue;
		}
		char name[64];
		const char *eq = strchr(a, '=');
		snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
		const struct opt *o = find_opt(name);
		if (!o)
			return set_err(c, "unknown option '%s' (see convbox run --help)", a);
		if (o->metavar) {
			val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
			if (!val)
				return set_err(c, "%s needs a value (%s)", name, o->metavar);
		}
		bool early = o->apply == o_config || o->apply == o_help;
		if (early == only_config && o->apply(c, val) < 0)
			return -1;
	}
	return 0;
}

static int load_config(struct run_cli *c)
{
	struct cvb_error e = {""};
	if (!c->config)
		return cvb_config_default_blocked(&c->o);
	json_t *root = cvb_config_read(c->config, &e);
	json_t *block = root ? json_object_get(root, "sandbox") : NULL;
	int rc = root ? 0 : -1;
	if (block && cvb_config_apply_sandbox(block, "sandbox", &c->o, &e) < 0)
		rc = -1;
	else if (root && !block)
		rc = cvb_config_default_blocked(&c->o);
	json_decref(root);
	if (rc < 0)
		snprintf(c->err, sizeof(c->err), "%s", e.msg);
	return rc;
}

void cvb_print_option(const char *name, const char *metavar, const char *help, int width)
{
	char left[64];
	snprintf(left, sizeof(left), "%s%s%s", name, metavar ? " " : "", metavar ? metavar : "");
	printf("  %-*s %s\n", width, left, help);
}

unsigned char *cvb_read_file(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		int e = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		close(fd);
		errno = e;
		return NULL;
	}
	unsigned char *buf = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (buf)
		buf[got] = 0;
	*len = got;
	return buf;
}

static int prepare(struct run_cli *c, int argc, char **argv)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	cvb_run_opts_init(&c->o);
	c->o.jobs = cpus > 0 ? (unsigned)cpus : 1;
	c->args = json_object();
	c->inputs = calloc((size_t)argc, sizeof(*c->inputs));
	if (!c->args || !c->inputs)
		return set_err(c, "out of memory");
	if (parse_args(c, argc, argv, true) < 0 || c->help)
		return c->help ? 0 : -1;
	if (load_config(c) < 0 || parse_args(c, argc, argv, false) < 0)
		return -1;
	c->o.caps = (c->no_default_caps ? 0 : c->o.caps) | c->extra_caps;
	if (c->n_inputs < 2)
		return set_err(c, "expected CONVERTER.py and at least one INPUT "
				  "(see convbox run --help)");
	c->o.converter_path = c->inputs[0];
	c->o.args_json = json_dumps(c->args, JSON_COMPACT);
	return 0;
}

/* "Converter validation failed: file:line:col: error[rule]: message" for the first errors. */
static char *validation_message(const char *findings, const char *path, int *errors)
{
	json_t *arr = json_loads(findings, 0, NULL);
	char buf[2048];
	size_t off = (size_t)snprintf(buf, sizeof(buf), "Converter validation failed:");
	size_t i;
	json_t *f;
	*errors = 0;
	json_array_foreach(arr, i, f)
	{
		const char *sev = json_string_value(json_object_get(f, "severity"));
		if (!sev || strcmp(sev, "error") != 0)
			continue;
		if (++*errors <= 3 && off < sizeof(buf))
			off += (size_t)snprintf(
			    buf + off, sizeof(buf) - off, "%s %s:%lld:%lld: error[%s]: %s",
			    *errors > 1 ? ";" : "", path,
			    (long long)json_integer_value(json_object_get(f, "line")),
			    (long long)json_integer_value(json_object_get(f, "col")),
			    json_string_value(json_object_get(f, "rule")) ?: "?",
			    json_string_value(json_object_get(f, "message")) ?: "");
	}
	if (*errors > 3 && off < sizeof(buf))
		snprintf(buf + off, sizeof(buf) - off, " (and %d more)", *errors - 3);
	json_decref(arr);
	return strdup(buf);
}

static void print_failure_lines(struct run_cli *c, const char *outcome, const char *msg,
				const char *findings)
{
	for (size_t i = 1; i < c->n_inputs; i++) {
		json_t *o = json_pack("{s:o, s:s, s:s}", "input", cvb_json_text(c->inputs[i]),
				      "outcome", outcome, "error", msg);
		if (findings)
			json_object_set_new(o, "findings", json_loads(findings, 0, NULL));
		char *t = json_dumps(o, JSON_COMPACT);
		if (t)
			puts(t);
		free(t);
		json_decref(o);
	}
	fflush(stdout);
}

/* Returns the exit code when the converter must not run, 0 when it may. */
static int validate_first(struct run_cli *c, struct cvb_sandbox *sb)
{
	char *findings = NULL;
	struct cvb_error e = {""};
	if (c->o.skip_validation)
		return 0;
	if (cvb_sandbox_validate(sb, &findings, &e) < 0) {
		fprintf(stderr, "convbox run: %s\n", e.msg);
		print_failure_lines(c, "sandbox_error", e.msg, NULL);
		return 6;
	}
	int errors = 0;
	char *msg = validation_message(findings, c->o.converter_path, &errors);
	if (errors > 0) {
		fprintf(stderr, "convbox run: %s\n", msg);
		print_failure_lines(c, "security", msg, findings);
	}
	free(msg);
	free(findings);
	return errors > 0 ? 3 : 0;
}

static void progress(size_t done, size_t total, double t0)
{
	static double last;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	double now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	(void)t0;
	if (done != total && now - last < 0.2)
		return;
	last = now;
	fprintf(stderr, "\rconvbox: %zu/%zu files converted", done, total);
	if (done == total)
		fputc('\n', stderr);
}

/* Submit every input, print results in input order as they become printable. */
static int convert_all(struct run_cli *c, struct cvb_sandbox *sb)
{
	size_t n = c->n_inputs - 1, next_print = 0, done = 0;
	int64_t *ids = calloc(n, sizeof(*ids));
	char **lines = calloc(n, sizeof(*lines));
	int worst = 0;
	bool show = n >= 20 && isatty(2);
	for (size_t i = 0; ids && i < n; i++) {
		struct cvb_error e = {""};
		ids[i] = cvb_sandbox_submit(sb, c->inputs[i + 1], &e);
		if (ids[i] < 0) {
			fprintf(stderr, "convbox run: %s\n", e.msg);
			worst = worst > 2 ? worst : 2;
			done++;
		}
	}
	struct cvb_result r;
	while (ids && lines && cvb_sandbox_next(sb, &r) == 1) {
		int code = cvb_outcome_exit_code(r.outcome, r.status);
		worst = code > worst ? code : worst;
		for (size_t i = 0; i < n; i++)
			if (ids[i] == (int64_t)r.job_id) {
				lines[i] =
				    r.line ? r.line : strdup("{\"outcome\":\"sandbox_error\"}");
				r.line = NULL;
			}
		cvb_result_clear(&r);
		for (; next_print < n && (ids[next_print] < 0 || lines[next_print]); next_print++)
			if (lines[next_print]) {
				puts(lines[next_print]);
				fflush(stdout);
				free(lines[next_print]);
				lines[next_print] = NULL;
			}
		if (show)
			progress(++done, n, 0);
	}
	free(ids);
	free(lines);
	return worst;
}

int cvb_cmd_run(int argc, char **argv)
{
	struct run_cli c;
	memset(&c, 0, sizeof(c));
	int rc = prepare(&c, argc, argv);
	if (rc < 0 || c.help) {
		if (c.help)
			run_help();
		else
			fprintf(stderr, "convbox run: %s\n", c.err);
		rc = c.help ? 0 : 2;
		goto out;
	}
	size_t len = 0;
	unsigned char *src = cvb_read_file(c.o.converter_path, MAX_CONVERTER_BYTES, &len);
	if (!src) {
		fprintf(stderr, "convbox run: cannot read converter '%s': %s\n", c.o.converter_path,
			errno == EINVAL	 ? "not a regular file"
			: errno == EFBIG ? "larger than 8 MiB"
					 : strerror(errno));
		rc = 2;
		goto out;
	}
	struct cvb_sandbox *sb = NULL;
	struct cvb_error e = {""};
	if (cvb_sandbox_open(&c.o, src, len, &sb, &e) < 0) {
		fprintf(stderr, "convbox run: %s\n", e.msg);
		print_failure_lines(&c, "sandbox_error", e.msg, NULL);
		rc = 6;
	} else {
		rc = validate_first(&c, sb);
		if (rc == 0)
			rc = convert_all(&c, sb);
	}
	cvb_sandbox_close(sb);
	free(src);
out:
	json_decref(c.args);
	free(c.inputs);
	cvb_run_opts_clear(&c.o);
	return rc;
}
