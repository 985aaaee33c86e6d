/*
 * The embedded CPython: isolated configuration, the audit hook (layer 9,
 * installed before the interpreter exists, so Python code can never remove
 * it), the _convbox built-in module through which a job speaks to the host,
 * and the stdlib preload that makes forking a job cheap.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <marshal.h>

#include "runner/runner.h"

#include "convbox/frame.h"
#include "convbox/validate.h"

#include "convbox_job_code.h"
#include "convbox_job_py.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_DENIAL_FRAMES 100

/*
 * Rounds of convbox's own rehearsal job in the zygote: enough for CPython to
 * specialise the bytecode every job runs, so jobs share it instead of
 * writing (and copying) it.
 */
#ifndef CVB_REHEARSAL_ROUNDS
#define CVB_REHEARSAL_ROUNDS 16
#endif

/* What the audit hook enforces; armed once, right before converter code runs. */
struct hook_state {
	bool armed;
	bool trusted;
	cvb_caps caps;
	const struct cvb_strlist *blocked;
	const struct cvb_strlist *native_allowed;
	const char *read_roots[20];
	const char *write_roots[4];
	size_t n_read, n_write;
	const char *input_view, *output_view, *temp_view;
	int channel_fd;
	dev_t channel_dev; /* what channel_fd was when the job began */
	ino_t channel_ino;
	struct cvb_tally *tally; /* the host's count of our audit-hook denials */
	uint64_t job_id;
	unsigned denials;
};

struct cvb_pyhost {
	struct hook_state hook;
	struct cvb_runner *runner;
	struct cvb_job *job;
	PyObject *glue;		  /* the convbox_job module */
	bool purged;		  /* the zygote dropped the runner's blocked modules already */
	bool rehearsing;	  /* py->job is the rehearsal job (see rehearse_rounds) */
	PyObject *rehearsal_code; /* its converter, marshalled once */
};

/* The job's pyhost, for the _convbox module's functions (one job per process). */
static struct cvb_pyhost *current;

/* ---- the audit hook ------------------------------------------------------ */

static bool path_under(const char *path, const char *root)
{
	size_t n = strlen(root);
	return strncmp(path, root, n) == 0 &&
	       (path[n] == 0 || path[n] == '/' || root[n - 1] == '/');
}

/* Lexical normalisation: absolute, no "." or ".." or "//". Symlinks are Landlock's job. */
static void normalise(const char *in, char *out, size_t len)
{
	char tmp[PATH_MAX * 2];
	if (in[0] == '/')
		snprintf(tmp, sizeof(tmp), "%s", in);
	else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)))
			snprintf(cwd, sizeof(cwd), "/");
		snprintf(tmp, sizeof(tmp), "%s/%s", cwd, in);
	}
	size_t o = 0;
	char *save = NULL;
	out[0] = 0;
	for (char *seg = strtok_r(tmp, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
		if (strcmp(seg, ".") == 0)
			continue;
		if (strcmp(seg, "..") == 0) {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			out[o] = 0;
			continue;
		}
		o += (size_t)snprintf(out + o, len - o, "/%s", seg);
		if (o >= len) {
			snprintf(out, len, "/");
			return;
		}
	}
	if (o == 0)
		snprintf(out, len, "/");
}

static bool allowed_under(const char *const *roots, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (roots[i] && path_under(path, roots[i]))
			return true;
	return false;
}

/* The capability that would have allowed touching this path. */
static const char *cap_for_path(const struct hook_state *h, const char *path)
{
	if (h->input_view && path_under(path, "/input"))
		return "READ_INPUT";
	if (path_under(path, "/output"))
		return "WRITE_OUTPUT";
	if (path_under(path, "/tmp"))
		return "FILE_TEMP";
	return NULL;
}

/*
 * A converter may close or replace any descriptor, the channel too, and put a
 * pipe at its number to swallow the denials below; then it must not go on.
 */
static void check_channel(const struct hook_state *h)
{
	struct stat st;
	if (fstat(h->channel_fd, &st) < 0 || st.st_dev != h->channel_dev ||
	    st.st_ino != h->channel_ino)
		_exit(CVB_JOBEXIT_TAMPER);
}

static int deny(struct hook_state *h, const char *action, const char *target, const char *mode,
		const char *cap)
{
	check_channel(h);
	if (h->tally) /* first: whatever the converter does with fd 3, the host's count stands */
		__atomic_fetch_add(&h->tally->hook, 1, __ATOMIC_RELAXED);
	if (h->denials++ < MAX_DENIAL_FRAMES) {
		json_t *o = json_pack("{s:s, s:s, s:s?, s:s?, s:s}", "action", action, "target",
				      target ? target : "", "mode", mode, "capability", cap,
				      "layer", "audit-hook");
		char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
		if (t)
			cvb_frame_write(h->channel_fd, CVB_FRAME_DENIED, h->job_id, t, strlen(t));
		free(t);
		json_decref(o);
	}
	if (cap)
		PyErr_Format(PyExc_PermissionError, "convbox: %s %s denied (needs capability %s)",
			     action, target ? target : "", cap);
	else
		PyErr_Format(PyExc_PermissionError, "convbox: %s %s denied", action,
			     target ? target : "");
	return -1;
}

/* Path argument of an event as text; false for descriptors and anything unusual. */
static bool arg_path(PyObject *args, Py_ssize_t i, char *out, size_t len)
{
	if (!PyTuple_Check(args) || PyTuple_GET_SIZE(args) <= i)
		return false;
	PyObject *p = PyTuple_GET_ITEM(args, i);
	if (p == Py_None || PyLong_Check(p))
		return false;
	PyObject *fs = PyOS_FSPath(p);
	if (!fs) {
		PyErr_Clear();
		return false;
	}
	PyObject *b = NULL;
	if (PyUnicode_Check(fs))
		b = PyUnicode_EncodeFSDefault(fs);
	else if (PyBytes_Check(fs)) {
		b = fs;
		Py_INCREF(b);
	}
	Py_DECREF(fs);
	if (!b) {
		PyErr_Clear();
		return false;
	}
	normalise(PyBytes_AS_STRING(b), out, len);
	Py_DECREF(b);
	return true;
}

static bool open_writes(PyObject *args)
{
	PyObject *mode = PyTuple_GET_SIZE(args) > 1 ? PyTuple_GET_ITEM(args, 1) : NULL;
	PyObject *flags = PyTuple_GET_SIZE(args) > 2 ? PyTuple_GET_ITEM(args, 2) : NULL;
	if (mode && PyUnicode_Check(mode)) {
		const char *m = PyUnicode_AsUTF8(mode);
		if (m && strpbrk(m, "wax+"))
			return true;
	}
	if (flags && PyLong_Check(flags)) {
		long f = PyLong_AsLong(flags);
		if (f & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND))
			return true;
	}
	return false;
}

static int check_path(struct hook_state *h, const char *action, PyObject *args, Py_ssize_t i,
		      bool write)
{
	char path[PATH_MAX];
	if (!arg_path(args, i, path, sizeof(path)))
		return 0;
	bool ok = write ? allowed_under(h->write_roots, h->n_write, path)
			: allowed_under(h->read_roots, h->n_read, path);
	if (ok)
		return 0;
	return deny(h, action, path, write ? "w" : "r", cap_for_path(h, path));
}

static bool module_matches(const char *name, const struct cvb_strlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		size_t n = strlen(l->v[i]);
		if (strncmp(name, l->v[i], n) == 0 && (name[n] == 0 || name[n] == '.'))
			return true;
	}
	return false;
}

static bool native_module(const char *name)
{
	for (const char *const *m = cvb_native_modules(); *m; m++) {
		size_t n = strlen(*m);
		if (strncmp(name, *m, n) == 0 && (name[n] == 0 || name[n] == '.'))
			return true;
	}
	return false;
}

static int check_import(struct hook_state *h, PyObject *args)
{
	if (!PyTuple_Check(args) || PyTuple_GET_SIZE(args) < 1 ||
	    !PyUnicode_Check(PyTuple_GET_ITEM(args, 0)))
		return 0;
	const char *name = PyUnicode_AsUTF8(PyTuple_GET_ITEM(args, 0));
	if (!name)
		return -1;
	if (cvb_caps_lift(h->caps, name))
		return 0; /* a granted capability needs it (subprocess for SHELL_EXECUTE ...) */
	if (module_matches(name, h->blocked))
		return deny(h, "import", name, NULL, NULL);
	if (native_module(name) && !module_matches(name, h->native_allowed))
		return deny(h, "import", name, NULL, NULL);
	return 0;
}

static bool event_in(const char *event, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(event, *list) == 0)
			return true;
	return false;
}

static bool has_cap(const struct hook_state *h, enum cvb_cap c)
{
	return (h->caps & CVB_CAP_BIT(c)) != 0;
}

static const char *first_arg_text(PyObject *args, char *buf, size_t len)
{
	buf[0] = 0;
	if (PyTuple_Check(args) && PyTuple_GET_SIZE(args) > 0) {
		PyObject *s = PyObject_Str(PyTuple_GET_ITEM(args, 0));
		const char *u = s ? PyUnicode_AsUTF8(s) : NULL;
		if (u)
			snprintf(buf, len, "%s", u);
		Py_XDECREF(s);
		PyErr_Clear();
	}
	return buf;
}

static const char *const exec_events[] = {"os.system",	      "os.exec",   "os.posix_spawn",
					  "os.spawn",	      "os.fork",   "os.forkpty",
					  "subprocess.Popen", "pty.spawn", NULL};
static const char *const net_events[] = {"urllib.Request",  "http.client.connect",
					 "ftplib.connect",  "smtplib.connect",
					 "poplib.connect",  "imaplib.open",
					 "nntplib.connect", "telnetlib.Telnet.open",
					 "webbrowser.open", NULL};
static const char *const signal_events[] = {"os.kill", "os.killpg", "signal.pthread_kill", NULL};
static const char *const internal_events[] = {"code.__new__", "sys._current_frames",
					      "cpython.PyInterpreterState_New", "sys.remote_exec",
					      NULL};
static const char *const write_path_events[] = {
    "os.remove", "os.rmdir",   "os.mkdir",	"os.chmod",  "os.chown", "os.truncate",
    "os.utime",	 "os.chflags", "shutil.rmtree", "os.mkfifo", "os.mknod", NULL};
static const char *const write_two_path_events[] = {"os.rename", "os.link", "os.symlink", NULL};
static const char *const read_path_events[] = {"os.listdir", "os.scandir", "glob.glob", "os.fwalk",
					       NULL};

static int audit_hook(const char *event, PyObject *args, void *data)
{
	struct hook_state *h = data;
	char buf[512];
	if (!h->armed || h->trusted)
		return 0;
	if (strcmp(event, "open") == 0)
		return check_path(h, "open", args, 0, open_writes(args));
	if (strcmp(event, "import") == 0)
		return check_import(h, args);
	if (event_in(event, read_path_events))
		return check_path(h, event, args, 0, false);
	if (event_in(event, write_path_events))
		return check_path(h, event, args, 0, true);
	if (event_in(event, write_two_path_events))
		return check_path(h, event, args, 0, strcmp(event, "os.symlink") != 0) < 0 ||
			       check_path(h, event, args, 1, true) < 0
			   ? -1
			   : 0;
	if (event_in(event, exec_events) && !has_cap(h, CVB_CAP_SHELL_EXECUTE))
		return deny(h, event, first_arg_text(args, buf, sizeof(buf)), NULL,
			    "SHELL_EXECUTE");
	if ((strncmp(event, "socket.", 7) == 0 || event_in(event, net_events)) &&
	    !has_cap(h, CVB_CAP_NETWORK_FULL))
		return deny(h, event, first_arg_text(args, buf, sizeof(buf)), NULL, "NETWORK_FULL");
	if (strncmp(event, "ctypes.", 7) == 0 && !cvb_strlist_has(h->native_allowed, "ctypes"))
		return deny(h, event, first_arg_text(args, buf, sizeof(buf)), NULL, NULL);
	if (event_in(event, signal_events) || event_in(event, internal_events))
		return deny(h, event, first_arg_text(args, buf, sizeof(buf)), NULL, NULL);
	return 0;
}

/* The rows of the plan's hook table, as paths for this job. */
static void arm_hook(struct cvb_pyhost *py)
{
	struct hook_state *h = &py->hook;
	struct cvb_job *j = py->job;
	/* /bin, /lib, /lib64 and /sbin are the merged-/usr links of the mount view */
	static const char *const base_reads[] = {
	    "/usr",	      "/bin",	     "/lib",
	    "/lib64",	      "/sbin",	     "/etc/ld.so.cache",
	    "/etc/localtime", "/dev/null",   "/dev/zero",
	    "/dev/urandom",   "/dev/random", "/converter"};
	h->n_read = 0;
	for (size_t i = 0; i < sizeof(base_reads) / sizeof(base_reads[0]); i++)
		h->read_roots[h->n_read++] = base_reads[i];
	h->n_write = 0;
	h->write_roots[h->n_write++] = "/dev/null";
	if (has_cap(h, CVB_CAP_READ_INPUT))
		h->read_roots[h->n_read++] = "/input";
	if (has_cap(h, CVB_CAP_NETWORK_FULL))
		h->read_roots[h->n_read++] = "/etc"; /* only the network files are mounted */
	if (has_cap(h, CVB_CAP_WRITE_OUTPUT)) {
		h->read_roots[h->n_read++] = "/output";
		h->write_roots[h->n_write++] = "/output";
	}
	if (has_cap(h, CVB_CAP_FILE_TEMP)) {
		h->read_roots[h->n_read++] = "/tmp";
		h->write_roots[h->n_write++] = "/tmp";
	}
	h->input_view = j->input_view;
	h->armed = true;
}

/* ---- the _convbox module --------------------------------------------------- */

static PyObject *send_frame(uint16_t type, const char *data, Py_ssize_t len)
{
	struct cvb_job *j = current->job;
	if ((uint64_t)len > j->spec.max_frame)
		return PyErr_Format(PyExc_ValueError,
				    "%zd bytes exceed the frame limit of %u bytes (--max-frame)",
				    len, j->spec.max_frame);
	int rc;
	Py_BEGIN_ALLOW_THREADS rc =
	    cvb_frame_write(j->channel_fd, type, j->spec.job_id, data, (size_t)len);
	Py_END_ALLOW_THREADS if (rc != CVB_FRAME_OK) return PyErr_SetFromErrno(PyExc_OSError);
	Py_RETURN_NONE;
}

static PyObject *py_send_bytes(uint16_t type, PyObject *arg)
{
	char *data;
	Py_ssize_t len;
	if (PyBytes_AsStringAndSize(arg, &data, &len) < 0)
		return NULL;
	return send_frame(type, data, len);
}

static PyObject *m_send_report(PyObject *self, PyObject *arg)
{
	return py_send_bytes(CVB_FRAME_REPORT, arg);
}

static PyObject *m_send_result(PyObject *self, PyObject *arg)
{
	return py_send_bytes(CVB_FRAME_RESULT, arg);
}

static PyObject *m_send_error(PyObject *self, PyObject *arg)
{
	return py_send_bytes(CVB_FRAME_JOB_ERROR, arg);
}

static PyObject *m_send_findings(PyObject *self, PyObject *arg)
{
	Py_ssize_t len;
	const char *s = PyUnicode_AsUTF8AndSize(arg, &len);
	return s ? send_frame(CVB_FRAME_FINDINGS, s, len) : NULL;
}

static PyObject *m_log(PyObject *self, PyObject *args)
{
	const char *level, *msg;
	if (!PyArg_ParseTuple(args, "ss", &level, &msg))
		return NULL;
	json_t *o = json_pack("{s:s, s:s}", "level", level, "message", msg);
	char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!t)
		return PyErr_NoMemory();
	PyObject *r = send_frame(CVB_FRAME_LOG, t, (Py_ssize_t)strlen(t));
	free(t);
	return r;
}

/* What the glue needs of the job: (class, args JSON, input, output, temp, converter). */
static PyObject *m_job(PyObject *self, PyObject *unused)
{
	struct cvb_job *j = current->job;
	const char *args = j->spec.args_json;
	if (args && strcmp(args, "{}") == 0)
		args = NULL;
	/* paths as Python's os functions take them: any bytes, undecodable ones escaped */
	PyObject *input = PyUnicode_DecodeFSDefault(j->input_view ? j->input_view : "");
	PyObject *conv =
	    PyUnicode_DecodeFSDefault(j->converter_view ? j->converter_view : "converter.py");
	if (!input || !conv) {
		Py_XDECREF(input);
		Py_XDECREF(conv);
		return NULL;
	}
	return Py_BuildValue("(zzNszN)", j->spec.class_name, args, input,
			     j->output_view ? j->output_view : "", j->temp_view, conv);
}

static PyObject *m_source(PyObject *self, PyObject *unused)
{
	return PyBytes_FromStringAndSize((const char *)current->runner->source,
					 (Py_ssize_t)current->runner->source_len);
}

static PyObject *m_arm(PyObject *self, PyObject *unused)
{
	if (!current->rehearsing) /* the zygote's own job runs no converter code */
		arm_hook(current);
	Py_RETURN_NONE;
}

/* Static analysis of the job's converter source with the job's import lists. */
static PyObject *m_validate(PyObject *self, PyObject *unused)
{
	struct cvb_job *j = current->job;
	const char *lift[64];
	size_t n_lift = 0;
	for (int c = 0; c < CVB_CAP_COUNT; c++)
		if (j->spec.caps & CVB_CAP_BIT(c))
			for (const char *const *p = cvb_cap_lifted_names((enum cvb_cap)c);
			     *p && n_lift < 64; p++)
				lift[n_lift++] = *p;
	struct cvb_validate_opts o = {
	    .blocked_imports = (const char *const *)j->spec.blocked_imports.v,
	    .n_blocked = j->spec.blocked_imports.n,
	    .allowed_imports = (const char *const *)j->spec.allowed_imports.v,
	    .n_allowed = j->spec.allowed_imports.n,
	    .lifted = lift,
	    .n_lifted = n_lift,
	};
	char *json = NULL, err[256] = "";
	if (cvb_validate_source((const char *)current->runner->source, current->runner->source_len,
				j->converter_view, &o, &json, err, sizeof(err)) < 0)
		return PyErr_Format(PyExc_RuntimeError, "validator failed: %s", err);
	PyObject *r = PyUnicode_FromString(json);
	free(json);
	return r;
}

static PyMethodDef convbox_methods[] = {
    {"validate", m_validate, METH_NOARGS, "Validate the converter source; findings as JSON."},
    {"send_report", m_send_report, METH_O, "Send one report (JSON bytes)."},
    {"send_result", m_send_result, METH_O, "Send the result (JSON bytes)."},
    {"send_error", m_send_error, METH_O, "Send a job error (JSON bytes)."},
    {"send_findings", m_send_findings, METH_O, "Send validator findings (JSON text)."},
    {"log", m_log, METH_VARARGS, "Forward a log record (level, message)."},
    {"job", m_job, METH_NOARGS, "(class, args JSON, input, output, temp, converter)."},
    {"source", m_source, METH_NOARGS, "The validated converter source bytes."},
    {"arm", m_arm, METH_NOARGS, "Arm the audit hook (cannot be undone)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef convbox_module = {PyModuleDef_HEAD_INIT,
					    "_convbox",
					    "convbox runner bridge",
					    -1,
					    convbox_methods,
					    NULL,
					    NULL,
					    NULL,
					    NULL};

static PyObject *init_convbox_module(void)
{
	return PyModule_Create(&convbox_module);
}

/* ---- interpreter life cycle ------------------------------------------------ */

/*
 * The stdlib modules converters commonly use. A zygote imports the ones its
 * converter names, so that its jobs find them imported, and no others: each
 * module costs start-up time, and each page and mapping it adds is copied by
 * every fork and torn down by every exit. (Measured with the spec's
 * SafeCSVConverter, the job glue's own imports made lazy as well: the zygote
 * starts 30 ms sooner and is 7 MB smaller, and a job costs 11 % less CPU.)
 *
 * A converter names a module when its validated bytes hold the module's last
 * dotted component as a word of code (`import json`, `from xml.etree import
 * ElementTree`, `csv.reader`), or its whole name as a whole string
 * (`import_module("csv")`). Comments and other strings do not count: a
 * converter's "*.csv" file pattern names no module, and importing csv for it
 * cost the zygote's start and, through the rehearsal job, which uses what
 * the zygote has, about 4 copied pages per job. The bytes only choose among
 * this fixed list, so a false match costs an import and nothing more; a
 * module the list lacks or the scan misses is imported by the job itself, as
 * on the cold path. The encodings have no one word (latin-1, latin1,
 * iso-8859-1) and cost little: always.
 */
static const char *const preload[] = {"json",
				      "csv",
				      "xml.etree.ElementTree",
				      "xml.dom.minidom",
				      "re",
				      "pathlib",
				      "datetime",
				      "enum",
				      "dataclasses",
				      "zipfile",
				      "math",
				      "logging",
				      "tempfile",
				      "io",
				      "uuid",
				      "decimal",
				      "collections",
				      "itertools",
				      "functools",
				      "statistics",
				      "string",
				      "struct",
				      "typing",
				      "traceback",
				      "linecache",
				      "base64",
				      "hashlib",
				      "fnmatch",
				      "glob",
				      "shutil",
				      "copy",
				      "textwrap",
				      "time",
				      "codecs",
				      "encodings.latin_1",
				      "encodings.cp1252",
				      "encodings.utf_16",
				      "encodings.ascii",
				      "gzip",
				      "bisect",
				      "heapq",
				      "operator",
				      "types",
				      "abc",
				      "numbers",
				      "fractions",
				      "random",
				      "binascii",
				      "zlib",
				      "locale",
				      NULL};

static bool ident_char(uint8_t c)
{
	return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}

#define N_PRELOAD (sizeof(preload) / sizeof(preload[0]) - 1)

/* The preload list's names and last components, measured once per scan. */
struct preload_words {
	const char *last[N_PRELOAD];
	size_t len[N_PRELOAD], last_len[N_PRELOAD];
};

/* wanted[k] for the module whose name, or (whole_name false) last component, is word. */
static void want_word(const struct preload_words *w, const uint8_t *word, size_t len,
		      bool whole_name, bool *wanted)
{
	for (size_t k = 0; k < N_PRELOAD; k++) {
		const char *name = whole_name ? preload[k] : w->last[k];
		if ((whole_name ? w->len[k] : w->last_len[k]) == len &&
		    memcmp(name, word, len) == 0)
			wanted[k] = true;
	}
}

/*
 * A string literal from its opening quote at src[i]: its end, just past the
 * closing quotes (or the line's or the source's end, for one left open).
 */
static size_t skip_string(const uint8_t *src, size_t len, size_t i, size_t *body, size_t *body_len)
{
	uint8_t q = src[i];
	size_t n = i + 2 < len && src[i + 1] == q && src[i + 2] == q ? 3 : 1;
	size_t j = i + n;
	*body = j;
	while (j < len) {
		if (src[j] == '\\') { /* escapes the next byte, raw strings included */
			j += 2;
			continue;
		}
		if (n == 1 && src[j] == '\n')
			break;
		if (src[j] == q &&
		    (n == 1 || (j + 2 < len && src[j + 1] == q && src[j + 2] == q))) {
			*body_len = j - *body;
			return j + n;
		}
		j++;
	}
	*body_len = (j < len ? j : len) - *body;
	return j < len ? j : len;
}

/* wanted[i]: the converter's bytes name preload[i] (see above). One pass, any size. */
static void named_modules(const uint8_t *src, size_t len, bool *wanted)
{
	struct preload_words w;
	for (size_t k = 0; k < N_PRELOAD; k++) {
		const char *dot = strrchr(preload[k], '.');
		w.last[k] = dot ? dot + 1 : preload[k];
		w.len[k] = strlen(preload[k]);
		w.last_len[k] = strlen(w.last[k]);
		wanted[k] = strncmp(preload[k], "encodings.", 10) == 0;
	}
	for (size_t i = 0; i < len;) {
		if (src[i] == '#') {
			while (i < len && src[i] != '\n')
				i++;
		} else if (src[i] == '\'' || src[i] == '"') {
			size_t body, body_len;
			i = skip_string(src, len, i, &body, &body_len);
			want_word(&w, src + body, body_len, true, wanted);
		} else if (ident_char(src[i])) {
			size_t start = i;
			while (i < len && ident_char(src[i]))
				i++;
			/* a string's prefix (rb"") is a word too, and names nothing */
			want_word(&w, src + start, i - start, false, wanted);
		} else {
			i++;
		}
	}
}

static int init_interpreter(struct cvb_pyhost *py, char *err, size_t errlen)
{
	if (py->runner->preload) /* a zygote: its heap is forked for every job */
		cvb_arena_install();
	/*
	 * UTF-8 mode: file names, open() and the standard streams are UTF-8
	 * whatever the (empty) environment's locale says.
	 */
	PyPreConfig pre;
	PyPreConfig_InitIsolatedConfig(&pre);
	pre.utf8_mode = 1;
	PyStatus pst = Py_PreInitialize(&pre);
	if (PyStatus_Exception(pst)) {
		snprintf(err, errlen, "pre-initialising Python: %s",
			 pst.err_msg ? pst.err_msg : "failed");
		return -1;
	}
	PyConfig cfg;
	PyConfig_InitIsolatedConfig(&cfg);
	cfg.site_import = 0;
	cfg.write_bytecode = 0;
	cfg.user_site_directory = 0;
	cfg.install_signal_handlers = 0;
	cfg.buffered_stdio = 0;
	cfg.safe_path = 1;
	PyStatus st = PyConfig_SetBytesString(&cfg, &cfg.home, CVB_PYTHON_HOME);
	if (!PyStatus_Exception(st))
		st = PyConfig_SetBytesString(&cfg, &cfg.program_name, "convbox-runner");
	if (!PyStatus_Exception(st))
		st = Py_InitializeFromConfig(&cfg);
	PyConfig_Clear(&cfg);
	if (PyStatus_Exception(st)) {
		snprintf(err, errlen, "initialising Python (home %s): %s", CVB_PYTHON_HOME,
			 st.err_msg ? st.err_msg : "failed");
		return -1;
	}
	return 0;
}

/*
 * random's shared instance and the C seed method of its base class, looked
 * up once in the zygote: a job's reseed is then one call instead of a module
 * lookup and four attribute lookups, each a few more copied pages per job.
 */
static struct {
	bool loaded;	       /* random was imported before the zygote forks */
	PyObject *inst, *seed; /* random._inst, random._random.Random.seed */
} rnd;

static void find_random(void)
{
	PyObject *name = PyUnicode_FromString("random");
	PyObject *random = name ? PyImport_GetModule(name) : NULL;
	Py_XDECREF(name);
	rnd.loaded = random != NULL;
	PyObject *base = random ? PyObject_GetAttrString(random, "_random") : NULL;
	PyObject *cls = base ? PyObject_GetAttrString(base, "Random") : NULL;
	Py_XSETREF(rnd.seed, cls ? PyObject_GetAttrString(cls, "seed") : NULL);
	Py_XSETREF(rnd.inst, rnd.seed ? PyObject_GetAttrString(random, "_inst") : NULL);
	Py_XDECREF(cls);
	Py_XDECREF(base);
	Py_XDECREF(random);
	PyErr_Clear();
}

/* random's shared instance gets a fresh seed from the kernel, as after a fork. */
static void reseed_random(void)
{
	if (!rnd.loaded)
		return; /* a job that imports random seeds it then */
	PyObject *r = rnd.inst ? PyObject_CallOneArg(rnd.seed, rnd.inst) : NULL;
	if (r && PyObject_SetAttrString(rnd.inst, "gauss_next", Py_None) < 0)
		Py_CLEAR(r);
	if (!r) {
		PyErr_Print();
		abort(); /* a job must never run with the zygote's random state */
	}
	Py_DECREF(r);
}

/*
 * Everything allocated so far survives into every job: move it out of the
 * collector's reach so a job's first collection does not touch (and copy)
 * every page the zygote shares with it.
 */
static void freeze(bool zygote)
{
	find_random(); /* what runs in the zygote has run: random is loaded or not */
	PyObject *gc = PyImport_ImportModule("gc");
	/*
	 * The start-up's garbage goes first, and malloc gives the pages it no
	 * longer uses back: every page the zygote keeps is one more entry that
	 * each fork copies and each job's exit clears.
	 */
	PyObject *r = gc ? PyObject_CallMethod(gc, "collect", NULL) : NULL;
	Py_XDECREF(r);
	malloc_trim(0);
	if (zygote) { /* a job's new objects then go to fresh memory, packed */
		cvb_arena_fill_pools();
		cvb_arena_fill_malloc_holes();
	}
	r = gc ? PyObject_CallMethod(gc, "freeze", NULL) : NULL;
	Py_XDECREF(r);
	Py_XDECREF(gc);
	PyErr_Clear();
}

static bool load_code(PyObject *glue, const char *bytes, size_t len, const char *path);

/* Every frame the rehearsal job wrote to its channel: a result, and no job error. */
static bool rehearsal_succeeded(int channel)
{
	bool result = false, failed = false;
	struct pollfd pfd = {.fd = channel, .events = POLLIN};
	while (poll(&pfd, 1, 0) == 1) {
		struct cvb_frame_header h;
		uint8_t *p = NULL;
		if (cvb_frame_read(channel, CVB_FRAME_DEFAULT_MAX, &h, &p, NULL, NULL) !=
		    CVB_FRAME_OK)
			return false;
		result |= h.type == CVB_FRAME_RESULT;
		if (h.type == CVB_FRAME_JOB_ERROR) {
			fprintf(stderr, "convbox-runner: rehearsal job error: %s\n", (char *)p);
			failed = true;
		}
		free(p);
	}
	return result && !failed;
}

/*
 * The rehearsal job: convbox's own converter (the glue's _rehearsal_source)
 * on a small CSV in a memfd, run as a job is: its code loaded from
 * marshalled bytes into the glue's _compiled (as a spare loads a job's), then
 * the glue's run_job, speaking through the _convbox bridge to a channel of
 * its own (a pipe). The zygote runs it to specialise what every job runs;
 * a child runs one more round for cvb_hotset_learn, and then the pages it
 * wrote are those of a job's own path, with nothing of a harness besides.
 * That round has no arguments (most jobs have none; a job with some writes
 * the decoder's few pages itself) and is not checked (the zygote's rounds
 * were, and reading the channel would write pages of its own).
 */
#define REHEARSAL_MODULE "convbox_rehearsal" /* the glue names a module after its file */

static int rehearse_rounds(struct cvb_pyhost *py, int rounds, bool learning, char *err,
			   size_t errlen)
{
	static const char csv[] = "sn,value,unit\nSN00001,1.5,V\nSN00001,2.5,V\n";
	static char args[] = "{\"part_number\": \"PN-1\"}";
	const char *path = "/converter/" REHEARSAL_MODULE ".py";
	int input = memfd_create("convbox-rehearsal", MFD_CLOEXEC), channel[2] = {-1, -1};
	char input_view[64];
	struct cvb_job j;
	memset(&j, 0, sizeof(j));
	j.spec.max_frame = CVB_FRAME_DEFAULT_MAX;
	j.spec.args_json = learning ? NULL : args;
	j.channel_fd = j.stdout_fd = j.stderr_fd = j.input_fd = j.tally_fd = -1;
	j.listener_fd = j.stage_fd = -1;
	j.input_view = input_view;
	j.converter_view = path;
	cvb_contain_views(py->runner->caps, &j.output_view, &j.temp_view);
	/*
	 * The learning round reads its input by a name alone, from the
	 * descriptors' folder: a job's path has one folder part ("input"), and
	 * this one's parts would be interned strings of their own, on pages no
	 * job writes. (The child exits after the round; the zygote keeps its
	 * folder.)
	 */
	if (learning && chdir("/proc/self/fd") == 0)
		snprintf(input_view, sizeof(input_view), "%d", input);
	else
		snprintf(input_view, sizeof(input_view), "/proc/self/fd/%d", input);
	int rc = input >= 0 && write(input, csv, sizeof(csv) - 1) == (ssize_t)sizeof(csv) - 1 &&
			 pipe2(channel, O_CLOEXEC) == 0
		     ? 0
		     : -1;
	if (rc == 0 && !py->rehearsal_code) {
		py->rehearsal_code = PyObject_CallMethod(py->glue, "rehearsal_code", "s", path);
		rc = py->rehearsal_code && PyBytes_Check(py->rehearsal_code) ? 0 : -1;
	}
	j.channel_fd = channel[1];
	py->job = &j;
	py->rehearsing = true;
	for (int i = 0; rc == 0 && i < rounds; i++) {
		PyObject *r = load_code(py->glue, PyBytes_AS_STRING(py->rehearsal_code),
					(size_t)PyBytes_GET_SIZE(py->rehearsal_code), path)
				  ? PyObject_CallMethod(py->glue, "run_job", NULL)
				  : NULL;
		if (!r)
			PyErr_Print(); /* the glue's own failure: converter errors are frames */
		rc = r && (learning || rehearsal_succeeded(channel[0])) ? 0 : -1;
		Py_XDECREF(r);
		if (PyObject_SetAttrString(py->glue, "_compiled", Py_None) < 0 ||
		    PyDict_DelItemString(PyImport_GetModuleDict(), REHEARSAL_MODULE) < 0)
			PyErr_Clear(); /* a round that failed early registered no module */
	}
	py->rehearsing = false;
	py->job = NULL;
	for (int k = 0; k < 2; k++)
		if (channel[k] >= 0)
			close(channel[k]);
	if (input >= 0)
		close(input);
	if (rc < 0)
		snprintf(err, errlen, "the runner's rehearsal job failed");
	return rc;
}

static int learning_round(void *arg)
{
	struct cvb_pyhost *py = arg;
	char err[256];
	cvb_pyhost_after_fork_child();
	return rehearse_rounds(py, 1, true, err, sizeof(err));
}

static void purge_blocked_modules(cvb_caps caps, const struct cvb_strlist *blocked,
				  const struct cvb_strlist *native_allowed);

/*
 * The zygote rehearses convbox's own job until CPython has specialised what
 * every job runs; a zygote with spares then learns which pages a job writes.
 */
static int rehearse(struct cvb_pyhost *py, char *err, size_t errlen)
{
	if (rehearse_rounds(py, CVB_REHEARSAL_ROUNDS, false, err, errlen) < 0)
		return -1;
	/*
	 * The runner's blocked modules that the preload pulled in are dropped
	 * once, here, instead of by a walk over sys.modules in every job: a job
	 * with the runner's module lists and capabilities finds them gone.
	 */
	struct cvb_runner *r = py->runner;
	purge_blocked_modules(r->caps, &r->blocked_imports, &r->native_modules);
	py->purged = true;
	return 0; /* cvb_pyhost_seal freezes the heap, once the zygote is done with it */
}

void cvb_pyhost_seal(struct cvb_runner *r)
{
	if (!r->preload)
		return; /* a cold runner froze its heap when it loaded the glue */
	freeze(true);
	if (r->spares > 0 && cvb_hotset_learn(learning_round, r->py) == 0)
		cvb_hotset_hold();
}

/*
 * The job glue's code object, compiled at build time by the python whose
 * libpython this is (scripts/marshal_glue.py); the source, compiled here,
 * if this libpython reads another bytecode format.
 */
static PyObject *glue_code(void)
{
	if (PyImport_GetMagicNumber() == cvb_glue_code_magic) {
		PyObject *code = PyMarshal_ReadObjectFromString((const char *)cvb_glue_code,
								(Py_ssize_t)sizeof(cvb_glue_code));
		if (code && PyCode_Check(code))
			return code;
		Py_XDECREF(code);
		PyErr_Clear();
	}
	return Py_CompileString((const char *)cvb_glue_py, "<convbox-runner>", Py_file_input);
}

static int load_glue(struct cvb_pyhost *py, char *err, size_t errlen)
{
	bool wanted[N_PRELOAD] = {false};
	if (py->runner->preload)
		named_modules(py->runner->source, py->runner->source_len, wanted);
	for (size_t i = 0; i < N_PRELOAD; i++) {
		if (!wanted[i])
			continue;
		PyObject *mod = PyImport_ImportModule(preload[i]);
		if (!mod) {
			PyErr_Clear(); /* a missing optional module is not fatal */
			continue;
		}
		Py_DECREF(mod);
	}
	PyObject *code = glue_code();
	PyObject *mod = code ? PyImport_ExecCodeModule("convbox_job", code) : NULL;
	Py_XDECREF(code);
	if (!mod) {
		PyErr_Print();
		snprintf(err, errlen, "loading the runner's job glue failed");
		return -1;
	}
	py->glue = mod;
	if (py->runner->preload)
		return rehearse(py, err, errlen);
	freeze(false);
	return 0;
}

int cvb_pyhost_init(struct cvb_runner *r, char *err, size_t errlen)
{
	struct cvb_pyhost *py = calloc(1, sizeof(*py));
	if (!py) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	py->runner = r;
	r->py = py;
	current = py;
	if (PySys_AddAuditHook(audit_hook, &py->hook) < 0 ||
	    PyImport_AppendInittab("_convbox", init_convbox_module) < 0) {
		snprintf(err, errlen, "installing the audit hook failed");
		return -1;
	}
	if (init_interpreter(py, err, errlen) < 0 || load_glue(py, err, errlen) < 0)
		return -1;
	return 0;
}

/*
 * The zygote forks from a single thread that holds the GIL and no other
 * lock (no Python thread ever runs in it), so the child's interpreter state
 * is consistent as it is. CPython's fork hooks (PyOS_BeforeFork and the
 * after-fork callbacks of threading, logging and random) would cost every
 * job a few hundred copied pages; the one effect a job needs is its own
 * random seed.
 */
void cvb_pyhost_after_fork_child(void)
{
	reseed_random();
}

/*
 * The code object an earlier spare of this runner marshalled (confined like
 * this one), read without calling into the glue: the job finds it in the
 * glue's _compiled.
 */
static bool load_code(PyObject *glue, const char *bytes, size_t len, const char *path)
{
	PyObject *code = PyMarshal_ReadObjectFromString(bytes, (Py_ssize_t)len);
	PyObject *entry = code && PyCode_Check(code) ? Py_BuildValue("(sO)", path, code) : NULL;
	bool ok = entry && PyObject_SetAttrString(glue, "_compiled", entry) == 0;
	Py_XDECREF(entry);
	Py_XDECREF(code);
	PyErr_Clear();
	return ok;
}

void cvb_pyhost_compile_ahead(struct cvb_runner *r, const char *path, uint8_t **code,
			      size_t *code_len)
{
	*code = NULL;
	*code_len = 0;
	if (r->code && load_code(r->py->glue, (const char *)r->code, r->code_len, path))
		return;
	PyObject *res = PyObject_CallMethod(r->py->glue, "compile_ahead", "s", path);
	char *data;
	Py_ssize_t len;
	if (res && PyBytes_Check(res) && PyBytes_AsStringAndSize(res, &data, &len) == 0 &&
	    (*code = malloc((size_t)len)) != NULL) {
		memcpy(*code, data, (size_t)len);
		*code_len = (size_t)len;
	}
	Py_XDECREF(res);
	PyErr_Clear(); /* a converter that does not compile fails in its job, with the error */
}

/* Blocked modules the preload pulled in are dropped, so importing them raises the event. */
static bool purge_wanted(const char *name, cvb_caps caps, const struct cvb_strlist *blocked,
			 const struct cvb_strlist *native_allowed)
{
	/* the lift last: most modules are neither blocked nor native */
	return (module_matches(name, blocked) ||
		(native_module(name) && !module_matches(name, native_allowed))) &&
	       !cvb_caps_lift(caps, name);
}

/*
 * Walked with borrowed references: taking a reference to every module (as a
 * key list would) writes to, and so copies, a page per module in every job.
 */
static void purge_blocked_modules(cvb_caps caps, const struct cvb_strlist *blocked,
				  const struct cvb_strlist *native_allowed)
{
	PyObject *modules = PyImport_GetModuleDict(), *k, *v, *doomed[64];
	Py_ssize_t pos = 0;
	size_t n = 0;
	while (n < sizeof(doomed) / sizeof(doomed[0]) && PyDict_Next(modules, &pos, &k, &v)) {
		const char *name = PyUnicode_Check(k) ? PyUnicode_AsUTF8(k) : NULL;
		if (name && purge_wanted(name, caps, blocked, native_allowed)) {
			Py_INCREF(k);
			doomed[n++] = k;
		}
	}
	for (size_t i = 0; i < n; i++) {
		PyDict_DelItem(modules, doomed[i]);
		Py_DECREF(doomed[i]);
	}
	PyErr_Clear();
}

static void run_glue(struct cvb_pyhost *py, const char *fn)
{
	PyObject *r = PyObject_CallMethod(py->glue, fn, NULL);
	if (!r) {
		/* the glue reports converter failures itself; this is our own failure */
		snprintf(py->job->err, sizeof(py->job->err), "the runner's job glue failed");
		PyErr_Clear();
		cvb_job_fail(py->job, "sandbox_error");
	}
	Py_DECREF(r);
}

/*
 * The last frame: the job's own usage and signals, then every
 * descriptor the host reads is closed. The host finishes the job right away
 * and ends the process itself, instead of waiting for the kernel to tear the
 * process and its namespaces down.
 */
__attribute__((noreturn)) static void job_done(struct cvb_job *j)
{
	/*
	 * A child the converter forked returns here too, and shares the tally
	 * page: only the job's own process (init of its pid namespace) may mark
	 * and send the job's last word.
	 */
	if (getpid() != 1)
		_exit(0);
	/* every refusal queued so far reaches the host before this DONE does */
	if (j->filtered)
		syscall(SYS_seccomp, CVB_SECCOMP_BARRIER, 0, NULL);
	struct rusage self, kids;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	timeradd(&self.ru_utime, &kids.ru_utime, &self.ru_utime);
	timeradd(&self.ru_stime, &kids.ru_stime, &self.ru_stime);
	if (kids.ru_maxrss > self.ru_maxrss)
		self.ru_maxrss = kids.ru_maxrss;
	char t[CVB_EXIT_REPORT_MAX];
	size_t n = cvb_exit_report(t, sizeof(t), "exited", 0, &self, getpid(), j->signals);
	if (j->tally) /* this DONE is ours, not one the converter wrote */
		__atomic_store_n(&j->tally->done, 1, __ATOMIC_RELEASE);
	if (n)
		cvb_frame_write(j->channel_fd, CVB_FRAME_DONE, j->spec.job_id, t, n);
	close(1);
	close(2);
	close(j->channel_fd);
	_exit(0);
}

void cvb_pyhost_run_job(struct cvb_runner *r, struct cvb_job *j)
{
	struct cvb_pyhost *py = r->py;
	struct hook_state *h = &py->hook;
	py->job = j;
	h->trusted = j->spec.trusted;
	h->caps = j->spec.caps;
	h->blocked = &j->spec.blocked_imports;
	h->native_allowed = &j->spec.native_modules;
	h->channel_fd = j->channel_fd;
	h->tally = j->tally;
	struct stat st;
	if (fstat(h->channel_fd, &st) == 0) {
		h->channel_dev = st.st_dev;
		h->channel_ino = st.st_ino;
	}
	h->job_id = j->spec.job_id;
	if (!py->purged || j->spec.caps != r->caps ||
	    !cvb_strlist_equal(&j->spec.blocked_imports, &r->blocked_imports) ||
	    !cvb_strlist_equal(&j->spec.native_modules, &r->native_modules))
		purge_blocked_modules(h->caps, h->blocked, h->native_allowed);
	if (j->spec.mode == CVB_JOB_VALIDATE) {
		run_glue(py, "run_validate");
		job_done(j);
	}
	run_glue(py, "run_job");
	if (j->spec.caps & CVB_CAP_BIT(CVB_CAP_WRITE_OUTPUT))
		cvb_outputs_send(j, (uint64_t)j->spec.limits.max_output_mb << 20);
	if (j->signals->fsize_hit) {
		snprintf(j->err, sizeof(j->err), "an output file reached the size limit (%u MB)",
			 j->spec.limits.max_output_mb);
		j->err_layer = "rlimits";
		cvb_job_fail(j, "output_limit");
	}
	job_done(j);
}
