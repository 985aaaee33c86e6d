/*
 * Unit tests for the job spec's JSON form (include/convbox/jobspec.h): a
 * file name may be any bytes, JSON text only UTF-8.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "convbox/jobspec.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static struct cvb_jobspec spec_with(const char *name, const char *path)
{
	struct cvb_jobspec js;
	memset(&js, 0, sizeof(js));
	js.job_id = 7;
	js.mode = CVB_JOB_CONVERT;
	js.input_name = strdup(name);
	js.input_path = strdup(path);
	js.args_json = strdup("{\"k\":1}");
	js.converter_path = strdup("/conv/c.py");
	js.limits.timeout_s = 5;
	js.limits.cpu_s = 5;
	js.limits.memory_mb = 64;
	return js;
}

/* Names that are not UTF-8 arrive as the same bytes; UTF-8 ones as they were. */
static void test_paths_of_any_bytes(void **state)
{
	static const char *const names[] = {"plain.csv", "caf\xc3\xa9.csv", "bad\xff.csv",
					    "\x80\x81\xfe", "half\xc3.csv"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[64];
		snprintf(path, sizeof(path), "/drop/%s", names[i]);
		struct cvb_jobspec in = spec_with(names[i], path), out;
		char *text = cvb_jobspec_to_json(&in), err[128];
		assert_non_null(text);
		assert_int_equal(cvb_jobspec_from_json(text, &out, err, sizeof(err)), 0);
		assert_string_equal(out.input_name, names[i]);
		assert_string_equal(out.input_path, path);
		assert_string_equal(out.converter_path, "/conv/c.py");
		assert_int_equal(out.job_id, 7);
		cvb_jobspec_clear(&out);
		cvb_jobspec_clear(&in);
		free(text);
	}
}

/* A hex path that is not whole bytes, or holds a NUL, is refused with the spec. */
static void test_bad_hex_paths(void **state)
{
	static const char *const bad[] = {"6", "zz", "610062", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cvb_jobspec in = spec_with("x", "/x"), out;
		char *text = cvb_jobspec_to_json(&in), err[128];
		json_t *o = json_loads(text, 0, NULL);
		json_object_set_new(o, "input_name", json_pack("{s:s}", "hex", bad[i]));
		char *edited = json_dumps(o, JSON_COMPACT);
		int rc = cvb_jobspec_from_json(edited, &out, err, sizeof(err));
		if (bad[i][0]) {
			assert_int_equal(rc, -EINVAL);
			assert_non_null(strstr(err, "input_name is not a path"));
		} else {
			assert_int_equal(rc, 0);
			assert_string_equal(out.input_name, "");
		}
		cvb_jobspec_clear(&out);
		cvb_jobspec_clear(&in);
		free(edited);
		json_decref(o);
		free(text);
	}
}

/* For people: each byte that is not part of UTF-8 becomes U+FFFD, the rest stays. */
static void test_json_text(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"plain", "plain"},
	    {"caf\xc3\xa9", "caf\xc3\xa9"},
	    {"bad\xff.csv", "bad\xef\xbf\xbd.csv"},
	    {"half\xc3", "half\xef\xbf\xbd"},
	    {"\xe2\x82\xac\xe2\x82", "\xe2\x82\xac\xef\xbf\xbd\xef\xbf\xbd"},
	    {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* a surrogate: not UTF-8 */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *v = cvb_json_text(cases[i].in);
		assert_non_null(v);
		assert_string_equal(json_string_value(v), cases[i].out);
		json_decref(v);
	}
	json_t *none = cvb_json_text(NULL);
	assert_true(json_is_null(none));
	json_decref(none);
}

/* A name is cut between characters, never inside one. */
static void test_utf8_cut(void **state)
{
	static const struct {
		const char *in;
		size_t max, want;
	} cases[] = {
	    {"abc", 2, 2},
	    {"abc", 10, 3},
	    {"\xc3\xa9\xc3\xa9\xc3\xa9", 3, 2}, /* ééé: not after half an é */
	    {"\xc3\xa9\xc3\xa9\xc3\xa9", 4, 4},
	    {"\xe2\x82\xac", 2, 0},	    /* € is three bytes */
	    {"\xf0\x9f\x98\x80\x78", 4, 4}, /* an emoji, then x */
	    {"a\xff\x62", 2, 2},	    /* a byte that is not UTF-8 is one */
	    {"a\xc3", 2, 2},		    /* so is half a character at the end */
	    {"", 5, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(cvb_utf8_cut(cases[i].in, cases[i].max), cases[i].want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_paths_of_any_bytes),
	    cmocka_unit_test(test_bad_hex_paths),
	    cmocka_unit_test(test_json_text),
	    cmocka_unit_test(test_utf8_cut),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
