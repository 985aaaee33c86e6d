/*
 * convbox findings: format the validator's findings for people and tools.
 *
 * Host side (no Python). The input is the findings JSON array the validator
 * produces (see convbox/validate.h); it comes from the runner, so it is
 * treated as untrusted: every finding is checked (rule id, severity, line,
 * col, message, hint) and rebuilt, and control characters never reach a
 * terminal.
 *
 * Formats:
 *   text   one line per finding, like a compiler:
 *            path:line:col: error[rule-id]: message (hint)
 *          (a finding about the whole file, line 0, prints as
 *            path: error[rule-id]: message (hint))
 *   json   one array of findings over all files, each with "file" added
 *   sarif  SARIF 2.1.0: one run, tool.driver.name "convbox", the rules seen
 *          listed in tool.driver.rules, one result per finding
 *
 * For several files, use a document: cvb_findings_doc_new(), _add() per
 * file (or _add_unreadable() for a file that could not be read), then
 * _render() once; _errors() gives the count that decides exit status 3.
 * All functions return 0 or a negative errno (-EINVAL for findings text that
 * is not a valid findings array, -ENOMEM).
 */
#ifndef CONVBOX_FINDINGS_H
#define CONVBOX_FINDINGS_H

#include <stddef.h>

enum cvb_findings_format { CVB_FINDINGS_TEXT, CVB_FINDINGS_JSON, CVB_FINDINGS_SARIF };

/* "text", "json" or "sarif" to *fmt. Returns 0, or -EINVAL for another name. */
int cvb_findings_format_parse(const char *name, enum cvb_findings_format *fmt);

/*
 * Format one file's findings JSON array (as produced by the validator) for
 * `path` into a malloc'd string *out (free() it).
 */
int cvb_findings_format(const char *findings_json, const char *path, enum cvb_findings_format fmt,
			char **out);

/* Number of findings with severity "error" in a findings JSON array text, or -1 if invalid. */
int cvb_findings_count_errors(const char *findings_json);

/*
 * The findings array for a file that could not be read: one finding, rule
 * "unreadable-file", severity error, line 0 (the whole file), with
 * strerror(errnum) in the message. *json_out is malloc'd.
 */
int cvb_findings_unreadable(const char *path, int errnum, char **json_out);

/* A document accumulating the findings of several files. */
struct cvb_findings_doc;

struct cvb_findings_doc *cvb_findings_doc_new(enum cvb_findings_format fmt);
void cvb_findings_doc_free(struct cvb_findings_doc *doc);

/* Add one file's findings array. On -EINVAL nothing of it is added. */
int cvb_findings_doc_add(struct cvb_findings_doc *doc, const char *path, const char *findings_json);

/* Add the "unreadable-file" finding for a file that could not be read. */
int cvb_findings_doc_add_unreadable(struct cvb_findings_doc *doc, const char *path, int errnum);

/* Number of files added, and of findings at severity "error" over all of them. */
size_t cvb_findings_doc_files(const struct cvb_findings_doc *doc);
size_t cvb_findings_doc_errors(const struct cvb_findings_doc *doc);

/* Render the whole document into a malloc'd string *out. */
int cvb_findings_doc_render(const struct cvb_findings_doc *doc, char **out);

/*
 * A one-line description of a validator rule, for SARIF and help texts;
 * NULL for an id the host does not know (its findings still format).
 */
const char *cvb_findings_rule_description(const char *rule_id);

#endif
