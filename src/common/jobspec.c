/* JSON form of struct cvb_jobspec (see include/convbox/jobspec.h). */
#include "convbox/jobspec.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * A spec's strings and lists come from jansson's allocator, as the JSON they
 * are parsed from does: a process that gives jansson an allocator of its own
 * (the runner's zygote does, for the length of one frame) has the whole spec
 * there. Unless it does, that is malloc and free.
 */
static void *js_alloc(size_t n)
{
	json_malloc_t m;
	json_free_t f;
	json_get_alloc_funcs(&m, &f);
	return m(n);
}

static void js_free(void *p)
{
	json_malloc_t m;
	json_free_t f;
	json_get_alloc_funcs(&m, &f);
	f(p);
}

static char *js_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = js_alloc(n);
	return d ? memcpy(d, s, n) : NULL;
}

int cvb_strlist_push(struct cvb_strlist *l, const char *s)
{
	char **nv = js_alloc((l->n + 1) * sizeof(*nv));
	char *copy = nv ? js_strdup(s) : NULL;
	if (!copy) {
		js_free(nv);
		return -ENOMEM;
	}
	if (l->n)
		memcpy(nv, l->v, l->n * sizeof(*nv));
	js_free(l->v);
	l->v = nv;
	l->v[l->n++] = copy;
	return 0;
}

int cvb_strlist_copy(struct cvb_strlist *dst, const char *const *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (cvb_strlist_push(dst, src[i]) < 0)
			return -ENOMEM;
	return 0;
}

/* Strings that name a job's files and arguments: wiped, not just freed. */
static void wipe_string(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	js_free(s);
}

void cvb_strlist_clear(struct cvb_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		wipe_string(l->v[i]);
	js_free(l->v);
	l->v = NULL;
	l->n = 0;
}

bool cvb_strlist_has(const struct cvb_strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

bool cvb_strlist_equal(const struct cvb_strlist *a, const struct cvb_strlist *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

json_t *cvb_strlist_to_json(const struct cvb_strlist *l)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < l->n; i++)
		json_array_append_new(a, json_string(l->v[i]));
	return a;
}

static json_t *opt_string(const char *s)
{
	return s ? json_string(s) : json_null();
}

/*
 * A path: a file name may be any bytes, JSON text only UTF-8. What is not
 * UTF-8 travels as {"hex": "..."} and arrives as the same bytes.
 */
static json_t *opt_path(const char *s)
{
	json_t *v = opt_string(s);
	if (v || !s)
		return v;
	size_t n = strlen(s);
	char *hex = malloc(2 * n + 1);
	for (size_t i = 0; hex && i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", (unsigned char)s[i]);
	v = hex ? json_pack("{s:s}", "hex", hex) : NULL;
	free(hex);
	return v;
}

size_t cvb_utf8_len(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char c = p[0];
	size_t n = c < 0x80		    ? 1
		   : c >= 0xc2 && c <= 0xdf ? 2
		   : c >= 0xe0 && c <= 0xef ? 3
		   : c >= 0xf0 && c <= 0xf4 ? 4
					    : 0;
	/* the second byte's range rules out overlong forms, surrogates and > U+10FFFF */
	unsigned char lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
	unsigned char hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
	for (size_t i = 1; i < n; i++)
		if (p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xbf))
			return 0;
	return n;
}

size_t cvb_utf8_cut(const char *s, size_t max)
{
	size_t i = 0;
	while (s[i]) {
		size_t len = cvb_utf8_len(s + i);
		if (i + (len ? len : 1) > max)
			break;
		i += len ? len : 1; /* a byte that is not UTF-8 is a character of its own */
	}
	return i;
}

json_t *cvb_json_text(const char *s)
{
	json_t *v = opt_string(s);
	if (v || !s)
		return v;
	/* for people: each byte that is not part of UTF-8 becomes U+FFFD */
	size_t n = strlen(s), o = 0;
	char *t = malloc(3 * n + 1);
	for (size_t i = 0; t && i < n;) {
		size_t len = cvb_utf8_len(s + i);
		memcpy(t + o, len ? s + i : "\xef\xbf\xbd", len ? len : 3);
		o += len ? len : 3;
		i += len ? len : 1;
	}
	v = t ? json_stringn(t, o) : NULL;
	free(t);
	return v;
}

char *cvb_jobspec_to_json(const struct cvb_jobspec *js)
{
	const struct cvb_limits *l = &js->limits;
	json_t *args = json_loads(js->args_json ? js->args_json : "{}", JSON_DECODE_ANY, NULL);
	if (!args)
		return NULL;
	json_t *o = json_pack(
	    "{s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:b, s:b, s:I,"
	    " s:b, s:{s:f, s:f, s:I, s:I, s:I, s:I, s:I}, s:o, s:o, s:o}",
	    "job_id", (json_int_t)js->job_id, "mode",
	    js->mode == CVB_JOB_VALIDATE ? "validate" : "convert", "input_name",
	    opt_path(js->input_name), "input_path", opt_path(js->input_path), "args", args, "class",
	    opt_string(js->class_name), "converter_path", opt_path(js->converter_path),
	    "output_dir", opt_path(js->output_dir), "caps", (json_int_t)js->caps, "trusted",
	    js->trusted, "allow_degraded", js->allow_degraded, "max_frame",
	    (json_int_t)js->max_frame, "inline_source", js->inline_source, "limits", "timeout_s",
	    l->timeout_s, "cpu_s", l->cpu_s, "memory_mb", (json_int_t)l->memory_mb, "max_output_mb",
	    (json_int_t)l->max_output_mb, "max_open_files", (json_int_t)l->max_open_files,
	    "max_procs", (json_int_t)l->max_procs, "max_files", (json_int_t)l->max_files,
	    "blocked_imports", cvb_strlist_to_json(&js->blocked_imports), "allowed_imports",
	    cvb_strlist_to_json(&js->allowed_imports), "native_modules",
	    cvb_strlist_to_json(&js->native_modules));
	if (!o)
		return NULL;
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

static char *dup_opt(json_t *v)
{
	return json_is_string(v) ? js_strdup(json_string_value(v)) : NULL;
}

static int hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A path as opt_path sent it; NULL for anything else (or a NUL byte inside). */
static char *dup_path(json_t *v);

/* A path member: absent or null is no path; present, it must be one. */
static int path_field(json_t *o, const char *key, char **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	*out = v && !json_is_null(v) ? dup_path(v) : NULL;
	if (*out || !v || json_is_null(v))
		return 0;
	snprintf(err, errlen, "job spec: %s is not a path", key);
	return -EINVAL;
}

/* A path as opt_path sent it; NULL for anything else (or a NUL byte inside). */
static char *dup_path(json_t *v)
{
	const char *hex = json_string_value(json_object_get(v, "hex"));
	size_t n = hex ? strlen(hex) : 0;
	if (!hex)
		return dup_opt(v);
	char *s = n % 2 == 0 ? js_alloc(n / 2 + 1) : NULL;
	for (size_t i = 0; s && i < n / 2; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
		if (hi < 0 || lo < 0 || (hi | lo) == 0) {
			js_free(s);
			return NULL;
		}
		s[i] = (char)(hi << 4 | lo);
	}
	if (s)
		s[n / 2] = 0;
	return s;
}

int cvb_strlist_from_json(json_t *a, struct cvb_strlist *l)
{
	size_t i;
	json_t *v;
	if (!json_is_array(a))
		return -EINVAL;
	json_array_foreach(a, i, v)
	{
		if (!json_is_string(v) || cvb_strlist_push(l, json_string_value(v)) < 0)
			return -EINVAL;
	}
	return 0;
}

static int limits_from(json_t *o, struct cvb_limits *l)
{
	json_int_t mem, out, nofile, procs, files;
	if (json_unpack(o, "{s:F, s:F, s:I, s:I, s:I, s:I, s:I}", "timeout_s", &l->timeout_s,
			"cpu_s", &l->cpu_s, "memory_mb", &mem, "max_output_mb", &out,
			"max_open_files", &nofile, "max_procs", &procs, "max_files", &files) < 0)
		return -EINVAL;
	l->memory_mb = (unsigned)mem;
	l->max_output_mb = (unsigned)out;
	l->max_open_files = (unsigned)nofile;
	l->max_procs = (unsigned)procs;
	l->max_files = (unsigned)files;
	return 0;
}

int cvb_jobspec_from_json(const char *text, struct cvb_jobspec *js, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *o = json_loads(text, 0, &jerr);
	json_t *args = NULL, *limits = NULL, *bl = NULL, *al = NULL, *nm = NULL;
	json_int_t id = 0, caps = 0, max_frame = 0;
	const char *mode = NULL;
	int trusted = 0, degraded = 0;
	memset(js, 0, sizeof(*js));
	if (!o ||
	    json_unpack_ex(o, &jerr, 0, "{s:I, s:s, s:o, s:I, s:b, s:b, s:I, s:o, s:o, s:o, s:o}",
			   "job_id", &id, "mode", &mode, "args", &args, "caps", &caps, "trusted",
			   &trusted, "allow_degraded", &degraded, "max_frame", &max_frame, "limits",
			   &limits, "blocked_imports", &bl, "allowed_imports", &al,
			   "native_modules", &nm) < 0) {
		snprintf(err, errlen, "job spec: %s", jerr.text);
		json_decref(o);
		return -EINVAL;
	}
	js->job_id = (uint64_t)id;
	js->mode = strcmp(mode, "validate") == 0 ? CVB_JOB_VALIDATE : CVB_JOB_CONVERT;
	js->caps = (cvb_caps)caps;
	js->trusted = trusted;
	js->allow_degraded = degraded;
	js->max_frame = (uint32_t)max_frame;
	js->inline_source = json_is_true(json_object_get(o, "inline_source"));
	js->class_name = dup_opt(json_object_get(o, "class"));
	js->args_json = json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY);
	int rc = path_field(o, "input_name", &js->input_name, err, errlen);
	if (rc == 0)
		rc = path_field(o, "input_path", &js->input_path, err, errlen);
	if (rc == 0)
		rc = path_field(o, "converter_path", &js->converter_path, err, errlen);
	if (rc == 0)
		rc = path_field(o, "output_dir", &js->output_dir, err, errlen);
	if (rc < 0) {
		json_decref(o);
		return rc;
	}
	rc = limits_from(limits, &js->limits);
	if (rc == 0)
		rc = cvb_strlist_from_json(bl, &js->blocked_imports);
	if (rc == 0)
		rc = cvb_strlist_from_json(al, &js->allowed_imports);
	if (rc == 0)
		rc = cvb_strlist_from_json(nm, &js->native_modules);
	if (rc < 0)
		snprintf(err, errlen, "job spec: bad limits or module lists");
	json_decref(o);
	return rc;
}

void cvb_jobspec_clear(struct cvb_jobspec *js)
{
	wipe_string(js->input_name);
	wipe_string(js->input_path);
	wipe_string(js->args_json);
	wipe_string(js->class_name);
	wipe_string(js->converter_path);
	wipe_string(js->output_dir);
	cvb_strlist_clear(&js->blocked_imports);
	cvb_strlist_clear(&js->allowed_imports);
	cvb_strlist_clear(&js->native_modules);
	memset(js, 0, sizeof(*js));
}
