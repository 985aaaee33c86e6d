/*
 * The job specification: what the host asks the runner to do for one input
 * file. Carried as JSON in a JOB frame; both sides use these functions so the
 * schema lives in one place.
 */
#ifndef CONVBOX_JOBSPEC_H
#define CONVBOX_JOBSPEC_H

#include "convbox/policy.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cvb_job_mode {
	CVB_JOB_CONVERT,  /* run the converter on the input */
	CVB_JOB_VALIDATE, /* static analysis of the converter source only */
};

struct cvb_strlist {
	char **v;
	size_t n;
};

struct cvb_jobspec {
	uint64_t job_id;
	enum cvb_job_mode mode;
	char *input_name;     /* original file name, shown to the converter */
	char *input_path;     /* host path (trusted mode reads it in place) */
	char *args_json;      /* a JSON object, the converter's args */
	char *class_name;     /* NULL: the one converter class in the module */
	char *converter_path; /* host path of the converter (tracebacks, /converter) */
	char *output_dir;     /* trusted mode: host staging folder for outputs */
	cvb_caps caps;
	struct cvb_limits limits;
	bool trusted;
	bool allow_degraded;
	bool inline_source; /* validation of bytes that follow the JOB frame as a SOURCE frame */
	size_t inline_source_len; /* runner side: their length */
	uint32_t max_frame;
	struct cvb_strlist blocked_imports;
	struct cvb_strlist allowed_imports; /* validator allowlist; empty = none */
	struct cvb_strlist native_modules;  /* lifted from the audit hook's native veto */
};

/* Serialise to a malloc'd JSON text. Returns NULL on allocation failure. */
char *cvb_jobspec_to_json(const struct cvb_jobspec *js);

/* Parse; on failure returns -EINVAL and writes a message naming the field. */
int cvb_jobspec_from_json(const char *text, struct cvb_jobspec *js, char *err, size_t errlen);

/* Free the strings a parsed or built spec owns (not the struct itself). */
void cvb_jobspec_clear(struct cvb_jobspec *js);

/* Deep copy of a string list; returns -ENOMEM on failure. */
int cvb_strlist_copy(struct cvb_strlist *dst, const char *const *src, size_t n);
int cvb_strlist_push(struct cvb_strlist *l, const char *s);
void cvb_strlist_clear(struct cvb_strlist *l);
bool cvb_strlist_has(const struct cvb_strlist *l, const char *s);
/* The same strings in the same order. */
bool cvb_strlist_equal(const struct cvb_strlist *a, const struct cvb_strlist *b);
/* A JSON array of the strings (NULL on allocation failure), and back (-EINVAL: not one). */
json_t *cvb_strlist_to_json(const struct cvb_strlist *l);

/* A string for people to read as JSON (null for NULL): bytes that are not UTF-8 become U+FFFD. */
json_t *cvb_json_text(const char *s);

/* Length of the UTF-8 character at s (1-4; 1 for its end, a NUL); 0 when the bytes there are not
 * UTF-8. */
size_t cvb_utf8_len(const char *s);
/* The longest prefix of s of at most max bytes that ends between two UTF-8 characters (a byte
 * that is not UTF-8 counts as one): where a name may be cut for people to read it. */
size_t cvb_utf8_cut(const char *s, size_t max);
int cvb_strlist_from_json(json_t *a, struct cvb_strlist *l);

#endif
