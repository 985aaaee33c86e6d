/*
 * The floor under convbox's fast path, for bench/zygote_bench.py.
 *
 * A warm embedded python3.11 imports the converter and runs it once, then
 * forks one child per input. The child converts its file, writes the
 * result's JSON to a pipe and exits. There is no glue, no check of the
 * result, no host process and no confinement. It is the fork-per-file model
 * with nothing else, on this machine at this moment. The bench runs it
 * alternately with convbox, so that a slow phase of a shared machine shows
 * in both.
 *
 * It is no alternative to convbox: the converter's module-level code runs
 * in the parent, which convbox never allows.
 *
 * usage: fork_floor CONVERTER.py CLASS JOBS INPUT...
 * Prints each result's JSON on its own line as it arrives; exits 1 if any
 * conversion failed.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "convbox/fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_JOBS 64
#define MAX_OUT	 65536

static const char LOADER[] =
    "import gc, importlib.util, json, pathlib\n"
    "def _load(path, cls):\n"
    "    spec = importlib.util.spec_from_file_location('converter', path)\n"
    "    module = importlib.util.module_from_spec(spec)\n"
    "    spec.loader.exec_module(module)\n"
    "    instance = getattr(module, cls)()\n"
    "    def convert(p):\n"
    "        return json.dumps(instance.convert_file(pathlib.Path(p), {}))\n"
    "    return convert\n";

struct slot {
	pid_t pid;
	int fd;
	size_t len;
	char out[MAX_OUT];
};

static PyObject *convert;

static int init_python(const char *converter, const char *cls, const char *warm_input)
{
	PyConfig config;
	PyConfig_InitIsolatedConfig(&config);
	PyStatus st = PyConfig_SetBytesString(&config, &config.home, CVB_PYTHON_HOME);
	if (!PyStatus_Exception(st))
		st = Py_InitializeFromConfig(&config);
	PyConfig_Clear(&config);
	if (PyStatus_Exception(st) || PyRun_SimpleString(LOADER) != 0)
		return -1;
	PyObject *load = PyObject_GetAttrString(PyImport_AddModule("__main__"), "_load");
	convert = load ? PyObject_CallFunction(load, "ss", converter, cls) : NULL;
	Py_XDECREF(load);
	PyObject *warm = convert ? PyObject_CallFunction(convert, "s", warm_input) : NULL;
	if (!warm) {
		PyErr_Print();
		return -1;
	}
	Py_DECREF(warm);
	return PyRun_SimpleString("gc.freeze()");
}

static void child(int fd, const char *input)
{
	PyOS_AfterFork_Child();
	PyObject *r = PyObject_CallFunction(convert, "s", input);
	Py_ssize_t len = 0;
	const char *s = r ? PyUnicode_AsUTF8AndSize(r, &len) : NULL;
	_exit(s && cvb_write_all(fd, s, (size_t)len) == 0 ? 0 : 1);
}

static int start(struct slot *sl, const char *input)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		child(p[1], input);
	}
	close(p[1]);
	sl->pid = pid;
	sl->fd = p[0];
	sl->len = 0;
	return 0;
}

/* Read what the slot's child wrote; at its end, reap it and print the line. */
static int drain(struct slot *sl, int *failed)
{
	ssize_t n = read(sl->fd, sl->out + sl->len, sizeof(sl->out) - 1 - sl->len);
	if (n < 0 && errno == EINTR)
		return 0;
	if (n > 0 && sl->len + (size_t)n < sizeof(sl->out) - 1) {
		sl->len += (size_t)n;
		return 0;
	}
	int status = 0;
	close(sl->fd);
	waitpid(sl->pid, &status, 0);
	bool ok = n == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && sl->len > 0;
	if (ok)
		printf("%.*s\n", (int)sl->len, sl->out);
	else
		printf("{\"status\":\"Failed\"}\n");
	fflush(stdout);
	*failed += !ok;
	sl->pid = 0;
	return 1;
}

int main(int argc, char **argv)
{
	int jobs = argc > 3 ? atoi(argv[3]) : 0;
	if (argc < 5 || jobs < 1 || jobs > MAX_JOBS) {
		fprintf(stderr, "usage: fork_floor CONVERTER.py CLASS JOBS(1-%d) INPUT...\n",
			MAX_JOBS);
		return 2;
	}
	if (init_python(argv[1], argv[2], argv[4]) != 0) {
		fprintf(stderr, "fork_floor: cannot load %s\n", argv[1]);
		return 2;
	}
	static struct slot slots[MAX_JOBS];
	int next = 4, running = 0, failed = 0;
	while (next < argc || running > 0) {
		for (int i = 0; i < jobs && next < argc; i++)
			if (slots[i].pid == 0) {
				if (start(&slots[i], argv[next++]) < 0) {
					perror("fork_floor: fork");
					return 2;
				}
				running++;
			}
		struct pollfd pfd[MAX_JOBS];
		int idx[MAX_JOBS], n = 0;
		for (int i = 0; i < jobs; i++)
			if (slots[i].pid != 0) {
				pfd[n] = (struct pollfd){.fd = slots[i].fd, .events = POLLIN};
				idx[n++] = i;
			}
		if (poll(pfd, (nfds_t)n, -1) < 0 && errno != EINTR)
			return 2;
		for (int k = 0; k < n; k++)
			if (pfd[k].revents)
				running -= drain(&slots[idx[k]], &failed);
	}
	return failed ? 1 : 0;
}
