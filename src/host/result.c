/*
 * From what a job sent and how it ended to exactly one outcome, and the one
 * JSON line that reports it. Reports and the converter's result members are
 * spliced in as the bytes the job sent (after validation), so a report
 * arrives byte-identical, floats and all.
 */
#include "host/host.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const outcome_names[CVB_OUTCOME_COUNT] = {
    "completed",    "converter_error", "security", "timeout",  "cpu_limit",
    "memory_limit", "output_limit",    "crashed",  "protocol", "sandbox_error",
};

const char *cvb_outcome_name(enum cvb_outcome o)
{
	return (unsigned)o < CVB_OUTCOME_COUNT ? outcome_names[o] : NULL;
}

int cvb_outcome_parse(const char *name)
{
	for (int i = 0; i < CVB_OUTCOME_COUNT; i++)
		if (strcmp(name, outcome_names[i]) == 0)
			return i;
	return -1;
}

int cvb_outcome_exit_code(enum cvb_outcome o, const char *status)
{
	switch (o) {
	case CVB_OUTCOME_COMPLETED:
		return status && strcmp(status, "Success") == 0 ? 0 : 1;
	case CVB_OUTCOME_CONVERTER_ERROR:
		return 1;
	case CVB_OUTCOME_SECURITY:
		return 3;
	case CVB_OUTCOME_TIMEOUT:
		return 4;
	case CVB_OUTCOME_CPU_LIMIT:
	case CVB_OUTCOME_MEMORY_LIMIT:
	case CVB_OUTCOME_OUTPUT_LIMIT:
		return 5;
	default:
		return 6;
	}
}

void cvb_result_clear(struct cvb_result *r)
{
	free(r->input);
	free(r->line);
	for (size_t i = 0; i < r->n_reports; i++)
		free(r->reports[i]);
	free(r->reports);
	free(r->message);
	memset(r, 0, sizeof(*r));
}

/* ---- outcome ------------------------------------------------------------- */

struct verdict {
	enum cvb_outcome outcome;
	char message[512];
	json_t *error_obj; /* exception details, borrowed */
};

/*
 * The job counted its audit-hook denials in the host's page (struct
 * cvb_tally) before reporting them: counted but never reported means the
 * converter kept its reports from us (DENIED frames inside a forged frame).
 * Refused syscalls need no such check: the kernel told the host of each.
 */
static void tally_check(struct host_job *j)
{
	if (j->tally && __atomic_load_n(&j->tally->hook, __ATOMIC_RELAXED) > 0 &&
	    j->hook_frames == 0)
		cvb_job_add_denial(j, "hidden", "denials the converter kept from the host",
				   "forged frames", NULL, "audit-hook");
}

static bool exited_with(struct host_job *j, const char *how, int *value)
{
	const char *h = json_string_value(json_object_get(j->exit_info, "how"));
	*value = (int)json_integer_value(json_object_get(j->exit_info, "value"));
	return h && strcmp(h, how) == 0;
}

static bool cpu_exhausted(struct cvb_sandbox *sb, struct host_job *j)
{
	int v;
	double cpu = (double)json_integer_value(json_object_get(j->exit_info, "cpu_us")) / 1e6;
	if (exited_with(j, "exited", &v) && v == CVB_JOBEXIT_CPU)
		return true;
	if (exited_with(j, "signaled", &v) && (v == SIGXCPU || v == SIGKILL))
		return !j->timed_out && cpu + 0.05 >= sb->opts.limits.cpu_s;
	return false;
}

static void verdict_from_job_error(struct host_job *j, struct verdict *v)
{
	json_t *err = json_object_get(j->job_error, "error");
	v->outcome = (enum cvb_outcome)cvb_outcome_parse(
	    json_string_value(json_object_get(j->job_error, "outcome")));
	if (json_is_object(err)) {
		v->error_obj = err;
		snprintf(v->message, sizeof(v->message), "%s: %s",
			 json_string_value(json_object_get(err, "type")) ?: "Error",
			 json_string_value(json_object_get(err, "message")) ?: "");
	} else {
		const char *layer = json_string_value(json_object_get(j->job_error, "layer"));
		snprintf(v->message, sizeof(v->message), "%s%s%s",
			 layer && v->outcome == CVB_OUTCOME_SANDBOX_ERROR ? layer : "",
			 layer && v->outcome == CVB_OUTCOME_SANDBOX_ERROR ? ": " : "",
			 json_string_value(err) ?: "job failed");
	}
}

static void decide(struct cvb_sandbox *sb, struct host_job *j, struct verdict *v)
{
	int val = 0;
	tally_check(j);
	if (exited_with(j, "exited", &val) && val == CVB_JOBEXIT_TAMPER) /* see pyhost.c */
		cvb_job_add_denial(j, "channel", "result channel (fd 3)", "replace", NULL,
				   "audit-hook");
	v->outcome = CVB_OUTCOME_CONVERTER_ERROR;
	if (j->protocol[0]) {
		v->outcome = CVB_OUTCOME_PROTOCOL;
		snprintf(v->message, sizeof(v->message), "%s", j->protocol);
	} else if (j->runner_died && !j->exited) {
		v->outcome = CVB_OUTCOME_SANDBOX_ERROR;
		snprintf(v->message, sizeof(v->message), "the runner process died during the job");
	} else if (json_array_size(j->denied) > 0 ||
		   (exited_with(j, "signaled", &val) && val == SIGSYS)) {
		if (json_array_size(j->denied) == 0) /* the filter kills calls of another ABI */
			cvb_job_add_denial(j, "syscall",
					   "of another architecture (x32 or i386): killed", NULL,
					   NULL, "seccomp");
		v->outcome = CVB_OUTCOME_SECURITY;
		snprintf(v->message, sizeof(v->message),
			 "the converter attempted %zu denied action(s)",
			 json_array_size(j->denied));
	} else if (j->timed_out) {
		v->outcome = CVB_OUTCOME_TIMEOUT;
		snprintf(v->message, sizeof(v->message), "Converter timed out after %g s",
			 sb->opts.limits.timeout_s);
	} else if (cpu_exhausted(sb, j)) {
		v->outcome = CVB_OUTCOME_CPU_LIMIT;
		snprintf(v->message, sizeof(v->message), "CPU time limit of %g s reached",
			 sb->opts.limits.cpu_s);
	} else if (j->job_error) {
		verdict_from_job_error(j, v);
	} else if (exited_with(j, "signaled", &val) ||
		   (val = (int)json_integer_value(json_object_get(j->exit_info, "fatal_signal")))) {
		v->outcome = CVB_OUTCOME_CRASHED;
		snprintf(v->message, sizeof(v->message),
			 "the converter process was killed by SIG%s",
			 sigabbrev_np(val) ? sigabbrev_np(val) : "?");
	} else if (j->result_raw || j->findings) {
		v->outcome = CVB_OUTCOME_COMPLETED;
	} else {
		exited_with(j, "exited", &val);
		snprintf(
		    v->message, sizeof(v->message),
		    "the converter ended its process (exit code %d) without returning a result",
		    val);
	}
}

/* ---- the converter's result ---------------------------------------------------- */

static const char *const result_keys[] = {"single",	 "status",	"metadata",
					  "error",	 "warnings",	"suspend_reason",
					  "retry_after", "post_action", NULL};

static bool known_key(const char *k)
{
	for (const char *const *p = result_keys; *p; p++)
		if (strcmp(*p, k) == 0)
			return true;
	return false;
}

/*
 * The RESULT frame is compact JSON that begins with the "single" member;
 * everything after it is spliced into our line unchanged.
 */
static const char *check_result(struct host_job *j, struct cvb_result *res, bool *single, char *why,
				size_t whylen)
{
	json_error_t e;
	json_t *o = json_loads(j->result_raw, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &e);
	const char *k, *inner = NULL;
	json_t *v;
	if (!json_is_object(o)) {
		snprintf(why, whylen, "RESULT is not a JSON object: %s", e.text);
		goto out;
	}
	json_object_foreach(o, k, v) if (!known_key(k))
	{
		snprintf(why, whylen, "RESULT has an unknown member '%s'", k);
		goto out;
	}
	const char *status = json_string_value(json_object_get(o, "status"));
	static const char *const statuses[] = {"Success", "Failed", "Suspended", "Skipped",
					       "Rejected"};
	for (size_t i = 0; status && i < 5; i++)
		if (strcmp(status, statuses[i]) == 0)
			snprintf(res->status, sizeof(res->status), "%s", status);
	if (!res->status[0]) {
		snprintf(why, whylen, "RESULT has no valid status");
		goto out;
	}
	const char *pa = json_string_value(json_object_get(o, "post_action"));
	if (pa && strcmp(pa, "move") && strcmp(pa, "delete") && strcmp(pa, "zip") &&
	    strcmp(pa, "keep")) {
		snprintf(why, whylen, "post_action '%.20s' is not move, delete, zip or keep", pa);
		goto out;
	}
	snprintf(res->post_action, sizeof(res->post_action), "%s", pa ? pa : "");
	json_t *ra = json_object_get(o, "retry_after");
	res->retry_after = json_is_number(ra) ? json_number_value(ra) : -1;
	*single = json_is_true(json_object_get(o, "single"));
	const char *prefix = *single ? "{\"single\":true," : "{\"single\":false,";
	if (strncmp(j->result_raw, prefix, strlen(prefix)) == 0 &&
	    j->result_raw[strlen(j->result_raw) - 1] == '}')
		inner = j->result_raw + strlen(prefix);
	else
		snprintf(why, whylen, "RESULT is not in the runner's canonical form");
out:
	json_decref(o);
	return inner;
}

/* ---- the line -------------------------------------------------------------------- */

struct line {
	char *buf;
	size_t len, cap;
	bool oom;
};

static void put(struct line *l, const char *s, size_t n)
{
	if (l->oom)
		return;
	if (l->len + n + 1 > l->cap) {
		size_t cap = l->cap ? l->cap : 4096;
		while (cap < l->len + n + 1)
			cap *= 2;
		char *nb = realloc(l->buf, cap);
		if (!nb) {
			l->oom = true;
			return;
		}
		l->buf = nb;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	l->buf[l->len] = 0;
}

static void puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

/* Members of a host-built object, without its braces. */
static void put_members(struct line *l, json_t *o)
{
	char *t = json_dumps(o, JSON_COMPACT);
	if (t && strlen(t) > 2) {
		puts_(l, ",");
		put(l, t + 1, strlen(t) - 2);
	}
	free(t);
}

static void put_reports(struct line *l, struct host_job *j, bool single)
{
	if (single) {
		if (j->n_reports > 0) {
			puts_(l, ",\"report\":");
			puts_(l, j->reports[0]);
		}
		return;
	}
	puts_(l, ",\"reports\":[");
	for (size_t i = 0; i < j->n_reports; i++) {
		if (i)
			puts_(l, ",");
		puts_(l, j->reports[i]);
	}
	puts_(l, "]");
}

static json_t *usage_json(struct host_job *j)
{
	double wall = (cvb_now() - j->started) * 1000.0;
	json_int_t cpu = json_integer_value(json_object_get(j->exit_info, "cpu_us")) / 1000;
	json_int_t rss = json_integer_value(json_object_get(j->exit_info, "max_rss_kb"));
	return json_pack("{s:I, s:I, s:I}", "wall_ms", (json_int_t)wall, "cpu_ms", cpu,
			 "max_rss_kb", rss);
}

static json_t *tail_members(struct cvb_sandbox *sb, struct host_job *j, struct verdict *v)
{
	json_t *o = json_object();
	if (v->outcome != CVB_OUTCOME_COMPLETED || (v->message[0] && !j->result_raw)) {
		if (v->error_obj)
			json_object_set(o, "error", v->error_obj);
		else if (v->message[0])
			json_object_set_new(o, "error", cvb_json_text(v->message));
	}
	if (j->logs_dropped)
		json_array_append_new(
		    j->logs,
		    json_pack("{s:s, s:o}", "level", "WARNING", "message",
			      json_sprintf("convbox: log truncated, %zu more line(s) dropped "
					   "(limits: %u lines, %u bytes)",
					   j->logs_dropped, CVB_LOG_MAX_LINES, CVB_LOG_MAX_BYTES)));
	json_object_set(o, "logs", j->logs);
	json_object_set(o, "denied", j->denied);
	if (json_array_size(j->outputs))
		json_object_set(o, "outputs", j->outputs);
	json_object_set_new(o, "usage", usage_json(j));
	if (sb->opts.trusted)
		json_object_set_new(o, "trusted", json_true());
	if (sb->degraded[0]) {
		json_t *d = json_array();
		for (size_t i = 0; sb->degraded[i]; i++)
			json_array_append_new(d, json_string(sb->degraded[i]));
		json_object_set_new(o, "degraded", d);
	}
	return o;
}

static void build_line(struct cvb_sandbox *sb, struct host_job *j, struct verdict *v,
		       struct cvb_result *res, const char *inner, bool single)
{
	struct line l = {0};
	json_t *head = json_pack("{s:o?, s:s}", "input", j->input ? cvb_json_text(j->input) : NULL,
				 "outcome", cvb_outcome_name(v->outcome));
	char *t = json_dumps(head, JSON_COMPACT);
	json_decref(head);
	if (t)
		put(&l, t, strlen(t) - 1);
	free(t);
	if (v->outcome == CVB_OUTCOME_COMPLETED && inner) {
		puts_(&l, ",");
		put(&l, inner, strlen(inner) - 1);
		put_reports(&l, j, single);
	}
	if (v->outcome == CVB_OUTCOME_COMPLETED && j->findings) {
		puts_(&l, ",\"findings\":");
		puts_(&l, j->findings);
	}
	json_t *tail = tail_members(sb, j, v);
	put_members(&l, tail);
	json_decref(tail);
	puts_(&l, "}");
	res->line = l.oom ? NULL : l.buf;
	if (l.oom)
		free(l.buf);
}

void cvb_job_finalize(struct cvb_sandbox *sb, struct host_job *j, struct cvb_result *res)
{
	struct verdict v = {0};
	const char *inner = NULL;
	bool single = true;
	memset(res, 0, sizeof(*res));
	res->retry_after = -1;
	decide(sb, j, &v);
	if (v.outcome == CVB_OUTCOME_COMPLETED && j->result_raw) {
		char why[256] = "";
		inner = check_result(j, res, &single, why, sizeof(why));
		if (!inner) {
			v.outcome = CVB_OUTCOME_PROTOCOL;
			snprintf(v.message, sizeof(v.message), "%s", why);
			res->status[0] = 0;
		}
	}
	res->job_id = j->id;
	res->input = j->input ? strdup(j->input) : NULL;
	res->outcome = v.outcome;
	res->message = v.message[0] ? strdup(v.message) : NULL;
	build_line(sb, j, &v, res, inner, single);
	if (v.outcome == CVB_OUTCOME_COMPLETED) {
		res->reports = j->reports;
		res->n_reports = j->n_reports;
		j->reports = NULL;
		j->n_reports = 0;
	}
}
