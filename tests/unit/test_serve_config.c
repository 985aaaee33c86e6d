/*
 * Unit tests for the configuration of `convbox serve`
 * (include/convbox/serve.h): the bundled example parses to what it says,
 * defaults, relative paths, per-converter sandbox settings over the global
 * block, and a table of broken configurations, each of which must be
 * refused with an error naming the key path.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "convbox/serve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse(const char *text, struct cvb_serve_config *cfg, struct cvb_error *err)
{
	json_error_t je;
	json_t *root = json_loads(text, 0, &je);
	if (!root)
		fail_msg("test JSON does not parse: %s: %s", je.text, text);
	int rc = cvb_serve_config_parse(root, "/base/cfg", cfg, err);
	json_decref(root);
	return rc;
}

/* A minimal valid converter, with `extra` members appended. */
static char *one_converter(const char *top, const char *extra)
{
	char *t = NULL;
	if (asprintf(&t,
		     "{\"reports_folder\": \"spool\"%s%s, \"converters\": [{\"name\": \"a\", "
		     "\"path\": \"a.py\", \"watch_folder\": \"in\"%s%s}]}",
		     *top ? ", " : "", top, *extra ? ", " : "", extra) < 0)
		return NULL;
	return t;
}

static void test_example_config(void **state)
{
	const char *src = getenv("CVB_SOURCE_DIR");
	char *path = NULL, *conv = NULL, *base = NULL;
	struct cvb_serve_config cfg;
	struct cvb_error err = {""};
	assert_non_null(src);
	assert_true(asprintf(&path, "%s/examples/serve/station.json", src) > 0);
	if (cvb_serve_config_load(path, &cfg, &err) < 0)
		fail_msg("%s", err.msg);
	char *real = realpath(src, NULL);
	assert_true(asprintf(&base, "%s/examples/serve", real) > 0);
	assert_true(asprintf(&conv, "%s/examples/converters/csv_station.py", real) > 0);
	assert_string_equal(cfg.base_dir, base);
	assert_int_equal(cfg.workers, 2);
	assert_int_equal(cfg.n_conv, 3);
	assert_string_equal(cfg.machine_name, "STATION-01");
	const struct cvb_serve_converter *c = &cfg.conv[0];
	assert_string_equal(c->name, "csv-station");
	assert_string_equal(c->path, conv);
	assert_string_equal(c->class_name, "CsvStationConverter");
	assert_int_equal(c->priority, 2);
	assert_int_equal(c->post_action, CVB_POST_MOVE);
	assert_true(c->enabled);
	assert_false(c->opts.trusted);
	assert_int_equal(c->opts.jobs, 2);
	assert_true(c->opts.limits.timeout_s == 60);
	assert_non_null(strstr(c->opts.args_json, "\"revision\":\"B\""));
	assert_non_null(strstr(c->watch_folder, "/examples/serve/drop/csv"));
	assert_int_equal(cfg.conv[1].post_action, CVB_POST_ZIP);
	assert_true(cfg.conv[1].opts.limits.timeout_s == 120);
	assert_true(cfg.conv[1].opts.limits.cpu_s == 30); /* from the sandbox block */
	assert_false(cfg.conv[2].enabled);
	assert_int_equal(cvb_serve_config_check_files(&cfg, &err), 0);
	cvb_serve_config_clear(&cfg);
	free(real);
	free(base);
	free(conv);
	free(path);
}

static void test_defaults(void **state)
{
	struct cvb_serve_config cfg;
	struct cvb_error err = {""};
	char *t = one_converter("", "");
	assert_int_equal(parse(t, &cfg, &err), 0);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	assert_int_equal(cfg.workers, cpus > 64 ? 64 : cpus);
	assert_true(cfg.rescan_seconds == 5);
	assert_true(cfg.settle_seconds == 1);
	assert_true(cfg.suspend_retry_seconds == 60);
	assert_int_equal(cfg.max_suspend_retries, 5);
	assert_int_equal(cfg.max_attempts, 3);
	assert_string_equal(cfg.reports_folder, "/base/cfg/spool");
	const struct cvb_serve_converter *c = &cfg.conv[0];
	assert_string_equal(c->path, "/base/cfg/a.py");
	assert_string_equal(c->watch_folder, "/base/cfg/in");
	assert_string_equal(c->done_folder, "/base/cfg/in/Done");
	assert_string_equal(c->error_folder, "/base/cfg/in/Error");
	assert_int_equal(c->patterns.n, 1);
	assert_string_equal(c->patterns.v[0], "*");
	assert_int_equal(c->priority, 5);
	assert_int_equal(c->post_action, CVB_POST_MOVE);
	assert_true(c->enabled);
	assert_null(c->class_name);
	assert_null(c->opts.args_json);
	assert_true(c->opts.blocked_imports.n > 0); /* the spec's list, never empty */
	assert_int_equal(c->opts.caps, cvb_caps_default());
	assert_null(cfg.machine_name);
	cvb_serve_config_clear(&cfg);
	free(t);
}

static void test_paths_resolved(void **state)
{
	struct cvb_serve_config cfg;
	struct cvb_error err = {""};
	const char *t =
	    "{\"reports_folder\": \"./out//spool/\", \"converters\": [{\"name\": \"a\", "
	    "\"path\": \"../conv/./a.py\", \"watch_folder\": \"/abs/in/\", "
	    "\"done_folder\": \"x/../done\", \"error_folder\": \"../../../../err\"}]}";
	assert_int_equal(parse(t, &cfg, &err), 0);
	assert_string_equal(cfg.reports_folder, "/base/cfg/out/spool");
	assert_string_equal(cfg.conv[0].path, "/base/conv/a.py");
	assert_string_equal(cfg.conv[0].watch_folder, "/abs/in");
	assert_string_equal(cfg.conv[0].done_folder, "/base/cfg/done");
	assert_string_equal(cfg.conv[0].error_folder, "/err");
	cvb_serve_config_clear(&cfg);
}

static void test_sandbox_layers(void **state)
{
	struct cvb_serve_config cfg;
	struct cvb_error err = {""};
	const char *t =
	    "{\"reports_folder\": \"s\", \"workers\": 3, \"sandbox\": {\"capabilities\": "
	    "[\"READ_INPUT\", \"LOG_DEBUG\"], \"resource_limits\": {\"memory_mb\": 256, "
	    "\"timeout_seconds\": 10}, \"blocked_imports\": [\"socket\"]}, \"converters\": ["
	    "{\"name\": \"a\", \"path\": \"a.py\", \"watch_folder\": \"in\"},"
	    "{\"name\": \"b\", \"path\": \"b.py\", \"watch_folder\": \"in2\", \"capabilities\": "
	    "[\"read_input\", \"FILE_TEMP\"], \"resource_limits\": {\"timeout_seconds\": 99}, "
	    "\"blocked_imports\": [\"ftplib\"], \"trusted_mode\": true, \"arguments\": {\"k\": "
	    "[1, 2]}, \"class\": \"B\", \"file_patterns\": [\"*.XML\", \"unit_?.txt\"]}]}";
	if (parse(t, &cfg, &err) < 0)
		fail_msg("%s", err.msg);
	const struct cvb_serve_converter *a = &cfg.conv[0], *b = &cfg.conv[1];
	assert_int_equal(a->opts.caps,
			 CVB_CAP_BIT(CVB_CAP_READ_INPUT) | CVB_CAP_BIT(CVB_CAP_LOG_DEBUG));
	assert_int_equal(b->opts.caps,
			 CVB_CAP_BIT(CVB_CAP_READ_INPUT) | CVB_CAP_BIT(CVB_CAP_FILE_TEMP));
	assert_int_equal(a->opts.limits.memory_mb, 256);
	assert_int_equal(b->opts.limits.memory_mb, 256);
	assert_true(a->opts.limits.timeout_s == 10);
	assert_true(b->opts.limits.timeout_s == 99);
	assert_true(cvb_strlist_has(&a->opts.blocked_imports, "socket"));
	assert_false(cvb_strlist_has(&b->opts.blocked_imports, "socket"));
	assert_true(cvb_strlist_has(&b->opts.blocked_imports, "ftplib"));
	assert_false(a->opts.trusted);
	assert_true(b->opts.trusted);
	assert_string_equal(b->opts.args_json, "{\"k\":[1,2]}");
	assert_string_equal(b->opts.class_name, "B");
	assert_string_equal(b->opts.converter_path, b->path);
	assert_int_equal(a->opts.jobs, 3);
	assert_true(cvb_serve_matches(b, "DATA.xml"));
	assert_true(cvb_serve_matches(b, "Unit_7.TXT"));
	assert_false(cvb_serve_matches(b, "unit_77.txt"));
	assert_false(cvb_serve_matches(b, "a.csv"));
	assert_true(cvb_serve_matches(a, "anything"));
	cvb_serve_config_clear(&cfg);
}

static void test_sandbox_disabled_means_trusted(void **state)
{
	struct cvb_serve_config cfg;
	struct cvb_error err = {""};
	char *t = one_converter("\"sandbox\": {\"enabled\": false, \"strict\": false}", "");
	assert_int_equal(parse(t, &cfg, &err), 0);
	assert_true(cfg.conv[0].opts.trusted);
	assert_true(cfg.conv[0].opts.allow_degraded);
	cvb_serve_config_clear(&cfg);
	free(t);
}

/* Each broken configuration and the key path its error must name. */
static const struct {
	const char *top, *conv, *expect;
} broken[] = {
    {"\"colour\": 1", "", "colour: unknown key (expected one of: sandbox, workers"},
    {"", "\"colour\": 1", "converters[0].colour: unknown key (expected one of: name, path"},
    {"\"workers\": 0", "", "workers: expected an integer 1..64"},
    {"\"workers\": 2.5", "", "workers: expected an integer 1..64"},
    {"\"workers\": \"4\"", "", "workers: expected an integer 1..64"},
    {"\"rescan_seconds\": 0", "", "rescan_seconds: expected a number 0.05..3600"},
    {"\"settle_seconds\": -1", "", "settle_seconds: expected a number"},
    {"\"max_suspend_retries\": 1001", "", "max_suspend_retries: expected an integer 0..1000"},
    {"\"machineName\": \"\"", "", "machineName: expected a string of 1..100"},
    {"\"location\": 5", "", "location: expected a string of 1..100"},
    {"\"purpose\": \"a\\nb\"", "", "purpose: expected a string of 1..100 printable"},
    {"\"sandbox\": []", "", "sandbox: expected an object"},
    {"\"sandbox\": {\"capabilities\": [\"FLY\"]}", "", "sandbox.capabilities[0]: unknown"},
    {"\"sandbox\": {\"resource_limits\": {\"timeout_seconds\": -1}}", "",
     "sandbox.resource_limits.timeout_seconds: expected a number"},
    {"\"sandbox\": {\"enabled\": \"yes\"}", "", "sandbox.enabled: expected true or false"},
    {"\"sandbox\": {\"blocked_imports\": {}}", "", "sandbox.blocked_imports: expected an array"},
    {"", "\"priority\": 11", "converters[0].priority: expected an integer 1..10"},
    {"", "\"priority\": 0", "converters[0].priority: expected an integer 1..10"},
    {"", "\"priority\": \"high\"", "converters[0].priority: expected an integer 1..10"},
    {"", "\"name\": \"\"", "converters[0].name: expected a string of 1..100"},
    {"", "\"path\": 3", "converters[0].path: expected a path"},
    {"", "\"watch_folder\": \"\"", "converters[0].watch_folder: expected a path"},
    {"", "\"class\": []", "converters[0].class: expected a string"},
    {"", "\"file_patterns\": []", "converters[0].file_patterns: expected a non-empty array"},
    {"", "\"file_patterns\": \"*.csv\"", "converters[0].file_patterns: expected a non-empty"},
    {"", "\"file_patterns\": [\"*.csv\", 7]", "converters[0].file_patterns[1]: expected a glob"},
    {"", "\"file_patterns\": [\"a/*.csv\"]", "converters[0].file_patterns[0]: expected a glob"},
    {"", "\"post_action\": \"burn\"", "converters[0].post_action: expected one of move, delete"},
    {"", "\"enabled\": 1", "converters[0].enabled: expected true or false"},
    {"", "\"trusted_mode\": \"yes\"", "converters[0].trusted_mode: expected true or false"},
    {"", "\"arguments\": [1]", "converters[0].arguments: expected an object"},
    {"", "\"capabilities\": [\"READ_INPUT\", \"FLY\"]", "converters[0].capabilities[1]: unknown"},
    {"", "\"capabilities\": [\"NETWORK_LOCAL\"]", "converters[0].capabilities[0]: NETWORK_LOCAL"},
    {"", "\"resource_limits\": {\"memory_mb\": 1}",
     "converters[0].resource_limits.memory_mb: expected an integer"},
    {"", "\"resource_limits\": {\"disk\": 1}", "converters[0].resource_limits.disk: unknown key"},
    {"", "\"blocked_imports\": [\"\"]", "converters[0].blocked_imports[0]: expected a module"},
    {"", "\"done_folder\": \"in\"",
     "converters[0].done_folder: is the watch_folder of "
     "converters[0]"},
    {"", "\"error_folder\": \"./in/\"", "converters[0].error_folder: is the watch_folder"},
    {"\"reports_folder\": \"in\"", "", "reports_folder: is the watch_folder of converters[0]"},
};

static void test_broken_configs(void **state)
{
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		struct cvb_serve_config cfg;
		struct cvb_error err = {""};
		char *t = one_converter(broken[i].top, broken[i].conv);
		if (broken[i].top[0] && strncmp(broken[i].top, "\"reports_folder\"", 16) == 0) {
			free(t);
			assert_true(asprintf(&t,
					     "{%s, \"converters\": [{\"name\": \"a\", \"path\": "
					     "\"a.py\", \"watch_folder\": \"in\"}]}",
					     broken[i].top) > 0);
		}
		if (parse(t, &cfg, &err) == 0)
			fail_msg("case %zu was accepted: %s", i, t);
		if (!strstr(err.msg, broken[i].expect))
			fail_msg("case %zu: error '%s' does not contain '%s'", i, err.msg,
				 broken[i].expect);
		cvb_serve_config_clear(&cfg);
		free(t);
	}
}

static void test_structure_errors(void **state)
{
	static const struct {
		const char *text, *expect;
	} cases[] = {
	    {"[]", "the top level must be a JSON object"},
	    {"{\"converters\": [{}]}", "reports_folder: required"},
	    {"{\"reports_folder\": \"s\"}", "converters: required"},
	    {"{\"reports_folder\": \"s\", \"converters\": []}", "converters: expected a non-empty"},
	    {"{\"reports_folder\": \"s\", \"converters\": {}}", "converters: expected a non-empty"},
	    {"{\"reports_folder\": \"s\", \"converters\": [{\"name\": \"a\", \"path\": \"a.py\", "
	     "\"watch_folder\": \"i\"}, 5]}",
	     "converters[1]: expected an object"},
	    {"{\"reports_folder\": \"s\", \"converters\": [{\"path\": \"a.py\", \"watch_folder\": "
	     "\"i\"}]}",
	     "converters[0].name: required"},
	    {"{\"reports_folder\": \"s\", \"converters\": [{\"name\": \"a\", \"watch_folder\": "
	     "\"i\"}]}",
	     "converters[0].path: required"},
	    {"{\"reports_folder\": \"s\", \"converters\": [{\"name\": \"a\", \"path\": \"a.py\"}]}",
	     "converters[0].watch_folder: required"},
	    {"{\"reports_folder\": \"s\", \"converters\": [{\"name\": \"a\", \"path\": \"a.py\", "
	     "\"watch_folder\": \"i\"}, {\"name\": \"b\", \"path\": \"b.py\", \"watch_folder\": "
	     "\"j\"}, {\"name\": \"c\", \"path\": \"c.py\", \"watch_folder\": \"k\", \"priority\": "
	     "42}]}",
	     "converters[2].priority: expected an integer 1..10"},
	    {"{\"reports_folder\": \"s\", \"converters\": [{\"name\": \"a\", \"path\": \"a.py\", "
	     "\"watch_folder\": \"i\"}, {\"name\": \"a\", \"path\": \"b.py\", \"watch_folder\": "
	     "\"j\"}]}",
	     "converters[1].name: 'a' is already the name of converters[0]"},
	    {"{\"reports_folder\": \"s\", \"converters\": [{\"name\": \"a\", \"path\": \"a.py\", "
	     "\"watch_folder\": \"i\"}, {\"name\": \"b\", \"path\": \"b.py\", \"watch_folder\": "
	     "\"j\", \"done_folder\": \"i\"}]}",
	     "converters[1].done_folder: is the watch_folder of converters[0]"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cvb_serve_config cfg;
		struct cvb_error err = {""};
		if (parse(cases[i].text, &cfg, &err) == 0)
			fail_msg("case %zu was accepted", i);
		if (!strstr(err.msg, cases[i].expect))
			fail_msg("case %zu: error '%s' does not contain '%s'", i, err.msg,
				 cases[i].expect);
		cvb_serve_config_clear(&cfg);
	}
}

static void test_load_errors(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = NULL, *p = NULL;
	struct cvb_serve_config cfg;
	struct cvb_error err = {""};
	assert_true(asprintf(&dir, "%s/cvb-cfg-XXXXXX", tmp && *tmp ? tmp : "/tmp") > 0);
	assert_non_null(mkdtemp(dir));
	assert_true(asprintf(&p, "%s/c.json", dir) > 0);
	FILE *f = fopen(p, "w");
	fputs("{\n  \"workers\": 2,\n  \"reports_folder\": \"s\",,\n}\n", f);
	fclose(f);
	assert_int_equal(cvb_serve_config_load(p, &cfg, &err), -1);
	assert_non_null(strstr(err.msg, ":3:"));
	f = fopen(p, "w");
	fputs("{\"reports_folder\": \"s\", \"converters\": [{\"name\": \"a\", \"path\": "
	      "\"missing.py\", \"watch_folder\": \"i\", \"priority\": 3}]}",
	      f);
	fclose(f);
	assert_int_equal(cvb_serve_config_load(p, &cfg, &err), 0);
	assert_int_equal(cvb_serve_config_check_files(&cfg, &err), -1);
	assert_non_null(strstr(err.msg, "converters[0].path: cannot read"));
	assert_non_null(strstr(err.msg, "missing.py"));
	cvb_serve_config_clear(&cfg);
	f = fopen(p, "w");
	fputs("{\"reports_folder\": \"s\", \"converters\": [{\"name\": \"a\", \"path\": "
	      "\"a.py\", \"watch_folder\": \"i\", \"priority\": 30}]}",
	      f);
	fclose(f);
	assert_int_equal(cvb_serve_config_load(p, &cfg, &err), -1);
	/* The file named first, then the key path. */
	assert_non_null(strstr(err.msg, "c.json: converters[0].priority: expected an integer"));
	unlink(p);
	rmdir(dir);
	free(p);
	free(dir);
}

static void test_post_action_names(void **state)
{
	assert_string_equal(cvb_post_action_name(CVB_POST_MOVE), "move");
	assert_string_equal(cvb_post_action_name(CVB_POST_DELETE), "delete");
	assert_string_equal(cvb_post_action_name(CVB_POST_ZIP), "zip");
	assert_string_equal(cvb_post_action_name(CVB_POST_KEEP), "keep");
	assert_null(cvb_post_action_name(CVB_POST_COUNT));
	assert_int_equal(cvb_post_action_parse("ZIP"), CVB_POST_ZIP);
	assert_int_equal(cvb_post_action_parse("archive"), -1);
}

static void test_key_tables(void **state)
{
	const char *help = NULL, *k;
	size_t n = 0;
	bool seen_priority = false;
	for (size_t i = 0; (k = cvb_serve_config_key(i, &help)); i++, n++)
		assert_true(help && *help);
	assert_true(n >= 10);
	for (size_t i = 0; (k = cvb_serve_converter_key(i, &help)); i++)
		seen_priority |= strcmp(k, "priority") == 0;
	assert_true(seen_priority);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_example_config),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_paths_resolved),
	    cmocka_unit_test(test_sandbox_layers),
	    cmocka_unit_test(test_sandbox_disabled_means_trusted),
	    cmocka_unit_test(test_broken_configs),
	    cmocka_unit_test(test_structure_errors),
	    cmocka_unit_test(test_load_errors),
	    cmocka_unit_test(test_post_action_names),
	    cmocka_unit_test(test_key_tables),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
