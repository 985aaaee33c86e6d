/*
 * Frame codec: see include/convbox/frame.h for the wire format.
 *
 * The reader never trusts a length before checking it against the caller's
 * maximum, and allocates only after the whole header has been validated.
 */
#include "convbox/frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define CVB_FRAME_MAX_FDS 8

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* xor-fold of the header's first 20 bytes, salted so all-zero is invalid. */
static uint32_t header_check(const uint8_t *p)
{
	uint32_t c = 0x9e3779b9u;
	for (int i = 0; i < 20; i += 4)
		c = (c ^ get_u32(p + i)) * 0x01000193u;
	return c;
}

static const char *const type_names[] = {
    [CVB_FRAME_SETUP] = "SETUP",       [CVB_FRAME_SOURCE] = "SOURCE",
    [CVB_FRAME_JOB] = "JOB",	       [CVB_FRAME_SHUTDOWN] = "SHUTDOWN",
    [CVB_FRAME_READY] = "READY",       [CVB_FRAME_STARTED] = "STARTED",
    [CVB_FRAME_EXITED] = "EXITED",     [CVB_FRAME_FATAL] = "FATAL",
    [CVB_FRAME_CODE] = "CODE",	       [CVB_FRAME_LOG] = "LOG",
    [CVB_FRAME_DENIED] = "DENIED",     [CVB_FRAME_OUTPUT] = "OUTPUT",
    [CVB_FRAME_RESULT] = "RESULT",     [CVB_FRAME_JOB_ERROR] = "JOB_ERROR",
    [CVB_FRAME_FINDINGS] = "FINDINGS", [CVB_FRAME_REPORT] = "REPORT",
    [CVB_FRAME_DONE] = "DONE",	       [CVB_FRAME_LISTENER] = "LISTENER",
    [CVB_FRAME_SPARE] = "SPARE",
};

const char *cvb_frame_type_name(uint16_t type)
{
	if (type >= sizeof(type_names) / sizeof(type_names[0]))
		return NULL;
	return type_names[type];
}

const char *cvb_frame_strerror(int status)
{
	switch (status) {
	case CVB_FRAME_OK:
		return "ok";
	case CVB_FRAME_EOF:
		return "end of stream";
	case CVB_FRAME_IO:
		return "i/o error";
	case CVB_FRAME_TRUNCATED:
		return "stream ended inside a frame";
	case CVB_FRAME_BAD_MAGIC:
		return "bad frame magic";
	case CVB_FRAME_BAD_TYPE:
		return "unknown frame type";
	case CVB_FRAME_BAD_FLAGS:
		return "reserved frame flags set";
	case CVB_FRAME_TOO_BIG:
		return "frame larger than the allowed maximum";
	case CVB_FRAME_BAD_CHECK:
		return "frame header checksum mismatch";
	case CVB_FRAME_NOMEM:
		return "out of memory";
	}
	return "unknown frame status";
}

void cvb_frame_encode_header(uint8_t out[CVB_FRAME_HEADER_SIZE], uint16_t type, uint64_t job_id,
			     uint32_t len)
{
	put_u32(out, CVB_FRAME_MAGIC);
	put_u16(out + 4, type);
	put_u16(out + 6, 0);
	put_u64(out + 8, job_id);
	put_u32(out + 16, len);
	put_u32(out + 20, header_check(out));
}

int cvb_frame_decode_header(const uint8_t in[CVB_FRAME_HEADER_SIZE], uint32_t max_len,
			    struct cvb_frame_header *hdr)
{
	hdr->magic = get_u32(in);
	hdr->type = get_u16(in + 4);
	hdr->flags = get_u16(in + 6);
	hdr->job_id = get_u64(in + 8);
	hdr->len = get_u32(in + 16);
	hdr->check = get_u32(in + 20);
	if (hdr->magic != CVB_FRAME_MAGIC)
		return CVB_FRAME_BAD_MAGIC;
	if (hdr->check != header_check(in))
		return CVB_FRAME_BAD_CHECK;
	if (!cvb_frame_type_name(hdr->type))
		return CVB_FRAME_BAD_TYPE;
	if (hdr->flags != 0)
		return CVB_FRAME_BAD_FLAGS;
	if (hdr->len > max_len)
		return CVB_FRAME_TOO_BIG;
	return CVB_FRAME_OK;
}

int cvb_frame_write(int fd, uint16_t type, uint64_t job_id, const void *payload, size_t len)
{
	return cvb_frame_write_fds(fd, type, job_id, payload, len, NULL, 0);
}

/* sendmsg/writev until everything is out; ancillary data goes with the first chunk. */
static int write_all_iov(int fd, struct iovec *iov, int iovcnt, const int *fds, size_t nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * CVB_FRAME_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)iovcnt};
	if (nfds > 0) {
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	while (msg.msg_iovlen > 0) {
		/* MSG_NOSIGNAL: a peer that went away is an error, never a SIGPIPE */
		ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
		if (n < 0 && errno == ENOTSOCK && nfds == 0)
			n = writev(fd, msg.msg_iov, (int)msg.msg_iovlen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return CVB_FRAME_IO;
		}
		nfds = 0;
		msg.msg_control = NULL;
		msg.msg_controllen = 0;
		while (msg.msg_iovlen > 0 && (size_t)n >= msg.msg_iov->iov_len) {
			n -= (ssize_t)msg.msg_iov->iov_len;
			msg.msg_iov++;
			msg.msg_iovlen--;
		}
		if (msg.msg_iovlen > 0) {
			msg.msg_iov->iov_base = (char *)msg.msg_iov->iov_base + n;
			msg.msg_iov->iov_len -= (size_t)n;
		}
	}
	return CVB_FRAME_OK;
}

int cvb_frame_write_fds(int fd, uint16_t type, uint64_t job_id, const void *payload, size_t len,
			const int *fds, size_t nfds)
{
	uint8_t hdr[CVB_FRAME_HEADER_SIZE];
	if (len > UINT32_MAX || nfds > CVB_FRAME_MAX_FDS) {
		errno = EMSGSIZE;
		return CVB_FRAME_IO;
	}
	cvb_frame_encode_header(hdr, type, job_id, (uint32_t)len);
	struct iovec iov[2] = {{hdr, sizeof(hdr)}, {(void *)(uintptr_t)payload, len}};
	return write_all_iov(fd, iov, len ? 2 : 1, fds, nfds);
}

/*
 * Read exactly n bytes; the first recvmsg may carry descriptors. *nfds is the
 * count so far, cap the caller's capacity; descriptors beyond it are closed.
 */
static int read_exact(int fd, uint8_t *buf, size_t n, int *fds, size_t *nfds, size_t cap,
		      int at_start)
{
	size_t got = 0;
	while (got < n) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * CVB_FRAME_MAX_FDS)];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = {buf + got, n - got};
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
		if (fds && nfds) {
			msg.msg_control = ctl.buf;
			msg.msg_controllen = sizeof(ctl.buf);
		}
		ssize_t r = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
		if (r < 0 && errno == ENOTSOCK)
			r = read(fd, buf + got, n - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return CVB_FRAME_IO;
		}
		if (r == 0)
			return (got == 0 && at_start) ? CVB_FRAME_EOF : CVB_FRAME_TRUNCATED;
		if (fds && nfds && msg.msg_controllen > 0) {
			for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
				if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
					continue;
				size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				int *in = (int *)CMSG_DATA(c);
				for (size_t i = 0; i < k; i++) {
					int d;
					memcpy(&d, in + i, sizeof(d));
					if (*nfds < cap)
						fds[(*nfds)++] = d;
					else
						close(d);
				}
			}
		}
		got += (size_t)r;
	}
	return CVB_FRAME_OK;
}

int cvb_frame_read(int fd, uint32_t max_len, struct cvb_frame_header *hdr, uint8_t **payload,
		   int *fds, size_t *nfds)
{
	return cvb_frame_read_alloc(fd, max_len, hdr, payload, fds, nfds, malloc, free);
}

int cvb_frame_read_alloc(int fd, uint32_t max_len, struct cvb_frame_header *hdr, uint8_t **payload,
			 int *fds, size_t *nfds, void *(*alloc)(size_t), void (*release)(void *))
{
	uint8_t raw[CVB_FRAME_HEADER_SIZE];
	size_t got_fds = 0, cap = fds && nfds ? *nfds : 0;
	*payload = NULL;
	int rc = read_exact(fd, raw, sizeof(raw), fds, fds ? &got_fds : NULL, cap, 1);
	if (nfds)
		*nfds = got_fds;
	if (rc != CVB_FRAME_OK)
		return rc;
	rc = cvb_frame_decode_header(raw, max_len, hdr);
	if (rc != CVB_FRAME_OK)
		return rc;
	uint8_t *buf = alloc((size_t)hdr->len + 1);
	if (!buf)
		return CVB_FRAME_NOMEM;
	rc = read_exact(fd, buf, hdr->len, NULL, NULL, 0, 0);
	if (rc != CVB_FRAME_OK) {
		release(buf);
		return rc;
	}
	buf[hdr->len] = 0;
	*payload = buf;
	return CVB_FRAME_OK;
}

struct cvb_frame_reader {
	uint32_t max_len;
	int failed;   /* sticky error status */
	uint8_t *buf; /* bytes received, not yet returned as frames */
	size_t len, cap;
};

struct cvb_frame_reader *cvb_frame_reader_new(uint32_t max_len)
{
	struct cvb_frame_reader *r = calloc(1, sizeof(*r));
	if (r)
		r->max_len = max_len;
	return r;
}

void cvb_frame_reader_free(struct cvb_frame_reader *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r);
}

size_t cvb_frame_reader_pending(const struct cvb_frame_reader *r)
{
	return r->len;
}

/*
 * The buffer only grows as bytes actually arrive, never to a length a header
 * announces, and _next rejects an oversized header as soon as it is whole.
 */
static int reader_reserve(struct cvb_frame_reader *r, size_t extra)
{
	if (r->len + extra <= r->cap)
		return CVB_FRAME_OK;
	size_t cap = r->cap ? r->cap : 4096;
	while (cap < r->len + extra)
		cap *= 2;
	uint8_t *nb = realloc(r->buf, cap);
	if (!nb)
		return CVB_FRAME_NOMEM;
	r->buf = nb;
	r->cap = cap;
	return CVB_FRAME_OK;
}

int cvb_frame_reader_feed(struct cvb_frame_reader *r, const uint8_t *buf, size_t len)
{
	if (r->failed)
		return r->failed;
	if (len == 0)
		return CVB_FRAME_OK;
	if (reader_reserve(r, len) != CVB_FRAME_OK)
		return r->failed = CVB_FRAME_NOMEM;
	memcpy(r->buf + r->len, buf, len);
	r->len += len;
	return CVB_FRAME_OK;
}

long cvb_frame_reader_fill(struct cvb_frame_reader *r, int fd)
{
	if (r->failed)
		return r->failed;
	if (reader_reserve(r, 65536) != CVB_FRAME_OK)
		return r->failed = CVB_FRAME_NOMEM;
	ssize_t n;
	do
		n = read(fd, r->buf + r->len, 65536);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return CVB_FRAME_IO;
	r->len += (size_t)n;
	return (long)n;
}

int cvb_frame_reader_next(struct cvb_frame_reader *r, struct cvb_frame_header *hdr,
			  uint8_t **payload)
{
	if (r->failed)
		return r->failed;
	if (r->len < CVB_FRAME_HEADER_SIZE)
		return 0;
	int rc = cvb_frame_decode_header(r->buf, r->max_len, hdr);
	if (rc != CVB_FRAME_OK)
		return r->failed = rc;
	size_t total = CVB_FRAME_HEADER_SIZE + (size_t)hdr->len;
	if (r->len < total)
		return 0;
	uint8_t *p = malloc((size_t)hdr->len + 1);
	if (!p)
		return r->failed = CVB_FRAME_NOMEM;
	memcpy(p, r->buf + CVB_FRAME_HEADER_SIZE, hdr->len);
	p[hdr->len] = 0;
	memmove(r->buf, r->buf + total, r->len - total);
	r->len -= total;
	*payload = p;
	return 1;
}
