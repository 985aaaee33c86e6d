/*
 * Findings formatting: text for people, JSON for scripts, SARIF 2.1.0 for
 * code-review tools. The findings arrive from the runner, so each one is
 * checked and rebuilt before use (see convbox/findings.h).
 */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convbox/findings.h"

#define SARIF_SCHEMA                                                                               \
	"https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"                      \
	"sarif-schema-2.1.0.json"

#define MAX_TEXT_FIELD	   4096u  /* bytes of a message or hint */
#define MAX_RULE_ID	   64u	  /* bytes of a rule id */
#define MAX_FILE_FINDINGS  10000u /* findings accepted for one file */
#define MAX_LINE_OR_COLUMN 100000000LL

/* What each rule is about, for SARIF's rule list and help texts. */
struct rule_doc {
	const char *id;
	const char *description;
};

static const struct rule_doc rule_docs[] = {
    {"blocked-import", "Imports or uses a module or name on the blocked_imports list."},
    {"import-not-allowed", "Imports a module that is not on the allowed_imports list."},
    {"dangerous-call", "Runs programs, signals processes, opens sockets, loads native code, "
		       "deletes directory trees or unpickles data."},
    {"dynamic-import", "Imports or loads a module chosen at run time (__import__, importlib, "
		       "runpy, pkgutil)."},
    {"introspection", "Reaches interpreter internals: module globals, builtins, frames, class "
		      "hierarchies, loaded modules."},
    {"computed-getattr", "getattr, setattr, delattr or operator.attrgetter with a computed or "
			 "dunder attribute name, or on a module."},
    {"module-alias", "Passes a module around as a value, hiding what is called through it."},
    {"relative-import", "Relative import, whose target depends on __package__."},
    {"star-import", "Star import, which hides which names are used."},
    {"syntax-error", "The file is not valid Python 3.11."},
    {"parse-limit", "The file nests too deeply for the parser."},
    {"not-utf8", "The file is not valid UTF-8."},
    {"nul-byte", "The file contains a NUL byte."},
    {"encoding-declaration", "A coding declaration names an encoding other than UTF-8."},
    {"too-large", "The file is larger than the validator accepts."},
    {"too-many-findings", "The list of findings was cut short."},
    {"python-warning", "The Python parser warned about the file."},
    {"unreadable-file", "The file could not be read."},
};

struct cvb_findings_doc {
	enum cvb_findings_format fmt;
	json_t *items; /* checked findings, each with "file" */
	json_t *files; /* paths, in the order added */
	size_t errors;
};

/* ------------------------------------------------------------------ */
/* Growing string                                                      */

struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	char *p;
	size_t cap;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->s, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* Length of a UTF-8 sequence that must not reach a terminal at s, or 0. */
static size_t unsafe_seq(const unsigned char *s)
{
	if (s[0] < 0x20 || s[0] == 0x7f)
		return 1;
	if (s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f)
		return 2; /* C1 controls: CSI and friends */
	if (s[0] == 0xe2 && s[1] == 0x80 && s[2] >= 0xaa && s[2] <= 0xae)
		return 3; /* bidi embeddings and overrides */
	if (s[0] == 0xe2 && s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9)
		return 3; /* bidi isolates */
	return 0;
}

/* Append text with control and bidi characters replaced by '?'. */
static void sb_safe(struct sbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	while (*p) {
		n = unsafe_seq(p);
		if (n) {
			sb_add(b, "?", 1);
			p += n;
			continue;
		}
		sb_add(b, (const char *)p, 1);
		p++;
	}
}

/* Length of the valid UTF-8 sequence at s (strict), 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n = s[0] < 0x80			  ? 1
		   : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
		   : s[0] >= 0xe0 && s[0] <= 0xef ? 3
		   : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
						  : 0;
	size_t i;

	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
		return 0; /* overlong, surrogate, beyond U+10FFFF */
	return n;
}

/* A copy of a file name that JSON can carry: bytes that are not UTF-8 become '?'. */
static char *clean_path(const char *path)
{
	const unsigned char *p = (const unsigned char *)path;
	char *out = malloc(strlen(path) + 1), *o = out;
	size_t n;

	if (!out)
		return NULL;
	while (*p) {
		n = utf8_len(p);
		if (!n) {
			*o++ = '?';
			p++;
			continue;
		}
		memcpy(o, p, n);
		o += n;
		p += n;
	}
	*o = '\0';
	return out;
}

/* ------------------------------------------------------------------ */
/* Checking findings                                                   */

static bool valid_rule_id(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n > MAX_RULE_ID)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

static bool valid_severity(const char *s)
{
	return s && (!strcmp(s, "error") || !strcmp(s, "warning") || !strcmp(s, "note"));
}

static bool valid_position(json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) >= 0 &&
	       json_integer_value(v) <= MAX_LINE_OR_COLUMN;
}

static bool valid_text(json_t *v, bool optional)
{
	if (!v)
		return optional;
	return json_is_string(v) && json_string_length(v) <= MAX_TEXT_FIELD &&
	       strlen(json_string_value(v)) == json_string_length(v);
}

/* A checked copy of one finding with "file" added, or NULL if it is malformed. */
static json_t *checked_finding(json_t *f, const char *path)
{
	const char *rule = json_string_value(json_object_get(f, "rule"));
	const char *sev = json_string_value(json_object_get(f, "severity"));
	json_t *line = json_object_get(f, "line"), *col = json_object_get(f, "col");
	json_t *msg = json_object_get(f, "message"), *hint = json_object_get(f, "hint");

	if (!json_is_object(f) || !valid_rule_id(rule) || !valid_severity(sev) ||
	    !valid_position(line) || !valid_position(col) || !valid_text(msg, false) ||
	    !valid_text(hint, true))
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s}", "file", path, "rule", rule,
			 "severity", sev, "line", json_integer_value(line), "col",
			 json_integer_value(col), "message", json_string_value(msg), "hint",
			 hint ? json_string_value(hint) : "");
}

/* Parse and check a findings array for `path`: a new array of checked findings. */
static int parse_findings(const char *findings_json, const char *path, json_t **out)
{
	json_t *arr, *res, *f;
	size_t i;

	*out = NULL;
	if (!findings_json || !path)
		return -EINVAL;
	arr = json_loads(findings_json, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_array(arr) || json_array_size(arr) > MAX_FILE_FINDINGS) {
		json_decref(arr);
		return -EINVAL;
	}
	res = json_array();
	for (i = 0; res && i < json_array_size(arr); i++) {
		f = checked_finding(json_array_get(arr, i), path);
		if (!f || json_array_append_new(res, f)) {
			json_decref(res);
			res = NULL;
		}
	}
	json_decref(arr);
	*out = res;
	return res ? 0 : -EINVAL;
}

static bool is_error(json_t *f)
{
	return !strcmp(json_string_value(json_object_get(f, "severity")), "error");
}

int cvb_findings_count_errors(const char *findings_json)
{
	json_t *arr;
	size_t i;
	int n = 0;

	if (parse_findings(findings_json, "", &arr))
		return -1;
	for (i = 0; i < json_array_size(arr); i++)
		n += is_error(json_array_get(arr, i));
	json_decref(arr);
	return n;
}

int cvb_findings_format_parse(const char *name, enum cvb_findings_format *fmt)
{
	static const char *const names[] = {[CVB_FINDINGS_TEXT] = "text",
					    [CVB_FINDINGS_JSON] = "json",
					    [CVB_FINDINGS_SARIF] = "sarif"};
	size_t i;

	for (i = 0; name && i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(name, names[i])) {
			*fmt = (enum cvb_findings_format)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *cvb_findings_rule_description(const char *rule_id)
{
	size_t i;

	for (i = 0; rule_id && i < sizeof(rule_docs) / sizeof(rule_docs[0]); i++)
		if (!strcmp(rule_docs[i].id, rule_id))
			return rule_docs[i].description;
	return NULL;
}

int cvb_findings_unreadable(const char *path, int errnum, char **json_out)
{
	char msg[256];
	json_t *arr;

	*json_out = NULL;
	if (!path)
		return -EINVAL;
	snprintf(msg, sizeof(msg), "cannot read the file: %s", strerror(errnum));
	arr = json_pack("[{s:s, s:s, s:i, s:i, s:s, s:s}]", "rule", "unreadable-file", "severity",
			"error", "line", 0, "col", 0, "message", msg, "hint",
			"check the path and its permissions");
	if (!arr)
		return -ENOMEM;
	*json_out = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return *json_out ? 0 : -ENOMEM;
}

/* ------------------------------------------------------------------ */
/* Document                                                            */

struct cvb_findings_doc *cvb_findings_doc_new(enum cvb_findings_format fmt)
{
	struct cvb_findings_doc *doc = calloc(1, sizeof(*doc));

	if (!doc)
		return NULL;
	doc->fmt = fmt;
	doc->items = json_array();
	doc->files = json_array();
	if (!doc->items || !doc->files) {
		cvb_findings_doc_free(doc);
		return NULL;
	}
	return doc;
}

void cvb_findings_doc_free(struct cvb_findings_doc *doc)
{
	if (!doc)
		return;
	json_decref(doc->items);
	json_decref(doc->files);
	free(doc);
}

int cvb_findings_doc_add(struct cvb_findings_doc *doc, const char *path, const char *findings_json)
{
	json_t *arr;
	size_t i;
	int rc;
	char *clean;

	if (!doc || !path)
		return -EINVAL;
	clean = clean_path(path);
	if (!clean)
		return -ENOMEM;
	rc = parse_findings(findings_json, clean, &arr);
	if (!rc && (json_array_append_new(doc->files, json_string(clean)) ||
		    json_array_extend(doc->items, arr)))
		rc = -ENOMEM;
	free(clean);
	if (rc) {
		json_decref(arr);
		return rc;
	}
	for (i = 0; i < json_array_size(arr); i++)
		doc->errors += is_error(json_array_get(arr, i));
	json_decref(arr);
	return 0;
}

int cvb_findings_doc_add_unreadable(struct cvb_findings_doc *doc, const char *path, int errnum)
{
	char *json;
	int rc = cvb_findings_unreadable(path, errnum, &json);

	if (rc)
		return rc;
	rc = cvb_findings_doc_add(doc, path, json);
	free(json);
	return rc;
}

size_t cvb_findings_doc_files(const struct cvb_findings_doc *doc)
{
	return doc ? json_array_size(doc->files) : 0;
}

size_t cvb_findings_doc_errors(const struct cvb_findings_doc *doc)
{
	return doc ? doc->errors : 0;
}

/* ------------------------------------------------------------------ */
/* Rendering                                                           */

static const char *str_field(json_t *f, const char *key)
{
	return json_string_value(json_object_get(f, key));
}

static json_int_t int_field(json_t *f, const char *key)
{
	return json_integer_value(json_object_get(f, key));
}

/* path:line:col: severity[rule]: message (hint) */
static void text_line(struct sbuf *b, json_t *f)
{
	char pos[64];
	const char *hint = str_field(f, "hint");

	sb_safe(b, str_field(f, "file"));
	if (int_field(f, "line") > 0) {
		snprintf(pos, sizeof(pos), ":%lld:%lld", (long long)int_field(f, "line"),
			 (long long)int_field(f, "col"));
		sb_str(b, pos);
	}
	sb_str(b, ": ");
	sb_str(b, str_field(f, "severity"));
	sb_str(b, "[");
	sb_str(b, str_field(f, "rule"));
	sb_str(b, "]: ");
	sb_safe(b, str_field(f, "message"));
	if (hint && *hint) {
		sb_str(b, " (");
		sb_safe(b, hint);
		sb_str(b, ")");
	}
	sb_str(b, "\n");
}

static int render_text(const struct cvb_findings_doc *doc, char **out)
{
	struct sbuf b = {0};
	size_t i;

	sb_str(&b, "");
	for (i = 0; i < json_array_size(doc->items); i++)
		text_line(&b, json_array_get(doc->items, i));
	if (b.oom) {
		free(b.s);
		return -ENOMEM;
	}
	*out = b.s;
	return 0;
}

static int dump(json_t *root, char **out)
{
	if (!root)
		return -ENOMEM;
	*out = json_dumps(root, JSON_INDENT(2));
	json_decref(root);
	return *out ? 0 : -ENOMEM;
}

/* A path as a URI reference: unreserved bytes kept, the rest percent-encoded. */
static char *path_uri(const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	struct sbuf b = {0};
	const unsigned char *p;
	char enc[3] = {'%'};

	sb_str(&b, path[0] == '/' ? "file://" : "");
	for (p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~/", *p)) {
			sb_add(&b, (const char *)p, 1);
			continue;
		}
		enc[1] = hex[*p >> 4];
		enc[2] = hex[*p & 15];
		sb_add(&b, enc, 3);
	}
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* The rule list of the run: each rule id once, in order of first use. */
static json_t *sarif_rules(json_t *items, json_t *index)
{
	json_t *rules = json_array(), *f;
	size_t i;

	for (i = 0; rules && i < json_array_size(items); i++) {
		const char *id, *desc;

		f = json_array_get(items, i);
		id = str_field(f, "rule");
		if (json_object_get(index, id))
			continue;
		desc = cvb_findings_rule_description(id);
		if (json_object_set_new(index, id,
					json_integer((json_int_t)json_array_size(rules))) ||
		    json_array_append_new(
			rules,
			json_pack("{s:s, s:{s:s}, s:{s:s}, s:{s:s}}", "id", id, "shortDescription",
				  "text", desc ? desc : id, "help", "text", str_field(f, "hint"),
				  "defaultConfiguration", "level", str_field(f, "severity")))) {
			json_decref(rules);
			return NULL;
		}
	}
	return rules;
}

static json_t *sarif_location(json_t *f, json_t *artifacts)
{
	char *uri = path_uri(str_field(f, "file"));
	json_t *loc, *region = NULL;
	size_t i;

	if (!uri)
		return NULL;
	for (i = 0; i < json_array_size(artifacts); i++)
		if (!strcmp(json_string_value(json_object_get(
				json_object_get(json_array_get(artifacts, i), "location"), "uri")),
			    uri))
			break;
	if (int_field(f, "line") > 0)
		region = int_field(f, "col") > 0
			     ? json_pack("{s:I, s:I}", "startLine", int_field(f, "line"),
					 "startColumn", int_field(f, "col"))
			     : json_pack("{s:I}", "startLine", int_field(f, "line"));
	loc = json_pack("{s:{s:s, s:I}}", "artifactLocation", "uri", uri, "index", (json_int_t)i);
	free(uri);
	if (loc && region)
		json_object_set_new(loc, "region", region);
	return loc ? json_pack("[{s:o}]", "physicalLocation", loc) : NULL;
}

static json_t *sarif_result(json_t *f, json_t *index, json_t *artifacts)
{
	const char *id = str_field(f, "rule");

	return json_pack("{s:s, s:I, s:s, s:{s:s}, s:o}", "ruleId", id, "ruleIndex",
			 json_integer_value(json_object_get(index, id)), "level",
			 str_field(f, "severity"), "message", "text", str_field(f, "message"),
			 "locations", sarif_location(f, artifacts));
}

static json_t *sarif_artifacts(json_t *files)
{
	json_t *arts = json_array();
	size_t i;

	for (i = 0; arts && i < json_array_size(files); i++) {
		char *uri = path_uri(json_string_value(json_array_get(files, i)));

		if (!uri ||
		    json_array_append_new(arts, json_pack("{s:{s:s}}", "location", "uri", uri))) {
			free(uri);
			json_decref(arts);
			return NULL;
		}
		free(uri);
	}
	return arts;
}

static json_t *sarif_results(json_t *items, json_t *index, json_t *artifacts)
{
	json_t *results = json_array();
	size_t i;

	for (i = 0; results && i < json_array_size(items); i++) {
		if (json_array_append_new(
			results, sarif_result(json_array_get(items, i), index, artifacts))) {
			json_decref(results);
			return NULL;
		}
	}
	return results;
}

static int render_sarif(const struct cvb_findings_doc *doc, char **out)
{
	json_t *index = json_object();
	json_t *rules = index ? sarif_rules(doc->items, index) : NULL;
	json_t *arts = rules ? sarif_artifacts(doc->files) : NULL;
	json_t *results = arts ? sarif_results(doc->items, index, arts) : NULL;
	json_t *root = NULL;

	if (results)
		root = json_pack("{s:s, s:s, s:[{s:{s:{s:s, s:o}}, s:s, s:O, s:o}]}", "$schema",
				 SARIF_SCHEMA, "version", "2.1.0", "runs", "tool", "driver", "name",
				 "convbox", "rules", rules, "columnKind", "unicodeCodePoints",
				 "artifacts", arts, "results", results);
	else
		json_decref(rules);
	json_decref(arts);
	json_decref(index);
	return dump(root, out);
}

int cvb_findings_doc_render(const struct cvb_findings_doc *doc, char **out)
{
	if (!doc || !out)
		return -EINVAL;
	*out = NULL;
	switch (doc->fmt) {
	case CVB_FINDINGS_TEXT:
		return render_text(doc, out);
	case CVB_FINDINGS_JSON:
		return dump(json_incref(doc->items), out);
	case CVB_FINDINGS_SARIF:
		return render_sarif(doc, out);
	}
	return -EINVAL;
}

int cvb_findings_format(const char *findings_json, const char *path, enum cvb_findings_format fmt,
			char **out)
{
	struct cvb_findings_doc *doc;
	int rc;

	if (!out)
		return -EINVAL;
	*out = NULL;
	doc = cvb_findings_doc_new(fmt);
	if (!doc)
		return -ENOMEM;
	rc = cvb_findings_doc_add(doc, path, findings_json);
	if (!rc)
		rc = cvb_findings_doc_render(doc, out);
	cvb_findings_doc_free(doc);
	return rc;
}
