/*
 * validate_files: validate many converter files in one embedded interpreter
 * and report the throughput. Used by bench/validate_bench.sh; also handy by
 * hand (--print shows each file's findings).
 *
 *   validate_files [--print] [--repeat N] FILE...
 *   validate_files [--print] [--repeat N] --list LISTFILE   (one path a line)
 *
 * Prints one summary line:
 *   files=N bytes=B seconds=S findings=F errors=E files_with_errors=X
 * Exit status: 0, or 1 when a file cannot be read or validation fails.
 *
 * Build (the benchmark script does this):
 *   cc -O2 -I include bench/validate/validate_files.c BUILD/libcvb_runner.a \
 *      BUILD/libcvb_common.a $(pkg-config --cflags --libs python-3.11-embed jansson) \
 *      -lseccomp -DCVB_PYTHON_HOME="\"$(python3.11 -c 'import sys; print(sys.prefix)')\""
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "convbox/validate.h"

#ifndef CVB_PYTHON_HOME
#define CVB_PYTHON_HOME "/usr"
#endif

struct totals {
	size_t files, bytes, findings, errors, files_with_errors;
};

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

static size_t count_findings(const char *json)
{
	size_t n = 0;

	for (; *json; json++)
		n += !strncmp(json, "{\"rule\":", 8);
	return n;
}

static int validate_one(const char *path, int print, struct totals *t)
{
	static const char *const blocked[] = CVB_VALIDATE_DEFAULT_BLOCKED;
	struct cvb_validate_opts opts = {blocked, sizeof(blocked) / sizeof(blocked[0]), NULL, 0, 0};
	char err[256], *json = NULL;
	size_t len = 0;
	char *src = read_file(path, &len);
	int rc, nerr;

	if (!src) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	rc = cvb_validate_source(src, len, path, &opts, &json, err, sizeof(err));
	free(src);
	if (rc) {
		fprintf(stderr, "%s: %s\n", path, err);
		return -1;
	}
	nerr = cvb_validate_count_errors(json);
	t->files++;
	t->bytes += len;
	t->findings += count_findings(json);
	t->errors += nerr > 0 ? (size_t)nerr : 0;
	t->files_with_errors += nerr > 0;
	if (print)
		printf("%s: %s\n", path, json);
	free(json);
	return 0;
}

static char **read_list(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	char line[4096], **v = NULL;
	size_t cap = 0;

	*n = 0;
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!*line)
			continue;
		if (*n == cap) {
			char **nv = realloc(v, (cap = cap ? cap * 2 : 256) * sizeof(*v));

			if (!nv)
				break;
			v = nv;
		}
		v[(*n)++] = strdup(line);
	}
	fclose(f);
	return v;
}

int main(int argc, char **argv)
{
	struct totals t = {0};
	struct timespec t0, t1;
	char **files = NULL;
	size_t nfiles = 0, i;
	int print = 0, repeat = 1, status = 0, r, a = 1;

	for (; a < argc && !strncmp(argv[a], "--", 2); a++) {
		if (!strcmp(argv[a], "--print"))
			print = 1;
		else if (!strcmp(argv[a], "--repeat") && a + 1 < argc)
			repeat = atoi(argv[++a]);
		else if (!strcmp(argv[a], "--list") && a + 1 < argc)
			files = read_list(argv[++a], &nfiles);
	}
	if (!files) {
		files = argv + a;
		nfiles = (size_t)(argc - a);
	}
	if (!nfiles || cvb_validate_init_python()) {
		fprintf(stderr,
			"usage: validate_files [--print] [--repeat N] FILE... | --list F\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (r = 0; r < repeat; r++)
		for (i = 0; i < nfiles; i++)
			if (validate_one(files[i], print, &t))
				status = 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("files=%zu bytes=%zu seconds=%.6f findings=%zu errors=%zu files_with_errors=%zu\n",
	       t.files, t.bytes, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	       t.findings, t.errors, t.files_with_errors);
	Py_FinalizeEx();
	return status;
}
