/*
 * pymalloc's arenas on transparent huge pages.
 *
 * Every job is a fork of the zygote, and the kernel copies the zygote's page
 * tables at fork and tears the child's down at exit: with 4 KiB pages that
 * is one entry (and one struct page to touch) per page of the zygote's
 * Python heap, in every job. Arenas carved from 2 MiB-aligned regions that
 * the kernel may back with huge pages cost one entry per 2 MiB instead.
 *
 * Regions are never returned: an arena pymalloc frees goes on a free list
 * and is reused. Where huge pages are off, the regions are plain memory.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "runner/runner.h"

#include <stdint.h>
#include <sys/mman.h>

#define HUGE_SIZE ((size_t)2 << 20)

struct free_arena {
	struct free_arena *next;
	size_t size;
};

static struct {
	char *cur, *end;	 /* the unused rest of the newest region */
	struct free_arena *free; /* arenas pymalloc gave back */
	PyObjectArenaAllocator fallback;
} heap;

/* A new 2 MiB-aligned region of at least `size` bytes, advised for huge pages. */
static int grow(size_t size)
{
	size_t len = (size + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1);
	char *raw = mmap(NULL, len + HUGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return -1;
	char *start = (char *)(((uintptr_t)raw + HUGE_SIZE - 1) & ~(uintptr_t)(HUGE_SIZE - 1));
	if (start > raw)
		munmap(raw, (size_t)(start - raw));
	if (start + len < raw + len + HUGE_SIZE)
		munmap(start + len, (size_t)(raw + len + HUGE_SIZE - (start + len)));
	madvise(start, len, MADV_HUGEPAGE);
	heap.cur = start;
	heap.end = start + len;
	return 0;
}

static void *arena_alloc(void *ctx, size_t size)
{
	for (struct free_arena **p = &heap.free; *p; p = &(*p)->next)
		if ((*p)->size == size) {
			struct free_arena *a = *p;
			*p = a->next;
			return a;
		}
	if ((size_t)(heap.end - heap.cur) < size && grow(size) < 0)
		return heap.fallback.alloc(heap.fallback.ctx, size);
	void *r = heap.cur;
	heap.cur += size;
	return r;
}

static void arena_free(void *ctx, void *ptr, size_t size)
{
	struct free_arena *a = ptr;
	a->size = size;
	a->next = heap.free;
	heap.free = a;
}

void cvb_arena_install(void)
{
	PyObject_GetArenaAllocator(&heap.fallback);
	PyObjectArenaAllocator a = {NULL, arena_alloc, arena_free};
	PyObject_SetArenaAllocator(&a);
}
