/*
 * Unit tests for the zygote's scratch region (src/runner/scratch.c): what a
 * control frame's handling allocates lands there and nowhere a child can
 * see, and is wiped when the frame is done.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "runner/runner.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static int setup(void **state)
{
	(void)state;
	static bool done;
	if (!done)
		cvb_scratch_init();
	done = true;
	return 0;
}

static void test_frame_allocations_come_from_the_region(void **state)
{
	(void)state;
	cvb_scratch_begin();
	char *a = cvb_scratch_malloc(100), *b = cvb_scratch_malloc(1);
	assert_true(cvb_scratch_contains(a));
	assert_true(cvb_scratch_contains(b));
	assert_int_equal((uintptr_t)a % 16, 0);
	assert_int_equal((uintptr_t)b % 16, 0);
	assert_true(b >= a + 100); /* no overlap */
	cvb_scratch_end();
}

static void test_outside_a_frame_the_heap_serves(void **state)
{
	(void)state;
	void *p = cvb_scratch_malloc(64);
	assert_non_null(p);
	assert_false(cvb_scratch_contains(p));
	cvb_scratch_free(p);
	cvb_scratch_begin();
	cvb_scratch_pause(); /* e.g. a spec a forked job takes along */
	p = cvb_scratch_malloc(64);
	assert_false(cvb_scratch_contains(p));
	cvb_scratch_free(p);
	cvb_scratch_end();
}

static void test_what_does_not_fit_comes_from_the_heap(void **state)
{
	(void)state;
	cvb_scratch_begin();
	void *big = cvb_scratch_malloc((size_t)1 << 20);
	void *small = cvb_scratch_malloc(32);
	assert_non_null(big);
	assert_false(cvb_scratch_contains(big));
	assert_true(cvb_scratch_contains(small)); /* the region is still there for the rest */
	memset(big, 'x', (size_t)1 << 20);
	cvb_scratch_free(big);
	void *huge = cvb_scratch_malloc(SIZE_MAX - 8); /* no wrap-around into the region */
	assert_null(huge);
	cvb_scratch_end();
}

static void test_the_region_is_wiped_when_the_frame_ends(void **state)
{
	(void)state;
	cvb_scratch_begin();
	char *s = cvb_scratch_malloc(32);
	strcpy(s, "serial SN-1234 from line 7");
	cvb_scratch_free(s); /* freeing leaves it to the end of the frame */
	assert_string_equal(s, "serial SN-1234 from line 7");
	cvb_scratch_end();
	for (size_t i = 0; i < 32; i++)
		assert_int_equal(s[i], 0);
	/* and the next frame starts at the beginning again */
	cvb_scratch_begin();
	assert_ptr_equal(cvb_scratch_malloc(8), s);
	cvb_scratch_end();
}

static void test_a_child_does_not_have_the_region(void **state)
{
	(void)state;
	cvb_scratch_begin();
	char *s = cvb_scratch_malloc(64);
	strcpy(s, "a job's input name");
	pid_t pid = fork();
	if (pid == 0) {
		/* mincore fails with ENOMEM for an address that is not mapped */
		unsigned char vec;
		void *page = (void *)((uintptr_t)s & ~(uintptr_t)4095);
		_exit(mincore(page, 4096, &vec) < 0 && errno == ENOMEM ? 0 : 1);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	cvb_scratch_end();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frame_allocations_come_from_the_region),
	    cmocka_unit_test(test_outside_a_frame_the_heap_serves),
	    cmocka_unit_test(test_what_does_not_fit_comes_from_the_heap),
	    cmocka_unit_test(test_the_region_is_wiped_when_the_frame_ends),
	    cmocka_unit_test(test_a_child_does_not_have_the_region),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
