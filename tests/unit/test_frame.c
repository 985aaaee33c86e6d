/*
 * Unit tests for the frame codec (include/convbox/frame.h).
 *
 * Layout of this file, in the order the tests run:
 *   1. header encode/decode and every rejection, against a wire format restated
 *      here independently of frame.c (so a silent format change fails);
 *   2. no allocation of an announced-but-rejected length;
 *   3. blocking cvb_frame_write/cvb_frame_read over a socketpair and a pipe;
 *   4. descriptor passing (SCM_RIGHTS) and descriptor leaks;
 *   5. the incremental reader (feed, next, fill).
 *
 * Tests that expect a crash or a signal from a buggy implementation run their
 * body in a forked child, so the failure is reported instead of killing the
 * whole program.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "convbox/frame.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifndef TEST_ASAN
#define TEST_ASAN 0
#endif

#define HDR	     CVB_FRAME_HEADER_SIZE
#define MAX_FDS	     8 /* CVB_FRAME_MAX_FDS in frame.c: the most a frame carries */
#define BIG_PAYLOAD  (20u * 1024u * 1024u)
#define SMALL_MAX    1024u
#define ANNOUNCE_4G  UINT32_MAX
#define WATCHDOG_SEC 300

/* ---- the wire format, restated ---------------------------------------- */

static void le_put(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Salted multiply-xor fold of the first 20 header bytes, as 5 LE words. */
static uint32_t ref_check(const uint8_t *p)
{
	uint32_t c = 0x9e3779b9u;
	for (int i = 0; i < 20; i += 4)
		c = (c ^ le32(p + i)) * 0x01000193u;
	return c;
}

/* Any header, valid or not, with a correct checksum unless told otherwise. */
static void ref_header(uint8_t out[HDR], uint32_t magic, uint16_t type, uint16_t flags,
		       uint64_t job_id, uint32_t len)
{
	le_put(out, magic, 4);
	le_put(out + 4, type, 2);
	le_put(out + 6, flags, 2);
	le_put(out + 8, job_id, 8);
	le_put(out + 16, len, 4);
	le_put(out + 20, ref_check(out), 4);
}

static const uint16_t known_types[] = {
    CVB_FRAME_SETUP,  CVB_FRAME_SOURCE,	   CVB_FRAME_JOB,      CVB_FRAME_SHUTDOWN,
    CVB_FRAME_READY,  CVB_FRAME_STARTED,   CVB_FRAME_EXITED,   CVB_FRAME_FATAL,
    CVB_FRAME_CODE,   CVB_FRAME_LOG,	   CVB_FRAME_DENIED,   CVB_FRAME_OUTPUT,
    CVB_FRAME_RESULT, CVB_FRAME_JOB_ERROR, CVB_FRAME_FINDINGS, CVB_FRAME_REPORT,
    CVB_FRAME_DONE,   CVB_FRAME_LISTENER,  CVB_FRAME_SPARE,
};
#define N_KNOWN_TYPES (sizeof(known_types) / sizeof(known_types[0]))

static int is_known_type(unsigned t)
{
	for (size_t i = 0; i < N_KNOWN_TYPES; i++)
		if (known_types[i] == t)
			return 1;
	return 0;
}

/* ---- shared helpers ----------------------------------------------------- */

/* Deterministic payload bytes, zeros included, different for every frame. */
static uint8_t pattern_byte(size_t frame, size_t i)
{
	return (uint8_t)((frame * 131u + i * 7u + (i >> 9)) % 251u);
}

static uint8_t *pattern(size_t frame, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);
	assert_non_null(p);
	for (size_t i = 0; i < len; i++)
		p[i] = pattern_byte(frame, i);
	return p;
}

static void assert_pattern(const uint8_t *p, size_t frame, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != pattern_byte(frame, i))
			fail_msg("frame %zu payload differs at byte %zu", frame, i);
	assert_int_equal(p[len], 0);
}

struct spec {
	uint16_t type;
	uint64_t job_id;
	uint32_t len;
};

/* A stream of mixed frames: empty ones, 1 byte, large, every direction. */
static const struct spec sample[] = {
    {CVB_FRAME_SETUP, 0, 17},
    {CVB_FRAME_SHUTDOWN, 0, 0},
    {CVB_FRAME_LOG, 42, 1},
    {CVB_FRAME_OUTPUT, UINT64_MAX, 5000},
    {CVB_FRAME_STARTED, 1, 0},
    {CVB_FRAME_REPORT, 0x8000000000000001ull, 23},
    {CVB_FRAME_RESULT, 0x100000000ull, 300},
};
#define N_SAMPLE (sizeof(sample) / sizeof(sample[0]))

/* Encode n frames of specs[] (payload of frame i is pattern(i)) into one buffer. */
static uint8_t *build_stream(const struct spec *specs, size_t n, size_t *out_len)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += HDR + specs[i].len;
	uint8_t *s = malloc(total ? total : 1);
	assert_non_null(s);
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		cvb_frame_encode_header(s + off, specs[i].type, specs[i].job_id, specs[i].len);
		off += HDR;
		for (size_t j = 0; j < specs[i].len; j++)
			s[off + j] = pattern_byte(i, j);
		off += specs[i].len;
	}
	*out_len = total;
	return s;
}

static void assert_frame(const struct spec *specs, size_t i, const struct cvb_frame_header *h,
			 const uint8_t *payload)
{
	assert_int_equal(h->magic, CVB_FRAME_MAGIC);
	assert_int_equal(h->type, specs[i].type);
	assert_int_equal(h->flags, 0);
	assert_true(h->job_id == specs[i].job_id);
	assert_int_equal(h->len, specs[i].len);
	assert_non_null(payload);
	assert_pattern(payload, i, specs[i].len);
}

static int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	int n = 0;
	for (struct dirent *e = readdir(d); e; e = readdir(d))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void assert_same_file(int a, int b)
{
	struct stat sa, sb;
	assert_int_equal(fstat(a, &sa), 0);
	assert_int_equal(fstat(b, &sb), 0);
	assert_true(sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
}

static void close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/*
 * Wait for a forked child and insist it exited 0. Children report their own
 * failed checks as 40 and up; 1 is a sanitizer stopping the process.
 */
static void assert_child_ok(pid_t pid, const char *what)
{
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		fail_msg("%s: child killed by signal %d (%s)", what, WTERMSIG(st),
			 strsignal(WTERMSIG(st)));
	if (WEXITSTATUS(st) != 0)
		fail_msg("%s: child exited with status %d", what, WEXITSTATUS(st));
}

/* ---- 1. header encode/decode -------------------------------------------- */

static void test_type_names(void **state)
{
	for (unsigned t = 0; t <= UINT16_MAX; t++) {
		const char *name = cvb_frame_type_name((uint16_t)t);
		if (is_known_type(t))
			assert_non_null(name);
		else if (name)
			fail_msg("type %u is unknown but named %s", t, name);
	}
	assert_string_equal(cvb_frame_type_name(CVB_FRAME_RESULT), "RESULT");
	assert_string_equal(cvb_frame_type_name(CVB_FRAME_REPORT), "REPORT");
}

static void test_strerror(void **state)
{
	const char *unknown = cvb_frame_strerror(12345);
	assert_non_null(unknown);
	for (int s = CVB_FRAME_OK; s >= CVB_FRAME_NOMEM; s--) {
		const char *msg = cvb_frame_strerror(s);
		assert_non_null(msg);
		assert_string_not_equal(msg, unknown);
	}
}

static void test_header_golden(void **state)
{
	/* RESULT, job 0x0102030405060708, len 0x11223344: fixed bytes on the wire. */
	static const uint8_t golden[HDR] = {
	    0x43, 0x56, 0x42, 0x46, 0x23, 0x00, 0x00, 0x00, 0x08, 0x07, 0x06, 0x05,
	    0x04, 0x03, 0x02, 0x01, 0x44, 0x33, 0x22, 0x11, 0x3d, 0x45, 0x86, 0x7e,
	};
	uint8_t enc[HDR], ref[HDR];
	cvb_frame_encode_header(enc, CVB_FRAME_RESULT, 0x0102030405060708ull, 0x11223344u);
	ref_header(ref, CVB_FRAME_MAGIC, CVB_FRAME_RESULT, 0, 0x0102030405060708ull, 0x11223344u);
	assert_memory_equal(enc, golden, HDR);
	assert_memory_equal(ref, golden, HDR);
	assert_memory_equal(enc, "CVBF", 4);
}

static void test_header_round_trip(void **state)
{
	static const uint64_t jobs[] = {0, 1, 0xffffffffull, 0x0102030405060708ull, UINT64_MAX};
	static const uint32_t lens[] = {0, 1, 24, 65535, 65536, CVB_FRAME_DEFAULT_MAX};
	for (size_t t = 0; t < N_KNOWN_TYPES; t++) {
		for (size_t j = 0; j < sizeof(jobs) / sizeof(jobs[0]); j++) {
			for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
				uint8_t raw[HDR], ref[HDR];
				struct cvb_frame_header h;
				memset(&h, 0xa5, sizeof(h));
				cvb_frame_encode_header(raw, known_types[t], jobs[j], lens[l]);
				ref_header(ref, CVB_FRAME_MAGIC, known_types[t], 0, jobs[j],
					   lens[l]);
				assert_memory_equal(raw, ref, HDR);
				assert_int_equal(cvb_frame_decode_header(raw, lens[l], &h),
						 CVB_FRAME_OK);
				assert_int_equal(h.magic, CVB_FRAME_MAGIC);
				assert_int_equal(h.type, known_types[t]);
				assert_int_equal(h.flags, 0);
				assert_true(h.job_id == jobs[j]);
				assert_int_equal(h.len, lens[l]);
				assert_int_equal(h.check, ref_check(raw));
			}
		}
	}
}

static void test_decode_bad_magic(void **state)
{
	static const uint32_t magics[] = {0, CVB_FRAME_MAGIC ^ 1, 0x43564246u, UINT32_MAX};
	for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++) {
		uint8_t raw[HDR];
		struct cvb_frame_header h;
		ref_header(raw, magics[i], CVB_FRAME_LOG, 0, 1, 1);
		assert_int_equal(cvb_frame_decode_header(raw, SMALL_MAX, &h), CVB_FRAME_BAD_MAGIC);
	}
	uint8_t zero[HDR] = {0};
	struct cvb_frame_header h;
	assert_int_equal(cvb_frame_decode_header(zero, SMALL_MAX, &h), CVB_FRAME_BAD_MAGIC);
}

/* Every single-bit flip of a valid header is caught: magic bits as BAD_MAGIC, the rest by the
 * checksum (each fold step is a bijection, so no single-word change can cancel out). */
static void test_decode_bad_check(void **state)
{
	uint8_t good[HDR];
	cvb_frame_encode_header(good, CVB_FRAME_JOB, 77, 100);
	for (size_t bit = 0; bit < HDR * 8; bit++) {
		uint8_t raw[HDR];
		struct cvb_frame_header h;
		memcpy(raw, good, HDR);
		raw[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		int want = bit < 32 ? CVB_FRAME_BAD_MAGIC : CVB_FRAME_BAD_CHECK;
		int rc = cvb_frame_decode_header(raw, UINT32_MAX, &h);
		if (rc != want)
			fail_msg("bit %zu flipped: got %d (%s), want %d", bit, rc,
				 cvb_frame_strerror(rc), want);
	}
}

static void test_decode_bad_type(void **state)
{
	static const uint16_t bad[] = {0, 5, 15, 22, 31, 41, 64, 255, 256, 1000, UINT16_MAX};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t raw[HDR];
		struct cvb_frame_header h;
		ref_header(raw, CVB_FRAME_MAGIC, bad[i], 0, 9, 0);
		assert_int_equal(cvb_frame_decode_header(raw, SMALL_MAX, &h), CVB_FRAME_BAD_TYPE);
		cvb_frame_encode_header(raw, bad[i], 9, 0);
		assert_int_equal(cvb_frame_decode_header(raw, SMALL_MAX, &h), CVB_FRAME_BAD_TYPE);
	}
}

static void test_decode_bad_flags(void **state)
{
	static const uint16_t bad[] = {1, 2, 0x100, 0x8000, UINT16_MAX};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t raw[HDR];
		struct cvb_frame_header h;
		ref_header(raw, CVB_FRAME_MAGIC, CVB_FRAME_RESULT, bad[i], 9, 0);
		assert_int_equal(cvb_frame_decode_header(raw, SMALL_MAX, &h), CVB_FRAME_BAD_FLAGS);
	}
}

static void test_decode_too_big(void **state)
{
	uint8_t raw[HDR];
	struct cvb_frame_header h;
	cvb_frame_encode_header(raw, CVB_FRAME_OUTPUT, 3, SMALL_MAX);
	assert_int_equal(cvb_frame_decode_header(raw, SMALL_MAX, &h), CVB_FRAME_OK);
	assert_int_equal(cvb_frame_decode_header(raw, SMALL_MAX - 1, &h), CVB_FRAME_TOO_BIG);
	cvb_frame_encode_header(raw, CVB_FRAME_OUTPUT, 3, 1);
	assert_int_equal(cvb_frame_decode_header(raw, 0, &h), CVB_FRAME_TOO_BIG);
	cvb_frame_encode_header(raw, CVB_FRAME_OUTPUT, 3, 0);
	assert_int_equal(cvb_frame_decode_header(raw, 0, &h), CVB_FRAME_OK);
	cvb_frame_encode_header(raw, CVB_FRAME_OUTPUT, 3, ANNOUNCE_4G);
	assert_int_equal(cvb_frame_decode_header(raw, SMALL_MAX, &h), CVB_FRAME_TOO_BIG);
	assert_int_equal(cvb_frame_decode_header(raw, CVB_FRAME_DEFAULT_MAX, &h),
			 CVB_FRAME_TOO_BIG);
	assert_int_equal(cvb_frame_decode_header(raw, UINT32_MAX, &h), CVB_FRAME_OK);
	assert_int_equal(h.len, ANNOUNCE_4G);
}

/* ---- 2. no allocation of a rejected length ------------------------------ */

/*
 * Feed a header announcing 4 GiB with a 1 KiB maximum to all three readers.
 * Returns 0 when each says CVB_FRAME_TOO_BIG, else 41..43 for the path that did
 * not (50+ for a setup failure). No cmocka asserts: this also runs in a forked
 * child.
 */
static int oversized_paths(void)
{
	uint8_t raw[HDR];
	struct cvb_frame_header h;
	cvb_frame_encode_header(raw, CVB_FRAME_OUTPUT, 1, ANNOUNCE_4G);
	if (cvb_frame_decode_header(raw, SMALL_MAX, &h) != CVB_FRAME_TOO_BIG)
		return 41;

	/* Blocking read; the writer stays open so a reader that waits for the payload
	 * times out (SO_RCVTIMEO) instead of hanging. */
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return 50;
	struct timeval tv = {.tv_sec = 5};
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	uint8_t *payload = NULL;
	int rc = CVB_FRAME_IO;
	if (write(sv[1], raw, HDR) == HDR)
		rc = cvb_frame_read(sv[0], SMALL_MAX, &h, &payload, NULL, NULL);
	free(payload);
	close(sv[0]);
	close(sv[1]);
	if (rc != CVB_FRAME_TOO_BIG)
		return 42;

	struct cvb_frame_reader *r = cvb_frame_reader_new(SMALL_MAX);
	if (!r)
		return 51;
	payload = NULL;
	rc = cvb_frame_reader_feed(r, raw, HDR);
	if (rc == CVB_FRAME_OK)
		rc = cvb_frame_reader_next(r, &h, &payload);
	free(payload);
	cvb_frame_reader_free(r);
	return rc == CVB_FRAME_TOO_BIG ? 0 : 43;
}

#if TEST_ASAN
/* ASan reports every allocation to these hooks with the size the caller asked for. */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
					      void (*free_hook)(const volatile void *));

static size_t largest_alloc;

static void on_malloc(const volatile void *p, size_t size)
{
	if (size > largest_alloc)
		largest_alloc = size;
}

static void on_free(const volatile void *p)
{
}

static void test_no_alloc_of_rejected_length(void **state)
{
	static int installed;
	if (!installed)
		installed = __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
	assert_true(installed);
	/* The hook works: it sees a large allocation. */
	largest_alloc = 0;
	void *probe = malloc(8u << 20);
	assert_non_null(probe);
	free(probe);
	assert_true(largest_alloc >= (8u << 20));

	largest_alloc = 0;
	int failed_path = oversized_paths();
	size_t seen = largest_alloc;
	assert_int_equal(failed_path, 0);
	if (seen > 65536)
		fail_msg("a rejected 4 GiB frame led to a %zu-byte allocation", seen);
}
#else
/* Without ASan: in a child whose address space cannot hold 4 GiB, any attempt to allocate the
 * announced length fails, which turns TOO_BIG into NOMEM and fails the check. */
static void test_no_alloc_of_rejected_length(void **state)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		unsigned long pages = 0;
		FILE *f = fopen("/proc/self/statm", "r");
		if (!f || fscanf(f, "%lu", &pages) != 1)
			_exit(52);
		fclose(f);
		rlim_t lim = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (256u << 20);
		struct rlimit rl = {lim, lim};
		if (setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(53);
		void *probe = malloc((size_t)1 << 30);
		if (probe) /* the limit does not bite: the check would prove nothing */
			_exit(54);
		_exit(oversized_paths());
	}
	assert_child_ok(pid, "4 GiB announced, 1 KiB allowed");
}
#endif

/* ---- 3. blocking write/read over a socketpair and a pipe ---------------- */

/* Each transport test runs twice; the kind is the test's initial state (never NULL). */
enum transport_kind { OVER_SOCKETPAIR = 1, OVER_PIPE = 2 };

/* ends[0] is read from, ends[1] written to. */
static void transport_open(void **state, int ends[2])
{
	enum transport_kind k = (enum transport_kind)(uintptr_t)*state;
	if (k == OVER_SOCKETPAIR)
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends), 0);
	else
		assert_int_equal(pipe2(ends, O_CLOEXEC), 0);
}

static void test_rw_frames(void **state)
{
	int ends[2];
	transport_open(state, ends);
	size_t len;
	uint8_t *stream = build_stream(sample, N_SAMPLE, &len);
	assert_true(len < 60000); /* fits in the pipe buffer: no writer thread needed */
	for (size_t i = 0; i < N_SAMPLE; i++) {
		uint8_t *p = pattern(i, sample[i].len);
		/* an empty frame is written with a NULL payload */
		assert_int_equal(cvb_frame_write(ends[1], sample[i].type, sample[i].job_id,
						 sample[i].len ? p : NULL, sample[i].len),
				 CVB_FRAME_OK);
		free(p);
	}
	close(ends[1]);
	for (size_t i = 0; i < N_SAMPLE; i++) {
		struct cvb_frame_header h;
		uint8_t *payload = NULL;
		assert_int_equal(
		    cvb_frame_read(ends[0], CVB_FRAME_DEFAULT_MAX, &h, &payload, NULL, NULL),
		    CVB_FRAME_OK);
		assert_frame(sample, i, &h, payload);
		free(payload);
	}
	struct cvb_frame_header h;
	uint8_t *payload = stream; /* must be reset to NULL */
	assert_int_equal(cvb_frame_read(ends[0], CVB_FRAME_DEFAULT_MAX, &h, &payload, NULL, NULL),
			 CVB_FRAME_EOF);
	assert_null(payload);
	free(stream);
	close(ends[0]);
}

static void test_rw_zero_length(void **state)
{
	int ends[2];
	transport_open(state, ends);
	assert_int_equal(cvb_frame_write(ends[1], CVB_FRAME_SHUTDOWN, 0, NULL, 0), CVB_FRAME_OK);
	assert_int_equal(cvb_frame_write(ends[1], CVB_FRAME_STARTED, 5, "ignored", 0),
			 CVB_FRAME_OK);
	struct cvb_frame_header h;
	uint8_t *payload = NULL;
	assert_int_equal(cvb_frame_read(ends[0], 0, &h, &payload, NULL, NULL), CVB_FRAME_OK);
	assert_int_equal(h.type, CVB_FRAME_SHUTDOWN);
	assert_int_equal(h.len, 0);
	assert_non_null(payload);
	assert_int_equal(payload[0], 0);
	free(payload);
	assert_int_equal(cvb_frame_read(ends[0], 0, &h, &payload, NULL, NULL), CVB_FRAME_OK);
	assert_int_equal(h.type, CVB_FRAME_STARTED);
	assert_true(h.job_id == 5);
	assert_int_equal(h.len, 0);
	assert_non_null(payload);
	assert_int_equal(payload[0], 0);
	free(payload);
	close(ends[1]);
	assert_int_equal(cvb_frame_read(ends[0], 0, &h, &payload, NULL, NULL), CVB_FRAME_EOF);
	close(ends[0]);
}

static void test_rw_nul_terminated_text(void **state)
{
	int ends[2];
	transport_open(state, ends);
	static const char json[] = "{\"level\":\"info\",\"message\":\"hi\"}";
	/* Sent without its NUL, followed by a byte that must not leak into the string. */
	assert_int_equal(cvb_frame_write(ends[1], CVB_FRAME_LOG, 11, json, strlen(json)),
			 CVB_FRAME_OK);
	assert_int_equal(cvb_frame_write(ends[1], CVB_FRAME_LOG, 11, "X", 1), CVB_FRAME_OK);
	struct cvb_frame_header h;
	uint8_t *payload = NULL;
	assert_int_equal(cvb_frame_read(ends[0], SMALL_MAX, &h, &payload, NULL, NULL),
			 CVB_FRAME_OK);
	assert_int_equal(h.len, strlen(json));
	assert_string_equal((const char *)payload, json);
	free(payload);
	assert_int_equal(cvb_frame_read(ends[0], SMALL_MAX, &h, &payload, NULL, NULL),
			 CVB_FRAME_OK);
	assert_string_equal((const char *)payload, "X");
	free(payload);
	close(ends[0]);
	close(ends[1]);
}

struct writer {
	int fd;
	const uint8_t *buf;
	size_t len;
	const int *fds;
	size_t nfds;
	int rc;
	int err;
};

/* Writes one OUTPUT frame then closes its end, so the reader next sees EOF. */
static void *writer_main(void *arg)
{
	struct writer *w = arg;
	w->rc = cvb_frame_write_fds(w->fd, CVB_FRAME_OUTPUT, 99, w->buf, w->len, w->fds, w->nfds);
	w->err = errno;
	close(w->fd);
	return NULL;
}

/* 20 MiB through a channel that holds far less: the writer must run concurrently. */
static void big_transfer(int ends[2], const int *fds, size_t nfds, int *got_fds, size_t *got_n)
{
	uint8_t *big = pattern(0, BIG_PAYLOAD);
	struct writer w = {ends[1], big, BIG_PAYLOAD, fds, nfds, -100, 0};
	pthread_t tid;
	assert_int_equal(pthread_create(&tid, NULL, writer_main, &w), 0);
	struct cvb_frame_header h;
	uint8_t *payload = NULL;
	int rc = cvb_frame_read(ends[0], CVB_FRAME_DEFAULT_MAX, &h, &payload, got_fds, got_n);
	if (rc != CVB_FRAME_OK)
		close(ends[0]); /* unblocks the writer (EPIPE) so the join below returns */
	assert_int_equal(pthread_join(tid, NULL), 0);
	assert_int_equal(w.rc, CVB_FRAME_OK);
	assert_int_equal(rc, CVB_FRAME_OK);
	assert_int_equal(h.type, CVB_FRAME_OUTPUT);
	assert_true(h.job_id == 99);
	assert_int_equal(h.len, BIG_PAYLOAD);
	assert_memory_equal(payload, big, BIG_PAYLOAD);
	assert_int_equal(payload[BIG_PAYLOAD], 0);
	free(payload);
	free(big);
	assert_int_equal(cvb_frame_read(ends[0], CVB_FRAME_DEFAULT_MAX, &h, &payload, NULL, NULL),
			 CVB_FRAME_EOF);
	close(ends[0]);
}

static void test_rw_20mib(void **state)
{
	int ends[2];
	transport_open(state, ends);
	big_transfer(ends, NULL, 0, NULL, NULL);
}

/*
 * Signals without SA_RESTART make blocking writev/sendmsg return after a partial
 * transfer, and recvmsg/read fail with EINTR: both sides must carry on. A
 * pestering thread signals the writer and the reader while 20 MiB go through.
 */
static volatile sig_atomic_t signals_seen;

static void count_signal(int sig)
{
	signals_seen++;
}

struct pester {
	pthread_t targets[2];
	atomic_int stop;
};

static void *pester_main(void *arg)
{
	struct pester *p = arg;
	struct timespec ts = {0, 50 * 1000};
	while (!atomic_load(&p->stop)) {
		for (int i = 0; i < 2; i++)
			pthread_kill(p->targets[i], SIGUSR1);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void test_rw_interrupted(void **state)
{
	int ends[2];
	transport_open(state, ends);
	int pass[2] = {-1, -1};
	enum transport_kind k = (enum transport_kind)(uintptr_t)*state;
	if (k == OVER_SOCKETPAIR) /* exercise "descriptors go with the first chunk" too */
		assert_int_equal(pipe2(pass, O_CLOEXEC), 0);
	struct sigaction sa = {.sa_handler = count_signal}, old;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
	signals_seen = 0;

	uint8_t *big = pattern(3, BIG_PAYLOAD);
	struct writer w = {ends[1], big, BIG_PAYLOAD, &pass[1], pass[1] >= 0, -100, 0};
	pthread_t writer;
	assert_int_equal(pthread_create(&writer, NULL, writer_main, &w), 0);
	struct pester pest = {{writer, pthread_self()}, 0};
	pthread_t pester;
	assert_int_equal(pthread_create(&pester, NULL, pester_main, &pest), 0);

	struct cvb_frame_header h;
	uint8_t *payload = NULL;
	int got[MAX_FDS];
	size_t n = MAX_FDS;
	/* a slow start lets the writer block, and be interrupted, inside a full channel */
	struct timespec ts = {0, 20 * 1000 * 1000};
	nanosleep(&ts, NULL);
	int rc = cvb_frame_read(ends[0], CVB_FRAME_DEFAULT_MAX, &h, &payload, got, &n);
	if (rc != CVB_FRAME_OK)
		close(ends[0]);
	atomic_store(&pest.stop, 1);
	assert_int_equal(pthread_join(pester, NULL), 0);
	assert_int_equal(pthread_join(writer, NULL), 0);
	sigaction(SIGUSR1, &old, NULL);
	assert_true(signals_seen > 0);
	assert_int_equal(w.rc, CVB_FRAME_OK);
	assert_int_equal(rc, CVB_FRAME_OK);
	assert_int_equal(h.len, BIG_PAYLOAD);
	assert_memory_equal(payload, big, BIG_PAYLOAD);
	assert_int_equal(payload[BIG_PAYLOAD], 0);
	free(payload);
	free(big);
	if (k == OVER_SOCKETPAIR) {
		assert_int_equal(n, 1);
		assert_same_file(got[0], pass[1]);
		close(got[0]);
		close(pass[0]);
		close(pass[1]);
	} else {
		assert_int_equal(n, 0);
	}
	close(ends[0]);
}

static void test_rw_20mib_over_small_max(void **state)
{
	int ends[2];
	transport_open(state, ends);
	uint8_t raw[HDR];
	cvb_frame_encode_header(raw, CVB_FRAME_OUTPUT, 1, BIG_PAYLOAD);
	assert_int_equal(write(ends[1], raw, HDR), HDR);
	close(ends[1]); /* a reader that waits for the payload gets TRUNCATED, not a hang */
	struct cvb_frame_header h;
	uint8_t *payload = NULL;
	assert_int_equal(cvb_frame_read(ends[0], BIG_PAYLOAD - 1, &h, &payload, NULL, NULL),
			 CVB_FRAME_TOO_BIG);
	assert_null(payload);
	close(ends[0]);
}

static void test_read_eof_before_header(void **state)
{
	int ends[2];
	transport_open(state, ends);
	close(ends[1]);
	struct cvb_frame_header h;
	uint8_t *payload = NULL;
	int fds[MAX_FDS];
	size_t nfds = MAX_FDS;
	assert_int_equal(cvb_frame_read(ends[0], SMALL_MAX, &h, &payload, fds, &nfds),
			 CVB_FRAME_EOF);
	assert_null(payload);
	assert_int_equal(nfds, 0);
	close(ends[0]);
}

static void test_read_eof_inside_header(void **state)
{
	static const size_t cut[] = {1, 4, 12, HDR - 1};
	for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		int ends[2];
		transport_open(state, ends);
		uint8_t raw[HDR];
		cvb_frame_encode_header(raw, CVB_FRAME_LOG, 1, 4);
		assert_int_equal(write(ends[1], raw, cut[i]), (ssize_t)cut[i]);
		close(ends[1]);
		struct cvb_frame_header h;
		uint8_t *payload = NULL;
		assert_int_equal(cvb_frame_read(ends[0], SMALL_MAX, &h, &payload, NULL, NULL),
				 CVB_FRAME_TRUNCATED);
		assert_null(payload);
		close(ends[0]);
	}
}

static void test_read_eof_inside_payload(void **state)
{
	static const size_t have[] = {0, 1, 99};
	for (size_t i = 0; i < sizeof(have) / sizeof(have[0]); i++) {
		int ends[2];
		transport_open(state, ends);
		uint8_t raw[HDR + 100];
		cvb_frame_encode_header(raw, CVB_FRAME_RESULT, 1, 100);
		memset(raw + HDR, 'x', 100);
		assert_int_equal(write(ends[1], raw, HDR + have[i]), (ssize_t)(HDR + have[i]));
		close(ends[1]);
		struct cvb_frame_header h;
		uint8_t *payload = NULL;
		assert_int_equal(cvb_frame_read(ends[0], SMALL_MAX, &h, &payload, NULL, NULL),
				 CVB_FRAME_TRUNCATED);
		assert_null(payload);
		close(ends[0]);
	}
}

/* A bad header on the wire, one per rejection the decoder knows. */
struct bad_header {
	uint32_t magic;
	uint16_t type;
	uint16_t flags;
	uint32_t len;
	int corrupt_check;
	int status;
};

static const struct bad_header bad_headers[] = {
    {0x46425644u, CVB_FRAME_LOG, 0, 1, 0, CVB_FRAME_BAD_MAGIC},
    {CVB_FRAME_MAGIC, CVB_FRAME_LOG, 0, 1, 1, CVB_FRAME_BAD_CHECK},
    {CVB_FRAME_MAGIC, 7, 0, 1, 0, CVB_FRAME_BAD_TYPE},
    {CVB_FRAME_MAGIC, CVB_FRAME_LOG, 4, 1, 0, CVB_FRAME_BAD_FLAGS},
    {CVB_FRAME_MAGIC, CVB_FRAME_LOG, 0, SMALL_MAX + 1, 0, CVB_FRAME_TOO_BIG},
};
#define N_BAD_HEADERS (sizeof(bad_headers) / sizeof(bad_headers[0]))

static void bad_header_bytes(const struct bad_header *b, uint8_t raw[HDR])
{
	ref_header(raw, b->magic, b->type, b->flags, 5, b->len);
	if (b->corrupt_check)
		raw[21] ^= 0x10;
}

static void test_read_rejects(void **state)
{
	for (size_t i = 0; i < N_BAD_HEADERS; i++) {
		int ends[2];
		transport_open(state, ends);
		uint8_t raw[HDR + 8];
		bad_header_bytes(&bad_headers[i], raw);
		memset(raw + HDR, 'p', 8);
		assert_int_equal(write(ends[1], raw, sizeof(raw)), (ssize_t)sizeof(raw));
		close(ends[1]);
		struct cvb_frame_header h;
		uint8_t *payload = NULL;
		int rc = cvb_frame_read(ends[0], SMALL_MAX, &h, &payload, NULL, NULL);
		if (rc != bad_headers[i].status)
			fail_msg("bad header %zu: got %s, want %s", i, cvb_frame_strerror(rc),
				 cvb_frame_strerror(bad_headers[i].status));
		assert_null(payload);
		close(ends[0]);
	}
}

static void test_rw_bad_fd(void **state)
{
	struct cvb_frame_header h;
	uint8_t *payload = NULL;
	errno = 0;
	assert_int_equal(cvb_frame_write(-1, CVB_FRAME_LOG, 0, "x", 1), CVB_FRAME_IO);
	assert_int_equal(errno, EBADF);
	errno = 0;
	assert_int_equal(cvb_frame_read(-1, SMALL_MAX, &h, &payload, NULL, NULL), CVB_FRAME_IO);
	assert_int_equal(errno, EBADF);
	assert_null(payload);
}

/* Writing to a socket whose peer is gone must return CVB_FRAME_IO/EPIPE, not raise SIGPIPE:
 * the runner may die at any time. Run in children with SIGPIPE at its default (fatal). */
static int write_to_dead_peer(int with_fd, size_t len)
{
	signal(SIGPIPE, SIG_DFL);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return 40;
	close(sv[0]);
	uint8_t *buf = calloc(1, len);
	if (!buf)
		return 41;
	int rc = cvb_frame_write_fds(sv[1], CVB_FRAME_LOG, 1, buf, len, &sv[1], with_fd ? 1 : 0);
	int err = errno;
	free(buf);
	if (rc != CVB_FRAME_IO)
		return 42;
	return err == EPIPE ? 0 : 43;
}

static void test_write_dead_peer_with_fds(void **state)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(write_to_dead_peer(1, 16));
	assert_child_ok(pid, "cvb_frame_write_fds to a closed socket");
}

static void test_write_dead_peer(void **state)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(write_to_dead_peer(0, 16));
	assert_child_ok(pid, "cvb_frame_write to a closed socket");
}

/* Peer closes while a large frame with an fd is half written: the tail must not SIGPIPE
 * either. */
static void test_write_peer_dies_midway(void **state)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
			_exit(40);
		pid_t reader = fork();
		if (reader == 0) { /* take some bytes, then go away */
			char buf[4096];
			close(sv[1]);
			if (read(sv[0], buf, sizeof(buf)) <= 0)
				_exit(43);
			_exit(0);
		}
		close(sv[0]);
		uint8_t *buf = calloc(1, BIG_PAYLOAD);
		if (!buf)
			_exit(41);
		int rc =
		    cvb_frame_write_fds(sv[1], CVB_FRAME_OUTPUT, 1, buf, BIG_PAYLOAD, &sv[1], 1);
		int err = errno;
		waitpid(reader, NULL, 0);
		_exit(rc == CVB_FRAME_IO && err == EPIPE ? 0 : 42);
	}
	assert_child_ok(pid, "cvb_frame_write_fds, peer gone after the first chunk");
}

/* ---- 4. descriptor passing ---------------------------------------------- */

/* n pipes; the write ends are what gets sent. */
static void make_pipes(int (*p)[2], size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(pipe2(p[i], O_CLOEXEC), 0);
}

static void close_pipes(int (*p)[2], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		close(p[i][0]);
		close(p[i][1]);
	}
}

static void test_fds_round_trip(void **state)
{
	int base = count_open_fds();
	int sv[2], p[3][2], send[3];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	make_pipes(p, 3);
	for (int i = 0; i < 3; i++)
		send[i] = p[i][1];
	static const char spec[] = "{\"job\":1}";
	assert_int_equal(cvb_frame_write_fds(sv[1], CVB_FRAME_JOB, 1, spec, strlen(spec), send, 3),
			 CVB_FRAME_OK);
	int got[MAX_FDS];
	size_t n = MAX_FDS;
	struct cvb_frame_header h;
	uint8_t *payload = NULL;
	assert_int_equal(cvb_frame_read(sv[0], SMALL_MAX, &h, &payload, got, &n), CVB_FRAME_OK);
	assert_int_equal(h.type, CVB_FRAME_JOB);
	assert_string_equal((const char *)payload, spec);
	free(payload);
	assert_int_equal(n, 3);
	for (int i = 0; i < 3; i++) {
		assert_true(got[i] != send[i]);
		assert_same_file(got[i], send[i]);
		/* usable: bytes written to the received end come out of the original pipe */
		char c = (char)('a' + i), back = 0;
		assert_int_equal(write(got[i], &c, 1), 1);
		assert_int_equal(read(p[i][0], &back, 1), 1);
		assert_int_equal(back, c);
	}
	close_all(got, n);
	close_pipes(p, 3);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(count_open_fds(), base);
}

static void test_fds_with_empty_frame_and_no_fds(void **state)
{
	int sv[2], p[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	/* STARTED: empty payload, one descriptor (the pidfd in real use) */
	assert_int_equal(cvb_frame_write_fds(sv[1], CVB_FRAME_STARTED, 8, NULL, 0, &p[0], 1),
			 CVB_FRAME_OK);
	assert_int_equal(cvb_frame_write(sv[1], CVB_FRAME_LOG, 8, "{}", 2), CVB_FRAME_OK);
	int got[MAX_FDS];
	size_t n = MAX_FDS;
	struct cvb_frame_header h;
	uint8_t *payload = NULL;
	assert_int_equal(cvb_frame_read(sv[0], SMALL_MAX, &h, &payload, got, &n), CVB_FRAME_OK);
	assert_int_equal(h.type, CVB_FRAME_STARTED);
	assert_int_equal(h.len, 0);
	assert_int_equal(payload[0], 0);
	free(payload);
	assert_int_equal(n, 1);
	assert_same_file(got[0], p[0]);
	close(got[0]);
	n = MAX_FDS;
	assert_int_equal(cvb_frame_read(sv[0], SMALL_MAX, &h, &payload, got, &n), CVB_FRAME_OK);
	assert_int_equal(h.type, CVB_FRAME_LOG);
	assert_int_equal(n, 0);
	free(payload);
	close_pipes(&p, 1);
	close(sv[0]);
	close(sv[1]);
}

/*
 * The caller's array holds *nfds descriptors (frame.h: "receives up to *nfds
 * descriptors"). A peer that sends more must not write past it, and the
 * extras must be closed, not leaked.
 */
static void test_fds_caller_capacity(void **state)
{
	int base = count_open_fds();
	int sv[2], p[5][2], send[5];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	make_pipes(p, 5);
	for (int i = 0; i < 5; i++)
		send[i] = p[i][1];
	assert_int_equal(cvb_frame_write_fds(sv[1], CVB_FRAME_JOB, 1, "{}", 2, send, 5),
			 CVB_FRAME_OK);
	int got[MAX_FDS];
	for (int i = 0; i < MAX_FDS; i++)
		got[i] = -1; /* got[2..] stands for memory the caller does not own */
	size_t n = 2;
	struct cvb_frame_header h;
	uint8_t *payload = NULL;
	int rc = cvb_frame_read(sv[0], SMALL_MAX, &h, &payload, got, &n);
	free(payload);
	size_t written = 0;
	for (int i = 0; i < MAX_FDS; i++)
		written += got[i] >= 0;
	close_all(got, MAX_FDS);
	close_pipes(p, 5);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(rc, CVB_FRAME_OK);
	if (written > 2 || n > 2)
		fail_msg("capacity 2, peer sent 5: %zu descriptors written to the array, "
			 "*nfds = %zu",
			 written, n);
	assert_int_equal(n, 2);
	assert_int_equal(count_open_fds(), base);
}

/* What a hostile peer can do that cvb_frame_write_fds refuses: any bytes, any number of fds. */
static void send_raw(int sock, const void *buf, size_t len, const int *fds, size_t nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} ctl;
	assert_true(nfds > 0 && nfds <= 16);
	memset(&ctl, 0, sizeof(ctl));
	struct iovec iov = {(void *)(uintptr_t)buf, len};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = CMSG_SPACE(sizeof(int) * nfds)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	assert_int_equal(sendmsg(sock, &msg, 0), (ssize_t)len);
}

/*
 * 12 descriptors reach a reader that takes at most MAX_FDS: in one message, or
 * with the header split over two messages of 6 each (two recvmsg calls). The
 * reader gets at most MAX_FDS and nothing beyond that stays open.
 */
static void fds_beyond_max(size_t split)
{
	enum { SENT = 12 };
	int base = count_open_fds();
	int sv[2], p[SENT][2], send[SENT];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	make_pipes(p, SENT);
	for (int i = 0; i < SENT; i++)
		send[i] = p[i][1];
	uint8_t frame[HDR + 2];
	cvb_frame_encode_header(frame, CVB_FRAME_JOB, 1, 2);
	memcpy(frame + HDR, "{}", 2);
	if (split) {
		send_raw(sv[1], frame, split, send, SENT / 2);
		send_raw(sv[1], frame + split, sizeof(frame) - split, send + SENT / 2, SENT / 2);
	} else {
		send_raw(sv[1], frame, sizeof(frame), send, SENT);
	}
	int got[SENT];
	for (int i = 0; i < SENT; i++)
		got[i] = -1;
	size_t n = MAX_FDS;
	struct cvb_frame_header h;
	uint8_t *payload = NULL;
	int rc = cvb_frame_read(sv[0], SMALL_MAX, &h, &payload, got, &n);
	free(payload);
	size_t written = 0;
	for (int i = 0; i < SENT; i++)
		written += got[i] >= 0;
	close_all(got, SENT);
	close_pipes(p, SENT);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(rc, CVB_FRAME_OK);
	assert_true(n <= MAX_FDS);
	assert_int_equal(written, n);
	if (split)
		assert_int_equal(n, MAX_FDS); /* both messages were read: 6 + 2 kept, 4 closed */
	assert_int_equal(count_open_fds(), base);
}

static void test_fds_beyond_max_one_message(void **state)
{
	fds_beyond_max(0);
}

static void test_fds_beyond_max_split_header(void **state)
{
	fds_beyond_max(10);
}

/* Descriptors sent to a reader that does not ask for any are not leaked into it. */
static void test_fds_unwanted_not_leaked(void **state)
{
	int base = count_open_fds();
	int sv[2], p[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(cvb_frame_write_fds(sv[1], CVB_FRAME_LOG, 1, "{}", 2, p, 2), CVB_FRAME_OK);
	assert_int_equal(cvb_frame_write_fds(sv[1], CVB_FRAME_LOG, 1, "{}", 2, p, 2), CVB_FRAME_OK);
	struct cvb_frame_header h;
	uint8_t *payload = NULL;
	assert_int_equal(cvb_frame_read(sv[0], SMALL_MAX, &h, &payload, NULL, NULL), CVB_FRAME_OK);
	free(payload);
	size_t n = 7; /* no array: the count comes back as 0 */
	assert_int_equal(cvb_frame_read(sv[0], SMALL_MAX, &h, &payload, NULL, &n), CVB_FRAME_OK);
	free(payload);
	assert_int_equal(n, 0);
	close_pipes(&p, 1);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(count_open_fds(), base);
}

/* Descriptors that came with a rejected frame are either handed back or closed. */
static void test_fds_on_rejected_frame_not_leaked(void **state)
{
	int base = count_open_fds();
	int sv[2], p[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	/* type 7 is unknown: the reader rejects the header */
	assert_int_equal(cvb_frame_write_fds(sv[1], 7, 1, "{}", 2, p, 2), CVB_FRAME_OK);
	int got[MAX_FDS];
	for (int i = 0; i < MAX_FDS; i++)
		got[i] = -1;
	size_t n = MAX_FDS;
	struct cvb_frame_header h;
	uint8_t *payload = NULL;
	assert_int_equal(cvb_frame_read(sv[0], SMALL_MAX, &h, &payload, got, &n),
			 CVB_FRAME_BAD_TYPE);
	assert_null(payload);
	assert_true(n <= 2);
	close_all(got, n);
	close_pipes(&p, 1);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(count_open_fds(), base);
}

static void test_fds_20mib_with_fd(void **state)
{
	int base = count_open_fds();
	int sv[2], p[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	int got[MAX_FDS];
	size_t n = MAX_FDS;
	/* the first sendmsg carries the descriptor and only part of the payload */
	big_transfer(sv, &p[1], 1, got, &n);
	assert_int_equal(n, 1);
	assert_same_file(got[0], p[1]);
	close(got[0]);
	close_pipes(&p, 1);
	assert_int_equal(count_open_fds(), base);
}

static void test_fds_write_limits(void **state)
{
	int sv[2], p[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	int many[MAX_FDS + 1];
	for (int i = 0; i <= MAX_FDS; i++)
		many[i] = p[0];
	errno = 0;
	assert_int_equal(cvb_frame_write_fds(sv[1], CVB_FRAME_JOB, 1, "{}", 2, many, MAX_FDS + 1),
			 CVB_FRAME_IO);
	assert_int_equal(errno, EMSGSIZE);
	/* nothing was sent */
	char byte;
	assert_int_equal(recv(sv[0], &byte, 1, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	/* exactly the maximum is fine */
	assert_int_equal(cvb_frame_write_fds(sv[1], CVB_FRAME_JOB, 1, "{}", 2, many, MAX_FDS),
			 CVB_FRAME_OK);
	int got[MAX_FDS];
	size_t n = MAX_FDS;
	struct cvb_frame_header h;
	uint8_t *payload = NULL;
	assert_int_equal(cvb_frame_read(sv[0], SMALL_MAX, &h, &payload, got, &n), CVB_FRAME_OK);
	free(payload);
	assert_int_equal(n, MAX_FDS);
	close_all(got, n);
	/* descriptors need a unix socket */
	errno = 0;
	assert_int_equal(cvb_frame_write_fds(p[1], CVB_FRAME_JOB, 1, "{}", 2, &p[0], 1),
			 CVB_FRAME_IO);
	assert_int_equal(errno, ENOTSOCK);
	close_pipes(&p, 1);
	close(sv[0]);
	close(sv[1]);
}

/* ---- 5. incremental reader ---------------------------------------------- */

/* Drain every complete frame, checking each against specs[*next]. Returns the last status. */
static int drain(struct cvb_frame_reader *r, const struct spec *specs, size_t *next)
{
	for (;;) {
		struct cvb_frame_header h;
		uint8_t *payload = NULL;
		int rc = cvb_frame_reader_next(r, &h, &payload);
		if (rc != 1) {
			assert_null(payload);
			return rc;
		}
		assert_frame(specs, *next, &h, payload);
		free(payload);
		(*next)++;
	}
}

static size_t frame_end(const struct spec *specs, size_t k)
{
	size_t end = 0;
	for (size_t i = 0; i < k; i++)
		end += HDR + specs[i].len;
	return end;
}

static void test_reader_byte_at_a_time(void **state)
{
	size_t len;
	uint8_t *s = build_stream(sample, N_SAMPLE, &len);
	struct cvb_frame_reader *r = cvb_frame_reader_new(CVB_FRAME_DEFAULT_MAX);
	assert_non_null(r);
	size_t next = 0;
	for (size_t i = 0; i < len; i++) {
		assert_int_equal(cvb_frame_reader_feed(r, s + i, 1), CVB_FRAME_OK);
		assert_int_equal(drain(r, sample, &next), 0);
		/* a frame comes out exactly when its last byte arrives */
		if (next < N_SAMPLE && frame_end(sample, next + 1) <= i + 1)
			fail_msg("frame %zu complete at byte %zu but not returned", next, i);
		assert_int_equal(cvb_frame_reader_pending(r), i + 1 - frame_end(sample, next));
	}
	assert_int_equal(next, N_SAMPLE);
	assert_int_equal(cvb_frame_reader_pending(r), 0);
	cvb_frame_reader_free(r);
	free(s);
}

static void test_reader_many_in_one_feed(void **state)
{
	enum { N = 500 };
	struct spec *specs = calloc(N, sizeof(*specs));
	assert_non_null(specs);
	for (size_t i = 0; i < N; i++)
		specs[i] = (struct spec){known_types[i % N_KNOWN_TYPES], i, (uint32_t)(i % 37)};
	size_t len;
	uint8_t *s = build_stream(specs, N, &len);
	struct cvb_frame_reader *r = cvb_frame_reader_new(SMALL_MAX);
	assert_non_null(r);
	assert_int_equal(cvb_frame_reader_feed(r, s, len), CVB_FRAME_OK);
	assert_int_equal(cvb_frame_reader_pending(r), len);
	size_t next = 0;
	assert_int_equal(drain(r, specs, &next), 0);
	assert_int_equal(next, N);
	assert_int_equal(cvb_frame_reader_pending(r), 0);
	cvb_frame_reader_free(r);
	free(s);
	free(specs);
}

static void test_reader_partial_pending(void **state)
{
	size_t len;
	uint8_t *s = build_stream(sample, 4, &len);
	size_t two = frame_end(sample, 2);
	/* cut inside the header of frame 2, then inside the payload of frame 3 */
	size_t cuts[] = {two + 10, frame_end(sample, 3) + HDR + 100};
	struct cvb_frame_reader *r = cvb_frame_reader_new(SMALL_MAX * 8);
	assert_non_null(r);
	size_t next = 0, off = 0;
	for (size_t c = 0; c < 2; c++) {
		assert_int_equal(cvb_frame_reader_feed(r, s + off, cuts[c] - off), CVB_FRAME_OK);
		off = cuts[c];
		assert_int_equal(drain(r, sample, &next), 0);
		assert_int_equal(next, c + 2);
		assert_int_equal(cvb_frame_reader_pending(r), off - frame_end(sample, next));
		/* asking again changes nothing */
		assert_int_equal(drain(r, sample, &next), 0);
		assert_int_equal(cvb_frame_reader_pending(r), off - frame_end(sample, next));
	}
	assert_int_equal(cvb_frame_reader_feed(r, s + off, len - off), CVB_FRAME_OK);
	assert_int_equal(drain(r, sample, &next), 0);
	assert_int_equal(next, 4);
	assert_int_equal(cvb_frame_reader_pending(r), 0);
	cvb_frame_reader_free(r);
	free(s);
}

/* An empty feed is legal (a read of 0 bytes), even before anything else arrived. In a
 * sanitizer build undefined behaviour aborts, so this runs in a child. */
static void test_reader_empty_feed(void **state)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uint8_t byte = 0;
		struct cvb_frame_header h;
		uint8_t *payload = NULL;
		struct cvb_frame_reader *r = cvb_frame_reader_new(SMALL_MAX);
		if (!r)
			_exit(40);
		if (cvb_frame_reader_feed(r, &byte, 0) != CVB_FRAME_OK)
			_exit(41);
		if (cvb_frame_reader_pending(r) != 0 || cvb_frame_reader_next(r, &h, &payload))
			_exit(42);
		uint8_t raw[HDR];
		cvb_frame_encode_header(raw, CVB_FRAME_SHUTDOWN, 0, 0);
		if (cvb_frame_reader_feed(r, raw, HDR) != CVB_FRAME_OK ||
		    cvb_frame_reader_feed(r, &byte, 0) != CVB_FRAME_OK)
			_exit(43);
		if (cvb_frame_reader_next(r, &h, &payload) != 1 || h.type != CVB_FRAME_SHUTDOWN)
			_exit(44);
		free(payload);
		cvb_frame_reader_free(r);
		_exit(0);
	}
	assert_child_ok(pid, "empty feed into a new reader");
}

static void test_reader_sticky_failure(void **state)
{
	int p[2];
	for (size_t i = 0; i < N_BAD_HEADERS; i++) {
		const struct bad_header *b = &bad_headers[i];
		uint8_t stream[3 * HDR + 3];
		cvb_frame_encode_header(stream, CVB_FRAME_LOG, 1, 3);
		memcpy(stream + HDR, "abc", 3);
		bad_header_bytes(b, stream + HDR + 3);
		cvb_frame_encode_header(stream + 2 * HDR + 3, CVB_FRAME_SHUTDOWN, 0, 0);

		struct cvb_frame_reader *r = cvb_frame_reader_new(SMALL_MAX);
		assert_non_null(r);
		assert_int_equal(cvb_frame_reader_feed(r, stream, sizeof(stream)), CVB_FRAME_OK);
		struct cvb_frame_header h;
		uint8_t *payload = NULL;
		assert_int_equal(cvb_frame_reader_next(r, &h, &payload), 1);
		assert_string_equal((const char *)payload, "abc");
		free(payload);
		payload = NULL;
		for (int again = 0; again < 3; again++) {
			int rc = cvb_frame_reader_next(r, &h, &payload);
			if (rc != b->status)
				fail_msg("bad header %zu, call %d: got %s, want %s", i, again,
					 cvb_frame_strerror(rc), cvb_frame_strerror(b->status));
			assert_null(payload);
		}
		/* a good frame fed after the failure does not revive the reader */
		uint8_t good[HDR];
		cvb_frame_encode_header(good, CVB_FRAME_SHUTDOWN, 0, 0);
		assert_int_equal(cvb_frame_reader_feed(r, good, HDR), b->status);
		assert_int_equal(cvb_frame_reader_next(r, &h, &payload), b->status);
		/* nor does fill, which must not consume the fd's bytes either */
		assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
		assert_int_equal(write(p[1], good, HDR), HDR);
		assert_int_equal(cvb_frame_reader_fill(r, p[0]), b->status);
		uint8_t back[HDR];
		assert_int_equal(read(p[0], back, sizeof(back)), HDR);
		close(p[0]);
		close(p[1]);
		assert_null(payload);
		cvb_frame_reader_free(r);
	}
}

/* Rejected as soon as the 24th header byte arrives, without waiting for any payload. */
static void test_reader_rejects_at_header(void **state)
{
	for (size_t i = 0; i < N_BAD_HEADERS; i++) {
		uint8_t raw[HDR];
		bad_header_bytes(&bad_headers[i], raw);
		struct cvb_frame_reader *r = cvb_frame_reader_new(SMALL_MAX);
		assert_non_null(r);
		struct cvb_frame_header h;
		uint8_t *payload = NULL;
		for (size_t j = 0; j < HDR - 1; j++) {
			assert_int_equal(cvb_frame_reader_feed(r, raw + j, 1), CVB_FRAME_OK);
			assert_int_equal(cvb_frame_reader_next(r, &h, &payload), 0);
		}
		assert_int_equal(cvb_frame_reader_feed(r, raw + HDR - 1, 1), CVB_FRAME_OK);
		assert_int_equal(cvb_frame_reader_next(r, &h, &payload), bad_headers[i].status);
		assert_null(payload);
		cvb_frame_reader_free(r);
	}
	/* the 4 GiB announcement with the default maximum, and at the exact boundary */
	struct cvb_frame_reader *r = cvb_frame_reader_new(CVB_FRAME_DEFAULT_MAX);
	assert_non_null(r);
	uint8_t raw[HDR];
	struct cvb_frame_header h;
	uint8_t *payload = NULL;
	cvb_frame_encode_header(raw, CVB_FRAME_OUTPUT, 2, CVB_FRAME_DEFAULT_MAX);
	assert_int_equal(cvb_frame_reader_feed(r, raw, HDR), CVB_FRAME_OK);
	assert_int_equal(cvb_frame_reader_next(r, &h, &payload), 0); /* allowed: waits */
	cvb_frame_reader_free(r);
	r = cvb_frame_reader_new(CVB_FRAME_DEFAULT_MAX);
	assert_non_null(r);
	cvb_frame_encode_header(raw, CVB_FRAME_OUTPUT, 2, CVB_FRAME_DEFAULT_MAX + 1);
	assert_int_equal(cvb_frame_reader_feed(r, raw, HDR), CVB_FRAME_OK);
	assert_int_equal(cvb_frame_reader_next(r, &h, &payload), CVB_FRAME_TOO_BIG);
	cvb_frame_reader_free(r);
}

static void test_reader_max_zero(void **state)
{
	struct cvb_frame_reader *r = cvb_frame_reader_new(0);
	assert_non_null(r);
	uint8_t raw[2 * HDR + 1];
	cvb_frame_encode_header(raw, CVB_FRAME_SHUTDOWN, 0, 0);
	cvb_frame_encode_header(raw + HDR, CVB_FRAME_LOG, 0, 1);
	raw[2 * HDR] = 'x';
	assert_int_equal(cvb_frame_reader_feed(r, raw, sizeof(raw)), CVB_FRAME_OK);
	struct cvb_frame_header h;
	uint8_t *payload = NULL;
	assert_int_equal(cvb_frame_reader_next(r, &h, &payload), 1);
	assert_int_equal(h.type, CVB_FRAME_SHUTDOWN);
	assert_int_equal(payload[0], 0);
	free(payload);
	payload = NULL;
	assert_int_equal(cvb_frame_reader_next(r, &h, &payload), CVB_FRAME_TOO_BIG);
	assert_null(payload);
	cvb_frame_reader_free(r);
}

static void test_reader_fill_nonblocking(void **state)
{
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	struct cvb_frame_reader *r = cvb_frame_reader_new(SMALL_MAX * 8);
	assert_non_null(r);
	errno = 0;
	assert_int_equal(cvb_frame_reader_fill(r, p[0]), CVB_FRAME_IO);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(cvb_frame_reader_pending(r), 0);

	size_t len;
	uint8_t *s = build_stream(sample, 3, &len);
	size_t cut = frame_end(sample, 2) + 5; /* frames 0, 1 and 5 bytes of frame 2 */
	assert_int_equal(write(p[1], s, cut), (ssize_t)cut);
	assert_int_equal(cvb_frame_reader_fill(r, p[0]), (long)cut);
	size_t next = 0;
	assert_int_equal(drain(r, sample, &next), 0);
	assert_int_equal(next, 2);
	assert_int_equal(cvb_frame_reader_pending(r), 5);
	errno = 0;
	assert_int_equal(cvb_frame_reader_fill(r, p[0]), CVB_FRAME_IO);
	assert_int_equal(errno, EAGAIN);
	/* a transient EAGAIN is not a failure of the reader */
	assert_int_equal(write(p[1], s + cut, len - cut), (ssize_t)(len - cut));
	assert_int_equal(cvb_frame_reader_fill(r, p[0]), (long)(len - cut));
	assert_int_equal(drain(r, sample, &next), 0);
	assert_int_equal(next, 3);

	/* a partial frame, then end of stream: 0, with the partial frame still pending */
	assert_int_equal(write(p[1], s, 7), 7);
	close(p[1]);
	assert_int_equal(cvb_frame_reader_fill(r, p[0]), 7);
	assert_int_equal(cvb_frame_reader_fill(r, p[0]), 0);
	assert_int_equal(cvb_frame_reader_fill(r, p[0]), 0);
	assert_int_equal(drain(r, sample, &next), 0);
	assert_int_equal(cvb_frame_reader_pending(r), 7);
	close(p[0]);
	cvb_frame_reader_free(r);
	free(s);
}

/* More than fill reads at once, through a pipe smaller than the stream, writer interleaved. */
static void test_reader_fill_large(void **state)
{
	static const struct spec specs[] = {
	    {CVB_FRAME_LOG, 1, 10},
	    {CVB_FRAME_OUTPUT, 2, 300000},
	    {CVB_FRAME_SHUTDOWN, 0, 0},
	    {CVB_FRAME_OUTPUT, 3, 70000},
	};
	enum { N = sizeof(specs) / sizeof(specs[0]) };
	size_t len;
	uint8_t *s = build_stream(specs, N, &len);
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	struct cvb_frame_reader *r = cvb_frame_reader_new(SMALL_MAX * 1024);
	assert_non_null(r);
	size_t off = 0, next = 0, filled = 0;
	for (int eof = 0; !eof;) {
		if (off < len) {
			ssize_t n = write(p[1], s + off, len - off);
			if (n < 0)
				assert_int_equal(errno, EAGAIN);
			else
				off += (size_t)n;
			if (off == len)
				close(p[1]);
		}
		errno = 0;
		long got = cvb_frame_reader_fill(r, p[0]);
		if (got < 0) {
			assert_int_equal(got, CVB_FRAME_IO);
			assert_int_equal(errno, EAGAIN);
		}
		assert_true(got <= 65536 || got < 0);
		if (got > 0)
			filled += (size_t)got;
		eof = got == 0;
		assert_int_equal(drain(r, specs, &next), 0);
		assert_int_equal(cvb_frame_reader_pending(r), filled - frame_end(specs, next));
	}
	assert_int_equal(filled, len);
	assert_int_equal(next, N);
	close(p[0]);
	cvb_frame_reader_free(r);
	free(s);
}

static void test_reader_fill_bad_fd(void **state)
{
	struct cvb_frame_reader *r = cvb_frame_reader_new(SMALL_MAX);
	assert_non_null(r);
	errno = 0;
	assert_int_equal(cvb_frame_reader_fill(r, -1), CVB_FRAME_IO);
	assert_int_equal(errno, EBADF);
	cvb_frame_reader_free(r);
	cvb_frame_reader_free(NULL);
}

/* ---- registration -------------------------------------------------------- */

#define OVER(f, kind, label)                                                                       \
	{                                                                                          \
		.name = #f " over " label, .test_func = f,                                         \
		.initial_state = (void *)(uintptr_t)(kind),                                        \
	}
#define OVER_BOTH(f) OVER(f, OVER_SOCKETPAIR, "socketpair"), OVER(f, OVER_PIPE, "pipe")

int main(void)
{
	/* a bug that blocks a read forever fails the run instead of hanging it */
	alarm(WATCHDOG_SEC);
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_type_names),
	    cmocka_unit_test(test_strerror),
	    cmocka_unit_test(test_header_golden),
	    cmocka_unit_test(test_header_round_trip),
	    cmocka_unit_test(test_decode_bad_magic),
	    cmocka_unit_test(test_decode_bad_check),
	    cmocka_unit_test(test_decode_bad_type),
	    cmocka_unit_test(test_decode_bad_flags),
	    cmocka_unit_test(test_decode_too_big),
	    cmocka_unit_test(test_no_alloc_of_rejected_length),
	    OVER_BOTH(test_rw_frames),
	    OVER_BOTH(test_rw_zero_length),
	    OVER_BOTH(test_rw_nul_terminated_text),
	    OVER_BOTH(test_rw_20mib),
	    OVER_BOTH(test_rw_interrupted),
	    OVER_BOTH(test_rw_20mib_over_small_max),
	    OVER_BOTH(test_read_eof_before_header),
	    OVER_BOTH(test_read_eof_inside_header),
	    OVER_BOTH(test_read_eof_inside_payload),
	    OVER_BOTH(test_read_rejects),
	    cmocka_unit_test(test_rw_bad_fd),
	    cmocka_unit_test(test_write_dead_peer_with_fds),
	    cmocka_unit_test(test_write_dead_peer),
	    cmocka_unit_test(test_write_peer_dies_midway),
	    cmocka_unit_test(test_fds_round_trip),
	    cmocka_unit_test(test_fds_with_empty_frame_and_no_fds),
	    cmocka_unit_test(test_fds_caller_capacity),
	    cmocka_unit_test(test_fds_beyond_max_one_message),
	    cmocka_unit_test(test_fds_beyond_max_split_header),
	    cmocka_unit_test(test_fds_unwanted_not_leaked),
	    cmocka_unit_test(test_fds_on_rejected_frame_not_leaked),
	    cmocka_unit_test(test_fds_20mib_with_fd),
	    cmocka_unit_test(test_fds_write_limits),
	    cmocka_unit_test(test_reader_byte_at_a_time),
	    cmocka_unit_test(test_reader_many_in_one_feed),
	    cmocka_unit_test(test_reader_partial_pending),
	    cmocka_unit_test(test_reader_empty_feed),
	    cmocka_unit_test(test_reader_sticky_failure),
	    cmocka_unit_test(test_reader_rejects_at_header),
	    cmocka_unit_test(test_reader_max_zero),
	    cmocka_unit_test(test_reader_fill_nonblocking),
	    cmocka_unit_test(test_reader_fill_large),
	    cmocka_unit_test(test_reader_fill_bad_fd),
	};
	return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
