/*
 * Validator and findings formatter: the reference suite's validator cases,
 * the reference's known bypasses, the honest and hostile corpora, options,
 * positions, limits, reference leaks, and the text/JSON/SARIF formats.
 *
 * Runs an embedded interpreter configured like the runner's (isolated, no
 * site, no bytecode writing).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "convbox/findings.h"
#include "convbox/policy.h"
#include "convbox/validate.h"

static const char *const default_blocked[] = CVB_VALIDATE_DEFAULT_BLOCKED;

static const struct cvb_validate_opts default_opts = {
    .blocked_imports = default_blocked,
    .n_blocked = sizeof(default_blocked) / sizeof(default_blocked[0]),
};

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

/* Validate len bytes with opts; the findings as parsed JSON. */
static json_t *validate_n(const char *src, size_t len, const struct cvb_validate_opts *opts)
{
	char err[256], *text = NULL;
	json_t *arr;
	int rc = cvb_validate_source(src, len, "conv.py", opts, &text, err, sizeof(err));

	if (rc)
		fail_msg("cvb_validate_source: %d %s", rc, err);
	assert_non_null(text);
	assert_false(PyErr_Occurred());
	arr = json_loads(text, 0, NULL);
	assert_true(json_is_array(arr));
	assert_int_equal(cvb_validate_count_errors(text), cvb_findings_count_errors(text));
	free(text);
	return arr;
}

static json_t *validate(const char *src)
{
	return validate_n(src, strlen(src), &default_opts);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The rule ids of a findings array, sorted, comma-separated, into buf. */
static const char *rule_list(json_t *arr, char *buf, size_t len)
{
	const char *ids[1024];
	size_t i, n = json_array_size(arr);

	assert_true(n <= 1024);
	for (i = 0; i < n; i++)
		ids[i] = json_string_value(json_object_get(json_array_get(arr, i), "rule"));
	qsort(ids, n, sizeof(ids[0]), cmp_str);
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		strncat(buf, ids[i], len - strlen(buf) - 1);
		if (i + 1 < n)
			strncat(buf, ",", len - strlen(buf) - 1);
	}
	return buf;
}

/* Validate src and compare its sorted rule ids with `expected` ("" = clean). */
static void expect_rules_opts(const char *src, const struct cvb_validate_opts *opts,
			      const char *expected)
{
	char got[4096];
	json_t *arr = validate_n(src, strlen(src), opts);

	if (strcmp(rule_list(arr, got, sizeof(got)), expected)) {
		char *dump = json_dumps(arr, JSON_INDENT(1));

		print_error("source:\n%s\nexpected [%s], got [%s]\n%s\n", src, expected, got, dump);
		free(dump);
		json_decref(arr);
		fail();
	}
	json_decref(arr);
}

static void expect_rules(const char *src, const char *expected)
{
	expect_rules_opts(src, &default_opts, expected);
}

static json_t *finding(json_t *arr, size_t i)
{
	assert_true(i < json_array_size(arr));
	return json_array_get(arr, i);
}

static long long int_of(json_t *f, const char *key)
{
	json_t *v = json_object_get(f, key);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static const char *str_of(json_t *f, const char *key)
{
	const char *s = json_string_value(json_object_get(f, key));

	assert_non_null(s);
	return s;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static const char *source_dir(void)
{
	const char *dir = getenv("CVB_SOURCE_DIR");

	if (!dir)
		fail_msg("CVB_SOURCE_DIR is not set");
	return dir;
}

static int has_py_suffix(const char *name)
{
	size_t n = strlen(name);

	return n > 3 && !strcmp(name + n - 3, ".py");
}

/* ------------------------------------------------------------------ */
/* The reference implementation's validator suite                      */

static void test_ref_blocked_import(void **state)
{
	json_t *arr = validate("import subprocess\n");

	assert_int_equal(json_array_size(arr), 1);
	assert_string_equal(str_of(finding(arr, 0), "rule"), "blocked-import");
	assert_string_equal(str_of(finding(arr, 0), "severity"), "error");
	assert_int_equal(int_of(finding(arr, 0), "line"), 1);
	assert_int_equal(int_of(finding(arr, 0), "col"), 8);
	assert_non_null(strstr(str_of(finding(arr, 0), "message"), "subprocess"));
	assert_true(strlen(str_of(finding(arr, 0), "hint")) > 0);
	json_decref(arr);
}

static void test_ref_blocked_from_import(void **state)
{
	expect_rules("from os import system\n", "blocked-import");
	expect_rules("from subprocess import run, Popen\n", "blocked-import");
	expect_rules("from os import path\n", "");
}

static void test_ref_eval(void **state)
{
	json_t *arr = validate("x = 1\nresult = eval('1 + 1')\n");

	assert_int_equal(json_array_size(arr), 1);
	assert_string_equal(str_of(finding(arr, 0), "rule"), "dangerous-call");
	assert_int_equal(int_of(finding(arr, 0), "line"), 2);
	assert_int_equal(int_of(finding(arr, 0), "col"), 10);
	json_decref(arr);
}

static void test_ref_syntax_error(void **state)
{
	json_t *arr = validate("import json\nx = (1,\n");

	assert_int_equal(json_array_size(arr), 1);
	assert_string_equal(str_of(finding(arr, 0), "rule"), "syntax-error");
	assert_int_equal(int_of(finding(arr, 0), "line"), 2);
	assert_int_equal(int_of(finding(arr, 0), "col"), 5);
	assert_non_null(strstr(str_of(finding(arr, 0), "message"), "never closed"));
	json_decref(arr);
	expect_rules("def f():\nreturn 1\n", "syntax-error"); /* IndentationError */
	expect_rules("if True:\n\tx = 1\n        y = 2\n", "syntax-error");
}

/* The spec's BadConverter plus an eval: exactly two findings. */
static void test_ref_malicious_two_findings(void **state)
{
	static const char src[] = "import subprocess\n"
				  "\n"
				  "class BadConverter:\n"
				  "    def convert_file(self, file_path, args):\n"
				  "        return eval(file_path.read_text())\n";
	json_t *arr = validate(src);

	assert_int_equal(json_array_size(arr), 2);
	assert_string_equal(str_of(finding(arr, 0), "rule"), "blocked-import");
	assert_string_equal(str_of(finding(arr, 1), "rule"), "dangerous-call");
	json_decref(arr);
}

static void test_ref_empty_is_clean(void **state)
{
	expect_rules("", "");
	expect_rules("\n\n# nothing but a comment\n", "");
	expect_rules("\"\"\"Only a docstring.\"\"\"\n", "");
}

static void test_ref_unicode_is_clean(void **state)
{
	expect_rules("# -*- coding: utf-8 -*-\n"
		     "\"\"\"Prüfstand 測試 Ω\"\"\"\n"
		     "größe = 'µA'\n"
		     "class Wandler:\n"
		     "    def convert_file(self, pfad, args):\n"
		     "        return {'status': 'Success', 'report': {'name': 'Über'}}\n",
		     "");
	expect_rules("\xef\xbb\xbfx = 'with a BOM'\n", "");
}

static void test_ref_hundred_methods_is_clean(void **state)
{
	size_t cap = 100 * 80 + 256, i;
	char *src = malloc(cap), *p = src;

	assert_non_null(src);
	p += sprintf(p, "import json\n\nclass Big:\n");
	for (i = 0; i < 100; i++)
		p += sprintf(p, "    def method_%03zu(self, x):\n        return json.dumps(x)\n\n",
			     i);
	p += sprintf(p, "    def convert_file(self, file_path, args):\n        return {}\n");
	assert_true((size_t)(p - src) < cap);
	expect_rules(src, "");
	free(src);
}

/* A missing file is a host-level finding: the formatter's unreadable-file helper. */
static void test_ref_missing_file(void **state)
{
	struct cvb_findings_doc *doc = cvb_findings_doc_new(CVB_FINDINGS_TEXT);
	char *json = NULL, *text = NULL;

	assert_non_null(doc);
	assert_int_equal(cvb_findings_unreadable("missing.py", ENOENT, &json), 0);
	assert_int_equal(cvb_findings_count_errors(json), 1);
	assert_int_equal(cvb_findings_doc_add_unreadable(doc, "missing.py", ENOENT), 0);
	assert_int_equal(cvb_findings_doc_errors(doc), 1);
	assert_int_equal(cvb_findings_doc_render(doc, &text), 0);
	assert_string_equal(text, "missing.py: error[unreadable-file]: cannot read the file: No "
				  "such file or directory (check the path and its permissions)\n");
	free(text);
	free(json);
	cvb_findings_doc_free(doc);
}

/* ------------------------------------------------------------------ */
/* Garbage in: findings, never a crash                                 */

static void test_nul_bytes(void **state)
{
	static const char src[] = "x = 1\nimport \0subprocess\n";
	json_t *arr = validate_n(src, sizeof(src) - 1, &default_opts);

	assert_int_equal(json_array_size(arr), 1);
	assert_string_equal(str_of(finding(arr, 0), "rule"), "nul-byte");
	assert_int_equal(int_of(finding(arr, 0), "line"), 2);
	assert_int_equal(int_of(finding(arr, 0), "col"), 8);
	json_decref(arr);
}

static void test_not_utf8(void **state)
{
	static const char *const bad[] = {
	    "x = 'caf\xe9'\n",		/* latin-1 */
	    "x = '\xc0\xaf'\n",		/* overlong */
	    "x = '\xed\xa0\x80'\n",	/* surrogate */
	    "x = '\xf4\x90\x80\x80'\n", /* beyond U+10FFFF */
	    "x = '\xe2\x82'\n",		/* truncated */
	    "\xff\xfe"
	    "x\0=\0", /* UTF-16 */
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]) - 1; i++)
		expect_rules(bad[i], "not-utf8");
	{
		json_t *arr = validate_n(bad[5], 6, &default_opts);

		assert_int_equal(json_array_size(arr), 1);
		assert_string_equal(str_of(finding(arr, 0), "rule"), "nul-byte");
		json_decref(arr);
	}
}

static void test_encoding_declaration(void **state)
{
	/* UTF-7 hides an import in what looks like a comment; the parse sees it too. */
	expect_rules("# -*- coding: utf-7 -*-\n# note +AAo-import subprocess\n",
		     "blocked-import,encoding-declaration");
	expect_rules("#!/usr/bin/env python3\n# vim: set fileencoding=latin-1 :\nx = 1\n",
		     "encoding-declaration");
	expect_rules("# -*- coding: utf-8 -*-\nx = 1\n", "");
	expect_rules("# coding=UTF_8\nx = 1\n", "");
	expect_rules("# coding: no-such-codec\nx = 1\n", "encoding-declaration,syntax-error");
}

static void test_garbage_bytes(void **state)
{
	char buf[4096];
	unsigned int seed = 12345;
	size_t i, round;

	for (round = 0; round < 50; round++) {
		char err[256], *json = NULL;
		size_t len = (size_t)(rand_r(&seed) % sizeof(buf));

		for (i = 0; i < len; i++)
			buf[i] = (char)(round % 2 ? rand_r(&seed) % 128 : rand_r(&seed) % 256);
		assert_int_equal(
		    cvb_validate_source(buf, len, NULL, &default_opts, &json, err, sizeof(err)), 0);
		assert_true(cvb_validate_count_errors(json) >= 0);
		assert_false(PyErr_Occurred());
		free(json);
	}
}

static void test_parse_limit(void **state)
{
	size_t n = 20000, i;
	char *src = malloc(n + 16);

	assert_non_null(src);
	strcpy(src, "x = ");
	for (i = 0; i < n; i++)
		src[4 + i] = '-';
	strcpy(src + 4 + n, "1\n");
	expect_rules(src, "parse-limit");
	for (i = 0; i < n; i++)
		src[4 + i] = '(';
	src[4 + n] = '\0';
	expect_rules(src, "syntax-error"); /* too many nested parentheses */
	free(src);
}

static void test_bad_arguments(void **state)
{
	char err[128], *json = (char *)1;

	assert_int_equal(cvb_validate_source(NULL, 5, "x", &default_opts, &json, err, sizeof(err)),
			 -EINVAL);
	assert_null(json);
	assert_true(strlen(err) > 0);
	assert_int_equal(cvb_validate_source("x", 1, "x", NULL, &json, err, sizeof(err)), -EINVAL);
	assert_int_equal(cvb_validate_source("x", 1, "x", &default_opts, NULL, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(cvb_validate_source(NULL, 0, NULL, &default_opts, &json, NULL, 0), 0);
	assert_string_equal(json, "[]");
	free(json);
}

/* The caller's pending exception survives a validation, and none is added. */
static void test_pending_exception_kept(void **state)
{
	char err[128], *json = NULL;

	PyErr_SetString(PyExc_KeyError, "the caller's");
	assert_int_equal(
	    cvb_validate_source("x = (1,\n", 8, "e.py", &default_opts, &json, err, sizeof(err)), 0);
	assert_true(PyErr_ExceptionMatches(PyExc_KeyError));
	PyErr_Clear();
	assert_int_equal(cvb_findings_count_errors(json), 1);
	free(json);
}

static void test_limits(void **state)
{
	struct cvb_validate_opts small = default_opts;
	size_t i, n = 700;
	char *src = malloc(n * 12 + 1), *p = src;
	json_t *arr, *last;

	small.max_source_bytes = 10;
	expect_rules_opts("x = 1 + 2 + 3\n", &small, "too-large");
	assert_non_null(src);
	for (i = 0; i < n; i++)
		p += sprintf(p, "eval(x)\n");
	arr = validate(src);
	assert_int_equal(json_array_size(arr), CVB_VALIDATE_MAX_FINDINGS + 1);
	last = finding(arr, 0); /* line 0 sorts first */
	assert_string_equal(str_of(last, "rule"), "too-many-findings");
	json_decref(arr);
	free(src);
}

/* ------------------------------------------------------------------ */
/* REFERENCE.md: what walked past the reference validator              */

static void test_bypass_import_alias(void **state)
{
	json_t *arr = validate("import os as o\n\no.system('id')\n");

	assert_int_equal(json_array_size(arr), 1);
	assert_string_equal(str_of(finding(arr, 0), "rule"), "blocked-import");
	assert_int_equal(int_of(finding(arr, 0), "line"), 3);
	assert_int_equal(int_of(finding(arr, 0), "col"), 1);
	assert_non_null(strstr(str_of(finding(arr, 0), "message"), "os.system"));
	assert_non_null(strstr(str_of(finding(arr, 0), "message"), "o.system"));
	json_decref(arr);
	expect_rules("from os import system as s\ns('id')\n", "blocked-import,blocked-import");
	expect_rules("import os\nrun = os\nrun.system('id')\n", "blocked-import,module-alias");
}

static void test_bypass_os_execv(void **state)
{
	expect_rules("import os\nos.execv('/bin/sh', ['sh'])\n", "dangerous-call");
	expect_rules("import os\nos.execvpe('sh', ['sh'], {})\n", "dangerous-call");
	expect_rules("from os import execv\n", "dangerous-call");
}

static void test_bypass_posix_system(void **state)
{
	expect_rules("import posix\nposix.system('id')\n", "dangerous-call,dangerous-call");
}

static void test_bypass_shutil_rmtree(void **state)
{
	expect_rules("import shutil\nshutil.rmtree('/output')\n", "dangerous-call");
	expect_rules("import shutil\nshutil.copyfile('a', 'b')\n", "");
}

static void test_bypass_sys_modules(void **state)
{
	expect_rules("import sys\nsys.modules['os'].system('id')\n", "introspection");
}

static void test_bypass_getattr_builtins(void **state)
{
	expect_rules("getattr(__builtins__, 'ev' + 'al')('1')\n", "computed-getattr,introspection");
}

static void test_bypass_post_init_globals(void **state)
{
	json_t *arr = validate("def convert_file(self, file_path, args):\n"
			       "    return args.__class__.__post_init__.__globals__['os']\n");

	assert_int_equal(json_array_size(arr), 1);
	assert_string_equal(str_of(finding(arr, 0), "rule"), "introspection");
	assert_int_equal(int_of(finding(arr, 0), "line"), 2);
	assert_int_equal(int_of(finding(arr, 0), "col"), 41); /* the attribute itself */
	json_decref(arr);
}

/* More of the same family, found while building the rules. */
static void test_bypass_relatives(void **state)
{
	expect_rules("import shutil\nshutil.os.system('id')\n", "blocked-import");
	expect_rules("import tempfile\ntempfile._os.system('id')\n", "introspection");
	expect_rules("import shutil\nm = getattr(shutil, 'os')\n", "computed-getattr");
	expect_rules("import os\nf = getattr(os, 'system')\n", "blocked-import");
	expect_rules("e = eval\ne('1')\n", "dangerous-call,dangerous-call");
	expect_rules("from re import compile\ndel compile\ncompile('1', 'f', 'eval')\n",
		     "dangerous-call");
	expect_rules("__package__ = 'os'\nfrom . import system\n", "relative-import");
	expect_rules("from os import *\n", "blocked-import");
	expect_rules("from json import *\n", "star-import");
	expect_rules("import importlib\nimportlib.import_module('os')\n", "dynamic-import");
	expect_rules("__import__('os')\n", "dynamic-import");
	expect_rules("().__class__.__base__.__subclasses__()\n", "introspection,introspection");
	expect_rules("globals()\n", "introspection");
	expect_rules("vars()\n", "introspection");
	expect_rules("def f(o, n):\n    return setattr(o, n, 1)\n", "computed-getattr");
	expect_rules("def f(o):\n    return getattr(o, '__dict__')\n", "computed-getattr");
	expect_rules("import asyncio\nasyncio.create_subprocess_shell('id')\n", "dangerous-call");
	expect_rules("import pickle\npickle.loads(b'')\n", "dangerous-call");
	expect_rules("import marshal\nmarshal.loads(b'')\n", "dangerous-call");
	expect_rules("import pty\npty.spawn('sh')\n", "dangerous-call");
	expect_rules("import _posixsubprocess\n", "dangerous-call");
	expect_rules("import multiprocessing\n", "blocked-import");
	expect_rules("import socket\n", "blocked-import");
	expect_rules("import ctypes.util\n", "blocked-import");
}

/* Strings run as code, objects resolved by name: other doors to eval and import. */
static void test_bypass_string_doors(void **state)
{
	expect_rules("import typing\ntyping.get_type_hints(f)\n", "dangerous-call");
	expect_rules("import logging.config\n", "dynamic-import");
	expect_rules("from pydoc import locate\n", "dynamic-import");
	expect_rules("import timeit\n", "dangerous-call");
	expect_rules("b = locals()['__builtins__']\n", "introspection,introspection");
	expect_rules("def f(loop):\n    return loop.subprocess_exec(p, 'id')\n", "dangerous-call");
	expect_rules("def f(d):\n    return d['__globals__']\n", "introspection");
	expect_rules("def f(o):\n    return getattr(o, '__globals__')\n", "introspection");
}

/* ------------------------------------------------------------------ */
/* What is not a finding                                               */

static void test_honest_constructs(void **state)
{
	expect_rules("import csv, json, re, zipfile, tempfile, logging, os, os.path\n"
		     "import xml.etree.ElementTree as ET\n"
		     "from pathlib import Path\n"
		     "from datetime import datetime, timezone\n"
		     "from dataclasses import dataclass, field\n"
		     "from enum import Enum\n"
		     "PATTERN = re.compile(r'\\d+')\n"
		     "log = logging.getLogger(__name__)\n"
		     "class Status(Enum):\n"
		     "    OK = 'success'\n"
		     "@dataclass\n"
		     "class R:\n"
		     "    steps: list = field(default_factory=list)\n"
		     "class C:\n"
		     "    def convert_file(self, file_path, args):\n"
		     "        text = Path(file_path).read_text()\n"
		     "        with open(file_path) as f:\n"
		     "            rows = list(csv.reader(f))\n"
		     "        data = json.loads(text or '{}')\n"
		     "        names = os.listdir(os.path.dirname(file_path))\n"
		     "        with zipfile.ZipFile(file_path) as z, tempfile.TemporaryDirectory() "
		     "as t:\n"
		     "            z.extractall(t)\n"
		     "        root = ET.fromstring(text)\n"
		     "        stamp = datetime.now(timezone.utc).isoformat()\n"
		     "        name = type(self).__name__ + self.__class__.__name__\n"
		     "        super().__init__()\n"
		     "        return {'status': Status.OK.value, 'n': getattr(args, 'get', None)}\n"
		     "import typing\n"
		     "Maybe = typing.Optional[int]\n"
		     "logging.getLogger('x').info('%s', {'key': 1}['key'])\n"
		     "if __name__ == '__main__':\n"
		     "    print(json.dumps({}))\n",
		     "");
}

static void test_compile_attribute_vs_bare(void **state)
{
	expect_rules("import re\nr = re.compile('x')\n", "");
	expect_rules("r = compile('x', 'f', 'exec')\n", "dangerous-call");
	expect_rules("from re import compile\nr = compile('x')\n", "");
	expect_rules("class P:\n    def compile(self):\n        return self.compile()\n", "");
}

static void test_columns_count_code_points(void **state)
{
	json_t *arr = validate("s = \"é\"; eval('1')\n");

	assert_int_equal(int_of(finding(arr, 0), "col"), 10);
	json_decref(arr);
	/* CPython 3.11 counts some syntax error offsets in bytes: only clamped to the line */
	arr = validate("é = (1,\n");
	assert_string_equal(str_of(finding(arr, 0), "rule"), "syntax-error");
	assert_true(int_of(finding(arr, 0), "col") >= 5 && int_of(finding(arr, 0), "col") <= 8);
	json_decref(arr);
	arr = validate("a = 1\r\nb = 2\rc = eval('3')\n");
	assert_int_equal(int_of(finding(arr, 0), "line"), 3);
	assert_int_equal(int_of(finding(arr, 0), "col"), 5);
	json_decref(arr);
}

static void test_python_warning_is_a_warning(void **state)
{
	json_t *arr = validate("import re\nP = re.compile('\\d+')\n");
	char *text = json_dumps(arr, 0);

	assert_int_equal(json_array_size(arr), 1);
	assert_string_equal(str_of(finding(arr, 0), "rule"), "python-warning");
	assert_string_equal(str_of(finding(arr, 0), "severity"), "warning");
	assert_int_equal(int_of(finding(arr, 0), "line"), 2);
	assert_int_equal(cvb_validate_count_errors(text), 0);
	free(text);
	json_decref(arr);
}

/* ------------------------------------------------------------------ */
/* Options                                                             */

static void test_blocked_list_is_taken_literally(void **state)
{
	static const char *const custom[] = {"requests", "os.exec*", "xml.dom"};
	struct cvb_validate_opts none = {0}, mine = {custom, 3, NULL, 0, 0, NULL, 0};

	/* No configurable block list: the fixed tables still apply. */
	expect_rules_opts("import subprocess\nimport socket\n", &none,
			  "dangerous-call,dangerous-call");
	expect_rules_opts("import os\nos.system('x')\n", &none, "dangerous-call");
	expect_rules_opts("import requests\nrequests.get('u')\n", &none, "");
	expect_rules_opts("import requests\nrequests.get('u')\n", &mine,
			  "blocked-import,blocked-import");
	expect_rules_opts("import os\nos.execl('/bin/true', 'true')\n", &mine, "blocked-import");
	expect_rules_opts("from xml.dom import minidom\n", &mine, "blocked-import");
	expect_rules_opts("import xml.etree.ElementTree\n", &mine, "");
}

/* A granted capability lifts exactly what it needs, and nothing else. */
static void test_capability_lifts(void **state)
{
	struct cvb_validate_opts shell = default_opts, net = default_opts;
	shell.lifted = cvb_cap_lifted_names(CVB_CAP_SHELL_EXECUTE);
	while (shell.lifted[shell.n_lifted])
		shell.n_lifted++;
	net.lifted = cvb_cap_lifted_names(CVB_CAP_NETWORK_FULL);
	while (net.lifted[net.n_lifted])
		net.n_lifted++;
	const char *sub = "import subprocess\nsubprocess.run(['/bin/sh', '-c', 'true'])\n";
	const char *sock = "import socket\nsocket.create_connection(('127.0.0.1', 1))\n";
	expect_rules(sub, "blocked-import,blocked-import");
	expect_rules_opts(sub, &shell, "");
	expect_rules_opts("import os\nos.system('true')\nos.execv('/bin/true', ['true'])\n", &shell,
			  "");
	expect_rules_opts(sub, &net, "blocked-import,blocked-import");
	expect_rules(sock, "blocked-import,blocked-import");
	expect_rules_opts(sock, &net, "");
	expect_rules_opts(sock, &shell, "blocked-import,blocked-import");
	/* lifting never opens the rest of the tables */
	expect_rules_opts("import ctypes\neval('1')\n", &shell, "blocked-import,dangerous-call");
}

static void test_allowlist(void **state)
{
	static const char *const allowed[] = {"json", "csv", "xml", "pathlib"};
	struct cvb_validate_opts opts = default_opts;

	opts.allowed_imports = allowed;
	opts.n_allowed = 4;
	expect_rules_opts("import json, csv\nimport xml.etree.ElementTree as ET\n"
			  "from pathlib import Path\nfrom __future__ import annotations\n",
			  &opts, "");
	expect_rules_opts("import zipfile\n", &opts, "import-not-allowed");
	expect_rules_opts("from datetime import datetime\n", &opts, "import-not-allowed");
	expect_rules_opts("import jsonschema\n", &opts, "import-not-allowed");
}

static void test_count_errors(void **state)
{
	assert_int_equal(cvb_validate_count_errors("[]"), 0);
	assert_int_equal(cvb_validate_count_errors("[{\"severity\":\"error\"},{\"severity\":"
						   "\"warning\"},{\"severity\":\"error\"}]"),
			 2);
	assert_int_equal(cvb_validate_count_errors("{}"), -1);
	assert_int_equal(cvb_validate_count_errors("[1]"), -1);
	assert_int_equal(cvb_validate_count_errors("not json"), -1);
	assert_int_equal(cvb_validate_count_errors(NULL), -1);
	assert_int_equal(cvb_findings_count_errors("[1]"), -1);
}

/* Every rule the validator can emit is documented on the host side, and the other way round. */
static void test_rule_catalogue(void **state)
{
	size_t n, i;
	const struct cvb_validate_rule *rules = cvb_validate_rules(&n);

	assert_true(n >= 15);
	for (i = 0; i < n; i++) {
		if (!cvb_findings_rule_description(rules[i].id))
			fail_msg("rule %s has no host description", rules[i].id);
		assert_true(!strcmp(rules[i].severity, "error") ||
			    !strcmp(rules[i].severity, "warning") ||
			    !strcmp(rules[i].severity, "note"));
		assert_true(strlen(rules[i].message) > 0 && strlen(rules[i].hint) > 0);
	}
	assert_null(cvb_findings_rule_description("no-such-rule"));
}

/* ------------------------------------------------------------------ */
/* Reference counts: validating again and again leaks nothing          */

static long allocated_blocks(void)
{
	PyObject *fn = PySys_GetObject("getallocatedblocks"); /* borrowed */
	PyObject *r = fn ? PyObject_CallNoArgs(fn) : NULL;
	long n = r ? PyLong_AsLong(r) : -1;

	Py_XDECREF(r);
	assert_true(n > 0);
	return n;
}

static Py_ssize_t tracked_objects(void)
{
	PyObject *gc = PyImport_ImportModule("gc");
	PyObject *all = gc ? PyObject_CallMethod(gc, "get_objects", NULL) : NULL;
	Py_ssize_t n = all ? PyList_Size(all) : -1;

	Py_XDECREF(all);
	Py_XDECREF(gc);
	assert_true(n > 0);
	return n;
}

static void run_many(const char *src, size_t len, int times)
{
	int i;

	for (i = 0; i < times; i++) {
		char err[128], *json = NULL;

		assert_int_equal(cvb_validate_source(src, len, "leak.py", &default_opts, &json, err,
						     sizeof(err)),
				 0);
		free(json);
	}
}

/* Growth of pymalloc blocks over `runs` validations, after a full collection. */
static long block_growth(const char *src, int runs)
{
	long before;

	PyGC_Collect();
	before = allocated_blocks();
	run_many(src, strlen(src), runs);
	PyGC_Collect();
	return allocated_blocks() - before;
}

static void test_no_reference_leaks(void **state)
{
	static const char *const sources[] = {
	    "import os as o\nimport sys\nfrom re import compile\no.system('x')\n"
	    "sys.modules['os']\ngetattr(__builtins__, 'ev' + 'al')\nx = o\n"
	    "class C:\n    def f(self, a):\n        return a.__class__.__globals__\n",
	    "x = (1,\n",
	    "import re\nP = re.compile('\\d')\n",
	    "# coding: latin-1\nx = 1\n",
	    "x = "
	    "----------------------------------------"
	    "1\n",
	};
	size_t i;
	Py_ssize_t before;
	long g1, g2;

	for (i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		run_many(sources[i], strlen(sources[i]), 20);
		/* exact: GC-tracked objects (trees, exceptions, lists) */
		PyGC_Collect();
		before = tracked_objects();
		run_many(sources[i], strlen(sources[i]), 10);
		PyGC_Collect();
		assert_true(tracked_objects() <= before);
		/*
		 * everything else, strings included: pymalloc caches settle
		 * slowly and boundedly, so a leak is growth in two windows in
		 * a row (one object per run would be 300 in each)
		 */
		g1 = block_growth(sources[i], 300);
		g2 = block_growth(sources[i], 300);
		if (g1 >= 100 && g2 >= 100)
			fail_msg("source %zu: %ld then %ld more blocks after 300 runs", i, g1, g2);
	}
}

/* ------------------------------------------------------------------ */
/* Corpora                                                             */

static void test_honest_corpus_is_clean(void **state)
{
	char dir[4096], path[4096 + 512], got[4096];
	struct dirent *de;
	size_t files = 0, len;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/tests/corpus/honest", source_dir());
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		char *src;
		json_t *arr;

		if (!has_py_suffix(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		src = read_file(path, &len);
		arr = validate_n(src, len, &default_opts);
		if (json_array_size(arr))
			fail_msg("%s: honest converter has findings: %s", de->d_name,
				 rule_list(arr, got, sizeof(got)));
		json_decref(arr);
		free(src);
		files++;
	}
	closedir(d);
	assert_true(files >= 30);
}

/* "# expect: a,b" on the first line, sorted into buf. */
static const char *expected_rules(const char *src, char *buf, size_t len)
{
	const char *ids[64];
	char line[1024], *tok, *save = NULL;
	size_t n = 0, i;

	if (strncmp(src, "# expect: ", 10))
		return NULL;
	snprintf(line, sizeof(line), "%.*s", (int)strcspn(src + 10, "\n"), src + 10);
	for (tok = strtok_r(line, ",", &save); tok && n < 64; tok = strtok_r(NULL, ",", &save))
		ids[n++] = tok;
	qsort(ids, n, sizeof(ids[0]), cmp_str);
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		strncat(buf, ids[i], len - strlen(buf) - 1);
		if (i + 1 < n)
			strncat(buf, ",", len - strlen(buf) - 1);
	}
	return buf;
}

static void test_hostile_corpus_gives_exactly_the_expected_rules(void **state)
{
	char dir[4096], path[4096 + 512], want[1024], got[4096];
	struct dirent *de;
	size_t files = 0, len, bad = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/tests/corpus/validator", source_dir());
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		char *src;
		json_t *arr;

		if (strncmp(de->d_name, "bad_", 4) || !has_py_suffix(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		src = read_file(path, &len);
		if (!expected_rules(src, want, sizeof(want)))
			fail_msg("%s: no '# expect:' first line", de->d_name);
		arr = validate_n(src, len, &default_opts);
		if (strcmp(rule_list(arr, got, sizeof(got)), want)) {
			print_error("%s: expected [%s], got [%s]\n", de->d_name, want, got);
			bad++;
		}
		json_decref(arr);
		free(src);
		files++;
	}
	closedir(d);
	assert_int_equal(bad, 0);
	assert_true(files >= 40);
}

/* ------------------------------------------------------------------ */
/* Formatter                                                           */

static const char sample_findings[] =
    "[{\"rule\":\"blocked-import\",\"severity\":\"error\",\"line\":3,\"col\":8,"
    "\"message\":\"import of subprocess: blocked\",\"hint\":\"remove it\"},"
    "{\"rule\":\"star-import\",\"severity\":\"warning\",\"line\":5,\"col\":1,"
    "\"message\":\"star import from json\",\"hint\":\"\"}]";

static void test_format_text(void **state)
{
	char *out = NULL;

	assert_int_equal(cvb_findings_format(sample_findings, "conv/a.py", CVB_FINDINGS_TEXT, &out),
			 0);
	assert_string_equal(out, "conv/a.py:3:8: error[blocked-import]: import of subprocess: "
				 "blocked (remove it)\n"
				 "conv/a.py:5:1: warning[star-import]: star import from json\n");
	free(out);
	assert_int_equal(cvb_findings_format("[]", "clean.py", CVB_FINDINGS_TEXT, &out), 0);
	assert_string_equal(out, "");
	free(out);
}

/* Messages come from the runner: no terminal control sequences get through. */
static void test_format_text_is_terminal_safe(void **state)
{
	static const char hostile[] =
	    "[{\"rule\":\"x\",\"severity\":\"error\",\"line\":1,\"col\":1,"
	    "\"message\":\"a\\u001b[2Jb\\nc\\u009bd\\u202ee\",\"hint\":\"h\\r\"}]";
	char *out = NULL;

	assert_int_equal(cvb_findings_format(hostile, "f\x1b.py", CVB_FINDINGS_TEXT, &out), 0);
	assert_string_equal(out, "f?.py:1:1: error[x]: a?[2Jb?c?d?e (h?)\n");
	free(out);
}

static void test_format_rejects_malformed(void **state)
{
	static const char *const bad[] = {
	    "{}",
	    "[1]",
	    "[{\"rule\":\"Bad Rule\",\"severity\":\"error\",\"line\":1,\"col\":1,\"message\":"
	    "\"m\"}]",
	    "[{\"rule\":\"r\",\"severity\":\"fatal\",\"line\":1,\"col\":1,\"message\":\"m\"}]",
	    "[{\"rule\":\"r\",\"severity\":\"error\",\"line\":-1,\"col\":1,\"message\":\"m\"}]",
	    "[{\"rule\":\"r\",\"severity\":\"error\",\"line\":1,\"col\":1}]",
	    "[{\"rule\":\"r\",\"severity\":\"error\",\"line\":1,\"col\":1,\"message\":"
	    "\"a\\u0000b\"}]",
	    "[{\"rule\":\"r\",\"severity\":\"error\",\"line\":\"1\",\"col\":1,\"message\":\"m\"}]",
	    "not json",
	};
	char *out = (char *)1;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cvb_findings_format(bad[i], "f.py", CVB_FINDINGS_JSON, &out),
				 -EINVAL);
		assert_null(out);
		assert_int_equal(cvb_findings_count_errors(bad[i]), -1);
	}
	assert_int_equal(cvb_findings_format_parse("xml", &(enum cvb_findings_format){0}), -EINVAL);
}

static void test_format_json(void **state)
{
	char *out = NULL;
	json_t *arr;

	assert_int_equal(cvb_findings_format(sample_findings, "a.py", CVB_FINDINGS_JSON, &out), 0);
	arr = json_loads(out, 0, NULL);
	assert_true(json_is_array(arr));
	assert_int_equal(json_array_size(arr), 2);
	assert_string_equal(str_of(finding(arr, 0), "file"), "a.py");
	assert_string_equal(str_of(finding(arr, 0), "rule"), "blocked-import");
	assert_int_equal(int_of(finding(arr, 0), "line"), 3);
	assert_int_equal(int_of(finding(arr, 1), "col"), 1);
	json_decref(arr);
	free(out);
}

static void test_format_sarif(void **state)
{
	char *out = NULL;
	json_t *root, *run, *rules, *res, *loc;

	assert_int_equal(
	    cvb_findings_format(sample_findings, "dir with space/a.py", CVB_FINDINGS_SARIF, &out),
	    0);
	root = json_loads(out, 0, NULL);
	assert_non_null(root);
	assert_string_equal(str_of(root, "version"), "2.1.0");
	assert_non_null(strstr(str_of(root, "$schema"), "sarif-schema-2.1.0.json"));
	assert_int_equal(json_array_size(json_object_get(root, "runs")), 1);
	run = json_array_get(json_object_get(root, "runs"), 0);
	assert_string_equal(str_of(json_object_get(json_object_get(run, "tool"), "driver"), "name"),
			    "convbox");
	rules = json_object_get(json_object_get(json_object_get(run, "tool"), "driver"), "rules");
	assert_int_equal(json_array_size(rules), 2);
	assert_string_equal(str_of(json_array_get(rules, 0), "id"), "blocked-import");
	assert_string_equal(
	    str_of(json_object_get(json_array_get(rules, 0), "shortDescription"), "text"),
	    cvb_findings_rule_description("blocked-import"));
	res = json_array_get(json_object_get(run, "results"), 1);
	assert_string_equal(str_of(res, "ruleId"), "star-import");
	assert_int_equal(int_of(res, "ruleIndex"), 1);
	assert_string_equal(str_of(res, "level"), "warning");
	loc = json_object_get(json_array_get(json_object_get(res, "locations"), 0),
			      "physicalLocation");
	assert_string_equal(str_of(json_object_get(loc, "artifactLocation"), "uri"),
			    "dir%20with%20space/a.py");
	assert_int_equal(int_of(json_object_get(loc, "region"), "startLine"), 5);
	assert_int_equal(int_of(json_object_get(loc, "region"), "startColumn"), 1);
	json_decref(root);
	free(out);
}

static void test_doc_many_files(void **state)
{
	struct cvb_findings_doc *doc = cvb_findings_doc_new(CVB_FINDINGS_SARIF);
	char *out = NULL;
	json_t *root, *run;

	assert_non_null(doc);
	assert_int_equal(cvb_findings_doc_add(doc, "a.py", sample_findings), 0);
	assert_int_equal(cvb_findings_doc_add(doc, "clean.py", "[]"), 0);
	assert_int_equal(cvb_findings_doc_add_unreadable(doc, "gone.py", ENOENT), 0);
	assert_int_equal(cvb_findings_doc_add(doc, "bad.py", "[1]"), -EINVAL);
	assert_int_equal(cvb_findings_doc_files(doc), 3);
	assert_int_equal(cvb_findings_doc_errors(doc), 2);
	assert_int_equal(cvb_findings_doc_render(doc, &out), 0);
	root = json_loads(out, 0, NULL);
	run = json_array_get(json_object_get(root, "runs"), 0);
	assert_int_equal(json_array_size(json_object_get(run, "results")), 3);
	assert_int_equal(json_array_size(json_object_get(run, "artifacts")), 3);
	assert_int_equal(json_array_size(json_object_get(
			     json_object_get(json_object_get(run, "tool"), "driver"), "rules")),
			 3);
	/* the unreadable file has no region */
	assert_null(json_object_get(
	    json_object_get(
		json_array_get(json_object_get(json_array_get(json_object_get(run, "results"), 2),
					       "locations"),
			       0),
		"physicalLocation"),
	    "region"));
	json_decref(root);
	free(out);
	cvb_findings_doc_free(doc);
}

/* End to end: validator output through the formatter. */
static void test_validator_output_formats(void **state)
{
	char err[128], *json = NULL, *out = NULL;
	enum cvb_findings_format fmt;

	assert_int_equal(cvb_validate_source("import os as o\no.system('x')\n", 29, "c.py",
					     &default_opts, &json, err, sizeof(err)),
			 0);
	assert_int_equal(cvb_findings_format_parse("text", &fmt), 0);
	assert_int_equal(cvb_findings_format(json, "c.py", fmt, &out), 0);
	assert_string_equal(out, "c.py:2:1: error[blocked-import]: os.system (written o.system): "
				 "blocked by the configuration (remove it; converters need only "
				 "the standard library's file and text modules)\n");
	free(out);
	assert_int_equal(cvb_findings_format_parse("sarif", &fmt), 0);
	assert_int_equal(cvb_findings_format(json, "c.py", fmt, &out), 0);
	free(out);
	free(json);
}

/* Non-UTF-8 file names are legal: the formatter replaces what JSON cannot carry. */
static void test_format_odd_path(void **state)
{
	char *out = NULL;

	assert_int_equal(
	    cvb_findings_format(sample_findings, "caf\xe9.py", CVB_FINDINGS_JSON, &out), 0);
	assert_non_null(strstr(out, "caf?.py"));
	free(out);
}

/* ------------------------------------------------------------------ */

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ref_blocked_import),
	    cmocka_unit_test(test_ref_blocked_from_import),
	    cmocka_unit_test(test_ref_eval),
	    cmocka_unit_test(test_ref_syntax_error),
	    cmocka_unit_test(test_ref_malicious_two_findings),
	    cmocka_unit_test(test_ref_empty_is_clean),
	    cmocka_unit_test(test_ref_unicode_is_clean),
	    cmocka_unit_test(test_ref_hundred_methods_is_clean),
	    cmocka_unit_test(test_ref_missing_file),
	    cmocka_unit_test(test_nul_bytes),
	    cmocka_unit_test(test_not_utf8),
	    cmocka_unit_test(test_encoding_declaration),
	    cmocka_unit_test(test_garbage_bytes),
	    cmocka_unit_test(test_parse_limit),
	    cmocka_unit_test(test_bad_arguments),
	    cmocka_unit_test(test_pending_exception_kept),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_bypass_import_alias),
	    cmocka_unit_test(test_bypass_os_execv),
	    cmocka_unit_test(test_bypass_posix_system),
	    cmocka_unit_test(test_bypass_shutil_rmtree),
	    cmocka_unit_test(test_bypass_sys_modules),
	    cmocka_unit_test(test_bypass_getattr_builtins),
	    cmocka_unit_test(test_bypass_post_init_globals),
	    cmocka_unit_test(test_bypass_relatives),
	    cmocka_unit_test(test_bypass_string_doors),
	    cmocka_unit_test(test_honest_constructs),
	    cmocka_unit_test(test_compile_attribute_vs_bare),
	    cmocka_unit_test(test_columns_count_code_points),
	    cmocka_unit_test(test_python_warning_is_a_warning),
	    cmocka_unit_test(test_blocked_list_is_taken_literally),
	    cmocka_unit_test(test_capability_lifts),
	    cmocka_unit_test(test_allowlist),
	    cmocka_unit_test(test_count_errors),
	    cmocka_unit_test(test_rule_catalogue),
	    cmocka_unit_test(test_no_reference_leaks),
	    cmocka_unit_test(test_honest_corpus_is_clean),
	    cmocka_unit_test(test_hostile_corpus_gives_exactly_the_expected_rules),
	    cmocka_unit_test(test_format_text),
	    cmocka_unit_test(test_format_text_is_terminal_safe),
	    cmocka_unit_test(test_format_rejects_malformed),
	    cmocka_unit_test(test_format_json),
	    cmocka_unit_test(test_format_sarif),
	    cmocka_unit_test(test_doc_many_files),
	    cmocka_unit_test(test_validator_output_formats),
	    cmocka_unit_test(test_format_odd_path),
	};
	int failed;

	if (cvb_validate_init_python()) {
		fprintf(stderr, "cannot initialise the embedded interpreter\n");
		return 1;
	}
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	Py_FinalizeEx();
	return failed;
}
