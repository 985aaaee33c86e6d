/* JSON configuration: the sandbox block, as a table of keys. */
#include "convbox/config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *cvb_config_read(const char *path, struct cvb_error *err)
{
	json_error_t e;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
	if (!root) {
		if (e.line <= 0)
			cvb_error_set(err, "cannot read config '%s': %s", path, e.text);
		else
			cvb_error_set(err, "%s:%d:%d: invalid JSON: %s", path, e.line, e.column,
				      e.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		cvb_error_set(err, "%s: the top level must be a JSON object", path);
		json_decref(root);
		return NULL;
	}
	return root;
}

const char *cvb_cap_unavailable(int cap)
{
	if (cap == CVB_CAP_NETWORK_LOCAL || cap == CVB_CAP_NETWORK_WATS)
		return "needs the network broker, which this version does not have yet; "
		       "grant NETWORK_FULL or leave it out";
	return NULL;
}

int cvb_config_parse_caps(json_t *arr, const char *where, cvb_caps *caps, struct cvb_error *err)
{
	size_t i;
	json_t *v;
	if (!json_is_array(arr))
		return cvb_error_set(err, "%s: expected an array of capability names", where);
	*caps = 0;
	json_array_foreach(arr, i, v)
	{
		int c = json_is_string(v) ? cvb_cap_parse(json_string_value(v)) : -1;
		if (c < 0)
			return cvb_error_set(err,
					     "%s[%zu]: unknown capability (expected one of "
					     "READ_INPUT, WRITE_OUTPUT, NETWORK_FULL, LOG_DEBUG, "
					     "LOG_INFO, LOG_WARNING, LOG_ERROR, FILE_TEMP, "
					     "SHELL_EXECUTE)",
					     where, i);
		if (cvb_cap_unavailable(c))
			return cvb_error_set(err, "%s[%zu]: %s %s", where, i, cvb_cap_name(c),
					     cvb_cap_unavailable(c));
		*caps |= CVB_CAP_BIT(c);
	}
	return 0;
}

struct limit_key {
	const char *key;
	bool integer;
	double min, max;
	size_t offset;
	const char *what;
};

#define LOFF(f) offsetof(struct cvb_limits, f)

static const struct limit_key limit_keys[] = {
    {"timeout_seconds", false, 0.001, 86400, LOFF(timeout_s), "wall-clock seconds"},
    {"cpu_time_seconds", false, 0.001, 86400, LOFF(cpu_s), "CPU seconds"},
    {"memory_mb", true, 16, 1 << 20, LOFF(memory_mb), "megabytes of address space"},
    {"max_output_size_mb", true, 1, 1 << 20, LOFF(max_output_mb), "megabytes of output"},
    {"max_open_files", true, 1, 1 << 20, LOFF(max_open_files), "open descriptors"},
    {"max_processes", true, 1, 4096, LOFF(max_procs), "processes and threads"},
    {"max_files", true, 1, 1 << 24, LOFF(max_files), "files in /output and /tmp"},
};

int cvb_config_apply_limits(json_t *obj, const char *where, struct cvb_limits *l,
			    struct cvb_error *err)
{
	const char *k;
	json_t *v;
	if (!json_is_object(obj))
		return cvb_error_set(err, "%s: expected an object", where);
	json_object_foreach(obj, k, v)
	{
		const struct limit_key *lk = NULL;
		for (size_t i = 0; i < sizeof(limit_keys) / sizeof(limit_keys[0]); i++)
			if (strcmp(limit_keys[i].key, k) == 0)
				lk = &limit_keys[i];
		if (!lk)
			return cvb_error_set(err, "%s.%s: unknown key", where, k);
		double d = json_number_value(v);
		if (!json_is_number(v) || (lk->integer && (!json_is_integer(v))) ||
		    !(d >= lk->min && d <= lk->max))
			return cvb_error_set(err, "%s.%s: expected %s (%s from %g to %g)", where, k,
					     lk->integer ? "an integer" : "a number", lk->what,
					     lk->min, lk->max);
		char *field = (char *)l + lk->offset;
		if (lk->integer)
			*(unsigned *)field = (unsigned)d;
		else
			*(double *)field = d;
	}
	return 0;
}

static int parse_list(json_t *arr, const char *where, struct cvb_strlist *out,
		      struct cvb_error *err)
{
	size_t i;
	json_t *v;
	if (!json_is_array(arr))
		return cvb_error_set(err, "%s: expected an array of module names", where);
	cvb_strlist_clear(out);
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v) || !json_string_length(v))
			return cvb_error_set(err, "%s[%zu]: expected a module name", where, i);
		cvb_strlist_push(out, json_string_value(v));
	}
	return 0;
}

int cvb_config_default_blocked(struct cvb_run_opts *opts)
{
	if (opts->blocked_imports.n > 0)
		return 0;
	const char *const *d = cvb_default_blocked_imports();
	size_t n = 0;
	while (d[n])
		n++;
	return cvb_strlist_copy(&opts->blocked_imports, d, n);
}

static const char *const sandbox_keys[] = {"enabled",	      "strict",		 "capabilities",
					   "resource_limits", "blocked_imports", "allowed_imports",
					   "native_modules",  "max_frame_mb",	 NULL};

static int check_keys(json_t *block, const char *where, struct cvb_error *err)
{
	const char *k;
	json_t *v;
	json_object_foreach(block, k, v)
	{
		bool known = false;
		for (const char *const *p = sandbox_keys; *p; p++)
			known |= strcmp(*p, k) == 0;
		if (!known)
			return cvb_error_set(err, "%s.%s: unknown key", where, k);
	}
	return 0;
}

static int apply_bool(json_t *block, const char *key, const char *where, bool *out, bool invert,
		      struct cvb_error *err)
{
	json_t *v = json_object_get(block, key);
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return cvb_error_set(err, "%s.%s: expected true or false", where, key);
	*out = json_is_true(v) != invert;
	return 0;
}

int cvb_config_apply_sandbox(json_t *block, const char *where, struct cvb_run_opts *opts,
			     struct cvb_error *err)
{
	char path[256];
	json_t *v;
	if (!json_is_object(block))
		return cvb_error_set(err, "%s: expected an object", where);
	if (check_keys(block, where, err) < 0 ||
	    apply_bool(block, "enabled", where, &opts->trusted, true, err) < 0 ||
	    apply_bool(block, "strict", where, &opts->allow_degraded, true, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s.capabilities", where);
	if ((v = json_object_get(block, "capabilities")) &&
	    cvb_config_parse_caps(v, path, &opts->caps, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s.resource_limits", where);
	if ((v = json_object_get(block, "resource_limits")) &&
	    cvb_config_apply_limits(v, path, &opts->limits, err) < 0)
		return -1;
	static const char *const lists[] = {"blocked_imports", "allowed_imports", "native_modules"};
	struct cvb_strlist *dst[] = {&opts->blocked_imports, &opts->allowed_imports,
				     &opts->native_modules};
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s.%s", where, lists[i]);
		if ((v = json_object_get(block, lists[i])) && parse_list(v, path, dst[i], err) < 0)
			return -1;
	}
	if ((v = json_object_get(block, "max_frame_mb"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 1024)
			return cvb_error_set(err, "%s.max_frame_mb: expected an integer 1..1024",
					     where);
		opts->max_frame = (uint32_t)json_integer_value(v) << 20;
	}
	return json_object_get(block, "blocked_imports") ? 0 : cvb_config_default_blocked(opts);
}
