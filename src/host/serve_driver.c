/*
 * Converter drivers of `convbox serve`.
 *
 * Theory of operation: cvb_sandbox_next waits for one sandbox's next
 * result and nothing else, and two sandboxes cannot be driven from two
 * threads of one process (the sandbox's event loop keeps its poll set in
 * static storage). So each converter gets a driver: a child process of the
 * service that owns the converter's cvb_sandbox (and through it the runner
 * zygote) and does nothing but submit inputs and wait for results. The
 * service talks to it over a socketpair with the frame codec:
 *
 *   service -> driver   JOB     (job id = service token; payload = claimed path)
 *                       READY   acknowledges results (job id = how many); sent after
 *                               the JOBs the freed workers got
 *   driver -> service   READY   {"errors", "summary", "degraded"} after validation
 *                       FATAL   {"error"}: the sandbox could not be opened
 *                       REPORT  raw report text, one per report, before its RESULT
 *                       RESULT  {"outcome", "status", "post_action", "retry_after",
 *                                "message", "detail"}
 *
 * While the driver waits in cvb_sandbox_next it cannot take a new job, so
 * after each result it waits for the service's acknowledgement (which comes
 * after any job the freed worker was given) before it waits on the sandbox
 * again: a finished conversion is replaced at once, and the converter keeps
 * all its workers busy. (A job given to a driver whose other conversions
 * are still running waits for the first of them to finish: the sandbox API
 * has no way to wake its wait.) The acknowledgement is awaited at most
 * ACK_WAIT_MS, so a busy service never stalls a driver for long.
 *
 * The service's end is non-blocking (it never waits for a driver); the
 * driver's end blocks. The driver dies with the service (PR_SET_PDEATHSIG)
 * and stops when its socket closes.
 */
#include "convbox/frame.h"
#include "convbox/serve.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SUMMARY_MAX 1000
#define ACK_WAIT_MS 100

struct cvb_driver {
	pid_t pid;
	int fd;
	struct cvb_frame_reader *rd;
	char **reports; /* REPORT frames waiting for their RESULT */
	size_t n_reports;
	uint64_t reports_token;
};

/* ---- the driver process ---- */

struct job_map {
	uint64_t *sb_id, *token;
	size_t n, cap;
};

static void send_json(int sock, uint16_t type, uint64_t token, json_t *o)
{
	char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (t)
		cvb_frame_write(sock, type, token, t, strlen(t));
	free(t);
	json_decref(o);
}

/* The first validation errors as one line, the way `convbox run` words them. */
static char *findings_summary(const char *findings, const char *path, unsigned *errors)
{
	json_t *arr = json_loads(findings ? findings : "[]", 0, NULL), *f;
	size_t i, off = 0;
	char buf[SUMMARY_MAX];
	buf[0] = 0;
	*errors = 0;
	json_array_foreach(arr, i, f)
	{
		const char *sev = json_string_value(json_object_get(f, "severity"));
		if (!sev || strcmp(sev, "error") != 0 || ++*errors > 3 || off >= sizeof(buf))
			continue;
		off +=
		    (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s:%lld:%lld: error[%s]: %s",
				     *errors > 1 ? "; " : "", path,
				     (long long)json_integer_value(json_object_get(f, "line")),
				     (long long)json_integer_value(json_object_get(f, "col")),
				     json_string_value(json_object_get(f, "rule")) ?: "?",
				     json_string_value(json_object_get(f, "message")) ?: "");
	}
	json_decref(arr);
	return *errors ? strdup(buf) : NULL;
}

static json_t *degraded_list(const struct cvb_sandbox *sb)
{
	json_t *a = json_array();
	const char *const *d = cvb_sandbox_degraded(sb);
	for (size_t i = 0; d && d[i]; i++)
		json_array_append_new(a, json_string(d[i]));
	return a;
}

/* Open the sandbox and validate the converter; READY or FATAL to the service. */
static struct cvb_sandbox *driver_open(int sock, const struct cvb_serve_converter *c,
				       const uint8_t *src, size_t len)
{
	struct cvb_sandbox *sb = NULL;
	struct cvb_error e = {""};
	char *findings = NULL;
	if (cvb_sandbox_open(&c->opts, src, len, &sb, &e) < 0 ||
	    (!c->opts.skip_validation && cvb_sandbox_validate(sb, &findings, &e) < 0)) {
		send_json(sock, CVB_FRAME_FATAL, 0, json_pack("{s:s}", "error", e.msg));
		cvb_sandbox_close(sb);
		return NULL;
	}
	unsigned errors = 0;
	char *summary = findings_summary(findings, c->path, &errors);
	send_json(sock, CVB_FRAME_READY, 0,
		  json_pack("{s:i, s:s?, s:o}", "errors", (int)errors, "summary", summary,
			    "degraded", degraded_list(sb)));
	free(summary);
	free(findings);
	return sb;
}

static void map_add(struct job_map *m, uint64_t sb_id, uint64_t token)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		uint64_t *a = realloc(m->sb_id, cap * sizeof(*a));
		uint64_t *b = a ? realloc(m->token, cap * sizeof(*b)) : NULL;
		if (!a || !b)
			_exit(70); /* the service requeues what this driver held */
		m->sb_id = a;
		m->token = b;
		m->cap = cap;
	}
	m->sb_id[m->n] = sb_id;
	m->token[m->n++] = token;
}

static uint64_t map_take(struct job_map *m, uint64_t sb_id)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->sb_id[i] == sb_id) {
			uint64_t t = m->token[i];
			m->sb_id[i] = m->sb_id[--m->n];
			m->token[i] = m->token[m->n];
			return t;
		}
	return 0;
}

/* The result object without its reports (they travel as REPORT frames). */
static json_t *result_detail(const char *line)
{
	json_t *o = line ? json_loads(line, 0, NULL) : NULL;
	if (!json_is_object(o)) {
		json_decref(o);
		return json_object();
	}
	json_object_del(o, "report");
	json_object_del(o, "reports");
	return o;
}

static void send_result(int sock, uint64_t token, struct cvb_result *r)
{
	for (size_t i = 0; i < r->n_reports; i++)
		cvb_frame_write(sock, CVB_FRAME_REPORT, token, r->reports[i],
				strlen(r->reports[i]));
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:o}", "outcome", cvb_outcome_name(r->outcome), "status",
		      r->status, "post_action", r->post_action, "detail", result_detail(r->line));
	if (o && r->retry_after >= 0)
		json_object_set_new(o, "retry_after", json_real(r->retry_after));
	if (o && r->message)
		json_object_set_new(o, "message", cvb_json_text(r->message));
	send_json(sock, CVB_FRAME_RESULT, token, o);
}

static void submit_one(int sock, struct cvb_sandbox *sb, struct job_map *m, uint64_t token,
		       const char *path)
{
	struct cvb_error e = {""};
	int64_t id = cvb_sandbox_submit(sb, path, &e);
	if (id > 0) {
		map_add(m, (uint64_t)id, token);
		return;
	}
	struct cvb_result r = {
	    .outcome = CVB_OUTCOME_SANDBOX_ERROR, .retry_after = -1, .message = e.msg};
	send_result(sock, token, &r);
}

/* One frame from the service: a JOB to submit or an acknowledgement. -1 at the end. */
static int take_frame(int sock, struct cvb_sandbox *sb, struct job_map *m, unsigned *owed)
{
	struct cvb_frame_header h;
	uint8_t *payload = NULL;
	int rc = cvb_frame_read(sock, 1u << 16, &h, &payload, NULL, NULL);
	if (rc == CVB_FRAME_OK && h.type == CVB_FRAME_JOB)
		submit_one(sock, sb, m, h.job_id, (const char *)payload);
	else if (rc == CVB_FRAME_OK && h.type == CVB_FRAME_READY)
		*owed = h.job_id >= *owed ? 0 : *owed - (unsigned)h.job_id;
	else
		rc = -1;
	free(payload);
	return rc == CVB_FRAME_OK ? 0 : -1;
}

/*
 * Take what the service sent: wait up to wait_ms (-1: for ever) for the
 * first frame, then whatever else is already there. 1 when something came,
 * 0 when the wait ended empty, -1 at the end of the stream.
 */
static int take_frames(int sock, struct cvb_sandbox *sb, struct job_map *m, unsigned *owed,
		       int wait_ms)
{
	int got = 0;
	for (;;) {
		struct pollfd p = {.fd = sock, .events = POLLIN};
		int n = poll(&p, 1, got ? 0 : wait_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return got;
		if (take_frame(sock, sb, m, owed) < 0)
			return -1;
		got = 1;
	}
}

static void driver_loop(int sock, struct cvb_sandbox *sb)
{
	struct job_map m = {0};
	unsigned owed = 0; /* results the service has not acknowledged yet */
	for (;;) {
		bool idle = cvb_sandbox_pending(sb) == 0;
		int rc = take_frames(sock, sb, &m, &owed, idle ? -1 : (owed ? ACK_WAIT_MS : 0));
		if (rc < 0)
			break;
		if (rc == 1 && owed > 0)
			continue; /* jobs came, the acknowledgement may follow */
		owed = 0;
		struct cvb_result r;
		if (cvb_sandbox_pending(sb) > 0 && cvb_sandbox_next(sb, &r) == 1) {
			send_result(sock, map_take(&m, r.job_id), &r);
			cvb_result_clear(&r);
			owed++;
		}
	}
	free(m.sb_id);
	free(m.token);
}

/* The child's start: its own process group, dies with the service, no inherited fds. */
static void driver_setup(int sock, pid_t parent)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_IGN); /* a closed socket is an error to read, not a death */
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	if (sock != 3 && (dup2(sock, 3) < 0 || close(sock) < 0))
		_exit(71);
	close_range(4, ~0U, 0);
}

__attribute__((noreturn)) static void driver_main(int sock, const struct cvb_serve_converter *c,
						  const uint8_t *src, size_t len, pid_t parent)
{
	driver_setup(sock, parent);
	struct cvb_sandbox *sb = driver_open(3, c, src, len);
	if (sb)
		driver_loop(3, sb);
	cvb_sandbox_close(sb);
	_exit(0);
}

/* ---- the service's side ---- */

int cvb_driver_start(const struct cvb_serve_converter *c, const uint8_t *source, size_t len,
		     struct cvb_driver **out, struct cvb_error *err)
{
	int sv[2];
	struct cvb_driver *d = calloc(1, sizeof(*d));
	*out = NULL;
	if (!d || !(d->rd = cvb_frame_reader_new(c->opts.max_frame + (16u << 20)))) {
		free(d);
		return cvb_error_set(err, "out of memory");
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		cvb_frame_reader_free(d->rd);
		free(d);
		return cvb_error_errno(err, errno, "socketpair");
	}
	pid_t parent = getpid();
	d->pid = fork();
	if (d->pid == 0) {
		close(sv[0]);
		driver_main(sv[1], c, source, len, parent);
	}
	close(sv[1]);
	d->fd = sv[0];
	if (d->pid < 0) {
		cvb_error_errno(err, errno, "cannot start the driver of %s", c->name);
		d->pid = 0;
		cvb_driver_stop(d, 0);
		return -1;
	}
	fcntl(d->fd, F_SETFL, O_NONBLOCK);
	*out = d;
	return 0;
}

int cvb_driver_fd(const struct cvb_driver *d)
{
	return d->fd;
}

pid_t cvb_driver_pid(const struct cvb_driver *d)
{
	return d->pid;
}

/* Write a whole buffer to the non-blocking socket, waiting while it is full. */
static int write_full(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pf = {.fd = fd, .events = POLLOUT};
			if (poll(&pf, 1, 5000) <= 0)
				return -1;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_frame(struct cvb_driver *d, uint16_t type, uint64_t id, const char *payload,
		      struct cvb_error *err)
{
	size_t len = payload ? strlen(payload) : 0;
	uint8_t *frame = malloc(CVB_FRAME_HEADER_SIZE + len);
	if (!frame)
		return cvb_error_set(err, "out of memory");
	cvb_frame_encode_header(frame, type, id, (uint32_t)len);
	if (len)
		memcpy(frame + CVB_FRAME_HEADER_SIZE, payload, len);
	int rc = write_full(d->fd, frame, CVB_FRAME_HEADER_SIZE + len);
	free(frame);
	if (rc < 0)
		return cvb_error_errno(err, errno, "cannot reach the driver (pid %d)", (int)d->pid);
	return 0;
}

int cvb_driver_submit(struct cvb_driver *d, uint64_t token, const char *path, struct cvb_error *err)
{
	return send_frame(d, CVB_FRAME_JOB, token, path, err);
}

int cvb_driver_ack(struct cvb_driver *d, unsigned results, struct cvb_error *err)
{
	return results ? send_frame(d, CVB_FRAME_READY, results, NULL, err) : 0;
}

static void drop_reports(struct cvb_driver *d)
{
	for (size_t i = 0; i < d->n_reports; i++)
		free(d->reports[i]);
	free(d->reports);
	d->reports = NULL;
	d->n_reports = 0;
}

static int on_report(struct cvb_driver *d, uint64_t token, uint8_t *payload)
{
	if (d->n_reports > 0 && d->reports_token != token)
		drop_reports(d); /* a result that never came: cannot happen, never mixed */
	char **r = realloc(d->reports, (d->n_reports + 1) * sizeof(*r));
	if (!r)
		return -1;
	d->reports = r;
	d->reports[d->n_reports++] = (char *)payload;
	d->reports_token = token;
	return 0;
}

static char *dup_string(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? strdup(s) : NULL;
}

static void on_result(struct cvb_driver *d, uint64_t token, json_t *o, struct cvb_driver_msg *m)
{
	int oc = cvb_outcome_parse(json_string_value(json_object_get(o, "outcome")) ?: "");
	json_t *ra = json_object_get(o, "retry_after");
	m->kind = CVB_DRIVER_RESULT;
	m->token = token;
	m->outcome = oc < 0 ? CVB_OUTCOME_PROTOCOL : (enum cvb_outcome)oc;
	snprintf(m->status, sizeof(m->status), "%s",
		 json_string_value(json_object_get(o, "status")) ?: "");
	snprintf(m->post_action, sizeof(m->post_action), "%s",
		 json_string_value(json_object_get(o, "post_action")) ?: "");
	m->retry_after = json_is_number(ra) ? json_number_value(ra) : -1;
	m->message = dup_string(o, "message");
	m->detail = json_incref(json_object_get(o, "detail"));
	if (d->n_reports > 0 && d->reports_token == token) {
		m->reports = d->reports;
		m->n_reports = d->n_reports;
		d->reports = NULL;
		d->n_reports = 0;
	}
}

/* One complete frame into a message; 1 when it is one, 0 for a REPORT kept for later. */
static int on_frame(struct cvb_driver *d, const struct cvb_frame_header *h, uint8_t *payload,
		    struct cvb_driver_msg *m, struct cvb_error *err)
{
	if (h->type == CVB_FRAME_REPORT)
		return on_report(d, h->job_id, payload) < 0 ? cvb_error_set(err, "out of memory")
							    : 0;
	json_t *o = json_loads((const char *)payload, 0, NULL);
	int rc = 1;
	free(payload);
	memset(m, 0, sizeof(*m));
	if (!json_is_object(o))
		rc = cvb_error_set(err, "the driver sent a malformed %s frame",
				   cvb_frame_type_name(h->type) ?: "?");
	else if (h->type == CVB_FRAME_RESULT)
		on_result(d, h->job_id, o, m);
	else if (h->type == CVB_FRAME_READY) {
		m->kind = CVB_DRIVER_READY;
		m->validation_errors = (unsigned)json_integer_value(json_object_get(o, "errors"));
		m->findings_summary = dup_string(o, "summary");
	} else if (h->type == CVB_FRAME_FATAL) {
		m->kind = CVB_DRIVER_FAILED;
		m->message = dup_string(o, "error");
	} else
		rc = cvb_error_set(err, "the driver sent an unexpected frame");
	json_decref(o);
	return rc;
}

int cvb_driver_read(struct cvb_driver *d, struct cvb_driver_msg *m, struct cvb_error *err)
{
	for (;;) {
		struct cvb_frame_header h;
		uint8_t *payload = NULL;
		int rc = cvb_frame_reader_next(d->rd, &h, &payload);
		if (rc < 0)
			return cvb_error_set(err, "driver protocol: %s", cvb_frame_strerror(rc));
		if (rc == 1) {
			rc = on_frame(d, &h, payload, m, err);
			if (rc != 0)
				return rc;
			continue;
		}
		long n = cvb_frame_reader_fill(d->rd, d->fd);
		if (n == 0)
			return cvb_error_set(err, "the driver (pid %d) exited", (int)d->pid);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			return cvb_error_errno(err, errno, "reading from the driver (pid %d)",
					       (int)d->pid);
	}
}

void cvb_driver_msg_clear(struct cvb_driver_msg *m)
{
	free(m->findings_summary);
	free(m->message);
	json_decref(m->detail);
	for (size_t i = 0; i < m->n_reports; i++)
		free(m->reports[i]);
	free(m->reports);
	memset(m, 0, sizeof(*m));
}

static bool reaped(pid_t pid)
{
	pid_t r;
	do
		r = waitpid(pid, NULL, WNOHANG);
	while (r < 0 && errno == EINTR);
	return r == pid || (r < 0 && errno == ECHILD);
}

void cvb_driver_stop(struct cvb_driver *d, double grace)
{
	if (!d)
		return;
	if (d->fd >= 0)
		close(d->fd);
	for (double waited = 0; d->pid > 0 && waited < grace; waited += 0.005) {
		if (reaped(d->pid)) {
			d->pid = 0;
			break;
		}
		nanosleep(&(struct timespec){0, 5000000}, NULL);
	}
	if (d->pid > 0) {
		kill(-d->pid, SIGKILL); /* the driver's group: it and its runner */
		kill(d->pid, SIGKILL);
		while (waitpid(d->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	drop_reports(d);
	cvb_frame_reader_free(d->rd);
	free(d);
}
