/*
 * convbox frame protocol: how the host and the runner talk.
 *
 * Every message is one frame: a fixed 24-byte little-endian header followed by
 * `len` payload bytes.
 *
 *   u32 magic   'CVBF'
 *   u16 type    enum cvb_frame_type
 *   u16 flags   reserved, must be 0
 *   u64 job_id  the job this frame speaks for (0 for runner-wide frames)
 *   u32 len     payload length, checked against the reader's maximum before
 *               any allocation
 *   u32 check   header checksum (xor-fold of the fields above), catches a
 *               desynchronised stream early
 *
 * The runner side is hostile: a reader treats a bad magic, unknown type,
 * non-zero flags, oversized length or short read as a protocol error and
 * never resynchronises.
 */
#ifndef CONVBOX_FRAME_H
#define CONVBOX_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define CVB_FRAME_MAGIC	      0x46425643u /* "CVBF" little-endian */
#define CVB_FRAME_HEADER_SIZE 24u
#define CVB_FRAME_DEFAULT_MAX (64u * 1024u * 1024u)

/*
 * A page of the host's that only the job's C code writes (a sealed memfd
 * sent with JOB, after the three channels). Whatever the converter writes to
 * its channel, it cannot reach this page without native code, so the host
 * can tell frames the converter forged or swallowed: the audit hook counts
 * each denial here before it reports it (DENIED frames hidden in a forged
 * frame show as a count with no reports), and the job marks its DONE here
 * before it sends it (a DONE without the mark is the converter's, which may
 * then crash or hit a limit: the runner's record of the exit decides).
 * Refused syscalls need no count: the host hears of them from the kernel
 * (see LISTENER).
 */
struct cvb_tally {
	uint32_t hook; /* actions the audit hook denied */
	uint32_t done; /* the job's own DONE follows */
};
#define CVB_TALLY_SIZE 4096u

/*
 * The job's last refused call, made before its DONE: seccomp(2) with an
 * operation no kernel knows. The kernel queues notifications in order, so
 * once the host has answered it, the host has heard every refusal queued
 * before it, by any thread or process of the job; the host records none for
 * this one (nor could it ever do anything).
 */
#define CVB_SECCOMP_BARRIER 0x43564201u

/* Exit codes of a job child that mean something to the host. */
#define CVB_JOBEXIT_SETUP  120 /* containment failed; JOB_ERROR frame sent */
#define CVB_JOBEXIT_CPU	   121 /* SIGXCPU: the CPU limit was reached */
#define CVB_JOBEXIT_TAMPER 122 /* the converter swapped its channel to hide a denial */

enum cvb_frame_type {
	/* host -> runner, control channel */
	CVB_FRAME_SETUP = 1,	/* JSON: runner-wide settings; fd: the source, a sealed memfd */
	CVB_FRAME_SOURCE = 2,	/* raw bytes: a validation job's own source, after its JOB */
	CVB_FRAME_JOB = 3,	/* JSON job spec; fds: channel, stdout, stderr, tally, [input] */
	CVB_FRAME_SHUTDOWN = 4, /* empty */
	/* runner -> host, control channel */
	CVB_FRAME_READY = 16,	/* JSON: runner facts (layers available, pid) */
	CVB_FRAME_STARTED = 17, /* empty; the job's pidfd attached */
	CVB_FRAME_EXITED = 18,	/* JSON: wait status and rusage of the job */
	CVB_FRAME_FATAL = 19,	/* JSON: the runner itself failed */
	CVB_FRAME_SPARE = 21,	/* empty; fds: a ready spare's job socket, its pidfd */
	/* spare child -> zygote, inside the runner */
	CVB_FRAME_CODE = 20, /* the converter's marshalled code object, for later spares */
	/* job -> host, per-job channel */
	CVB_FRAME_LOG = 32,	  /* JSON {level, message} */
	CVB_FRAME_DENIED = 33,	  /* JSON {action, target, mode, capability, layer} */
	CVB_FRAME_OUTPUT = 34,	  /* u16 name length, name, file bytes */
	CVB_FRAME_RESULT = 35,	  /* JSON result object */
	CVB_FRAME_JOB_ERROR = 36, /* JSON {error, layer}: setup failed before the converter ran */
	CVB_FRAME_FINDINGS = 37,  /* JSON array of validator findings */
	CVB_FRAME_REPORT = 38,	  /* raw JSON text of one report, passed through unchanged */
	CVB_FRAME_DONE = 39,	  /* JSON usage and signals: the job has finished */
	CVB_FRAME_LISTENER = 40,  /* empty; the seccomp filter's listener attached; the first */
};

struct cvb_frame_header {
	uint32_t magic;
	uint16_t type;
	uint16_t flags;
	uint64_t job_id;
	uint32_t len;
	uint32_t check;
};

/* Status codes returned by the codec (0 = ok, negative = failure). */
enum cvb_frame_status {
	CVB_FRAME_OK = 0,
	CVB_FRAME_EOF = -1,	  /* clean end of stream before a header */
	CVB_FRAME_IO = -2,	  /* read/write failed; errno says why */
	CVB_FRAME_TRUNCATED = -3, /* stream ended inside a frame */
	CVB_FRAME_BAD_MAGIC = -4,
	CVB_FRAME_BAD_TYPE = -5,
	CVB_FRAME_BAD_FLAGS = -6,
	CVB_FRAME_TOO_BIG = -7,
	CVB_FRAME_BAD_CHECK = -8,
	CVB_FRAME_NOMEM = -9,
};

/* Human-readable name of a codec status. Never NULL. */
const char *cvb_frame_strerror(int status);

/* Name of a frame type ("RESULT"), or NULL when the type is unknown. */
const char *cvb_frame_type_name(uint16_t type);

/* Encode a header into out[CVB_FRAME_HEADER_SIZE]. */
void cvb_frame_encode_header(uint8_t out[CVB_FRAME_HEADER_SIZE], uint16_t type, uint64_t job_id,
			     uint32_t len);

/*
 * Decode and check a header. max_len is the largest payload the caller
 * accepts. Returns CVB_FRAME_OK or a negative cvb_frame_status.
 */
int cvb_frame_decode_header(const uint8_t in[CVB_FRAME_HEADER_SIZE], uint32_t max_len,
			    struct cvb_frame_header *hdr);

/*
 * Write one whole frame (header and payload) to fd, retrying on EINTR and
 * short writes. Returns CVB_FRAME_OK or CVB_FRAME_IO (errno set).
 */
int cvb_frame_write(int fd, uint16_t type, uint64_t job_id, const void *payload, size_t len);
/* (On a socket whose peer is gone this returns CVB_FRAME_IO with EPIPE, never SIGPIPE.) */

/* Same, with file descriptors attached as SCM_RIGHTS (fd must be a unix socket). */
int cvb_frame_write_fds(int fd, uint16_t type, uint64_t job_id, const void *payload, size_t len,
			const int *fds, size_t nfds);

/*
 * Blocking read of one whole frame. On success *payload is a malloc'd buffer
 * of hdr->len bytes plus a terminating NUL (so JSON payloads are C strings);
 * the caller frees it. fds (may be NULL) receives up to *nfds descriptors
 * passed with the frame (more are closed); *nfds is updated to the number
 * received. Descriptors received with a frame that is then rejected are
 * still handed back: the caller closes them.
 */
int cvb_frame_read(int fd, uint32_t max_len, struct cvb_frame_header *hdr, uint8_t **payload,
		   int *fds, size_t *nfds);
/* Same, with the payload's memory from alloc, to be given back with release. */
int cvb_frame_read_alloc(int fd, uint32_t max_len, struct cvb_frame_header *hdr, uint8_t **payload,
			 int *fds, size_t *nfds, void *(*alloc)(size_t), void (*release)(void *));

/*
 * Incremental reader for a non-blocking stream: feed bytes as they arrive
 * and take frames out. Used by the host's event loop.
 */
struct cvb_frame_reader;

struct cvb_frame_reader *cvb_frame_reader_new(uint32_t max_len);
void cvb_frame_reader_free(struct cvb_frame_reader *r);

/*
 * Read what is available from fd (non-blocking). Returns the number of bytes
 * read (0 = end of stream), or CVB_FRAME_IO with errno EAGAIN when nothing
 * is available.
 */
long cvb_frame_reader_fill(struct cvb_frame_reader *r, int fd);

/* Append bytes directly (for tests and fuzzing). */
int cvb_frame_reader_feed(struct cvb_frame_reader *r, const uint8_t *buf, size_t len);

/*
 * Take the next complete frame. Returns 1 with *hdr and *payload set (payload
 * owned by the caller, NUL-terminated), 0 when more bytes are needed, or a
 * negative cvb_frame_status; after an error the reader refuses everything.
 */
int cvb_frame_reader_next(struct cvb_frame_reader *r, struct cvb_frame_header *hdr,
			  uint8_t **payload);

/* Bytes buffered but not yet returned as frames (a partial frame at EOF). */
size_t cvb_frame_reader_pending(const struct cvb_frame_reader *r);

#endif
