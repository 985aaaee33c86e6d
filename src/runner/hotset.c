/*
 * The pages a job writes, copied before the job arrives.
 *
 * A job is a fork of the zygote, and every page of the zygote it writes to
 * (reference counts, caches, allocator lists) is copied on its first write:
 * a fault of a few microseconds each, a few hundred per job. Which pages a
 * typical job writes is learned once: the zygote forks a plain child that
 * runs one round of convbox's own rehearsal job and reports the pages it
 * then maps alone (/proc/self/pagemap: present and exclusive), which are the
 * ones it copied or created. A spare child has exactly those pages copied
 * ahead of its job (MADV_POPULATE_WRITE over all ranges in one
 * process_madvise() call), without running any Python, so the job finds
 * them copied.
 *
 * If learning fails, or the kernel lacks MADV_POPULATE_WRITE (before 5.14),
 * nothing is touched ahead and the job takes its own faults.
 */
#include "runner/runner.h"

#include <errno.h>
#include <fcntl.h>
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

struct range {
	uintptr_t start, end;
};

static struct {
	struct range r[MAX_RANGES];
	size_t n;
	size_t pages;
} hot;

static void add_page(uintptr_t page, size_t psize)
{
	if (hot.n > 0 && hot.r[hot.n - 1].end == page) {
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
				add_page(a, psize);
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

/* Each range on its own: kernels without process_madvise() for this advice. */
static void touch_each(void)
{
	for (size_t i = 0; i < hot.n; i++)
		if (madvise((void *)hot.r[i].start, hot.r[i].end - hot.r[i].start,
			    MADV_POPULATE_WRITE) < 0 &&
		    errno == EINVAL)
			return; /* a kernel before 5.14: the job takes its own faults */
}

void cvb_hotset_touch(void)
{
	/* a few hundred ranges: one process_madvise() call instead of one madvise() each */
	struct iovec iov[MAX_RANGES];
	size_t want = 0;
	for (size_t i = 0; i < hot.n; i++) {
		iov[i] = (struct iovec){(void *)hot.r[i].start, hot.r[i].end - hot.r[i].start};
		want += iov[i].iov_len;
	}
	int self = (int)syscall(SYS_pidfd_open, getpid(), 0);
	ssize_t done = -1;
	for (size_t i = 0; self >= 0 && i < hot.n; i += IOV_MAX) {
		size_t n = hot.n - i < IOV_MAX ? hot.n - i : IOV_MAX;
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
