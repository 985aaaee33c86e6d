/*
 * The zygote's scratch region: where a control frame and all that handling
 * it allocates go (the JOB frame's bytes, jansson's parse of them, the spec
 * taken from it).
 *
 * Every page the zygote writes between two forks is copied by the kernel,
 * because the spare forked last still shares it. Allocating a frame's
 * handling from the heap wrote about 16 such pages per job (the zygote's page
 * faults per job: 22 before, 7-8 after). The region is mapped MADV_DONTFORK,
 * so no child has it at all, and is wiped after each frame: no later job can
 * find a job's input name, path or arguments there, by construction.
 *
 * What does not fit, and everything while the region is off, comes from the
 * heap and is wiped when freed (cvb_wipe_free). Where MADV_DONTFORK is
 * refused there is no region, and the heap serves as it always did.
 */
#include "runner/runner.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define SCRATCH_SIZE ((size_t)256 << 10)

static struct {
	uint8_t *base;
	size_t used, cap; /* cap 0: there is no region */
	bool on;
} scratch;

void cvb_wipe_free(void *p)
{
	if (p)
		explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

void cvb_scratch_init(void)
{
	void *p =
	    mmap(NULL, SCRATCH_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return;
	if (madvise(p, SCRATCH_SIZE, MADV_DONTFORK) < 0) {
		munmap(p, SCRATCH_SIZE);
		return;
	}
	scratch.base = p;
	scratch.cap = SCRATCH_SIZE;
}

bool cvb_scratch_contains(const void *p)
{
	return scratch.cap && (const uint8_t *)p >= scratch.base &&
	       (const uint8_t *)p < scratch.base + scratch.cap;
}

void *cvb_scratch_malloc(size_t size)
{
	size_t need = (size + 15) & ~(size_t)15;
	if (need < size)
		return NULL; /* no allocator has that much */
	if (scratch.on && need <= scratch.cap - scratch.used) {
		void *p = scratch.base + scratch.used;
		scratch.used += need;
		return p;
	}
	return malloc(size);
}

void cvb_scratch_free(void *p)
{
	if (!cvb_scratch_contains(p))
		cvb_wipe_free(p);
}

void cvb_scratch_begin(void)
{
	scratch.on = scratch.cap != 0;
}

void cvb_scratch_pause(void)
{
	scratch.on = false;
}

void cvb_scratch_end(void)
{
	if (scratch.cap)
		explicit_bzero(scratch.base, scratch.used);
	scratch.used = 0;
	scratch.on = false;
}

void cvb_scratch_forget(void)
{
	memset(&scratch, 0, sizeof(scratch));
}
