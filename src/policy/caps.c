/* Capability names, defaults and limits: the spec's vocabulary, as tables. */
#include "convbox/policy.h"

#include <fnmatch.h>
#include <string.h>
#include <strings.h>

struct cap_row {
	const char *name;
	const char *help;
};

static const struct cap_row cap_rows[CVB_CAP_COUNT] = {
    [CVB_CAP_READ_INPUT] = {"READ_INPUT", "read the input file at /input/<name>"},
    [CVB_CAP_WRITE_OUTPUT] = {"WRITE_OUTPUT", "write files into /output (collected)"},
    [CVB_CAP_NETWORK_WATS] = {"NETWORK_WATS", "reach the WATS server (needs the broker)"},
    [CVB_CAP_NETWORK_LOCAL] = {"NETWORK_LOCAL", "reach localhost (needs the broker)"},
    [CVB_CAP_NETWORK_FULL] = {"NETWORK_FULL", "use the host network"},
    [CVB_CAP_LOG_DEBUG] = {"LOG_DEBUG", "forward DEBUG log records"},
    [CVB_CAP_LOG_INFO] = {"LOG_INFO", "forward INFO log records and print() output"},
    [CVB_CAP_LOG_WARNING] = {"LOG_WARNING", "forward WARNING log records"},
    [CVB_CAP_LOG_ERROR] = {"LOG_ERROR", "forward ERROR log records and stderr output"},
    [CVB_CAP_FILE_TEMP] = {"FILE_TEMP", "a private, size-capped /tmp"},
    [CVB_CAP_SHELL_EXECUTE] = {"SHELL_EXECUTE", "run /bin/sh and programs, still confined"},
};

const char *cvb_cap_name(enum cvb_cap cap)
{
	if ((unsigned)cap >= CVB_CAP_COUNT)
		return NULL;
	return cap_rows[cap].name;
}

const char *cvb_cap_help(enum cvb_cap cap)
{
	if ((unsigned)cap >= CVB_CAP_COUNT)
		return "";
	return cap_rows[cap].help;
}

int cvb_cap_parse(const char *name)
{
	for (int i = 0; i < CVB_CAP_COUNT; i++)
		if (strcasecmp(name, cap_rows[i].name) == 0)
			return i;
	return -1;
}

cvb_caps cvb_caps_default(void)
{
	return CVB_CAP_BIT(CVB_CAP_READ_INPUT) | CVB_CAP_BIT(CVB_CAP_WRITE_OUTPUT) |
	       CVB_CAP_BIT(CVB_CAP_LOG_INFO) | CVB_CAP_BIT(CVB_CAP_LOG_WARNING) |
	       CVB_CAP_BIT(CVB_CAP_LOG_ERROR);
}

void cvb_limits_default(struct cvb_limits *l)
{
	l->timeout_s = 300.0;
	l->cpu_s = 120.0;
	l->memory_mb = 512;
	l->max_output_mb = 100;
	l->max_open_files = 50;
	l->max_procs = 1;
	l->max_files = 1000;
}

const char *const *cvb_default_blocked_imports(void)
{
	static const char *const list[] = {"subprocess", "os.system",	    "socket",
					   "ctypes",	 "multiprocessing", NULL};
	return list;
}

const char *const *cvb_native_modules(void)
{
	static const char *const list[] = {"ctypes",
					   "_ctypes",
					   "cffi",
					   "_cffi_backend",
					   "_testcapi",
					   "_testinternalcapi",
					   "_testmultiphase",
					   "_testbuffer",
					   "_posixsubprocess",
					   "_xxsubinterpreters",
					   "_xxtestfuzz",
					   "_testimportmultiple",
					   "_testclinic",
					   NULL};
	return list;
}

int cvb_cap_for_log_level(const char *level)
{
	static const struct {
		const char *level;
		enum cvb_cap cap;
	} rows[] = {{"DEBUG", CVB_CAP_LOG_DEBUG},
		    {"INFO", CVB_CAP_LOG_INFO},
		    {"WARNING", CVB_CAP_LOG_WARNING},
		    {"ERROR", CVB_CAP_LOG_ERROR},
		    {"CRITICAL", CVB_CAP_LOG_ERROR}};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (strcasecmp(level, rows[i].level) == 0)
			return (int)rows[i].cap;
	return -1;
}

const char *const *cvb_cap_lifted_names(enum cvb_cap cap)
{
	static const char *const shell[] = {"subprocess",	  "_posixsubprocess",
					    "os.system",	  "os.popen",
					    "os.exec*",		  "os.spawn*",
					    "os.posix_spawn*",	  "os.fork*",
					    "pty.spawn",	  "asyncio.create_subprocess_*",
					    "asyncio.subprocess", NULL};
	static const char *const net[] = {"socket", "_socket", "ssl", "_ssl", NULL};
	static const char *const none[] = {NULL};
	if (cap == CVB_CAP_SHELL_EXECUTE)
		return shell;
	if (cap == CVB_CAP_NETWORK_FULL)
		return net;
	return none;
}

/* A pattern of k components lifts the name's first k components (or more). */
static int lifts(const char *pattern, const char *name)
{
	char head[256];
	size_t dots = 0;
	for (const char *p = pattern; *p; p++)
		dots += *p == '.';
	size_t i = 0, seen = 0;
	for (; name[i] && i < sizeof(head) - 1; i++) {
		if (name[i] == '.' && seen++ == dots)
			break;
		head[i] = name[i];
	}
	head[i] = 0;
	return fnmatch(pattern, head, 0) == 0;
}

int cvb_caps_lift(cvb_caps caps, const char *name)
{
	for (int c = 0; c < CVB_CAP_COUNT; c++) {
		if (!(caps & CVB_CAP_BIT(c)))
			continue;
		for (const char *const *p = cvb_cap_lifted_names((enum cvb_cap)c); *p; p++)
			if (lifts(*p, name))
				return 1;
	}
	return 0;
}
