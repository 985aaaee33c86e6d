/*
 * libFuzzer target: arbitrary bytes as converter source.
 *
 * Each input is validated; for one input in four, one more run must leave
 * no more live GC-tracked Python objects than before: a reference
 * leaked per validation shows up as a crash here. The interpreter's lazy
 * caches are filled once at start-up. The findings must
 * be a valid findings array that the host formatter accepts in all three
 * formats, and the raw input is also fed to the formatter as if a hostile
 * runner had sent it.
 *
 * Built only with clang and -DCVB_FUZZ=ON; seed corpus in
 * tests/fuzz/corpus/fuzz_validate/.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convbox/findings.h"
#include "convbox/validate.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/*
 * The interpreter is never finalised (libFuzzer exits from its own loop),
 * so LeakSanitizer would report libpython's own state at exit. Allocations
 * made inside libpython are left to the object-count check below; leaks
 * from our code still carry our frames and are still reported.
 */
const char *__lsan_default_suppressions(void)
{
	return "leak:libpython3.11.so\n";
}

static const char *const blocked[] = CVB_VALIDATE_DEFAULT_BLOCKED;
static const char *const allowed[] = {"json", "csv", "re", "xml", "os", "pathlib", "datetime"};

static char *validate(const uint8_t *data, size_t size, const struct cvb_validate_opts *opts);

/* Fill the interpreter's lazy caches (imports, warnings machinery) once, before measuring. */
static void warm_up(void)
{
	static const char *const sources[] = {
	    "",
	    "import os as o\nimport sys\no.system('x')\nsys.modules\nx = o\n",
	    "import re\nP = re.compile('\\d')\n",
	    "x = (1,\n",
	    "# coding: latin-1\nx = 1\n",
	};
	struct cvb_validate_opts opts = {.blocked_imports = blocked,
					 .n_blocked = sizeof(blocked) / sizeof(blocked[0])};
	size_t i;
	int round;

	/* full collections settle too: the first few leave a few objects behind */
	for (round = 0; round < 20; round++) {
		for (i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
			free(validate((const uint8_t *)sources[i], strlen(sources[i]), &opts));
		PyGC_Collect();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (cvb_validate_init_python() < 0) {
		fprintf(stderr, "fuzz_validate: cannot initialise Python\n");
		abort();
	}
	warm_up();
	return 0;
}

/* Live GC-tracked objects (AST nodes, exceptions, lists, dicts ...), after a full collection. */
static Py_ssize_t tracked_objects(void)
{
	PyObject *gc = PyImport_ImportModule("gc");
	PyObject *all = gc ? PyObject_CallMethod(gc, "get_objects", NULL) : NULL;
	Py_ssize_t n = all && PyList_Check(all) ? PyList_GET_SIZE(all) : -1;

	Py_XDECREF(all);
	Py_XDECREF(gc);
	if (n < 0)
		abort();
	return n;
}

static char *validate(const uint8_t *data, size_t size, const struct cvb_validate_opts *opts)
{
	char err[256], *json = NULL;

	if (cvb_validate_source((const char *)data, size, "fuzz.py", opts, &json, err,
				sizeof(err))) {
		fprintf(stderr, "fuzz_validate: internal failure: %s\n", err);
		abort();
	}
	if (PyErr_Occurred() || !json || cvb_validate_count_errors(json) < 0)
		abort();
	return json;
}

static void check_formats(const char *json)
{
	static const enum cvb_findings_format fmts[] = {CVB_FINDINGS_TEXT, CVB_FINDINGS_JSON,
							CVB_FINDINGS_SARIF};
	size_t i;

	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		char *out = NULL;

		if (cvb_findings_format(json, "fuzz.py", fmts[i], &out) || !out)
			abort(); /* the formatter must accept everything the validator says */
		free(out);
	}
}

/* The input as findings JSON from a hostile runner: any answer but a crash. */
static void format_raw(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *out = NULL;

	if (!text)
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	if (cvb_findings_format(text, "raw.py", (enum cvb_findings_format)(size % 3), &out) == 0)
		free(out);
	(void)cvb_findings_count_errors(text);
	free(text);
}

/*
 * Validate the input once more: afterwards no more GC-tracked objects may
 * be alive than before. Everything the validator could leak (the
 * tree, exceptions, the warning log, the context manager) is tracked; the
 * raw block count is not used here because pymalloc caches make it wander.
 */
static void check_no_leak(const uint8_t *data, size_t size, const struct cvb_validate_opts *opts)
{
	Py_ssize_t before, after;

	PyGC_Collect();
	before = tracked_objects();
	free(validate(data, size, opts));
	PyGC_Collect();
	after = tracked_objects();
	if (after > before) {
		fprintf(stderr, "fuzz_validate: %zd more live objects after one validation\n",
			after - before);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cvb_validate_opts opts = {.blocked_imports = blocked,
					 .n_blocked = sizeof(blocked) / sizeof(blocked[0])};
	char *json;

	if (size && data[0] == 'A') { /* some inputs also run with an allowlist */
		opts.allowed_imports = allowed;
		opts.n_allowed = sizeof(allowed) / sizeof(allowed[0]);
	}
	json = validate(data, size, &opts);
	check_formats(json);
	free(json);
	if (size % 4 == 0) /* one input in four, chosen by the input itself: reproducible */
		check_no_leak(data, size, &opts);
	format_raw(data, size);
	return 0;
}
