/*
 * What becomes of a finished conversion in `convbox serve`: reports into
 * the spool, then the post action; or the Error folder with an
 * explanation; or back into the queue (suspended, or lost on our side).
 *
 * Results read in one turn of the loop are a batch: every report of the
 * batch is written (each file fsync'd), the spool folder is fsync'd once,
 * and only then does any input leave its claim. See convbox/spool.h.
 */
#include "host/serve_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static void forward_logs(const struct serve *s, const struct job *j, json_t *detail)
{
	size_t i;
	json_t *l;
	json_array_foreach(json_object_get(detail, "logs"), i, l)
	{
		const char *lvl = json_string_value(json_object_get(l, "level")) ?: "INFO";
		enum log_level lv = serve_level_parse(lvl, NULL);
		serve_log(s, lv, "converter_log", "converter", serve_conv_name(s, j->conv), "file",
			  cvb_watch_name(j->e.key), "message",
			  json_string_value(json_object_get(l, "message")) ?: "", NULL);
	}
}

static void iso_time(time_t t, char out[32])
{
	struct tm tm;
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
}

/* <file>.error.json: what happened, for the person who looks into Error. */
static char *error_json(const struct serve *s, const struct job *j, const char *outcome,
			const char *status, const char *message, json_t *detail)
{
	char started[32], finished[32];
	iso_time(j->started_wall, started);
	iso_time(time(NULL), finished);
	json_t *o =
	    json_pack("{s:o, s:s, s:s, s:s, s:s?, s:s?, s:o, s:o, s:I, s:I, s:s, s:s}", "file",
		      cvb_json_text(cvb_watch_name(j->e.key)), "converter",
		      serve_conv_name(s, j->conv), "converter_path", s->cfg.conv[j->conv].path,
		      "outcome", outcome, "status", *status ? status : NULL, "error", message,
		      "denied", json_incref(json_object_get(detail, "denied")) ?: json_array(),
		      "logs", json_incref(json_object_get(detail, "logs")) ?: json_array(),
		      "attempts", (json_int_t)j->e.attempts, "suspends", (json_int_t)j->e.suspends,
		      "started", started, "finished", finished);
	json_t *usage = json_object_get(detail, "usage"),
	       *meta = json_object_get(detail, "metadata");
	if (o && usage)
		json_object_set(o, "usage", usage);
	if (o && meta)
		json_object_set(o, "metadata", meta);
	char *t = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
	json_decref(o);
	return t;
}

void serve_to_error(struct serve *s, struct job *j, const char *outcome, const char *status,
		    const char *message, json_t *detail)
{
	char *final = NULL, *side = NULL,
	     *text = error_json(s, j, outcome, status, message, detail);
	struct cvb_error err = {""};
	const struct cvb_serve_converter *c = &s->cfg.conv[j->conv];
	if (cvb_spool_move_unique(j->e.key, c->error_folder, &final, &err) < 0) {
		serve_log(s, LOG_ERROR, "error_folder_failed", "converter", c->name, "file",
			  j->e.key, "error", err.msg, NULL);
		serve_requeue(s, &j->e, RETRY_LATER_SECONDS);
		free(text);
		return;
	}
	cvb_watch_release(j->e.key);
	/*
	 * Beside the file, under a name of its own: an input called x.error.json
	 * stays. A long name is cut to leave room for the suffix (and a stamp).
	 */
	const char *name = cvb_watch_name(final);
	if (!text ||
	    asprintf(&side, "%.*s.error.json", (int)cvb_utf8_cut(name, NAME_MAX - 64), name) < 0 ||
	    cvb_spool_write_new(c->error_folder, side, text, strlen(text), NULL, &err) < 0)
		serve_log(s, LOG_ERROR, "error_json_failed", "converter", c->name, "file", final,
			  "error", err.msg[0] ? err.msg : "out of memory", NULL);
	serve_log(s, LOG_WARNING, "failed", "converter", c->name, "file", cvb_watch_name(j->e.key),
		  "outcome", outcome, "status", *status ? status : NULL, "error", message,
		  "moved_to", final, NULL);
	s->n_failed++;
	free(side);
	free(final);
	free(text);
}

/* The post action; the converter's own choice wins over the config's. */
/* Move a finished zip out of its claim folder into Done, as <name>.zip. */
void serve_finish_zip(const struct serve *s, unsigned c, const char *zip, char **final)
{
	struct cvb_error err = {""};
	const char *name = cvb_watch_name(zip) + strlen(CVB_ZIP_PREFIX);
	if (cvb_spool_move_as(zip, s->cfg.conv[c].done_folder, name, final, &err) < 0) {
		serve_log(s, LOG_ERROR, "zip_waiting", "converter", serve_conv_name(s, c), "file",
			  zip, "error", err.msg, "then", "moved at the next start", NULL);
		return;
	}
	cvb_watch_release(zip);
}

/*
 * zip: the archive is built in the claim folder; removing the input is the
 * commit (a crash before it converts the file again, a crash after it finds
 * only the zip and finishes the move), so the file is never in two places.
 */
static int zip_post(const struct serve *s, struct job *j, char **final, struct cvb_error *err)
{
	char *zip = NULL;
	const char *name = cvb_watch_name(j->e.key);
	if (asprintf(&zip, "%.*s/%s%s.zip", (int)(name - 1 - j->e.key), j->e.key, CVB_ZIP_PREFIX,
		     name) < 0)
		return cvb_error_set(err, "out of memory");
	int rc = cvb_spool_zip_file(j->e.key, zip, err);
	if (rc == 0 && unlink(j->e.key) < 0) {
		rc = cvb_error_errno(err, errno, "cannot remove '%s'", j->e.key);
		unlink(zip);
	}
	if (rc == 0)
		serve_finish_zip(s, j->conv, zip, final);
	free(zip);
	return rc;
}

/*
 * Why a file cannot be zipped, whatever the retries: its archive's name in
 * the claim folder would be too long, or the file too large for a zip
 * without its 64-bit extensions. NULL when it can.
 */
static const char *zip_impossible(const char *path)
{
	struct stat st;
	if (strlen(CVB_ZIP_PREFIX) + strlen(cvb_watch_name(path)) + strlen(".zip") > NAME_MAX)
		return "the name is too long to name its archive";
	if (stat(path, &st) == 0 && st.st_size >= (off_t)UINT32_MAX)
		return "the file is too large for a zip archive (4 GiB)";
	return NULL;
}

static int post_action(struct serve *s, struct job *j, const char *chosen, char **final,
		       struct cvb_error *err)
{
	const struct cvb_serve_converter *c = &s->cfg.conv[j->conv];
	int a = *chosen ? cvb_post_action_parse(chosen) : -1;
	enum cvb_post_action act = a >= 0 ? (enum cvb_post_action)a : c->post_action;
	int rc = 0;
	const char *no_zip = act == CVB_POST_ZIP ? zip_impossible(j->e.key) : NULL;
	if (no_zip) {
		serve_log(s, LOG_WARNING, "zip_unavailable", "converter", c->name, "file",
			  cvb_watch_name(j->e.key), "why", no_zip, "instead", "move", NULL);
		act = CVB_POST_MOVE;
	}
	if (act == CVB_POST_DELETE && unlink(j->e.key) < 0 && errno != ENOENT)
		rc = cvb_error_errno(err, errno, "cannot delete '%s'", j->e.key);
	else if (act == CVB_POST_ZIP)
		rc = zip_post(s, j, final, err);
	else if (act == CVB_POST_KEEP &&
		 cvb_spool_keep(j->e.key, c->watch_folder, final, err) < 0) {
		serve_log(s, LOG_WARNING, "keep_unavailable", "converter", c->name, "error",
			  err->msg, "instead", "move", NULL);
		act = CVB_POST_MOVE;
	}
	if (act == CVB_POST_MOVE)
		rc = cvb_spool_move_unique(j->e.key, c->done_folder, final, err);
	if (rc == 0)
		cvb_watch_release(j->e.key);
	return rc;
}

/*
 * Check and complete every report before any is written (a bad one sends
 * the file to Error with nothing spooled): each raw text is replaced by the
 * text to spool, its id into ids[i].
 */
static int prepare_reports(struct serve *s, struct finished *f, char (*ids)[CVB_UUID_LEN + 1],
			   size_t *lens)
{
	const struct cvb_serve_config *cfg = &s->cfg;
	const struct cvb_station st = {cfg->machine_name, cfg->location, cfg->purpose};
	uint8_t content[32];
	struct cvb_error err = {""};
	if (cvb_sha256_file(f->job.e.key, content, &err) < 0) {
		f->fate = F_RETRY;
		snprintf(f->why, sizeof(f->why), "%s", err.msg);
		return -1;
	}
	for (size_t i = 0; i < f->m.n_reports; i++) {
		char derived[CVB_UUID_LEN + 1], *text = NULL;
		const char *raw = f->m.reports[i];
		cvb_spool_derive_id(serve_conv_name(s, f->job.conv), cvb_watch_name(f->job.e.key),
				    content, i, derived);
		if (cvb_spool_prepare_report(raw, strlen(raw), derived, &st, &text, &lens[i],
					     ids[i], &err) < 0) {
			f->fate = F_ERROR;
			snprintf(f->why, sizeof(f->why), "report %zu: %s", i + 1, err.msg);
			return -1;
		}
		free(f->m.reports[i]);
		f->m.reports[i] = text;
		for (size_t k = 0; k < i; k++)
			if (strcmp(ids[k], ids[i]) == 0) { /* the second would replace the first */
				f->fate = F_ERROR;
				snprintf(f->why, sizeof(f->why),
					 "reports %zu and %zu share the id %s", k + 1, i + 1,
					 ids[i]);
				return -1;
			}
	}
	return 0;
}

/* Phase 1 for a successful conversion: every report into the spool (not yet synced). */
static void spool_reports(struct serve *s, struct finished *f)
{
	size_t n = f->m.n_reports;
	char(*ids)[CVB_UUID_LEN + 1] = calloc(n ? n : 1, sizeof(*ids));
	size_t *lens = calloc(n ? n : 1, sizeof(*lens));
	struct cvb_error err = {""};
	if (!ids || !lens) {
		f->fate = F_RETRY;
		snprintf(f->why, sizeof(f->why), "out of memory");
	} else if (n > 0) {
		prepare_reports(s, f, ids, lens); /* sets the fate when it fails */
	}
	for (size_t i = 0; f->fate == F_POST && i < n; i++) {
		int rc = cvb_spool_put(s->spool, ids[i], f->m.reports[i], lens[i], &err);
		if (rc < 0) {
			f->fate = F_RETRY;
			snprintf(f->why, sizeof(f->why), "%s", err.msg);
		} else if (rc == 1) {
			f->written++;
		} else if (rc == 2) {
			f->replaced++;
		} else {
			f->unchanged++;
		}
	}
	free(ids);
	free(lens);
}

/* Decide a finished job's fate from its outcome and status. */
static void classify(struct serve *s, struct finished *f)
{
	const struct cvb_driver_msg *m = &f->m;
	const char *msg =
	    m->message ? m->message : json_string_value(json_object_get(m->detail, "error"));
	msg = msg ? msg : "";
	f->fate = F_ERROR;
	snprintf(f->why, sizeof(f->why), "%s", msg);
	if (m->outcome == CVB_OUTCOME_SANDBOX_ERROR)
		f->fate = F_LOST;
	else if (m->outcome != CVB_OUTCOME_COMPLETED)
		return;
	else if (strcmp(m->status, "Success") == 0) {
		f->fate = F_POST;
		spool_reports(s, f);
	} else if (strcmp(m->status, "Skipped") == 0)
		f->fate = F_POST;
	else if (strcmp(m->status, "Suspended") == 0)
		f->fate = F_SUSPEND;
	else if (!*msg)
		snprintf(f->why, sizeof(f->why), "the converter returned %s", m->status);
}

static void log_done(const struct serve *s, const struct finished *f, const char *final)
{
	char ms[32], w[32], r[32], u[32];
	const struct job *j = &f->job;
	serve_log(s, LOG_INFO, strcmp(f->m.status, "Skipped") == 0 ? "skipped" : "converted",
		  "converter", serve_conv_name(s, j->conv), "file", cvb_watch_name(j->e.key),
		  "reports", serve_num(w, (double)f->written), "replaced_reports",
		  f->replaced ? serve_num(r, (double)f->replaced) : NULL, "unchanged_reports",
		  f->unchanged ? serve_num(u, (double)f->unchanged) : NULL, "ms",
		  serve_num(ms, (double)(long)((serve_now() - j->started) * 1000)), "moved_to",
		  final, NULL);
}

static void suspend(struct serve *s, struct finished *f)
{
	struct job *j = &f->job;
	char sec[32], n[32];
	double after = f->m.retry_after >= 0 ? f->m.retry_after : s->cfg.suspend_retry_seconds;
	after = after > 86400 ? 86400 : after;
	if (++j->e.suspends > s->cfg.max_suspend_retries) {
		snprintf(f->why, sizeof(f->why),
			 "suspended %u times (max_suspend_retries is %u)%s%s", j->e.suspends,
			 s->cfg.max_suspend_retries, f->m.message ? ": " : "",
			 f->m.message ? f->m.message : "");
		serve_to_error(s, j, "completed", "Suspended", f->why, f->m.detail);
		return;
	}
	s->n_suspended++;
	serve_log(s, LOG_INFO, "suspended", "converter", serve_conv_name(s, j->conv), "file",
		  cvb_watch_name(j->e.key), "retry_after", serve_num(sec, after), "times",
		  serve_num(n, j->e.suspends), "reason", f->m.message, NULL);
	serve_requeue(s, &j->e, after);
}

static bool claimed_file_gone(const struct job *j)
{
	struct stat st;
	return lstat(j->e.key, &st) < 0 && errno == ENOENT;
}

/* Phase 3: act on the fate (the spool is durable by now). */
static void apply_fate(struct serve *s, struct finished *f)
{
	struct job *j = &f->job;
	char *final = NULL;
	struct cvb_error err = {""};
	forward_logs(s, j, f->m.detail);
	if (f->fate == F_POST && post_action(s, j, f->m.post_action, &final, &err) < 0) {
		f->fate = F_RETRY;
		snprintf(f->why, sizeof(f->why), "post action: %s", err.msg);
	}
	if (f->fate == F_POST) {
		log_done(s, f, final);
		s->n_converted++;
	} else if (f->fate == F_ERROR)
		serve_to_error(s, j, cvb_outcome_name(f->m.outcome), f->m.status, f->why,
			       f->m.detail);
	else if (f->fate == F_SUSPEND)
		suspend(s, f);
	else if (claimed_file_gone(j)) {
		/* someone removed it from the processing area: nothing left to retry */
		serve_log(s, LOG_WARNING, "vanished", "converter", serve_conv_name(s, j->conv),
			  "file", cvb_watch_name(j->e.key), "error", f->why, NULL);
		cvb_watch_release(j->e.key);
	} else if (f->fate == F_LOST && ++j->e.attempts >= s->cfg.max_attempts)
		serve_to_error(s, j, cvb_outcome_name(f->m.outcome), "", f->why, f->m.detail);
	else {
		serve_log(s, LOG_WARNING, "retry", "converter", serve_conv_name(s, j->conv), "file",
			  cvb_watch_name(j->e.key), "error", f->why, NULL);
		serve_requeue(s, &j->e, f->fate == F_LOST ? 1.0 : RETRY_LATER_SECONDS);
	}
	free(final);
	cvb_queue_entry_clear(&j->e);
	cvb_driver_msg_clear(&f->m);
}

/* All results read in one turn: spool, one fsync of the spool folder, then post actions. */
/*
 * One batch. Its fsyncs block the loop, so before each slow step the loop
 * is pumped: results that arrived meanwhile join the next batch and their
 * workers get new files at once.
 */
static void finish(struct serve *s, struct finished *b, size_t n)
{
	struct cvb_error err = {""};
	bool wrote = false;
	for (size_t i = 0; i < n; i++) {
		serve_pump(s);
		classify(s, &b[i]);
		wrote |= b[i].written + b[i].replaced > 0;
	}
	serve_pump(s);
	if (wrote && cvb_spool_sync(s->spool, &err) < 0)
		for (size_t i = 0; i < n; i++)
			if (b[i].fate == F_POST) {
				b[i].fate = F_RETRY;
				snprintf(b[i].why, sizeof(b[i].why), "%s", err.msg);
			}
	for (size_t i = 0; i < n; i++) {
		serve_pump(s);
		apply_fate(s, &b[i]);
	}
}

void serve_finish_batch(struct serve *s)
{
	while (s->n_batch > 0) {
		struct finished *b = s->batch;
		size_t n = s->n_batch;
		s->batch = NULL;
		s->n_batch = s->cap_batch = 0;
		finish(s, b, n);
		free(b);
	}
}

void serve_on_result(struct serve *s, unsigned c, struct cvb_driver_msg *m)
{
	size_t i = 0;
	while (i < s->n_jobs && !(s->jobs[i].token == m->token && s->jobs[i].conv == c))
		i++;
	if (i == s->n_jobs) {
		cvb_driver_msg_clear(m); /* not ours (cannot happen) */
		return;
	}
	if (s->n_batch == s->cap_batch) {
		size_t cap = s->cap_batch ? s->cap_batch * 2 : 16;
		struct finished *b = realloc(s->batch, cap * sizeof(*b));
		if (!b) {
			cvb_driver_msg_clear(m);
			return; /* the job stays running; the stuck check requeues it */
		}
		s->batch = b;
		s->cap_batch = cap;
	}
	struct finished *f = &s->batch[s->n_batch++];
	s->rt[c].acks++;
	memset(f, 0, sizeof(*f));
	f->job = serve_take_job(s, i);
	f->m = *m;
	memset(m, 0, sizeof(*m));
}
