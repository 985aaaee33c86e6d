/*
 * The configuration of `convbox serve`: two tables of keys (the top level
 * and one converter), each row saying how the value is checked, where it
 * goes and what it means. Every error names the key path and what is
 * expected; the sandbox keys go through convbox/config.h so `convbox run
 * --config` and `convbox serve` read them the same way.
 */
#include "convbox/config.h"
#include "convbox/serve.h"

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_TEXT 100 /* WATS limits station fields and names to 100 characters */

enum key_kind {
	K_INT,	      /* a whole number in [min, max], stored as unsigned */
	K_NUM,	      /* a number in [min, max] */
	K_TEXT,	      /* a string of 1..100 printable characters */
	K_PATH,	      /* a folder or file path, relative to the config file's folder */
	K_BOOL,	      /* true or false */
	K_PATTERNS,   /* a non-empty array of glob patterns */
	K_OBJECT,     /* any JSON object (the converter's arguments) */
	K_POST,	      /* move, delete, zip or keep */
	K_SANDBOX,    /* a key of the sandbox block, checked by convbox/config.h */
	K_CONVERTERS, /* the array of converters */
};

struct key {
	const char *key;
	enum key_kind kind;
	bool required;
	double min, max;
	size_t off; /* where the value goes, in the config or the converter struct */
	const char *help;
};

#define CFG(f)	offsetof(struct cvb_serve_config, f)
#define CONV(f) offsetof(struct cvb_serve_converter, f)
#define NONE	((size_t)-1)

static const struct key top_keys[] = {
    {"sandbox", K_SANDBOX, false, 0, 0, NONE,
     "default sandbox settings of every converter: enabled, strict, capabilities, "
     "resource_limits, blocked_imports, allowed_imports, native_modules, max_frame_mb"},
    {"workers", K_INT, false, 1, 64, CFG(workers),
     "conversions at once, all converters together (default: the number of CPUs)"},
    {"reports_folder", K_PATH, true, 0, 0, CFG(reports_folder),
     "the spool: every report is written here as <id>.queued"},
    {"machineName", K_TEXT, false, 0, 0, CFG(machine_name),
     "station name put into reports that do not set machineName"},
    {"location", K_TEXT, false, 0, 0, CFG(location), "put into reports that do not set location"},
    {"purpose", K_TEXT, false, 0, 0, CFG(purpose), "put into reports that do not set purpose"},
    {"rescan_seconds", K_NUM, false, 0.05, 3600, CFG(rescan_seconds),
     "look at every watch folder this often, in case an event was lost (default 5)"},
    {"settle_seconds", K_NUM, false, 0.01, 600, CFG(settle_seconds),
     "a file found by a look is complete when a second look this much later agrees "
     "(default 1)"},
    {"suspend_retry_seconds", K_NUM, false, 0.01, 86400, CFG(suspend_retry_seconds),
     "retry a Suspended conversion after this long when it gives no retry_after (default 60)"},
    {"max_suspend_retries", K_INT, false, 0, 1000, CFG(max_suspend_retries),
     "a file suspended more often than this goes to Error (default 5)"},
    {"max_attempts", K_INT, false, 1, 100, CFG(max_attempts),
     "conversions lost to a sandbox failure before the file goes to Error (default 3)"},
    {"shutdown_grace_seconds", K_NUM, false, 0, 3600, CFG(shutdown_grace_seconds),
     "on SIGTERM, wait this long for running conversions; the rest resume at the next "
     "start (default 30)"},
    {"converters", K_CONVERTERS, true, 0, 0, NONE, "the converters, an array of objects"},
};

static const struct key conv_keys[] = {
    {"name", K_TEXT, true, 0, 0, CONV(name), "unique name, shown in logs and error files"},
    {"path", K_PATH, true, 0, 0, CONV(path), "the converter's Python file"},
    {"class", K_TEXT, false, 0, 0, CONV(class_name),
     "the converter class (default: the one class with convert_file or convert)"},
    {"watch_folder", K_PATH, true, 0, 0, CONV(watch_folder), "the drop folder to watch"},
    {"done_folder", K_PATH, false, 0, 0, CONV(done_folder),
     "where converted files are moved (default <watch_folder>/Done)"},
    {"error_folder", K_PATH, false, 0, 0, CONV(error_folder),
     "where failed files go, each with <name>.error.json (default <watch_folder>/Error)"},
    {"file_patterns", K_PATTERNS, false, 0, 0, CONV(patterns),
     "case-insensitive globs on the file name (default [\"*\"])"},
    {"priority", K_INT, false, 1, 10, CONV(priority), "1 (first) to 10 (last), default 5"},
    {"arguments", K_OBJECT, false, 0, 0, NONE, "the converter's args, a JSON object"},
    {"post_action", K_POST, false, 0, 0, CONV(post_action),
     "after a conversion: move (default), delete, zip or keep; the converter's result may "
     "choose another"},
    {"enabled", K_BOOL, false, 0, 0, CONV(enabled), "false: the converter is not run"},
    {"trusted_mode", K_BOOL, false, 0, 0, NONE, "true: run without the sandbox"},
    {"capabilities", K_SANDBOX, false, 0, 0, NONE, "replaces the sandbox block's capabilities"},
    {"resource_limits", K_SANDBOX, false, 0, 0, NONE,
     "overrides the sandbox block's limits, key by key"},
    {"blocked_imports", K_SANDBOX, false, 0, 0, NONE, "replaces the blocked imports"},
    {"allowed_imports", K_SANDBOX, false, 0, 0, NONE, "replaces the validator's allowlist"},
    {"native_modules", K_SANDBOX, false, 0, 0, NONE, "native modules this converter may import"},
};

#define N_TOP  (sizeof(top_keys) / sizeof(top_keys[0]))
#define N_CONV (sizeof(conv_keys) / sizeof(conv_keys[0]))

static const char *key_at(const struct key *keys, size_t n, size_t i, const char **help)
{
	if (i >= n)
		return NULL;
	if (help)
		*help = keys[i].help;
	return keys[i].key;
}

const char *cvb_serve_config_key(size_t i, const char **help)
{
	return key_at(top_keys, N_TOP, i, help);
}

const char *cvb_serve_converter_key(size_t i, const char **help)
{
	return key_at(conv_keys, N_CONV, i, help);
}

static const char *const post_names[CVB_POST_COUNT] = {"move", "delete", "zip", "keep"};

const char *cvb_post_action_name(enum cvb_post_action a)
{
	return (unsigned)a < CVB_POST_COUNT ? post_names[a] : NULL;
}

int cvb_post_action_parse(const char *name)
{
	for (int i = 0; i < CVB_POST_COUNT; i++)
		if (strcasecmp(name, post_names[i]) == 0)
			return i;
	return -1;
}

/* ---- paths ---- */

/* Whether the last component of out[root..o) is "..". */
static bool last_is_dotdot(const char *out, size_t root, size_t o)
{
	size_t b = o;
	while (b > root && out[b - 1] != '/')
		b--;
	return o - b == 2 && out[b] == '.' && out[b + 1] == '.';
}

/* Lexical clean-up: no "//", "/./", "x/..", or trailing "/". */
static char *normalize(const char *p)
{
	char *out = malloc(strlen(p) + 2);
	size_t o = 0;
	bool abs = p[0] == '/';
	if (!out)
		return NULL;
	if (abs)
		out[o++] = '/';
	size_t root = o;
	for (const char *s = p; *s;) {
		while (*s == '/')
			s++;
		const char *e = strchrnul(s, '/');
		size_t n = (size_t)(e - s);
		bool dot = n == 1 && s[0] == '.', dotdot = n == 2 && s[0] == '.' && s[1] == '.';
		if (dotdot && o > root && !last_is_dotdot(out, root, o)) {
			while (o > root && out[o - 1] != '/')
				o--;
			if (o > root)
				o--;
		} else if (n > 0 && !dot && !(dotdot && abs)) {
			if (o > root)
				out[o++] = '/';
			memcpy(out + o, s, n);
			o += n;
		}
		s = e;
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = 0;
	return out;
}

static char *resolve(const char *base, const char *p)
{
	char *joined = NULL;
	if (p[0] == '/')
		return normalize(p);
	if (asprintf(&joined, "%s/%s", base, p) < 0)
		return NULL;
	char *n = normalize(joined);
	free(joined);
	return n;
}

/* ---- values ---- */

static int list_keys(const struct key *keys, size_t n, char *buf, size_t len)
{
	size_t off = 0;
	for (size_t i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", keys[i].key);
	return 0;
}

static const struct key *find_key(const struct key *keys, size_t n, const char *k)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i].key, k) == 0)
			return &keys[i];
	return NULL;
}

static int check_known(json_t *obj, const struct key *keys, size_t n, const char *where,
		       struct cvb_error *err)
{
	const char *k;
	json_t *v;
	char known[512];
	json_object_foreach(obj, k, v)
	{
		if (find_key(keys, n, k))
			continue;
		list_keys(keys, n, known, sizeof(known));
		return cvb_error_set(err, "%s%s%s: unknown key (expected one of: %s)", where,
				     *where ? "." : "", k, known);
	}
	return 0;
}

static int get_number(json_t *v, const struct key *k, const char *path, double *out,
		      struct cvb_error *err)
{
	double d = json_number_value(v);
	bool ok = json_is_number(v) && d >= k->min && d <= k->max;
	if (k->kind == K_INT && !json_is_integer(v))
		ok = false;
	if (!ok)
		return cvb_error_set(err, "%s: expected %s %g..%g", path,
				     k->kind == K_INT ? "an integer" : "a number", k->min, k->max);
	*out = d;
	return 0;
}

static int get_text(json_t *v, const char *path, char **out, struct cvb_error *err)
{
	const char *s = json_string_value(v);
	size_t len = s ? json_string_length(v) : 0;
	bool ok = s && len >= 1 && len <= MAX_TEXT && strlen(s) == len;
	for (size_t i = 0; ok && i < len; i++)
		ok = (unsigned char)s[i] >= 0x20 && s[i] != 0x7f;
	if (!ok)
		return cvb_error_set(err, "%s: expected a string of 1..%d printable characters",
				     path, MAX_TEXT);
	free(*out);
	*out = strdup(s);
	return *out ? 0 : cvb_error_set(err, "out of memory");
}

static int get_path(json_t *v, const char *path, const char *base, char **out,
		    struct cvb_error *err)
{
	const char *s = json_string_value(v);
	if (!s || !*s || strlen(s) != json_string_length(v) || strlen(s) >= PATH_MAX)
		return cvb_error_set(err, "%s: expected a path (a non-empty string)", path);
	free(*out);
	*out = resolve(base, s);
	return *out ? 0 : cvb_error_set(err, "out of memory");
}

static int get_patterns(json_t *v, const char *path, struct cvb_strlist *out, struct cvb_error *err)
{
	size_t i;
	json_t *p;
	if (!json_is_array(v) || json_array_size(v) == 0)
		return cvb_error_set(err, "%s: expected a non-empty array of glob patterns", path);
	cvb_strlist_clear(out);
	json_array_foreach(v, i, p)
	{
		const char *s = json_string_value(p);
		if (!s || !*s || strchr(s, '/'))
			return cvb_error_set(err,
					     "%s[%zu]: expected a glob pattern on file names "
					     "(a non-empty string without '/')",
					     path, i);
		if (cvb_strlist_push(out, s) < 0)
			return cvb_error_set(err, "out of memory");
	}
	return 0;
}

/* One key of the table into the struct at `dst`. */
static int apply_key(json_t *v, const struct key *k, const char *path, const char *base, char *dst,
		     struct cvb_error *err)
{
	double d = 0;
	int post;
	switch (k->kind) {
	case K_INT:
	case K_NUM:
		if (get_number(v, k, path, &d, err) < 0)
			return -1;
		if (k->kind == K_INT)
			*(unsigned *)(dst + k->off) = (unsigned)d;
		else
			*(double *)(dst + k->off) = d;
		return 0;
	case K_TEXT:
		return get_text(v, path, (char **)(dst + k->off), err);
	case K_PATH:
		return get_path(v, path, base, (char **)(dst + k->off), err);
	case K_BOOL:
		if (!json_is_boolean(v))
			return cvb_error_set(err, "%s: expected true or false", path);
		*(bool *)(dst + k->off) = json_is_true(v);
		return 0;
	case K_PATTERNS:
		return get_patterns(v, path, (struct cvb_strlist *)(dst + k->off), err);
	case K_POST:
		post = json_is_string(v) ? cvb_post_action_parse(json_string_value(v)) : -1;
		if (post < 0)
			return cvb_error_set(err, "%s: expected one of move, delete, zip, keep",
					     path);
		*(enum cvb_post_action *)(dst + k->off) = (enum cvb_post_action)post;
		return 0;
	default:
		return 0; /* handled by the caller */
	}
}

/* Every plain key of a table present in obj, in table order; missing required keys. */
static int apply_table(json_t *obj, const struct key *keys, size_t n, const char *where,
		       const char *base, void *dst, struct cvb_error *err)
{
	char path[256];
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_object_get(obj, keys[i].key);
		snprintf(path, sizeof(path), "%s%s%s", where, *where ? "." : "", keys[i].key);
		if (!v && keys[i].required)
			return cvb_error_set(err, "%s: required (%s)", path, keys[i].help);
		if (v && keys[i].off != NONE && apply_key(v, &keys[i], path, base, dst, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- converters ---- */

static int opts_copy(struct cvb_run_opts *dst, const struct cvb_run_opts *src)
{
	*dst = *src;
	dst->args_json = NULL;
	memset(&dst->blocked_imports, 0, sizeof(dst->blocked_imports));
	memset(&dst->allowed_imports, 0, sizeof(dst->allowed_imports));
	memset(&dst->native_modules, 0, sizeof(dst->native_modules));
	if ((src->args_json && !(dst->args_json = strdup(src->args_json))) ||
	    cvb_strlist_copy(&dst->blocked_imports, (const char *const *)src->blocked_imports.v,
			     src->blocked_imports.n) < 0 ||
	    cvb_strlist_copy(&dst->allowed_imports, (const char *const *)src->allowed_imports.v,
			     src->allowed_imports.n) < 0 ||
	    cvb_strlist_copy(&dst->native_modules, (const char *const *)src->native_modules.v,
			     src->native_modules.n) < 0)
		return -1;
	return 0;
}

/* The converter's own sandbox keys, applied over the global block through config.h. */
static int apply_sandbox_keys(json_t *obj, const char *where, struct cvb_run_opts *o,
			      struct cvb_error *err)
{
	json_t *sub = json_object();
	for (size_t i = 0; i < N_CONV; i++) {
		json_t *v = json_object_get(obj, conv_keys[i].key);
		if (v && conv_keys[i].kind == K_SANDBOX)
			json_object_set(sub, conv_keys[i].key, v);
	}
	int rc = cvb_config_apply_sandbox(sub, where, o, err);
	json_decref(sub);
	json_t *t = json_object_get(obj, "trusted_mode");
	if (rc == 0 && t && !json_is_boolean(t))
		rc = cvb_error_set(err, "%s.trusted_mode: expected true or false", where);
	if (rc == 0 && json_is_true(t))
		o->trusted = true;
	return rc;
}

static int apply_arguments(json_t *obj, const char *where, struct cvb_run_opts *o,
			   struct cvb_error *err)
{
	json_t *a = json_object_get(obj, "arguments");
	if (!a)
		return 0;
	if (!json_is_object(a))
		return cvb_error_set(err, "%s.arguments: expected an object (the converter's args)",
				     where);
	o->args_json = json_dumps(a, JSON_COMPACT);
	return o->args_json ? 0 : cvb_error_set(err, "out of memory");
}

static int default_folder(char **dst, const char *watch, const char *sub)
{
	if (*dst)
		return 0;
	return asprintf(dst, "%s/%s", watch, sub) < 0 ? -1 : 0;
}

static int parse_converter(json_t *obj, const char *where, const char *base,
			   const struct cvb_run_opts *defaults, unsigned workers,
			   struct cvb_serve_converter *c, struct cvb_error *err)
{
	c->priority = 5;
	c->enabled = true;
	c->post_action = CVB_POST_MOVE;
	if (opts_copy(&c->opts, defaults) < 0)
		return cvb_error_set(err, "out of memory");
	if (!json_is_object(obj))
		return cvb_error_set(err, "%s: expected an object", where);
	if (check_known(obj, conv_keys, N_CONV, where, err) < 0 ||
	    apply_table(obj, conv_keys, N_CONV, where, base, c, err) < 0 ||
	    apply_sandbox_keys(obj, where, &c->opts, err) < 0 ||
	    apply_arguments(obj, where, &c->opts, err) < 0)
		return -1;
	if (c->patterns.n == 0 && cvb_strlist_push(&c->patterns, "*") < 0)
		return cvb_error_set(err, "out of memory");
	if (default_folder(&c->done_folder, c->watch_folder, "Done") < 0 ||
	    default_folder(&c->error_folder, c->watch_folder, "Error") < 0)
		return cvb_error_set(err, "out of memory");
	c->opts.converter_path = c->path;
	c->opts.class_name = c->class_name;
	c->opts.jobs = workers;
	return 0;
}

/* Folders that would feed files back into a watch folder, and duplicate names. */
static int check_folders(const struct cvb_serve_config *cfg, struct cvb_error *err)
{
	for (size_t i = 0; i < cfg->n_conv; i++) {
		const struct cvb_serve_converter *c = &cfg->conv[i];
		const char *outs[] = {c->done_folder, c->error_folder};
		const char *names[] = {"done_folder", "error_folder"};
		for (size_t j = 0; j < i; j++)
			if (strcmp(cfg->conv[j].name, c->name) == 0)
				return cvb_error_set(err,
						     "converters[%zu].name: '%s' is already the "
						     "name of converters[%zu]",
						     i, c->name, j);
		for (size_t j = 0; j < cfg->n_conv; j++)
			for (int k = 0; k < 2; k++)
				if (strcmp(outs[k], cfg->conv[j].watch_folder) == 0)
					return cvb_error_set(
					    err,
					    "converters[%zu].%s: is the watch_folder of "
					    "converters[%zu]; files would be converted again",
					    i, names[k], j);
		if (strcmp(cfg->reports_folder, c->watch_folder) == 0)
			return cvb_error_set(
			    err, "reports_folder: is the watch_folder of converters[%zu]", i);
	}
	return 0;
}

static int parse_converters(json_t *arr, const char *base, const struct cvb_run_opts *defaults,
			    struct cvb_serve_config *cfg, struct cvb_error *err)
{
	char where[64];
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return cvb_error_set(err, "converters: expected a non-empty array of objects");
	cfg->conv = calloc(json_array_size(arr), sizeof(*cfg->conv));
	if (!cfg->conv)
		return cvb_error_set(err, "out of memory");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		snprintf(where, sizeof(where), "converters[%zu]", i);
		cfg->n_conv = i + 1;
		if (parse_converter(json_array_get(arr, i), where, base, defaults, cfg->workers,
				    &cfg->conv[i], err) < 0)
			return -1;
	}
	return check_folders(cfg, err);
}

/* ---- the whole file ---- */

static unsigned default_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : (n > 64 ? 64 : (unsigned)n);
}

static void set_defaults(struct cvb_serve_config *cfg)
{
	cfg->workers = default_workers();
	cfg->rescan_seconds = 5;
	cfg->settle_seconds = 1;
	cfg->suspend_retry_seconds = 60;
	cfg->max_suspend_retries = 5;
	cfg->max_attempts = 3;
	cfg->shutdown_grace_seconds = 30;
}

int cvb_serve_config_parse(json_t *root, const char *base_dir, struct cvb_serve_config *cfg,
			   struct cvb_error *err)
{
	struct cvb_run_opts defaults;
	json_t *sb = json_object_get(root, "sandbox");
	int rc = -1;
	memset(cfg, 0, sizeof(*cfg));
	set_defaults(cfg);
	cvb_run_opts_init(&defaults);
	if (!json_is_object(root)) {
		cvb_error_set(err, "the top level must be a JSON object");
		goto out;
	}
	if (!(cfg->base_dir = strdup(base_dir)) ||
	    check_known(root, top_keys, N_TOP, "", err) < 0 ||
	    apply_table(root, top_keys, N_TOP, "", base_dir, cfg, err) < 0)
		goto out;
	if (sb ? cvb_config_apply_sandbox(sb, "sandbox", &defaults, err) < 0
	       : cvb_config_default_blocked(&defaults) < 0)
		goto out;
	rc = parse_converters(json_object_get(root, "converters"), base_dir, &defaults, cfg, err);
out:
	cvb_run_opts_clear(&defaults);
	if (rc < 0)
		cvb_serve_config_clear(cfg);
	return rc;
}

int cvb_serve_config_load(const char *path, struct cvb_serve_config *cfg, struct cvb_error *err)
{
	memset(cfg, 0, sizeof(*cfg));
	json_t *root = cvb_config_read(path, err);
	if (!root)
		return -1;
	char *abs = realpath(path, NULL);
	char *slash = abs ? strrchr(abs, '/') : NULL;
	if (slash)
		*(slash == abs ? slash + 1 : slash) = 0;
	int rc = abs ? cvb_serve_config_parse(root, abs, cfg, err)
		     : cvb_error_errno(err, errno, "cannot resolve '%s'", path);
	if (rc == 0 && !(cfg->path = strdup(path))) {
		cvb_serve_config_clear(cfg);
		rc = cvb_error_set(err, "out of memory");
	}
	if (rc < 0) {
		char msg[sizeof(err->msg)];
		memcpy(msg, err->msg, sizeof(msg));
		cvb_error_set(err, "%s: %s", path, msg);
	}
	free(abs);
	json_decref(root);
	return rc;
}

int cvb_serve_config_check_files(const struct cvb_serve_config *cfg, struct cvb_error *err)
{
	for (size_t i = 0; i < cfg->n_conv; i++)
		if (cfg->conv[i].enabled && access(cfg->conv[i].path, R_OK) < 0)
			return cvb_error_errno(err, errno, "converters[%zu].path: cannot read '%s'",
					       i, cfg->conv[i].path);
	return 0;
}

static void converter_clear(struct cvb_serve_converter *c)
{
	free(c->name);
	free(c->path);
	free(c->class_name);
	free(c->watch_folder);
	free(c->done_folder);
	free(c->error_folder);
	cvb_strlist_clear(&c->patterns);
	cvb_run_opts_clear(&c->opts);
}

void cvb_serve_config_clear(struct cvb_serve_config *cfg)
{
	for (size_t i = 0; i < cfg->n_conv; i++)
		converter_clear(&cfg->conv[i]);
	free(cfg->conv);
	free(cfg->path);
	free(cfg->base_dir);
	free(cfg->reports_folder);
	free(cfg->machine_name);
	free(cfg->location);
	free(cfg->purpose);
	memset(cfg, 0, sizeof(*cfg));
}

bool cvb_serve_matches(const struct cvb_serve_converter *c, const char *file_name)
{
	for (size_t i = 0; i < c->patterns.n; i++)
		if (fnmatch(c->patterns.v[i], file_name, FNM_CASEFOLD) == 0)
			return true;
	return false;
}
