/*
 * The pages a job writes, copied before the job arrives.
 *
 * A job is a fork of the zygote, and every page of the zygote it writes to
 * (reference counts, caches, allocator lists) is copied on its first write:
 * a fault of a few microseconds each, a few hundred per job. Which pages a
 * typical job writes is learned once: the zygote forks a plain child that
 * runs one round of convbox's own rehearsal job and reports the pages it
 * then maps alone (/proc/self/pagemap: present and exclusive), which are the
 * ones it copied or created.
 *
 * Two ways to have them copied before the job runs:
 *
 *  - Held pages (cvb_hotset_hold). The zygote pins the learned pages as
 *    io_uring fixed buffers. The kernel never shares a pinned page with a
 *    child (fork copies it at once, so that the pin keeps meaning the
 *    parent's page), and a copy made inside fork costs about half of a
 *    fault: no exception, no page-table walk, no TLB flush. The ring that
 *    holds the pins never reaches a child: each closes it first
 *    (cvb_hotset_forget), and a job's seccomp filter refuses io_uring. A
 *    learned page inside a transparent huge page is first made a small page
 *    of its own (make_small): a pin holds the whole folio, and fork would
 *    copy all 2 MiB of it.
 *  - The rest (beyond MAX_HELD, or where pinning is refused), copied by
 *    each spare child ahead of its job (MADV_POPULATE_WRITE over all ranges
 *    in one process_madvise() call), without running any Python, so the job
 *    finds them copied.
 *
 * If learning fails, or the kernel lacks MADV_POPULATE_WRITE (before 5.14),
 * nothing is touched ahead and the job takes its own faults. Where io_uring
 * is refused (disabled, a container's filter, the locked-memory limit) no
 * page is held and spares copy them all.
 */
#include "runner/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define PM_EXCLUSIVE (1ULL << 56)
#define PM_PRESENT   (1ULL << 63)
#define MAX_RANGES   4096
#define MAX_SCANNED  (1ul << 30) /* bytes of one mapping */
#define MAX_HELD     (4ul << 20) /* bytes pinned at most: a fraction of the usual 8 MiB limit */
#define MAX_VMAS     1024

struct range {
	uintptr_t start, end;
};

static struct {
	struct range r[MAX_RANGES];
	size_t n;
	size_t pages;
	bool held[MAX_RANGES]; /* pinned by the zygote: every child gets its copy at fork */
	size_t held_pages;
	int ring; /* the io_uring whose fixed buffers they are; -1: none */
} hot = {.ring = -1};

/* A range never spans two mappings: each is held, or not, by what its mapping is. */
static void add_page(uintptr_t page, size_t psize, uintptr_t mapping_start)
{
	if (hot.n > 0 && hot.r[hot.n - 1].end == page && page != mapping_start) {
		hot.r[hot.n - 1].end += psize;
	} else if (hot.n < MAX_RANGES) {
		hot.r[hot.n++] = (struct range){page, page + psize};
	} else {
		return;
	}
	hot.pages++;
}

/*
 * Pages of one private writable mapping that this process alone maps: the
 * ones the learning round copied or created. (Code and constants are left
 * to fault in: mapping them ahead costs a job more than their faults.)
 */
static void scan_mapping(int pagemap, uintptr_t start, uintptr_t end, size_t psize)
{
	const uint64_t want_bits = PM_PRESENT | PM_EXCLUSIVE;
	uint64_t buf[512];
	for (uintptr_t a = start; a < end;) {
		size_t want = (end - a) / psize;
		if (want > sizeof(buf) / sizeof(buf[0]))
			want = sizeof(buf) / sizeof(buf[0]);
		ssize_t got = pread(pagemap, buf, want * sizeof(buf[0]), (off_t)(a / psize * 8));
		if (got <= 0)
			return;
		for (size_t i = 0; i < (size_t)got / sizeof(buf[0]); i++, a += psize)
			if ((buf[i] & want_bits) == want_bits)
				add_page(a, psize, start);
	}
}

/* In the learning child: every private writable page it maps alone. */
static int scan_self(void)
{
	size_t psize = (size_t)sysconf(_SC_PAGESIZE);
	FILE *maps = fopen("/proc/self/maps", "re");
	int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (!maps || pagemap < 0) {
		if (maps)
			fclose(maps);
		if (pagemap >= 0)
			close(pagemap);
		return -1;
	}
	char line[512];
	while (fgets(line, sizeof(line), maps)) {
		unsigned long start, end;
		char perms[5];
		/*
		 * Private writable mappings: the stack (which moves) aside, and
		 * reservations far larger than any heap (a sanitizer's shadow).
		 */
		if (sscanf(line, "%lx-%lx %4s", &start, &end, perms) == 3 && perms[0] == 'r' &&
		    perms[1] == 'w' && perms[3] == 'p' && !strstr(line, "[stack]") &&
		    end - start <= MAX_SCANNED)
			scan_mapping(pagemap, start, end, psize);
	}
	fclose(maps);
	close(pagemap);
	return 0;
}

int cvb_hotset_learn(int (*round)(void *), void *arg)
{
	int p[2];
	hot.n = hot.pages = 0;
	memset(hot.held, 0, sizeof(hot.held));
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	/*
	 * Forked as jobs are, by clone3 itself: glibc's fork() would run its
	 * handlers in the child and write pages (two of ld.so's) no job writes.
	 */
	struct clone_args args = {.exit_signal = SIGCHLD};
	pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		if (round(arg) < 0 || scan_self() < 0)
			_exit(1);
		size_t len = hot.n * sizeof(hot.r[0]);
		const char *b = (const char *)hot.r;
		while (len > 0) {
			ssize_t n = write(p[1], b, len);
			if (n <= 0)
				_exit(1);
			b += n;
			len -= (size_t)n;
		}
		_exit(0);
	}
	close(p[1]);
	size_t got = 0;
	for (;;) {
		ssize_t n = read(p[0], (char *)hot.r + got, sizeof(hot.r) - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(p[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		hot.n = hot.pages = 0;
		return -1;
	}
	hot.n = got / sizeof(hot.r[0]);
	for (size_t i = 0; i < hot.n; i++)
		hot.pages += (hot.r[i].end - hot.r[i].start) / (size_t)sysconf(_SC_PAGESIZE);
	return 0;
}

size_t cvb_hotset_pages(void)
{
	return hot.pages;
}

size_t cvb_hotset_held_pages(void)
{
	return hot.held_pages;
}

/* A mapping of the zygote, as /proc/self/smaps describes it. */
struct vma {
	uintptr_t start, end;
	bool huge; /* some of it in transparent huge pages */
	bool file; /* backed by a file (a library's data, privately copied) */
};

static size_t read_vmas(struct vma *v, size_t max)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	if (!f)
		return 0;
	char line[512];
	size_t n = 0;
	unsigned long start, end, kb;
	while (fgets(line, sizeof(line), f)) {
		char path[2] = "";
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %1s", &start, &end, path) >= 2) {
			if (n == max)
				break;
			v[n++] = (struct vma){start, end, false, path[0] == '/'};
		} else if (n > 0 && sscanf(line, "AnonHugePages: %lu kB", &kb) == 1 && kb > 0) {
			v[n - 1].huge = true;
		}
	}
	fclose(f);
	return n;
}

static const struct vma *vma_of(const struct range *r, const struct vma *v, size_t nv)
{
	for (size_t i = 0; i < nv; i++)
		if (r->start >= v[i].start && r->end <= v[i].end)
			return &v[i];
	return NULL;
}

/*
 * Each page of r, an anonymous range inside a transparent huge page, made a
 * small page of its own: copied out, its 4 KiB dropped (which splits the
 * huge page's mapping; the rest of the huge page stays as it was, mapped by
 * small entries), and copied back into the fresh small page that the write
 * faults in. Nothing else runs in the zygote meanwhile.
 */
static bool make_small(const struct range *r, size_t psize)
{
	static char page[65536];
	if (psize > sizeof(page))
		return false;
	for (uintptr_t a = r->start; a < r->end; a += psize) {
		memcpy(page, (void *)a, psize);
		if (madvise((void *)a, psize, MADV_DONTNEED) < 0)
			return false; /* dropped nothing: the page is as it was */
		memcpy((void *)a, page, psize);
	}
	return true;
}

enum holdable { NOT_HELD, HOLD_ANON, HOLD_FILE };

/*
 * Which ranges may be held, and whether their mapping is a file's: those of
 * small-page mappings, and those of huge pages that could be made small
 * pages of their own. A pin on a page of a huge page holds all 2 MiB of it,
 * and fork would copy them all.
 */
static void find_holdable(enum holdable *ok, const struct vma *v, size_t nv)
{
	size_t psize = (size_t)sysconf(_SC_PAGESIZE);
	for (size_t i = 0; i < hot.n; i++) {
		const struct vma *m = vma_of(&hot.r[i], v, nv);
		bool may = m && (!m->huge || (!m->file && make_small(&hot.r[i], psize)));
		ok[i] = !may ? NOT_HELD : m->file ? HOLD_FILE : HOLD_ANON;
	}
}

static int register_held(int ring, const enum holdable *ok, bool anon_only)
{
	static struct iovec iov[MAX_RANGES];
	size_t n = 0, bytes = 0;
	for (size_t i = 0; i < hot.n; i++) {
		size_t len = hot.r[i].end - hot.r[i].start;
		hot.held[i] = bytes + len <= MAX_HELD &&
			      (ok[i] == HOLD_ANON || (ok[i] == HOLD_FILE && !anon_only));
		if (hot.held[i]) {
			iov[n++] = (struct iovec){(void *)hot.r[i].start, len};
			bytes += len;
		}
	}
	if (n > 0 &&
	    syscall(__NR_io_uring_register, ring, IORING_REGISTER_BUFFERS, iov, (unsigned)n) < 0) {
		memset(hot.held, 0, sizeof(hot.held));
		return -1;
	}
	hot.held_pages = bytes / (size_t)sysconf(_SC_PAGESIZE);
	return 0;
}

int cvb_hotset_hold(void)
{
	static struct vma v[MAX_VMAS];
	static enum holdable ok[MAX_RANGES];
	if (hot.ring >= 0 || hot.n == 0)
		return 0;
	struct io_uring_params params;
	memset(&params, 0, sizeof(params));
	int ring = (int)syscall(__NR_io_uring_setup, 1, &params); /* close-on-exec */
	if (ring < 0)
		return -1;
	size_t nv = read_vmas(v, MAX_VMAS);
	find_holdable(ok, v, nv);
	/* kernels before 6.5 pin no file-backed page, not even a private copy of one */
	if (nv == 0 || (register_held(ring, ok, false) < 0 && register_held(ring, ok, true) < 0)) {
		close(ring);
		return -1;
	}
	hot.ring = ring;
	return 0;
}

void cvb_hotset_forget(void)
{
	if (hot.ring >= 0)
		close(hot.ring);
	hot.ring = -1;
}

/* Each range on its own: kernels without process_madvise() for this advice. */
static void touch_each(void)
{
	for (size_t i = 0; i < hot.n; i++)
		if (!hot.held[i] &&
		    madvise((void *)hot.r[i].start, hot.r[i].end - hot.r[i].start,
			    MADV_POPULATE_WRITE) < 0 &&
		    errno == EINVAL)
			return; /* a kernel before 5.14: the job takes its own faults */
}

void cvb_hotset_touch(void)
{
	/* a few hundred ranges: one process_madvise() call instead of one madvise() each */
	struct iovec iov[MAX_RANGES];
	size_t want = 0, m = 0;
	for (size_t i = 0; i < hot.n; i++)
		if (!hot.held[i]) {
			iov[m] =
			    (struct iovec){(void *)hot.r[i].start, hot.r[i].end - hot.r[i].start};
			want += iov[m++].iov_len;
		}
	if (m == 0)
		return;
	int self = (int)syscall(SYS_pidfd_open, getpid(), 0);
	ssize_t done = -1;
	for (size_t i = 0; self >= 0 && i < m; i += IOV_MAX) {
		size_t n = m - i < IOV_MAX ? m - i : IOV_MAX;
		ssize_t r = syscall(SYS_process_madvise, self, iov + i, n, MADV_POPULATE_WRITE, 0);
		if (r < 0) {
			done = -1;
			break;
		}
		done = (done < 0 ? 0 : done) + r;
	}
	if (self >= 0)
		close(self);
	if (done < 0 || (size_t)done != want)
		touch_each(); /* populated pages are cheap to ask for again */
}
