/*
 * Unit tests for the learned pages a job writes (src/runner/hotset.c): the
 * learning round finds the pages it wrote; once the zygote holds them, a
 * child has its own copy of each from the moment it exists (those inside a
 * huge page too, without the rest of its 2 MiB), shares every other page
 * with the zygote as fork always did, and never has the ring that holds
 * them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "runner/runner.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE	  4096
#define WRITTEN	  8 /* pages the learning round writes */
#define UNTOUCHED 8 /* pages it leaves alone */

#define PM_EXCLUSIVE (1ULL << 56)
#define PM_PRESENT   (1ULL << 63)

#define HUGE (2u << 20)

/* Small pages of their own: an anonymous mapping never backed by a huge page. */
static char *area;
/* 2 MiB advised for a huge page (where the machine has them), of which a job writes 2 pages. */
static char *huge;
#define HUGE_WRITTEN(i) (huge + 100 * PAGE + (i)*200 * PAGE)

static int write_pages(void *arg)
{
	char *a = arg;
	for (int i = 0; i < WRITTEN; i++)
		a[i * PAGE] = 'w';
	HUGE_WRITTEN(0)[0] = 'w';
	HUGE_WRITTEN(1)[0] = 'w';
	return 0;
}

static int setup(void **state)
{
	(void)state;
	area = mmap(NULL, (WRITTEN + UNTOUCHED) * PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		return -1;
	madvise(area, (WRITTEN + UNTOUCHED) * PAGE, MADV_NOHUGEPAGE);
	memset(area, 'z', (WRITTEN + UNTOUCHED) * PAGE); /* all present in the "zygote" */
	char *raw =
	    mmap(NULL, 2 * HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return -1;
	huge = (char *)(((uintptr_t)raw + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
	madvise(huge, HUGE, MADV_HUGEPAGE);
	memset(huge, 'z', HUGE);
	return cvb_hotset_learn(write_pages, area);
}

/* The pagemap entry of the page at p, as the calling process maps it. */
static uint64_t pagemap_at(const char *p)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint64_t e = 0;
	off_t off = (off_t)((uintptr_t)p / PAGE * sizeof(e));
	if (fd < 0 || pread(fd, &e, sizeof(e), off) != sizeof(e))
		e = 0;
	if (fd >= 0)
		close(fd);
	return e;
}

/* The same for page p of the area. */
static uint64_t pagemap(int page)
{
	return pagemap_at(area + page * PAGE);
}

static bool own(const char *p)
{
	uint64_t e = pagemap_at(p);
	return (e & PM_PRESENT) && (e & PM_EXCLUSIVE);
}

static bool io_uring_allowed(void)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	int fd = (int)syscall(__NR_io_uring_setup, 1, &p);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Whether this process has an io_uring open. */
static bool has_ring(void)
{
	DIR *d = opendir("/proc/self/fd");
	bool found = false;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char path[300], target[64] = "";
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		if (readlink(path, target, sizeof(target) - 1) > 0 && strstr(target, "io_uring"))
			found = true;
	}
	if (d)
		closedir(d);
	return found;
}

static void test_learning_finds_the_written_pages(void **state)
{
	(void)state;
	assert_true(cvb_hotset_pages() >= WRITTEN);
	/* the learning child's writes stayed in the child */
	for (int i = 0; i < WRITTEN; i++)
		assert_int_equal(area[i * PAGE], 'z');
}

/*
 * In the child, before it writes anything: each learned page is its own
 * (present, exclusive), each other page still the zygote's (shared). Exit
 * code: 0, or the number of the first wrong page plus one.
 */
static int check_child(void)
{
	for (int i = 0; i < WRITTEN + UNTOUCHED; i++)
		if (own(area + i * PAGE) != (i < WRITTEN))
			return i + 1;
	/*
	 * In the huge page: the two written pages are the child's own, and no
	 * other page of the 2 MiB was copied with them.
	 */
	if (!own(HUGE_WRITTEN(0)) || !own(HUGE_WRITTEN(1)))
		return 100;
	for (unsigned off = 0; off < HUGE; off += PAGE)
		if (huge + off != HUGE_WRITTEN(0) && huge + off != HUGE_WRITTEN(1) &&
		    own(huge + off))
			return 101;
	return 0;
}

static int wait_exit(pid_t pid)
{
	int status = 0;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void test_held_pages_are_each_childs_own_from_fork(void **state)
{
	(void)state;
	if (!io_uring_allowed())
		skip(); /* spares copy the pages themselves: the zygote tests cover that */
	assert_int_equal(cvb_hotset_hold(), 0);
	assert_true(cvb_hotset_held_pages() >= WRITTEN);
	assert_true(has_ring());
	pid_t pid = fork();
	if (pid == 0)
		_exit(check_child());
	assert_int_equal(wait_exit(pid), 0);
	/* the zygote's own pages stay its own too: nothing of them is shared */
	for (int i = 0; i < WRITTEN; i++)
		assert_true(pagemap(i) & PM_EXCLUSIVE);
	/* what the learning round wrote in the huge page is the zygote's as it was */
	assert_int_equal(HUGE_WRITTEN(0)[0], 'z');
	assert_int_equal(HUGE_WRITTEN(1)[PAGE - 1], 'z');
}

static void test_a_childs_writes_and_the_zygotes_stay_apart(void **state)
{
	(void)state;
	if (!io_uring_allowed())
		skip();
	assert_int_equal(cvb_hotset_hold(), 0); /* held once: a second call changes nothing */
	int sync[2];
	assert_int_equal(pipe(sync), 0);
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		area[0] = 'c'; /* the child's write, on its own copy */
		close(sync[1]);
		if (read(sync[0], &c, 1) != 0) /* the zygote has written (and closed) */
			_exit(2);
		_exit(area[PAGE] == 'z' ? 0 : 1);
	}
	close(sync[0]);
	area[PAGE] = 'p'; /* the zygote's write, after the fork */
	close(sync[1]);
	assert_int_equal(wait_exit(pid), 0);
	assert_int_equal(area[0], 'z');
	area[PAGE] = 'z';
}

static void test_a_child_forgets_the_ring_first(void **state)
{
	(void)state;
	if (!io_uring_allowed())
		skip();
	assert_int_equal(cvb_hotset_hold(), 0);
	pid_t pid = fork();
	if (pid == 0) {
		cvb_hotset_forget();
		_exit(has_ring() ? 1 : 0);
	}
	assert_int_equal(wait_exit(pid), 0);
	assert_true(has_ring()); /* the zygote keeps it */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_learning_finds_the_written_pages),
	    cmocka_unit_test(test_held_pages_are_each_childs_own_from_fork),
	    cmocka_unit_test(test_a_childs_writes_and_the_zygotes_stay_apart),
	    cmocka_unit_test(test_a_child_forgets_the_ring_first),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
