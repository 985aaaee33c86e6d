/*
 * One job as the host sees it: its descriptors, the frames and log lines
 * that arrive on them, each checked as hostile input and bounded.
 */
#include "host/host.h"

#include "convbox/plan.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_DENIED 100
#define GRACE_S	   1.0 /* after the job exits, how long its pipes may stay open */

double cvb_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int open_input(const char *path, struct cvb_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	if (fd < 0)
		return cvb_error_errno(err, errno, "cannot read input '%s'", path), -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return cvb_error_set(err, "cannot read input '%s': not a regular file", path), -1;
	}
	fcntl(fd, F_SETFL, 0);
	return fd;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static char *make_staging(struct cvb_error *err)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = NULL;
	if (asprintf(&dir, "%s/convbox-out-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
		return NULL;
	if (!mkdtemp(dir)) {
		cvb_error_errno(err, errno, "cannot create a staging folder %s", dir);
		free(dir);
		return NULL;
	}
	return dir;
}

static char *job_json(struct cvb_sandbox *sb, struct host_job *j, enum cvb_job_mode mode)
{
	const struct cvb_run_opts *o = &sb->opts;
	char *name = j->input ? strdup(base_name(j->input)) : NULL;
	char *cls = o->class_name ? strdup(o->class_name) : NULL;
	char *conv = strdup(j->inline_path ? j->inline_path : sb->converter_abs);
	struct cvb_jobspec js = {
	    .job_id = j->id,
	    .mode = mode,
	    .input_name = name,
	    .input_path = j->input,
	    .args_json = o->args_json,
	    .class_name = cls,
	    .converter_path = conv,
	    .inline_source = j->inline_src != NULL,
	    .output_dir = j->staging,
	    .caps = o->caps,
	    .limits = o->limits,
	    .trusted = o->trusted,
	    .allow_degraded = o->allow_degraded,
	    .max_frame = o->max_frame,
	    .blocked_imports = o->blocked_imports,
	    .allowed_imports = o->allowed_imports,
	    .native_modules = o->native_modules,
	};
	char *text = cvb_jobspec_to_json(&js);
	free(name);
	free(cls);
	free(conv);
	return text;
}

static int make_channels(struct host_job *j, int child[3], struct cvb_error *err)
{
	int sv[2], out[2], er[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return cvb_error_errno(err, errno, "job channel");
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0)
		return cvb_error_errno(err, errno, "job log pipes");
	j->chan_fd = sv[0];
	j->out_fd = out[0];
	j->err_fd = er[0];
	child[0] = sv[1];
	child[1] = out[1];
	child[2] = er[1];
	fcntl(j->chan_fd, F_SETFL, O_NONBLOCK);
	fcntl(j->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(j->err_fd, F_SETFL, O_NONBLOCK);
	return 0;
}

static struct host_job *job_new(uint64_t id, const char *input)
{
	struct host_job *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->id = j->runner_id = id;
	j->input = input ? strdup(input) : NULL;
	j->chan_fd = j->out_fd = j->err_fd = j->pidfd = j->input_fd = -1;
	j->listener = j->listener_rx = -1;
	j->logs = json_array();
	j->denied = json_array();
	j->outputs = json_array();
	return j;
}

/*
 * The job's tally page (see struct cvb_tally): sealed at its size, so that
 * nothing the job does can make the host's reading of it fault; mapped here
 * read-only. The descriptor goes to the runner.
 */
static int make_tally(struct host_job *j, struct cvb_error *err)
{
	int fd = memfd_create("convbox-tally", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || ftruncate(fd, CVB_TALLY_SIZE) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		cvb_error_errno(err, errno, "job tally page");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	void *p = mmap(NULL, CVB_TALLY_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		cvb_error_errno(err, errno, "job tally page");
		close(fd);
		return -1;
	}
	j->tally = p;
	return fd;
}

/*
 * A conversion goes to the oldest ready spare, straight from the host: the
 * spare has the pidfd the job is known by, and the runner reports its exit
 * under the spare's id. A spare that died first cannot take it (the write
 * fails; the runner reports that exit too), and the next one is tried.
 */
static int send_to_spare(struct host_job *j, const char *spec, int *child, size_t nfds)
{
	struct runner_proc *rp = j->runner;
	while (rp->n_spares > 0) {
		struct host_spare sp = cvb_runner_take_spare(rp, 0);
		int rc = cvb_frame_write_fds(sp.sock, CVB_FRAME_JOB, j->id, spec, strlen(spec),
					     child, nfds);
		close(sp.sock);
		if (rc == CVB_FRAME_OK) {
			j->pidfd = sp.pidfd;
			j->runner_id = sp.id;
			return CVB_FRAME_OK;
		}
		close(sp.pidfd);
	}
	return CVB_FRAME_IO;
}

/*
 * The JOB frame, with the job's descriptors: to a spare, or else to the
 * runner, which forks the job (and sends STARTED); for inline validation the
 * bytes follow.
 */
static int send_job(struct cvb_sandbox *sb, struct host_job *j, enum cvb_job_mode mode,
		    int child[5], bool with_input)
{
	char *spec = job_json(sb, j, mode);
	size_t nfds = with_input ? 5 : 4;
	if (spec && mode == CVB_JOB_CONVERT && !j->inline_src &&
	    send_to_spare(j, spec, child, nfds) == CVB_FRAME_OK) {
		free(spec);
		return CVB_FRAME_OK;
	}
	int rc = spec ? cvb_frame_write_fds(j->runner->ctl_fd, CVB_FRAME_JOB, j->id, spec,
					    strlen(spec), child, nfds)
		      : CVB_FRAME_NOMEM;
	free(spec);
	if (rc == CVB_FRAME_OK && j->inline_src)
		rc = cvb_frame_write(j->runner->ctl_fd, CVB_FRAME_SOURCE, j->id, j->inline_src,
				     j->inline_len);
	return rc;
}

static struct host_job *job_start(struct cvb_sandbox *sb, struct host_job *j,
				  enum cvb_job_mode mode, struct cvb_error *err)
{
	int child[5] = {-1, -1, -1, -1, -1};
	int rc = CVB_FRAME_IO;
	j->chan = cvb_frame_reader_new(sb->opts.max_frame);
	if (j->input && (j->input_fd = child[4] = open_input(j->input, err)) < 0)
		goto out_close;
	if ((child[3] = make_tally(j, err)) < 0)
		goto out_close;
	if (j->input && sb->opts.trusted && !(j->staging = make_staging(err)))
		goto out_close;
	if (!j->chan || make_channels(j, child, err) < 0)
		goto out_close;
	/* the runner gets the input only to copy it in, and only with READ_INPUT */
	rc = send_job(sb, j, mode, child,
		      j->input && (sb->opts.caps & CVB_CAP_BIT(CVB_CAP_READ_INPUT)));
	if (rc == CVB_FRAME_NOMEM) {
		cvb_error_set(err, "out of memory describing the job"); /* the runner is fine */
	} else if (rc != CVB_FRAME_OK) {
		cvb_error_set(err, "the runner is gone (cannot send the job)");
		j->runner->dead = true;
	}
out_close:
	for (int i = 0; i < 5; i++)
		if (child[i] >= 0)
			close(child[i]);
	j->input_fd = -1;
	if (rc != CVB_FRAME_OK) {
		cvb_job_free(j);
		return NULL;
	}
	j->runner->active++;
	j->started = cvb_now();
	j->deadline = j->started + sb->opts.limits.timeout_s;
	return j;
}

struct host_job *cvb_job_start(struct cvb_sandbox *sb, struct runner_proc *rp, uint64_t id,
			       const char *input, enum cvb_job_mode mode, struct cvb_error *err)
{
	struct host_job *j = job_new(id, input);
	if (!j) {
		cvb_error_set(err, "out of memory");
		return NULL;
	}
	j->runner = rp;
	return job_start(sb, j, mode, err);
}

struct host_job *cvb_job_start_inline(struct cvb_sandbox *sb, struct runner_proc *rp, uint64_t id,
				      const uint8_t *src, size_t len, const char *path,
				      struct cvb_error *err)
{
	struct host_job *j = job_new(id, NULL);
	if (!j) {
		cvb_error_set(err, "out of memory");
		return NULL;
	}
	j->runner = rp;
	j->inline_src = src;
	j->inline_len = len;
	j->inline_path = path;
	return job_start(sb, j, CVB_JOB_VALIDATE, err);
}

/* Length of a valid UTF-8 sequence at p (at most n bytes), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	size_t len = p[0] < 0x80	     ? 1
		     : (p[0] & 0xe0) == 0xc0 ? 2
		     : (p[0] & 0xf0) == 0xe0 ? 3
		     : (p[0] & 0xf8) == 0xf0 ? 4
					     : 0;
	if (len == 0 || len > n || (len == 2 && p[0] < 0xc2) || (len == 4 && p[0] > 0xf4))
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((len == 3 && p[0] == 0xe0 && p[1] < 0xa0) ||
	    (len == 3 && p[0] == 0xed && p[1] >= 0xa0) ||
	    (len == 4 && p[0] == 0xf0 && p[1] < 0x90) || (len == 4 && p[0] == 0xf4 && p[1] >= 0x90))
		return 0; /* overlong, surrogate, or beyond U+10FFFF */
	return len;
}

/* A JSON string of bytes that may not be UTF-8: invalid bytes become U+FFFD. */
static json_t *string_lossy(const char *msg, size_t len, const char *suffix)
{
	size_t cap = len * 3 + strlen(suffix) + 1, o = 0;
	char *buf = malloc(cap);
	if (!buf)
		return json_string("");
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq((const unsigned char *)msg + i, len - i);
		if (n == 0 || (n == 1 && msg[i] == 0)) {
			memcpy(buf + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(buf + o, msg + i, n);
		o += n;
		i += n;
	}
	memcpy(buf + o, suffix, strlen(suffix));
	o += strlen(suffix);
	json_t *s = json_stringn(buf, o);
	free(buf);
	return s ? s : json_string("");
}

static void add_log(struct host_job *j, const char *level, const char *msg, size_t len,
		    bool truncated)
{
	if (j->log_lines >= CVB_LOG_MAX_LINES || j->log_bytes + len > CVB_LOG_MAX_BYTES) {
		j->logs_dropped++;
		return;
	}
	json_t *m =
	    string_lossy(msg, len, truncated ? " [convbox: line truncated at 8192 bytes]" : "");
	json_array_append_new(j->logs, json_pack("{s:s, s:o}", "level", level, "message", m));
	j->log_lines++;
	j->log_bytes += len;
}

static bool level_granted(struct cvb_sandbox *sb, const char *level)
{
	int cap = cvb_cap_for_log_level(level);
	return cap >= 0 && (sb->opts.caps & CVB_CAP_BIT(cap));
}

static void on_log_frame(struct cvb_sandbox *sb, struct host_job *j, const char *payload)
{
	json_t *o = json_loads(payload, 0, NULL);
	const char *level = json_string_value(json_object_get(o, "level"));
	const char *msg = json_string_value(json_object_get(o, "message"));
	if (!level || !msg)
		snprintf(j->protocol, sizeof(j->protocol), "malformed LOG frame");
	else if (level_granted(sb, level))
		add_log(j, level, msg,
			strlen(msg) > CVB_LOG_LINE_MAX ? CVB_LOG_LINE_MAX : strlen(msg),
			strlen(msg) > CVB_LOG_LINE_MAX);
	json_decref(o);
}

/* A denial from the audit hook: kept as the job reported it, after checking its shape. */
static void on_denied_frame(struct host_job *j, const char *payload)
{
	json_t *o = json_loads(payload, JSON_REJECT_DUPLICATES, NULL);
	json_t *cap = json_object_get(o, "capability");
	if (!json_is_string(json_object_get(o, "action")) ||
	    !json_is_string(json_object_get(o, "target")) ||
	    (cap && !json_is_string(cap) && !json_is_null(cap))) {
		snprintf(j->protocol, sizeof(j->protocol), "malformed DENIED frame");
		json_decref(o);
		return;
	}
	if (cap && json_is_string(cap) && cvb_cap_parse(json_string_value(cap)) < 0)
		json_object_set_new(o, "capability", json_null());
	const char *layer = json_string_value(json_object_get(o, "layer"));
	if (layer && strcmp(layer, "audit-hook") == 0)
		j->hook_frames++;
	if (json_array_size(j->denied) < MAX_DENIED)
		json_array_append_new(j->denied, o);
	else
		json_decref(o);
}

static void on_report_frame(struct cvb_sandbox *sb, struct host_job *j, uint8_t *payload,
			    uint32_t len)
{
	json_error_t e;
	/* the host keeps every report until the job ends: all of them fit one frame's limit */
	if (j->report_bytes + len > sb->opts.max_frame) {
		snprintf(j->protocol, sizeof(j->protocol),
			 "the reports add up to more than %u MB (--max-frame)",
			 sb->opts.max_frame >> 20);
		free(payload);
		return;
	}
	/* checked for shape only and passed on as sent: big integers are fine */
	json_t *o =
	    json_loadb((char *)payload, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &e);
	if (!json_is_object(o) && !json_is_array(o)) {
		snprintf(j->protocol, sizeof(j->protocol), "REPORT frame is not a JSON object: %s",
			 e.text);
		json_decref(o);
		free(payload);
		return;
	}
	json_decref(o);
	char **nr =
	    j->n_reports < 10000 ? realloc(j->reports, (j->n_reports + 1) * sizeof(*nr)) : NULL;
	if (!nr) {
		snprintf(j->protocol, sizeof(j->protocol), "too many reports");
		free(payload);
		return;
	}
	j->reports = nr;
	j->reports[j->n_reports++] = (char *)payload;
	j->report_bytes += len;
}

static void keep_once(struct host_job *j, char **slot, uint8_t *payload, const char *what)
{
	if (*slot) {
		snprintf(j->protocol, sizeof(j->protocol), "second %s frame", what);
		free(payload);
		return;
	}
	*slot = (char *)payload;
}

static void on_error_frame(struct host_job *j, const char *payload)
{
	json_t *o = json_loads(payload, JSON_REJECT_DUPLICATES, NULL);
	const char *outcome = json_string_value(json_object_get(o, "outcome"));
	int oc = outcome ? cvb_outcome_parse(outcome) : -1;
	/* A job may only make itself look worse: it can never claim completion. */
	if (oc < 0 || oc == CVB_OUTCOME_COMPLETED || oc == CVB_OUTCOME_TIMEOUT) {
		snprintf(j->protocol, sizeof(j->protocol), "malformed JOB_ERROR frame");
		json_decref(o);
		return;
	}
	if (!j->job_error)
		j->job_error = o;
	else
		json_decref(o);
}

/*
 * The job's last word: its usage and signals (the same record the runner
 * sends in EXITED; the job could only misreport itself). The host finishes
 * the job once its descriptors close and ends the process itself. A DONE the
 * job did not mark in the tally page is the converter's own: it is ignored,
 * and the runner's record of how the process ended decides.
 */
static void on_done_frame(struct host_job *j, const char *payload)
{
	if (j->tally && !__atomic_load_n(&j->tally->done, __ATOMIC_ACQUIRE))
		return;
	json_t *o = json_loads(payload, 0, NULL);
	if (!json_is_object(o)) {
		snprintf(j->protocol, sizeof(j->protocol), "malformed DONE frame");
		json_decref(o);
		return;
	}
	if (!j->exit_info && !j->done) {
		json_object_set_new(o, "how", json_string("exited"));
		json_object_set_new(o, "value", json_integer(0));
		j->exit_info = o;
		j->done = true;
		return;
	}
	json_decref(o);
}

/* A confined job installs a seccomp filter, and hands its listener over first. */
static bool filter_expected(const struct cvb_sandbox *sb)
{
	if (sb->opts.trusted)
		return false;
	for (size_t i = 0; sb->degraded[i]; i++)
		if (strcmp(sb->degraded[i], "seccomp") == 0)
			return false;
	return true;
}

static void dispatch_frame(struct cvb_sandbox *sb, struct host_job *j,
			   const struct cvb_frame_header *h, uint8_t *payload)
{
	if (h->job_id != j->id) {
		snprintf(j->protocol, sizeof(j->protocol),
			 "frame for job %llu arrived on the channel of job %llu",
			 (unsigned long long)h->job_id, (unsigned long long)j->id);
		free(payload);
		return;
	}
	if (j->frames++ == 0 && filter_expected(sb) && h->type != CVB_FRAME_LISTENER &&
	    h->type != CVB_FRAME_JOB_ERROR) {
		snprintf(j->protocol, sizeof(j->protocol),
			 "the job's first frame was %s, not its seccomp listener",
			 cvb_frame_type_name(h->type));
		free(payload);
		return;
	}
	switch (h->type) {
	case CVB_FRAME_LISTENER:
		if (j->frames == 1 && j->listener_rx >= 0 && filter_expected(sb)) {
			j->listener = j->listener_rx;
			j->listener_rx = -1;
		} else {
			snprintf(j->protocol, sizeof(j->protocol), "LISTENER frame out of place");
		}
		break;
	case CVB_FRAME_LOG:
		on_log_frame(sb, j, (char *)payload);
		break;
	case CVB_FRAME_DENIED:
		on_denied_frame(j, (char *)payload);
		break;
	case CVB_FRAME_REPORT:
		on_report_frame(sb, j, payload, h->len);
		return;
	case CVB_FRAME_RESULT:
		keep_once(j, &j->result_raw, payload, "RESULT");
		return;
	case CVB_FRAME_FINDINGS:
		keep_once(j, &j->findings, payload, "FINDINGS");
		return;
	case CVB_FRAME_JOB_ERROR:
		on_error_frame(j, (char *)payload);
		break;
	case CVB_FRAME_DONE:
		on_done_frame(j, (char *)payload);
		break;
	case CVB_FRAME_OUTPUT:
		if (cvb_host_output_store(sb, j, payload, h->len) < 0 && !j->protocol[0])
			snprintf(j->protocol, sizeof(j->protocol), "malformed OUTPUT frame");
		break;
	default:
		snprintf(j->protocol, sizeof(j->protocol), "unexpected %s frame on a job channel",
			 cvb_frame_type_name(h->type));
	}
	free(payload);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * The channel's first bytes, and the descriptor that may come with them: the
 * job's seccomp listener, sent before any converter code ran (see LISTENER).
 * Later reads are plain reads, for which the kernel drops any descriptor the
 * converter might attach.
 */
static long first_fill(struct host_job *j)
{
	uint8_t buf[4096];
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int))];
	} c;
	struct iovec iov = {buf, sizeof(buf)};
	struct msghdr m = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &c, .msg_controllen = sizeof(c)};
	ssize_t n;
	do
		n = recvmsg(j->chan_fd, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return CVB_FRAME_IO;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS &&
		    h->cmsg_len == CMSG_LEN(sizeof(int)) && j->listener_rx < 0)
			memcpy(&j->listener_rx, CMSG_DATA(h), sizeof(int));
	if (m.msg_flags & MSG_CTRUNC)
		snprintf(j->protocol, sizeof(j->protocol), "descriptors on the job's channel");
	j->chan_read = n > 0;
	return n > 0 && cvb_frame_reader_feed(j->chan, buf, (size_t)n) < 0 ? CVB_FRAME_NOMEM : n;
}

void cvb_job_on_channel(struct cvb_sandbox *sb, struct host_job *j)
{
	for (int rounds = 0; rounds < 64 && j->chan_fd >= 0; rounds++) {
		long n = j->chan_read ? cvb_frame_reader_fill(j->chan, j->chan_fd) : first_fill(j);
		if (n == CVB_FRAME_IO && errno == EAGAIN)
			return;
		struct cvb_frame_header h;
		uint8_t *payload;
		int rc;
		while ((rc = cvb_frame_reader_next(j->chan, &h, &payload)) == 1)
			dispatch_frame(sb, j, &h, payload);
		if (rc < 0 && !j->protocol[0])
			snprintf(j->protocol, sizeof(j->protocol), "bad frame from the job: %s",
				 cvb_frame_strerror(rc));
		if (n <= 0 || rc < 0 || j->protocol[0]) {
			if (n == 0 && cvb_frame_reader_pending(j->chan) && !j->protocol[0])
				snprintf(j->protocol, sizeof(j->protocol),
					 "the job's channel ended inside a frame");
			close_fd(&j->chan_fd);
			if (j->protocol[0])
				cvb_job_kill(j);
			return;
		}
	}
}

static void flush_line(struct cvb_sandbox *sb, struct host_job *j, struct linebuf *lb,
		       const char *level)
{
	if (lb->len == 0 && !lb->truncated)
		return;
	if (level_granted(sb, level))
		add_log(j, level, lb->buf, lb->len, lb->truncated);
	lb->len = 0;
	lb->truncated = false;
}

/* print() output and stray writes to fd 1/2: one log entry per line, never a result. */
void cvb_job_on_pipe(struct cvb_sandbox *sb, struct host_job *j, int which)
{
	int *fd = which == 1 ? &j->out_fd : &j->err_fd;
	struct linebuf *lb = which == 1 ? &j->out : &j->err;
	const char *level = which == 1 ? "INFO" : "ERROR";
	char buf[65536];
	for (int rounds = 0; rounds < 16; rounds++) {
		ssize_t n = read(*fd, buf, sizeof(buf));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			flush_line(sb, j, lb, level);
			close_fd(fd);
			return;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				flush_line(sb, j, lb, level);
				continue;
			}
			if (lb->len < sizeof(lb->buf))
				lb->buf[lb->len++] = buf[i];
			else
				lb->truncated = true;
		}
	}
}

void cvb_job_on_control(struct host_job *j, const struct cvb_frame_header *h, uint8_t *payload,
			int *fds, size_t nfds)
{
	if (h->type == CVB_FRAME_STARTED && nfds >= 1 && j->pidfd < 0) {
		j->pidfd = fds[0];
		if (j->timed_out || j->protocol[0])
			cvb_job_kill(j);
		return;
	}
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	if (h->type == CVB_FRAME_EXITED && !j->exited) {
		json_decref(j->exit_info); /* the runner's record wins over the job's own */
		j->exit_info = json_loads((char *)payload, 0, NULL);
		j->exited = true;
		j->grace_until = cvb_now() + GRACE_S;
		j->runner->active--;
	}
}

/* SIGKILL to the job's pid-namespace init: every process it started dies with it. */
void cvb_job_kill(struct host_job *j)
{
	if (j->pidfd >= 0 && !j->exited)
		syscall(SYS_pidfd_send_signal, j->pidfd, SIGKILL, NULL, 0);
}

bool cvb_job_finished(const struct host_job *j)
{
	if (j->runner_died)
		return true;
	/* the pidfd must be here: a job finished early is ended by the host */
	if (j->done && j->pidfd >= 0 && j->chan_fd < 0 && j->out_fd < 0 && j->err_fd < 0)
		return true;
	if (!j->exited)
		return false;
	if (j->chan_fd < 0 && j->out_fd < 0 && j->err_fd < 0)
		return true;
	return cvb_now() >= j->grace_until;
}

void cvb_job_free(struct host_job *j)
{
	if (!j)
		return;
	close_fd(&j->chan_fd);
	close_fd(&j->out_fd);
	close_fd(&j->err_fd);
	close_fd(&j->pidfd);
	close_fd(&j->listener);
	close_fd(&j->listener_rx);
	cvb_frame_reader_free(j->chan);
	for (size_t i = 0; i < j->n_reports; i++)
		free(j->reports[i]);
	free(j->reports);
	free(j->result_raw);
	free(j->findings);
	json_decref(j->logs);
	json_decref(j->denied);
	json_decref(j->job_error);
	json_decref(j->exit_info);
	json_decref(j->outputs);
	if (j->tally)
		munmap(j->tally, CVB_TALLY_SIZE);
	if (j->staging) {
		cvb_host_remove_tree(j->staging);
		free(j->staging);
	}
	free(j->input);
	free(j);
}

void cvb_job_add_denial(struct host_job *j, const char *action, const char *target,
			const char *mode, const char *capability, const char *layer)
{
	json_array_append_new(j->denied, json_pack("{s:s, s:s, s:s?, s:s?, s:s}", "action", action,
						   "target", target, "mode", mode, "capability",
						   capability, "layer", layer));
}

/* A syscall the job's filter refused, as a denial in the result. */
static void record_refused(struct host_job *j, int nr, uint32_t arch)
{
	if (json_array_size(j->denied) >= MAX_DENIED)
		return;
	char *name = seccomp_syscall_resolve_num_arch(arch, nr);
	char unknown[32];
	snprintf(unknown, sizeof(unknown), "syscall %d", nr);
	cvb_job_add_denial(j, "syscall", name ? name : unknown, "capability",
			   cvb_plan_syscall_capability(name), "seccomp");
	free(name);
}

/*
 * Buffers for a notification and its answer, as large as the kernel says
 * they are (they may grow in later kernels), made once; NULL if they cannot be.
 */
static bool notif_buffers(struct seccomp_notif **req, size_t *req_size,
			  struct seccomp_notif_resp **resp)
{
	static struct seccomp_notif *q;
	static struct seccomp_notif_resp *a;
	static size_t q_size;
	struct seccomp_notif_sizes sizes;
	if (!q && syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0) {
		q_size = sizes.seccomp_notif > sizeof(*q) ? sizes.seccomp_notif : sizeof(*q);
		q = calloc(1, q_size);
		a = calloc(1, sizes.seccomp_notif_resp > sizeof(*a) ? sizes.seccomp_notif_resp
								    : sizeof(*a));
	}
	*req = q;
	*req_size = q_size;
	*resp = a;
	return q && a;
}

/*
 * A call the job's filter refused: the kernel holds the caller, whichever
 * process of the job it is, until the host answers. Recorded, then failed
 * with EPERM. A caller killed meanwhile is no longer there to answer
 * (ENOENT); a listener that hangs up has no process left under its filter.
 * Without buffers (no memory) the job is ended, its result a protocol error
 * that says so: a refusal the host cannot hear must not go unreported.
 */
void cvb_job_on_listener(struct host_job *j, short revents)
{
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	size_t req_size;
	if (!(revents & POLLIN)) {
		/* POLLERR alone is an interrupted lock in the kernel's poll: try again */
		if (revents & (POLLHUP | POLLNVAL))
			close_fd(&j->listener);
		return;
	}
	if (!notif_buffers(&req, &req_size, &resp)) {
		snprintf(j->protocol, sizeof(j->protocol), "cannot hear the job's refused calls");
		cvb_job_kill(j);
		close_fd(&j->listener);
		return;
	}
	memset(req, 0, req_size);
	if (ioctl(j->listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0)
		return;
	if (req->data.nr != __NR_seccomp || req->data.args[0] != CVB_SECCOMP_BARRIER ||
	    req->data.arch != seccomp_arch_native())
		record_refused(j, req->data.nr, req->data.arch);
	resp->id = req->id;
	resp->val = 0;
	resp->error = -EPERM;
	resp->flags = 0;
	ioctl(j->listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
}
