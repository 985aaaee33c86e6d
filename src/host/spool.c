/*
 * Durable results: SHA-256 and report ids, the report spool, and the input
 * file's post action (move, zip, keep) without ever replacing a file.
 *
 * Every write that must survive a crash follows one pattern: write a
 * temporary file in the destination folder, fsync it, give it its final
 * name with a call that fails instead of replacing (renameat2
 * RENAME_NOREPLACE, or link), then fsync the folder. Temporary names start
 * with ".convbox-tmp-" and are swept at start-up.
 */
#include "convbox/spool.h"
#include "convbox/fdio.h"
#include "convbox/jobspec.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define TMP_PREFIX "convbox-tmp-"
#define KEPT_XATTR "user.convbox.kept"

/* ---- SHA-256 (FIPS 180-4) ---- */

static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t ror(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static void sha_block(uint32_t h[8], const uint8_t p[64])
{
	uint32_t w[64], v[8];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	memcpy(v, h, sizeof(v));
	for (int i = 0; i < 64; i++) {
		uint32_t s1 = ror(v[4], 6) ^ ror(v[4], 11) ^ ror(v[4], 25);
		uint32_t ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
		uint32_t t1 = v[7] + s1 + ch + sha_k[i] + w[i];
		uint32_t s0 = ror(v[0], 2) ^ ror(v[0], 13) ^ ror(v[0], 22);
		uint32_t maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
		memmove(v + 1, v, 7 * sizeof(v[0]));
		v[4] += t1;
		v[0] = t1 + s0 + maj;
	}
	for (int i = 0; i < 8; i++)
		h[i] += v[i];
}

void cvb_sha256_init(struct cvb_sha256 *s)
{
	static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
				       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	memcpy(s->h, h0, sizeof(h0));
	s->bytes = 0;
	s->n = 0;
}

void cvb_sha256_update(struct cvb_sha256 *s, const void *data, size_t len)
{
	const uint8_t *p = data;
	s->bytes += len;
	while (len > 0) {
		size_t take = 64 - s->n < len ? 64 - s->n : len;
		memcpy(s->buf + s->n, p, take);
		s->n += take;
		p += take;
		len -= take;
		if (s->n == 64) {
			sha_block(s->h, s->buf);
			s->n = 0;
		}
	}
}

void cvb_sha256_final(struct cvb_sha256 *s, uint8_t out[32])
{
	uint64_t bits = s->bytes * 8;
	uint8_t pad = 0x80, zero = 0, len[8];
	cvb_sha256_update(s, &pad, 1);
	while (s->n != 56)
		cvb_sha256_update(s, &zero, 1);
	for (int i = 0; i < 8; i++)
		len[i] = (uint8_t)(bits >> (56 - 8 * i));
	cvb_sha256_update(s, len, 8);
	for (int i = 0; i < 32; i++)
		out[i] = (uint8_t)(s->h[i / 4] >> (24 - 8 * (i % 4)));
}

int cvb_sha256_file(const char *path, uint8_t out[32], struct cvb_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return cvb_error_errno(err, errno, "cannot read '%s'", path);
	struct cvb_sha256 s;
	uint8_t buf[65536];
	ssize_t n;
	cvb_sha256_init(&s);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		cvb_sha256_update(&s, buf, (size_t)n);
	int e = errno;
	close(fd);
	if (n < 0)
		return cvb_error_errno(err, e, "cannot read '%s'", path);
	cvb_sha256_final(&s, out);
	return 0;
}

void cvb_sha256_hex(const uint8_t digest[32], char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

/* ---- report ids ---- */

void cvb_spool_derive_id(const char *converter, const char *name, const uint8_t content[32],
			 size_t index, char out[CVB_UUID_LEN + 1])
{
	/* v2: the file's name is part of it (v1 gave files of the same bytes one id) */
	static const char domain[] = "convbox report id v2";
	struct cvb_sha256 s;
	uint8_t d[32], idx[8];
	for (int i = 0; i < 8; i++)
		idx[i] = (uint8_t)((uint64_t)index >> (8 * i));
	cvb_sha256_init(&s);
	cvb_sha256_update(&s, domain, sizeof(domain)); /* with its NUL: a separator */
	cvb_sha256_update(&s, converter, strlen(converter) + 1);
	cvb_sha256_update(&s, name, strlen(name) + 1);
	cvb_sha256_update(&s, content, 32);
	cvb_sha256_update(&s, idx, sizeof(idx));
	cvb_sha256_final(&s, d);
	d[6] = (uint8_t)((d[6] & 0x0f) | 0x80); /* version 8 */
	d[8] = (uint8_t)((d[8] & 0x3f) | 0x80); /* RFC 9562 variant */
	snprintf(out, CVB_UUID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", d[0], d[1],
		 d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13], d[14],
		 d[15]);
}

bool cvb_spool_is_uuid(const char *s)
{
	for (int i = 0; i < CVB_UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return s[CVB_UUID_LEN] == 0;
}

/* Append `"key":value,` for a string value the report lacks. */
static int add_member(json_t *report, const char *key, const char *value, char **acc)
{
	if (!value || json_object_get(report, key))
		return 0;
	json_t *s = json_string(value);
	char *enc = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
	char *next = NULL;
	json_decref(s);
	if (!enc || asprintf(&next, "%s\"%s\":%s,", *acc ? *acc : "", key, enc) < 0) {
		free(enc);
		return -1;
	}
	free(enc);
	free(*acc);
	*acc = next;
	return 0;
}

/* Check the report's id, or choose the derived one. */
static int report_id(json_t *report, const char *derived, char id[CVB_UUID_LEN + 1],
		     struct cvb_error *err)
{
	json_t *v = json_object_get(report, "id");
	if (!v) {
		snprintf(id, CVB_UUID_LEN + 1, "%s", derived);
		return 0;
	}
	const char *s = json_string_value(v);
	if (!s || !cvb_spool_is_uuid(s))
		return cvb_error_set(err, "the report's id %.60s%s is not a UUID",
				     s ? s : "(not a string)", s && strlen(s) > 60 ? "..." : "");
	for (int i = 0; i <= CVB_UUID_LEN; i++)
		id[i] = (char)tolower((unsigned char)s[i]);
	return 0;
}

/* New text: '{', the inserted members, then the converter's bytes after its '{'. */
static int splice_members(const char *raw, size_t len, const char *members, bool empty, char **out,
			  size_t *out_len)
{
	const char *brace = memchr(raw, '{', len);
	size_t mlen = strlen(members), rest = len - (size_t)(brace + 1 - raw);
	if (empty && mlen > 0)
		mlen--; /* no comma before the closing brace */
	char *t = malloc(1 + mlen + rest + 1);
	if (!t)
		return -1;
	t[0] = '{';
	memcpy(t + 1, members, mlen);
	memcpy(t + 1 + mlen, brace + 1, rest);
	t[1 + mlen + rest] = 0;
	*out = t;
	*out_len = 1 + mlen + rest;
	return 0;
}

int cvb_spool_prepare_report(const char *raw, size_t len, const char *derived_id,
			     const struct cvb_station *st, char **out, size_t *out_len,
			     char id[CVB_UUID_LEN + 1], struct cvb_error *err)
{
	json_error_t je;
	json_t *r = json_loadb(raw, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &je);
	char *members = NULL;
	int rc = -1;
	if (!json_is_object(r)) {
		cvb_error_set(err, "the report is not a JSON object%s%s", r ? "" : ": ",
			      r ? "" : je.text);
		goto out;
	}
	if (report_id(r, derived_id, id, err) < 0)
		goto out;
	if (add_member(r, "id", id, &members) < 0 ||
	    add_member(r, "machineName", st ? st->machine_name : NULL, &members) < 0 ||
	    add_member(r, "location", st ? st->location : NULL, &members) < 0 ||
	    add_member(r, "purpose", st ? st->purpose : NULL, &members) < 0 ||
	    splice_members(raw, len, members ? members : "", json_object_size(r) == 0, out,
			   out_len) < 0) {
		cvb_error_set(err, "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(members);
	json_decref(r);
	return rc;
}

/* ---- folders and temporary files ---- */

/* Create dir and its parents; with `owned`, dir must be the service's (or root's). */
static int make_dirs(const char *dir, bool owned, struct cvb_error *err)
{
	char p[PATH_MAX];
	if (snprintf(p, sizeof(p), "%s", dir) >= (int)sizeof(p))
		return cvb_error_set(err, "path too long: %s", dir);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return cvb_error_errno(err, errno, "cannot create folder '%s'", p);
		*s = '/';
	}
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return cvb_error_errno(err, errno, "cannot create folder '%s'", p);
	/*
	 * Files are moved and written into it: it must be the service's own (or
	 * root's), and so must a symbolic link that names it. Beside a shared
	 * watch folder another user could have made it first, or made it a link,
	 * to steer files and reports somewhere else.
	 */
	struct stat st;
	if (owned && lstat(p, &st) == 0 && S_ISLNK(st.st_mode) && st.st_uid != geteuid() &&
	    st.st_uid != 0)
		return cvb_error_set(
		    err,
		    "'%s' is a symbolic link of uid %u, not of the service (uid %u) "
		    "or root: remove it",
		    p, (unsigned)st.st_uid, (unsigned)geteuid());
	if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
		return cvb_error_set(err, "'%s' is not a folder", p);
	if (owned && st.st_uid != geteuid() && st.st_uid != 0)
		return cvb_error_set(
		    err,
		    "folder '%s' belongs to uid %u, not to the service (uid %u) or "
		    "root: remove it or give it to the service",
		    p, (unsigned)st.st_uid, (unsigned)geteuid());
	return 0;
}

int cvb_spool_mkdirs(const char *dir, struct cvb_error *err)
{
	return make_dirs(dir, true, err);
}

int cvb_spool_mkdirs_shared(const char *dir, struct cvb_error *err)
{
	return make_dirs(dir, false, err);
}

static int open_dir(const char *dir, struct cvb_error *err)
{
	if (cvb_spool_mkdirs(dir, err) < 0)
		return -1;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		cvb_error_errno(err, errno, "cannot open folder '%s'", dir);
	return fd;
}

/* A new temporary file in dirfd, its name into tmp[64]. */
static int open_temp(int dirfd, mode_t mode, char tmp[64])
{
	for (int tries = 0; tries < 100; tries++) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		snprintf(tmp, 64, "." TMP_PREFIX "%d-%lld%09ld-%d", (int)getpid(),
			 (long long)ts.tv_sec, ts.tv_nsec, tries);
		int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

void cvb_spool_sweep_temps(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	if (!d)
		return;
	while ((e = readdir(d)))
		if (strncmp(e->d_name, "." TMP_PREFIX, sizeof(TMP_PREFIX)) == 0)
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

/* ---- the spool ---- */

struct cvb_spool {
	char *path;
	int dirfd;
};

int cvb_spool_open(const char *dir, struct cvb_spool **out, struct cvb_error *err)
{
	struct cvb_spool *sp = calloc(1, sizeof(*sp));
	*out = NULL;
	if (!sp || !(sp->path = strdup(dir))) {
		free(sp);
		return cvb_error_set(err, "out of memory");
	}
	sp->dirfd = open_dir(dir, err);
	if (sp->dirfd < 0) {
		cvb_spool_close(sp);
		return -1;
	}
	cvb_spool_sweep_temps(dir);
	*out = sp;
	return 0;
}

void cvb_spool_close(struct cvb_spool *sp)
{
	if (!sp)
		return;
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	free(sp->path);
	free(sp);
}

const char *cvb_spool_path(const struct cvb_spool *sp)
{
	return sp->path;
}

static const char *const spool_suffixes[] = {"queued", "transferring", "transferred", "error"};

/* Under which suffix (index into spool_suffixes) an id is in the spool, or -1. */
static int spooled_as(const struct cvb_spool *sp, const char *id, char name[128])
{
	for (int i = 0; i < (int)(sizeof(spool_suffixes) / sizeof(spool_suffixes[0])); i++) {
		snprintf(name, 128, "%s.%s", id, spool_suffixes[i]);
		if (faccessat(sp->dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			return i;
	}
	return -1;
}

bool cvb_spool_has(const struct cvb_spool *sp, const char *id)
{
	char name[128];
	return spooled_as(sp, id, name) >= 0;
}

/* Whether the spooled file `name` holds exactly these bytes. */
static bool same_bytes(int dirfd, const char *name, const char *text, size_t len)
{
	struct stat st;
	char buf[65536];
	size_t off = 0;
	ssize_t n = 0;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	bool same = fd >= 0 && fstat(fd, &st) == 0 && (size_t)st.st_size == len;
	while (same && (n = read(fd, buf, sizeof(buf))) > 0) {
		same = off + (size_t)n <= len && memcmp(buf, text + off, (size_t)n) == 0;
		off += (size_t)n;
	}
	if (fd >= 0)
		close(fd);
	return same && n == 0 && off == len;
}

/* A newer report for a queued id: a named temporary, fsync, rename over the old one. */
static int replace_queued(struct cvb_spool *sp, const char *name, const char *text, size_t len)
{
	char tmp[64];
	int fd = open_temp(sp->dirfd, 0644, tmp);
	if (fd < 0)
		return -1;
	if (cvb_write_all(fd, text, len) < 0 || fsync(fd) < 0 ||
	    renameat(sp->dirfd, tmp, sp->dirfd, name) < 0) {
		int e = errno;
		close(fd);
		unlinkat(sp->dirfd, tmp, 0);
		errno = e;
		return -1;
	}
	close(fd);
	return 0;
}

/* Write and fsync the text into an anonymous file (O_TMPFILE) or a named temporary. */
static int write_temp(struct cvb_spool *sp, const char *text, size_t len, char tmp[64])
{
	int fd = openat(sp->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	tmp[0] = 0;
	if (fd < 0)
		fd = open_temp(sp->dirfd, 0644, tmp);
	if (fd < 0)
		return -1;
	if (cvb_write_all(fd, text, len) < 0 || fsync(fd) < 0) {
		int e = errno;
		close(fd);
		if (tmp[0])
			unlinkat(sp->dirfd, tmp, 0);
		errno = e;
		return -1;
	}
	return fd;
}

/* Name the written file; 0, or -1 with errno (EEXIST: the id is there already). */
static int link_final(struct cvb_spool *sp, int fd, const char *tmp, const char *name)
{
	int rc;
	if (tmp[0]) {
		rc = linkat(sp->dirfd, tmp, sp->dirfd, name, 0);
		int e = errno;
		unlinkat(sp->dirfd, tmp, 0);
		errno = e;
		return rc;
	}
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, proc, sp->dirfd, name, AT_SYMLINK_FOLLOW);
}

/*
 * The folder open is still the one at the spool's path: a reports folder
 * removed or renamed while the service runs is created again, rather than
 * reports going into a folder nobody sees.
 */
static int ensure_dir(struct cvb_spool *sp, struct cvb_error *err)
{
	struct stat open_st, path_st;
	if (fstat(sp->dirfd, &open_st) == 0 && stat(sp->path, &path_st) == 0 &&
	    open_st.st_dev == path_st.st_dev && open_st.st_ino == path_st.st_ino)
		return 0;
	int fd = open_dir(sp->path, err);
	if (fd < 0)
		return -1;
	close(sp->dirfd);
	sp->dirfd = fd;
	return 0;
}

int cvb_spool_put(struct cvb_spool *sp, const char *id, const char *text, size_t len,
		  struct cvb_error *err)
{
	char name[128], tmp[64];
	if (!cvb_spool_is_uuid(id))
		return cvb_error_set(err, "report id '%.40s' is not a UUID", id);
	if (ensure_dir(sp, err) < 0)
		return -1;
	int have = spooled_as(sp, id, name);
	if (have >= 0 && same_bytes(sp->dirfd, name, text, len))
		return 0;
	snprintf(name, sizeof(name), "%s.queued", id);
	if (have == 0 && replace_queued(sp, name, text, len) < 0)
		return cvb_error_errno(err, errno, "cannot replace '%s/%s'", sp->path, name);
	if (have == 0)
		return 2;
	int fd = write_temp(sp, text, len, tmp);
	if (fd < 0)
		return cvb_error_errno(err, errno, "cannot write a report into '%s'", sp->path);
	int rc = link_final(sp, fd, tmp, name);
	int e = errno;
	close(fd);
	if (rc < 0 && e == EEXIST)
		return 0; /* queued meanwhile by another writer: this one is not newer */
	if (rc < 0)
		return cvb_error_errno(err, e, "cannot name report '%s/%s'", sp->path, name);
	return have >= 0 ? 2 : 1;
}

int cvb_spool_sync(struct cvb_spool *sp, struct cvb_error *err)
{
	if (fsync(sp->dirfd) < 0)
		return cvb_error_errno(err, errno, "cannot fsync the spool folder '%s'", sp->path);
	return 0;
}

/* ---- post actions ---- */

/* Rename without replacing; link+unlink where the file system lacks RENAME_NOREPLACE. */
static int rename_noreplace(int fromfd, const char *from, int tofd, const char *to)
{
	if (renameat2(fromfd, from, tofd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
		return -1;
	if (linkat(fromfd, from, tofd, to, 0) < 0)
		return -1;
	unlinkat(fromfd, from, 0);
	return 0;
}

/*
 * Candidate `attempt` for a name: itself, then name_<yyyymmdd-hhmmss>[-k].ext
 * (a name too long to take a suffix, or to be a name at all, is shortened).
 */
static void candidate(const char *name, unsigned attempt, const char *stamp, char out[NAME_MAX + 1])
{
	static const char explained[] = ".error.json"; /* an explanation keeps its whole suffix */
	size_t len = strlen(name), xl = strlen(explained);
	const char *dot = len > xl && strcmp(name + len - xl, explained) == 0 ? name + len - xl
									      : strrchr(name, '.');
	if (!dot || dot == name || strlen(dot) > 40)
		dot = name + strlen(name);
	int stem = (int)(dot - name), ext = (int)strlen(dot);
	if (stem + ext > NAME_MAX - 40) /* cut, but not inside a character */
		stem = (int)cvb_utf8_cut(name, NAME_MAX - 40 - ext > 1 ? NAME_MAX - 40 - ext : 1);
	if (attempt == 0 && strlen(name) > NAME_MAX)
		attempt = 1;
	if (attempt == 0)
		snprintf(out, NAME_MAX + 1, "%s", name);
	else if (attempt == 1)
		snprintf(out, NAME_MAX + 1, "%.*s_%s%.*s", stem, name, stamp, ext, dot);
	else
		snprintf(out, NAME_MAX + 1, "%.*s_%s-%u%.*s", stem, name, stamp, attempt, ext, dot);
}

/* Give (fromfd, from) a unique name based on `name` in tofd; the chosen name into out. */
static int place_unique(int fromfd, const char *from, int tofd, const char *name,
			char out[NAME_MAX + 1])
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", localtime_r(&now, &tm));
	for (unsigned attempt = 0; attempt < 100000; attempt++) {
		candidate(name, attempt, stamp, out);
		if (rename_noreplace(fromfd, from, tofd, out) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	errno = EEXIST;
	return -1;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static int final_path(const char *dir, const char *name, char **final)
{
	if (final && asprintf(final, "%s/%s", dir, name) < 0) {
		*final = NULL;
		return -1;
	}
	return 0;
}

/* Copy src into a fsync'd temporary file in dirfd (a move across file systems). */
static int copy_to_temp(const char *src, int dirfd, char tmp[64])
{
	struct stat st;
	char buf[65536];
	ssize_t n = 0;
	int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (in < 0 || fstat(in, &st) < 0)
		goto out_close_in;
	int out = open_temp(dirfd, st.st_mode & 0777, tmp);
	if (out < 0)
		goto out_close_in;
	while ((n = read(in, buf, sizeof(buf))) > 0 && cvb_write_all(out, buf, (size_t)n) == 0)
		;
	if (n != 0 || fsync(out) < 0) {
		close(out);
		unlinkat(dirfd, tmp, 0);
		goto out_close_in;
	}
	close(out);
	close(in);
	return 0;
out_close_in:
	if (in >= 0)
		close(in);
	return -1;
}

/* Name a finished temporary uniquely in dirfd, then remove the source file. */
static int finish_from_temp(int dirfd, const char *tmp, const char *src, const char *dir,
			    const char *name, char **final, struct cvb_error *err)
{
	char chosen[NAME_MAX + 1];
	if (place_unique(dirfd, tmp, dirfd, name, chosen) < 0) {
		int e = errno;
		unlinkat(dirfd, tmp, 0);
		return cvb_error_errno(err, e, "cannot name '%s' in '%s'", name, dir);
	}
	if (unlink(src) < 0 && errno != ENOENT)
		return cvb_error_errno(err, errno, "cannot remove '%s'", src);
	return final_path(dir, chosen, final);
}

int cvb_spool_move_as(const char *src, const char *dst_dir, const char *name, char **final,
		      struct cvb_error *err)
{
	char chosen[NAME_MAX + 1], tmp[64];
	int dfd = open_dir(dst_dir, err), rc = -1;
	if (final)
		*final = NULL;
	if (dfd < 0)
		return -1;
	if (place_unique(AT_FDCWD, src, dfd, name, chosen) == 0)
		rc = final_path(dst_dir, chosen, final);
	else if (errno != EXDEV)
		cvb_error_errno(err, errno, "cannot move '%s' into '%s'", src, dst_dir);
	else if (copy_to_temp(src, dfd, tmp) < 0)
		cvb_error_errno(err, errno, "cannot copy '%s' into '%s'", src, dst_dir);
	else
		rc = finish_from_temp(dfd, tmp, src, dst_dir, name, final, err);
	close(dfd);
	return rc;
}

int cvb_spool_move_unique(const char *src, const char *dst_dir, char **final, struct cvb_error *err)
{
	return cvb_spool_move_as(src, dst_dir, base_name(src), final, err);
}

/* ---- zip (stored) ---- */

static uint32_t crc32_update(const uint32_t table[256], uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void crc32_table(uint32_t table[256])
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		table[i] = c;
	}
}

static uint8_t *put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	p = put16(p, v & 0xffff);
	return put16(p, v >> 16);
}

struct zip_member {
	const char *name;
	uint32_t crc, size;
	unsigned dos_time, dos_date, mode;
};

static void dos_time(time_t t, struct zip_member *m)
{
	struct tm tm;
	localtime_r(&t, &tm);
	if (tm.tm_year < 80) {
		m->dos_date = (1 << 5) | 1;
		m->dos_time = 0;
		return;
	}
	m->dos_date = (unsigned)((tm.tm_year - 80) << 9 | (tm.tm_mon + 1) << 5 | tm.tm_mday);
	m->dos_time = (unsigned)(tm.tm_hour << 11 | tm.tm_min << 5 | tm.tm_sec / 2);
}

/* The local file header (central == false) or the central directory entry. */
static size_t zip_header(uint8_t *b, const struct zip_member *m, bool central)
{
	uint8_t *p = put32(b, central ? 0x02014b50u : 0x04034b50u);
	if (central)
		p = put16(p, 3 << 8 | 20); /* made by: unix, 2.0 */
	p = put16(p, 10);		   /* needed: 1.0, stored */
	p = put16(p, 1 << 11);		   /* the name is UTF-8 */
	p = put16(p, 0);		   /* stored */
	p = put16(p, m->dos_time);
	p = put16(p, m->dos_date);
	p = put32(p, m->crc);
	p = put32(p, m->size);
	p = put32(p, m->size);
	p = put16(p, (unsigned)strlen(m->name));
	p = put16(p, 0); /* extra */
	if (central) {
		p = put16(p, 0); /* comment */
		p = put16(p, 0); /* disk */
		p = put16(p, 0); /* internal attributes */
		p = put32(p, (uint32_t)(0100000 | m->mode) << 16);
		p = put32(p, 0); /* offset of the local header */
	}
	memcpy(p, m->name, strlen(m->name));
	return (size_t)(p - b) + strlen(m->name);
}

static size_t zip_end(uint8_t *b, uint32_t cd_size, uint32_t cd_offset)
{
	uint8_t *p = put32(b, 0x06054b50u);
	p = put16(p, 0);
	p = put16(p, 0);
	p = put16(p, 1);
	p = put16(p, 1);
	p = put32(p, cd_size);
	p = put32(p, cd_offset);
	p = put16(p, 0);
	return (size_t)(p - b);
}

/* Stream the file after a placeholder header, then write the real header in place. */
static int zip_write(int in, int out, struct zip_member *m)
{
	uint8_t hdr[128 + NAME_MAX], buf[65536];
	uint32_t table[256];
	ssize_t n;
	crc32_table(table);
	size_t hl = zip_header(hdr, m, false);
	if (cvb_write_all(out, hdr, hl) < 0)
		return -1;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		m->crc = crc32_update(table, m->crc, buf, (size_t)n);
		if (cvb_write_all(out, buf, (size_t)n) < 0)
			return -1;
	}
	if (n < 0)
		return -1;
	size_t cl = zip_header(hdr, m, true);
	size_t el = zip_end(hdr + cl, (uint32_t)cl, (uint32_t)(hl + m->size));
	if (cvb_write_all(out, hdr, cl + el) < 0)
		return -1;
	hl = zip_header(hdr, m, false);
	return pwrite(out, hdr, hl, 0) == (ssize_t)hl ? fsync(out) : -1;
}

static int zip_to_temp(const char *src, int dirfd, char tmp[64], struct cvb_error *err)
{
	struct stat st;
	int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK), out = -1;
	if (in < 0 || fstat(in, &st) < 0)
		goto out_err;
	if (st.st_size >= (off_t)UINT32_MAX || strlen(base_name(src)) > NAME_MAX) {
		close(in);
		return cvb_error_set(err, "'%s' is too large for a zip archive (4 GiB)", src);
	}
	struct zip_member m = {
	    .name = base_name(src), .size = (uint32_t)st.st_size, .mode = st.st_mode & 0777};
	dos_time(st.st_mtime, &m);
	out = open_temp(dirfd, 0644, tmp);
	if (out < 0 || zip_write(in, out, &m) < 0)
		goto out_err;
	close(out);
	close(in);
	return 0;
out_err:
	cvb_error_errno(err, errno, "cannot zip '%s'", src);
	if (out >= 0) {
		close(out);
		unlinkat(dirfd, tmp, 0);
	}
	if (in >= 0)
		close(in);
	return -1;
}

int cvb_spool_zip_file(const char *src, const char *zip_path, struct cvb_error *err)
{
	char dir[PATH_MAX], tmp[64];
	const char *slash = strrchr(zip_path, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - zip_path) : 1,
		 slash ? zip_path : ".");
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = -1;
	if (dfd < 0)
		return cvb_error_errno(err, errno, "cannot open '%s'", dir);
	if (zip_to_temp(src, dfd, tmp, err) == 0) {
		rc = renameat(dfd, tmp, AT_FDCWD, zip_path);
		if (rc < 0) {
			cvb_error_errno(err, errno, "cannot write '%s'", zip_path);
			unlinkat(dfd, tmp, 0);
		}
	}
	close(dfd);
	return rc;
}

/* ---- keep ---- */

static void kept_value(const struct stat *st, char out[64])
{
	snprintf(out, 64, "%lld:%lld.%09ld", (long long)st->st_size, (long long)st->st_mtim.tv_sec,
		 st->st_mtim.tv_nsec);
}

int cvb_spool_keep(const char *src, const char *watch_dir, char **final, struct cvb_error *err)
{
	struct stat st;
	char v[64];
	if (final)
		*final = NULL;
	if (lstat(src, &st) < 0)
		return cvb_error_errno(err, errno, "cannot keep '%s'", src);
	kept_value(&st, v);
	if (lsetxattr(src, KEPT_XATTR, v, strlen(v), 0) < 0)
		return cvb_error_errno(err, errno, "cannot mark '%s' as converted", src);
	return cvb_spool_move_unique(src, watch_dir, final, err);
}

bool cvb_spool_is_kept(int dirfd, const char *name)
{
	struct stat st;
	char want[64], have[64];
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode)
			? fgetxattr(fd, KEPT_XATTR, have, sizeof(have) - 1)
			: -1;
	close(fd);
	if (n <= 0)
		return false;
	have[n] = 0;
	kept_value(&st, want);
	return strcmp(have, want) == 0;
}

/* ---- small atomic files ---- */

int cvb_spool_write_new(const char *dir, const char *name, const char *text, size_t len,
			char **final, struct cvb_error *err)
{
	char tmp[64], chosen[NAME_MAX + 1];
	int rc = -1, dfd = open_dir(dir, err);
	int fd = dfd >= 0 ? open_temp(dfd, 0644, tmp) : -1;
	if (final)
		*final = NULL;
	if (dfd >= 0 && fd < 0)
		cvb_error_errno(err, errno, "cannot write into '%s'", dir);
	if (fd < 0)
		goto out;
	if (cvb_write_all(fd, text, len) < 0 || fsync(fd) < 0 ||
	    place_unique(dfd, tmp, dfd, name, chosen) < 0) {
		cvb_error_errno(err, errno, "cannot write '%s' into '%s'", name, dir);
		unlinkat(dfd, tmp, 0);
	} else if (fsync(dfd) < 0) { /* the name, too, survives a crash */
		cvb_error_errno(err, errno, "cannot fsync '%s'", dir);
	} else {
		rc = final_path(dir, chosen, final);
	}
	close(fd);
out:
	if (dfd >= 0)
		close(dfd);
	return rc;
}
