/*
 * `convbox serve`: the station service.
 *
 * Theory of operation. One process, one event loop, no threads:
 *
 *   watch (inotify, looks)  --complete files-->  queue (priority, age)
 *   queue --pop when a worker is free--> claim (rename into the processing
 *   area) --> the converter's driver (a child process owning the sandbox)
 *   driver --result--> reports into the spool (fsync), then the post action,
 *   or the Error folder, or back into the queue (suspended, or lost on our
 *   side).
 *
 * Every file is in exactly one place at every moment: the watch folder,
 * the processing area (claimed), or its final folder; each move is one
 * rename. Reports reach the spool before the input leaves the processing
 * area, and their ids are stable, so a crash anywhere is repaired by
 * converting the claimed files again at the next start: the spool keeps
 * one copy of each report.
 *
 * Signals arrive through a signalfd: SIGTERM/SIGINT stop (running
 * conversions get shutdown_grace_seconds, the rest resume at the next
 * start), SIGHUP reloads the configuration the same way. A converter file
 * that changes on disk is read, validated and started again once its
 * running conversions are done.
 *
 * This file: the command, the loop, converters and their drivers, routing
 * and dispatch, set-up and recovery. What becomes of a finished conversion
 * is serve_results.c; the structures both share are host/serve_int.h.
 */
#include "convbox/cli.h"
#include "host/serve_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONVERTER_BYTES  (8u << 20)
#define STUCK_MARGIN_SECONDS 60.0

static const char *const level_names[] = {"DEBUG", "INFO", "WARNING", "ERROR"};

double serve_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- logging: one line per event, key=value, values quoted when needed ---- */

/* A value as is, or quoted: with \" \\ and \xNN for control bytes and bytes not UTF-8. */
static size_t put_value(char *b, size_t off, size_t len, const char *v)
{
	bool plain = *v != 0;
	for (const char *p = v; *p && plain; p += plain ? cvb_utf8_len(p) : 0)
		plain = (unsigned char)*p > ' ' && *p != '"' && *p != '\\' && *p != 0x7f &&
			cvb_utf8_len(p) > 0;
	if (plain)
		return off + (size_t)snprintf(b + off, off < len ? len - off : 0, "%s", v);
	off += (size_t)snprintf(b + off, off < len ? len - off : 0, "\"");
	for (const char *p = v; *p && off + 8 < len; p++) {
		unsigned char c = (unsigned char)*p;
		size_t n = cvb_utf8_len(p);
		if (c == '"' || c == '\\') {
			off += (size_t)snprintf(b + off, len - off, "\\%c", c);
		} else if (c < ' ' || c == 0x7f || n == 0) {
			off += (size_t)snprintf(b + off, len - off, "\\x%02x", c);
		} else {
			memcpy(b + off, p, n);
			off += n;
			p += n - 1;
		}
	}
	return off + (size_t)snprintf(b + off, off < len ? len - off : 0, "\"");
}

/* serve_log(s, level, event, key, value, key, value, ..., NULL); NULL values are left out. */
__attribute__((sentinel)) void serve_log(const struct serve *s, enum log_level lv,
					 const char *event, ...)
{
	char b[16384], stamp[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	if (lv < s->level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", gmtime_r(&ts.tv_sec, &tm));
	size_t off = (size_t)snprintf(b, sizeof(b), "%s.%03ldZ %s %s", stamp, ts.tv_nsec / 1000000,
				      level_names[lv], event);
	va_start(ap, event);
	for (const char *k; (k = va_arg(ap, const char *));) {
		const char *v = va_arg(ap, const char *);
		if (!v || off >= sizeof(b) - 16)
			continue;
		off += (size_t)snprintf(b + off, sizeof(b) - off, " %s=", k);
		off = put_value(b, off, sizeof(b) - 16, v);
	}
	va_end(ap);
	off = off < sizeof(b) - 2 ? off : sizeof(b) - 2;
	b[off++] = '\n';
	if (write(2, b, off) < 0) {
		/* nowhere left to say it */
	}
}

const char *serve_num(char buf[32], double v)
{
	snprintf(buf, 32, "%.15g", v);
	return buf;
}

enum log_level serve_level_parse(const char *name, bool *known)
{
	for (int k = 0; k < 4; k++)
		if (strcasecmp(name, level_names[k]) == 0) {
			if (known)
				*known = true;
			return (enum log_level)k;
		}
	return LOG_INFO;
}

const char *serve_conv_name(const struct serve *s, unsigned c)
{
	return s->cfg.conv[c].name;
}

/* ---- converters: reading, starting, losing, reloading ---- */

static int read_source(const char *path, struct conv_rt *rt, struct cvb_error *err)
{
	struct stat st;
	size_t len = 0;
	if (stat(path, &st) < 0)
		return cvb_error_errno(err, errno, "cannot read converter '%s'", path);
	uint8_t *src = cvb_read_file(path, MAX_CONVERTER_BYTES, &len);
	if (!src)
		return cvb_error_errno(err, errno, "cannot read converter '%s'", path);
	free(rt->src);
	rt->src = src;
	rt->src_len = len;
	rt->st = st;
	struct cvb_sha256 h;
	cvb_sha256_init(&h);
	cvb_sha256_update(&h, src, len);
	cvb_sha256_final(&h, rt->sha);
	return 0;
}

static void conv_disable(struct serve *s, unsigned c, const char *why)
{
	struct conv_rt *rt = &s->rt[c];
	serve_log(s, LOG_ERROR, "converter_disabled", "converter", serve_conv_name(s, c), "path",
		  s->cfg.conv[c].path, "error", why, NULL);
	cvb_driver_stop(rt->drv, 1.0);
	rt->drv = NULL;
	rt->state = CS_DISABLED;
	s->lane_ok[c] = false; /* a dispatch under way takes no more of its files */
}

static void conv_start(struct serve *s, unsigned c)
{
	struct conv_rt *rt = &s->rt[c];
	struct cvb_error err = {""};
	rt->reload = false;
	if (!rt->src && read_source(s->cfg.conv[c].path, rt, &err) < 0) {
		conv_disable(s, c, err.msg);
		return;
	}
	if (cvb_driver_start(&s->cfg.conv[c], rt->src, rt->src_len, &rt->drv, &err) < 0) {
		serve_log(s, LOG_ERROR, "driver_failed", "converter", serve_conv_name(s, c),
			  "error", err.msg, NULL);
		rt->state = CS_RESTART_WAIT;
		rt->restart_at = serve_now() + 5;
		return;
	}
	rt->state = CS_STARTING;
}

void serve_requeue(struct serve *s, struct cvb_queue_entry *e, double delay)
{
	e->not_before = delay > 0 ? serve_now() + delay : 0;
	if (cvb_queue_push(s->queue, e) < 0)
		serve_log(s, LOG_ERROR, "queue_full", "file", e->key, "error", "out of memory",
			  NULL);
	cvb_queue_entry_clear(e);
}

/* Remove job i from the running set (the caller owns what it returns). */
struct job serve_take_job(struct serve *s, size_t i)
{
	struct job j = s->jobs[i];
	s->jobs[i] = s->jobs[--s->n_jobs];
	s->rt[j.conv].in_flight--;
	return j;
}

/* A driver died or broke the protocol: its running files go back to the queue. */
static void conv_lost(struct serve *s, unsigned c, const char *why)
{
	struct conv_rt *rt = &s->rt[c];
	serve_log(s, LOG_ERROR, "driver_lost", "converter", serve_conv_name(s, c), "error", why,
		  NULL);
	cvb_driver_stop(rt->drv, 0);
	rt->drv = NULL;
	s->lane_ok[c] = false; /* a dispatch under way takes no more of its files */
	for (size_t i = s->n_jobs; i-- > 0;) {
		if (s->jobs[i].conv != c)
			continue;
		struct job j = serve_take_job(s, i);
		if (++j.e.attempts >= s->cfg.max_attempts)
			serve_to_error(s, &j, "sandbox_error", "", why, NULL);
		else
			serve_requeue(s, &j.e, 1.0);
		cvb_queue_entry_clear(&j.e);
	}
	rt->state = CS_RESTART_WAIT;
	rt->restart_at = serve_now() + (rt->restarts < 6 ? (double)(1u << rt->restarts) : 60.0);
	rt->restarts++;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Re-read a converter file whose identity changed; a new content reloads the converter. */
static void check_converter_file(struct serve *s, unsigned c)
{
	struct conv_rt *rt = &s->rt[c], fresh = {0};
	struct cvb_error err = {""};
	struct stat st;
	if (rt->state == CS_OFF || stat(s->cfg.conv[c].path, &st) < 0 ||
	    (rt->src && same_file(&st, &rt->st)))
		return;
	if (read_source(s->cfg.conv[c].path, &fresh, &err) < 0)
		return;
	bool same = rt->src && memcmp(fresh.sha, rt->sha, sizeof(rt->sha)) == 0;
	free(rt->src);
	rt->src = fresh.src;
	rt->src_len = fresh.src_len;
	rt->st = fresh.st;
	memcpy(rt->sha, fresh.sha, sizeof(rt->sha));
	if (same && rt->state != CS_DISABLED)
		return;
	serve_log(s, LOG_INFO, "converter_changed", "converter", serve_conv_name(s, c), "path",
		  s->cfg.conv[c].path, NULL);
	rt->reload = true;
	if (rt->state == CS_READY || rt->state == CS_STARTING)
		rt->state = CS_DRAINING;
}

/* Converters waiting for a restart or a reload whose time has come. */
static void converter_timers(struct serve *s, double now)
{
	for (unsigned c = 0; c < s->cfg.n_conv; c++) {
		struct conv_rt *rt = &s->rt[c];
		bool restart = rt->state == CS_RESTART_WAIT && now >= rt->restart_at;
		bool reload = rt->reload && rt->in_flight == 0;
		if (!restart && !reload)
			continue;
		if (reload)
			serve_log(s, LOG_INFO, "converter_reload", "converter",
				  serve_conv_name(s, c), NULL);
		cvb_driver_stop(rt->drv, 1.0);
		rt->drv = NULL;
		conv_start(s, c);
	}
}

static void on_ready(struct serve *s, unsigned c, struct cvb_driver_msg *m)
{
	struct conv_rt *rt = &s->rt[c];
	if (m->validation_errors > 0) {
		char why[1200];
		snprintf(why, sizeof(why), "validation failed (%u error%s): %s",
			 m->validation_errors, m->validation_errors == 1 ? "" : "s",
			 m->findings_summary ? m->findings_summary : "");
		conv_disable(s, c, why);
		return;
	}
	if (rt->state == CS_STARTING)
		rt->state = CS_READY;
	rt->restarts = 0;
	serve_log(s, LOG_INFO, "converter_ready", "converter", serve_conv_name(s, c), "path",
		  s->cfg.conv[c].path, "trusted", s->cfg.conv[c].opts.trusted ? "true" : "false",
		  NULL);
	cvb_watch_rescan_all(s->watch); /* files it could not take before */
}

/* ---- routing and dispatch ---- */

/* The converter for a file in a watch folder: the best priority among those that match. */
static int route(const struct serve *s, int folder, const char *name)
{
	int best = -1;
	for (unsigned c = 0; c < s->cfg.n_conv; c++) {
		const struct conv_rt *rt = &s->rt[c];
		if (rt->folder != folder || rt->state == CS_OFF || rt->state == CS_DISABLED ||
		    !cvb_serve_matches(&s->cfg.conv[c], name))
			continue;
		if (best < 0 || s->cfg.conv[c].priority < s->cfg.conv[best].priority)
			best = (int)c;
	}
	return best;
}

static void enqueue(struct serve *s, const struct cvb_watch_file *f, bool claimed)
{
	char *key = NULL;
	const char *name = claimed ? cvb_watch_name(f->name) : f->name;
	int c = route(s, (int)f->folder, name);
	if (claimed)
		key = strdup(f->name);
	else if (asprintf(&key, "%s/%s", cvb_watch_dir(s->watch, f->folder), f->name) < 0)
		key = NULL;
	if (!key || c < 0 || cvb_queue_contains(s->queue, key)) {
		free(key);
		return;
	}
	struct cvb_queue_entry e = {.key = key,
				    .lane = (unsigned)c,
				    .priority = (int)s->cfg.conv[c].priority,
				    .arrival_ns = f->mtime_ns,
				    .claimed = claimed};
	if (cvb_queue_push(s->queue, &e) == 1)
		serve_log(s, LOG_DEBUG, "queued", "converter", serve_conv_name(s, (unsigned)c),
			  "file", key, NULL);
	free(key);
}

static void enqueue_all(struct serve *s, struct cvb_watch_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		enqueue(s, &l->v[i], false);
	cvb_watch_list_clear(l);
}

/* Claim an entry that is still in its watch folder; false when it is not ours to take. */
static bool claim(struct serve *s, struct cvb_queue_entry *e)
{
	char *claimed = NULL, *slash = strrchr(e->key, '/');
	struct cvb_error err = {""};
	if (e->claimed)
		return true;
	*slash = 0;
	int rc = cvb_watch_claim(e->key, slash + 1, &claimed, &err);
	*slash = '/';
	if (rc != CVB_CLAIM_OK) {
		serve_log(s, rc < 0 ? LOG_ERROR : LOG_DEBUG, "not_claimed", "converter",
			  serve_conv_name(s, e->lane), "file", e->key, "why",
			  rc < 0 ? err.msg
				 : (rc == CVB_CLAIM_BUSY ? "still open for writing" : "gone"),
			  NULL);
		return false;
	}
	free(e->key);
	e->key = claimed;
	e->claimed = true;
	return true;
}

static int add_job(struct serve *s, const struct job *j)
{
	if (s->n_jobs == s->cap_jobs) {
		size_t cap = s->cap_jobs ? s->cap_jobs * 2 : 16;
		struct job *v = realloc(s->jobs, cap * sizeof(*v));
		if (!v)
			return -1;
		s->jobs = v;
		s->cap_jobs = cap;
	}
	s->jobs[s->n_jobs++] = *j;
	s->rt[j->conv].in_flight++;
	return 0;
}

static void start_job(struct serve *s, struct cvb_queue_entry *e)
{
	struct job j = {.token = ++s->next_token, .conv = e->lane, .e = *e};
	struct cvb_error err = {""};
	if (s->rt[j.conv].state != CS_READY || !s->rt[j.conv].drv) {
		serve_requeue(s, &j.e, 0); /* its driver went away during this dispatch */
		return;
	}
	if (!claim(s, &j.e)) {
		cvb_queue_entry_clear(&j.e);
		return;
	}
	j.started = serve_now();
	j.started_wall = time(NULL);
	if (add_job(s, &j) < 0) {
		serve_requeue(s, &j.e, 1.0);
		return;
	}
	if (cvb_driver_submit(s->rt[j.conv].drv, j.token, j.e.key, &err) < 0)
		conv_lost(s, j.conv, err.msg); /* requeues this job with the others */
}

static void dispatch(struct serve *s)
{
	size_t n = s->cfg.n_conv;
	if (s->stopping || s->next_cfg)
		return;
	for (size_t c = 0; c < n; c++)
		s->lane_ok[c] = s->rt[c].state == CS_READY;
	struct cvb_queue_entry e;
	while (s->n_jobs < s->cfg.workers &&
	       cvb_queue_pop(s->queue, serve_now(), s->lane_ok, n, &e) == 1)
		start_job(s, &e);
}

static void read_driver(struct serve *s, unsigned c)
{
	struct cvb_driver_msg m;
	struct cvb_error err = {""};
	int rc;
	while (s->rt[c].drv && (rc = cvb_driver_read(s->rt[c].drv, &m, &err)) != 0) {
		if (rc < 0) {
			conv_lost(s, c, err.msg);
			return;
		}
		if (m.kind == CVB_DRIVER_RESULT)
			serve_on_result(s, c, &m);
		else if (m.kind == CVB_DRIVER_READY)
			on_ready(s, c, &m);
		else
			conv_disable(s, c, m.message ? m.message : "the sandbox could not start");
		cvb_driver_msg_clear(&m);
	}
}

/* Jobs with no result long after their timeout: their driver is hung. */
static void check_stuck(struct serve *s, double now)
{
	for (size_t i = 0; i < s->n_jobs; i++) {
		const struct job *j = &s->jobs[i];
		double limit = s->cfg.conv[j->conv].opts.limits.timeout_s + STUCK_MARGIN_SECONDS;
		if (now - j->started > limit) {
			conv_lost(s, j->conv, "no result long after the timeout: driver hung");
			return; /* the job set changed */
		}
	}
}

/* ---- set-up and tear-down ---- */

static int lock_spool(struct serve *s, struct cvb_error *err)
{
	s->lock_fd = open(s->cfg.reports_folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->lock_fd < 0)
		return cvb_error_errno(err, errno, "cannot open '%s'", s->cfg.reports_folder);
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0)
		return cvb_error_errno(err, errno,
				       "another convbox serve uses the reports folder '%s'",
				       s->cfg.reports_folder);
	return 0;
}

/*
 * Claimed files are reached by path: whoever may rename entries of a watch
 * folder could swap the processing area for a symbolic link while a file is
 * converted. The sticky bit (as on /tmp) leaves renaming our entries to us.
 */
static void warn_shared_folder(const struct serve *s, unsigned c)
{
	struct stat st;
	const char *dir = s->cfg.conv[c].watch_folder;
	if (stat(dir, &st) < 0 || (st.st_mode & S_ISVTX))
		return;
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) || st.st_uid != geteuid())
		serve_log(s, LOG_WARNING, "shared_watch_folder", "converter", serve_conv_name(s, c),
			  "folder", dir, "advice",
			  "others may write here: chmod +t so that only the service can rename "
			  "its processing area",
			  NULL);
}

static int setup_folders(struct serve *s, unsigned c, struct cvb_error *err)
{
	const struct cvb_serve_converter *cv = &s->cfg.conv[c];
	int f = cvb_watch_add(s->watch, cv->watch_folder, err);
	if (f < 0 || cvb_spool_mkdirs(cv->done_folder, err) < 0 ||
	    cvb_spool_mkdirs(cv->error_folder, err) < 0)
		return -1;
	cvb_spool_sweep_temps(cv->done_folder);
	cvb_spool_sweep_temps(cv->error_folder);
	s->rt[c].folder = f;
	warn_shared_folder(s, c);
	return 0;
}

/* The converter of a zip left in a claim folder: by the name inside `.convbox-zip-<name>.zip`. */
static int route_zip(const struct serve *s, int folder, const char *zip_name)
{
	char name[NAME_MAX + 1];
	const char *inner = zip_name + strlen(CVB_ZIP_PREFIX);
	snprintf(name, sizeof(name), "%.*s", (int)(strlen(inner) - 4), inner);
	return route(s, folder, name);
}

static void finish_zip_recovered(const struct serve *s, unsigned c, const char *zip)
{
	char *final = NULL;
	serve_finish_zip(s, c, zip, &final);
	if (final)
		serve_log(s, LOG_INFO, "zip_finished", "converter", serve_conv_name(s, c),
			  "moved_to", final, NULL);
	free(final);
}

/* Files a crash left in the processing areas go back into the queue. */
static void recover(struct serve *s)
{
	for (unsigned c = 0; c < s->cfg.n_conv; c++) {
		int f = s->rt[c].folder;
		struct cvb_watch_list l = {0};
		struct cvb_error err = {""};
		bool first = f >= 0;
		for (unsigned k = 0; k < c; k++)
			first &= s->rt[k].folder != f;
		if (!first)
			continue;
		if (cvb_watch_recover(s->cfg.conv[c].watch_folder, (unsigned)f, &l, &err) < 0) {
			serve_log(s, LOG_ERROR, "recover_failed", "converter",
				  serve_conv_name(s, c), "error", err.msg, NULL);
			continue;
		}
		for (size_t i = 0; i < l.n; i++) {
			const char *name = cvb_watch_name(l.v[i].name);
			int to = l.v[i].zip ? route_zip(s, f, name) : route(s, f, name);
			serve_log(s, LOG_INFO, "recovered", "file", l.v[i].name, NULL);
			if (l.v[i].zip)
				finish_zip_recovered(s, to < 0 ? c : (unsigned)to, l.v[i].name);
			else if (to >= 0)
				enqueue(s, &l.v[i], true);
			else if (cvb_watch_unclaim(l.v[i].name, s->cfg.conv[c].watch_folder, &err) <
				 0)
				serve_log(s, LOG_ERROR, "unclaim_failed", "file", l.v[i].name,
					  "error", err.msg, NULL);
		}
		cvb_watch_list_clear(&l);
	}
}

static int serve_setup(struct serve *s, struct cvb_error *err)
{
	const struct cvb_serve_config *cfg = &s->cfg;
	s->lock_fd = -1;
	s->rt = calloc(cfg->n_conv, sizeof(*s->rt));
	s->lane_ok = calloc(cfg->n_conv, sizeof(*s->lane_ok));
	s->pfd = calloc(cfg->n_conv + 2, sizeof(*s->pfd));
	s->pfd_conv = calloc(cfg->n_conv + 2, sizeof(*s->pfd_conv));
	if (!s->rt || !s->lane_ok || !s->pfd || !s->pfd_conv || !(s->queue = cvb_queue_new()))
		return cvb_error_set(err, "out of memory");
	if (cvb_spool_open(cfg->reports_folder, &s->spool, err) < 0 || lock_spool(s, err) < 0 ||
	    cvb_watch_open(cfg->settle_seconds, cfg->rescan_seconds, &s->watch, err) < 0)
		return -1;
	for (unsigned c = 0; c < cfg->n_conv; c++) {
		s->rt[c].folder = -1;
		s->rt[c].state = CS_OFF;
		if (cfg->conv[c].enabled && setup_folders(s, c, err) < 0)
			return -1;
	}
	for (unsigned c = 0; c < cfg->n_conv; c++)
		if (cfg->conv[c].enabled)
			conv_start(s, c);
	recover(s);
	s->next_conv_check = serve_now() + cfg->rescan_seconds;
	return 0;
}

/* Stop every driver; running files stay claimed and are recovered at the next start. */
static void serve_teardown(struct serve *s)
{
	for (unsigned c = 0; s->rt && c < s->cfg.n_conv; c++) {
		/* Idle drivers leave at once; busy ones are past the grace and are killed. */
		cvb_driver_stop(s->rt[c].drv, 0.2);
		free(s->rt[c].src);
	}
	for (size_t i = 0; i < s->n_jobs; i++)
		cvb_queue_entry_clear(&s->jobs[i].e);
	free(s->jobs);
	free(s->batch);
	free(s->rt);
	free(s->lane_ok);
	free(s->pfd);
	free(s->pfd_conv);
	s->lane_ok = NULL;
	s->pfd = NULL;
	s->pfd_conv = NULL;
	cvb_queue_free(s->queue);
	cvb_watch_close(s->watch);
	cvb_spool_close(s->spool);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	s->jobs = NULL;
	s->batch = NULL;
	s->rt = NULL;
	s->queue = NULL;
	s->watch = NULL;
	s->spool = NULL;
	s->lock_fd = -1;
	s->n_jobs = s->cap_jobs = s->n_batch = s->cap_batch = 0;
}

/* ---- signals and the loop ---- */

static void on_signal(struct serve *s)
{
	struct signalfd_siginfo si;
	while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			s->reloading = true;
			continue;
		}
		if (s->stopping) {
			s->stop_deadline = 0; /* a second request: stop now */
			continue;
		}
		serve_log(s, LOG_INFO, "stopping", "signal",
			  si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM", NULL);
		s->stopping = true;
		s->stop_deadline = serve_now() + s->cfg.shutdown_grace_seconds;
	}
}

/* SIGHUP: check the new file now, switch once the running conversions are done. */
static void begin_reload(struct serve *s)
{
	struct cvb_error err = {""};
	struct cvb_serve_config *next = calloc(1, sizeof(*next));
	s->reloading = false;
	if (!next || cvb_serve_config_load(s->cfg.path, next, &err) < 0) {
		serve_log(s, LOG_ERROR, "reload_failed", "config", s->cfg.path, "error",
			  next ? err.msg : "out of memory", "keeping", "the running configuration",
			  NULL);
		free(next);
		return;
	}
	serve_log(s, LOG_INFO, "reload", "config", s->cfg.path, NULL);
	if (s->next_cfg) {
		cvb_serve_config_clear(s->next_cfg);
		free(s->next_cfg);
	}
	s->next_cfg = next;
	s->stop_deadline = serve_now() + s->cfg.shutdown_grace_seconds;
}

static int finish_reload(struct serve *s, struct cvb_error *err)
{
	serve_teardown(s);
	cvb_serve_config_clear(&s->cfg);
	s->cfg = *s->next_cfg;
	free(s->next_cfg);
	s->next_cfg = NULL;
	return serve_setup(s, err);
}

static double min_d(double a, double b)
{
	return a < b ? a : b;
}

static int poll_timeout_ms(const struct serve *s, double now)
{
	double next = min_d(cvb_watch_next_due(s->watch), s->next_conv_check);
	double due = cvb_queue_next_due(s->queue);
	if (due >= 0)
		next = min_d(next, due);
	if (s->stopping || s->next_cfg)
		next = min_d(next, s->stop_deadline);
	for (unsigned c = 0; c < s->cfg.n_conv; c++)
		if (s->rt[c].state == CS_RESTART_WAIT)
			next = min_d(next, s->rt[c].restart_at);
	double ms = (next - now) * 1000.0;
	return ms <= 0 ? 0 : (ms > 5000 ? 5000 : (int)ms + 1);
}

/* Tell each driver its results were read (after the jobs that replace them). */
static void send_acks(struct serve *s)
{
	for (unsigned c = 0; c < s->cfg.n_conv; c++) {
		struct cvb_error err = {""};
		struct conv_rt *rt = &s->rt[c];
		if (rt->drv && rt->acks && cvb_driver_ack(rt->drv, rt->acks, &err) < 0)
			conv_lost(s, c, err.msg);
		rt->acks = 0;
	}
}

void serve_pump(struct serve *s)
{
	struct pollfd *pfd = s->pfd;
	unsigned *who = s->pfd_conv;
	size_t k = 0;
	for (unsigned c = 0; c < s->cfg.n_conv; c++)
		if (s->rt[c].drv) {
			who[k] = c;
			pfd[k++] =
			    (struct pollfd){.fd = cvb_driver_fd(s->rt[c].drv), .events = POLLIN};
		}
	if (k == 0 || poll(pfd, k, 0) <= 0)
		return;
	for (size_t i = 0; i < k; i++)
		if (pfd[i].revents)
			read_driver(s, who[i]);
	dispatch(s);
	send_acks(s);
}

/* Wait for anything: signals, inotify, drivers, or the next timer. */
static void wait_events(struct serve *s)
{
	struct pollfd *pfd = s->pfd;
	unsigned *who = s->pfd_conv;
	size_t n = s->cfg.n_conv, k = 0;
	pfd[k++] = (struct pollfd){.fd = s->sigfd, .events = POLLIN};
	pfd[k++] = (struct pollfd){.fd = cvb_watch_fd(s->watch), .events = POLLIN};
	for (unsigned c = 0; c < n; c++)
		if (s->rt[c].drv) {
			who[k] = c;
			pfd[k++] =
			    (struct pollfd){.fd = cvb_driver_fd(s->rt[c].drv), .events = POLLIN};
		}
	if (poll(pfd, k, poll_timeout_ms(s, serve_now())) <= 0)
		return;
	if (pfd[0].revents)
		on_signal(s);
	if (pfd[1].revents) {
		struct cvb_watch_list l = {0};
		struct cvb_error err = {""};
		if (cvb_watch_read(s->watch, &l, &err) < 0)
			serve_log(s, LOG_ERROR, "inotify", "error", err.msg, NULL);
		enqueue_all(s, &l);
	}
	for (size_t i = 2; i < k; i++)
		if (pfd[i].revents)
			read_driver(s, who[i]);
	dispatch(s); /* the workers just freed, before the slower spooling */
	send_acks(s);
	serve_finish_batch(s);
}

static void timers(struct serve *s)
{
	double now = serve_now();
	struct cvb_watch_list l = {0};
	cvb_watch_scan(s->watch, now, &l);
	enqueue_all(s, &l);
	if (now >= s->next_conv_check) {
		for (unsigned c = 0; c < s->cfg.n_conv; c++)
			check_converter_file(s, c);
		s->next_conv_check = now + s->cfg.rescan_seconds;
	}
	converter_timers(s, now);
	check_stuck(s, now);
	if (s->reloading)
		begin_reload(s);
}

static void log_started(const struct serve *s, const char *event)
{
	char w[32], n[32];
	serve_log(s, LOG_INFO, event, "config", s->cfg.path, "workers",
		  serve_num(w, s->cfg.workers), "converters", serve_num(n, (double)s->cfg.n_conv),
		  "reports_folder", s->cfg.reports_folder, NULL);
}

/* 0 to go on, 1 when the service should exit. */
static int turn(struct serve *s)
{
	struct cvb_error err = {""};
	wait_events(s);
	timers(s);
	bool drained = s->n_jobs == 0 || serve_now() >= s->stop_deadline;
	if (s->stopping && drained)
		return 1;
	if (s->next_cfg && drained) {
		if (finish_reload(s, &err) < 0) {
			serve_log(s, LOG_ERROR, "reload_failed", "error", err.msg, NULL);
			return -1;
		}
		log_started(s, "reloaded");
	}
	dispatch(s);
	return 0;
}

static int serve_run(struct serve *s)
{
	struct cvb_error err = {""};
	int rc;
	if (serve_setup(s, &err) < 0) {
		serve_log(s, LOG_ERROR, "start_failed", "error", err.msg, NULL);
		serve_teardown(s);
		return 1;
	}
	log_started(s, "started");
	while ((rc = turn(s)) == 0)
		;
	char a[32], b[32], c[32], d[32];
	serve_log(s, LOG_INFO, "stopped", "converted", serve_num(a, (double)s->n_converted),
		  "failed", serve_num(b, (double)s->n_failed), "suspended",
		  serve_num(c, (double)s->n_suspended), "left_running",
		  serve_num(d, (double)s->n_jobs), NULL);
	serve_teardown(s);
	return rc < 0 ? 1 : 0;
}

/* ---- the command ---- */

struct serve_cli {
	const char *config;
	bool check, help;
	enum log_level level;
	char err[256];
};

struct opt {
	const char *name;
	const char *metavar;
	int (*apply)(struct serve_cli *c, const char *v);
	const char *help;
};

static int o_config(struct serve_cli *c, const char *v)
{
	c->config = v;
	return 0;
}

static int o_check(struct serve_cli *c, const char *v)
{
	c->check = true;
	return 0;
}

static int o_level(struct serve_cli *c, const char *v)
{
	bool known = false;
	c->level = serve_level_parse(v, &known);
	if (known)
		return 0;
	snprintf(c->err, sizeof(c->err), "--log-level '%s': expected debug, info, warning or error",
		 v);
	return -1;
}

static int o_help(struct serve_cli *c, const char *v)
{
	c->help = true;
	return 0;
}

static const struct opt serve_opts[] = {
    {"--config", "FILE", o_config, "the service's JSON configuration (docs/serve-config.md)"},
    {"--check-config", NULL, o_check,
     "check the configuration and that every converter file is readable, then exit"},
    {"--log-level", "LEVEL", o_level, "debug, info (default), warning or error"},
    {"--help", NULL, o_help, "this help"},
};

#define N_SERVE_OPTS (sizeof(serve_opts) / sizeof(serve_opts[0]))

static void serve_help(void)
{
	const char *k, *h;
	printf("usage: convbox serve --config FILE [--check-config] [--log-level LEVEL]\n\n"
	       "The station service: watches each converter's folder, converts complete files\n"
	       "in priority order in the sandbox, writes every report to the reports folder as\n"
	       "<id>.queued, then moves the file to Done (or Error, with <name>.error.json).\n"
	       "Logs go to stderr, one line per event. SIGTERM stops (exit 0), SIGHUP reloads.\n\n"
	       "options:\n");
	for (size_t i = 0; i < N_SERVE_OPTS; i++)
		cvb_print_option(serve_opts[i].name, serve_opts[i].metavar, serve_opts[i].help, 22);
	printf("\nconfig keys:\n");
	for (size_t i = 0; (k = cvb_serve_config_key(i, &h)); i++)
		printf("  %-24s %s\n", k, h);
	printf("\nkeys of each converter (converters[i]):\n");
	for (size_t i = 0; (k = cvb_serve_converter_key(i, &h)); i++)
		printf("  %-24s %s\n", k, h);
	printf("\nexit status: 0 stopped by a signal or config valid, 1 could not start,\n"
	       "2 usage or invalid configuration.\n");
}

static int parse_cli(struct serve_cli *c, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const struct opt *o = NULL;
		const char *a = argv[i], *eq = strchr(a, '=');
		size_t len = eq ? (size_t)(eq - a) : strlen(a);
		for (size_t k = 0; k < N_SERVE_OPTS; k++)
			if (strlen(serve_opts[k].name) == len &&
			    strncmp(serve_opts[k].name, a, len) == 0)
				o = &serve_opts[k];
		if (!o) {
			snprintf(c->err, sizeof(c->err), "unknown option '%s' (see --help)", a);
			return -1;
		}
		const char *v =
		    o->metavar ? (eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL)) : NULL;
		if (o->metavar && !v) {
			snprintf(c->err, sizeof(c->err), "%s needs a value (%s)", o->name,
				 o->metavar);
			return -1;
		}
		if (o->apply(c, v) < 0)
			return -1;
	}
	if (!c->help && !c->config)
		snprintf(c->err, sizeof(c->err), "--config FILE is required");
	return c->help || c->config ? 0 : -1;
}

static int check_config(const char *path)
{
	struct cvb_serve_config cfg;
	struct cvb_error err = {""};
	if (cvb_serve_config_load(path, &cfg, &err) < 0) {
		fprintf(stderr, "convbox serve: %s\n", err.msg);
		return 2;
	}
	if (cvb_serve_config_check_files(&cfg, &err) < 0) {
		fprintf(stderr, "convbox serve: %s: %s\n", path, err.msg);
		cvb_serve_config_clear(&cfg);
		return 2;
	}
	printf("%s: valid; %zu converter%s, %u worker%s, reports to %s\n", path, cfg.n_conv,
	       cfg.n_conv == 1 ? "" : "s", cfg.workers, cfg.workers == 1 ? "" : "s",
	       cfg.reports_folder);
	for (size_t i = 0; i < cfg.n_conv; i++) {
		const struct cvb_serve_converter *c = &cfg.conv[i];
		printf("  %s: priority %u, %s, watches %s%s\n", c->name, c->priority,
		       c->opts.trusted ? "trusted (no sandbox)" : "sandboxed", c->watch_folder,
		       c->enabled ? "" : " (disabled)");
	}
	cvb_serve_config_clear(&cfg);
	return 0;
}

static int open_signals(sigset_t *old)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGIO); /* a lease break must never kill the service */
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_BLOCK, &set, old);
	sigdelset(&set, SIGIO);
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static int serve_command(int argc, char **argv, int sigfd)
{
	struct serve_cli cli = {.level = LOG_INFO};
	struct serve s = {.level = LOG_INFO, .lock_fd = -1, .sigfd = sigfd};
	struct cvb_error err = {""};
	if (parse_cli(&cli, argc, argv) < 0) {
		fprintf(stderr, "convbox serve: %s\n", cli.err);
		return 2;
	}
	if (cli.help) {
		serve_help();
		return 0;
	}
	if (cli.check)
		return check_config(cli.config);
	if (cvb_serve_config_load(cli.config, &s.cfg, &err) < 0) {
		fprintf(stderr, "convbox serve: %s\n", err.msg);
		return 2;
	}
	s.level = cli.level;
	int rc = serve_run(&s);
	cvb_serve_config_clear(&s.cfg);
	return rc;
}

int cvb_cmd_serve(int argc, char **argv)
{
	sigset_t old;
	int sigfd = open_signals(&old); /* first: a SIGTERM during start-up is a clean stop */
	if (sigfd < 0) {
		fprintf(stderr, "convbox serve: signalfd: %s\n", strerror(errno));
		return 1;
	}
	int rc = serve_command(argc, argv, sigfd);
	close(sigfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}
