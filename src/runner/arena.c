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
 *
 * Before the zygote forks, it also fills the holes its start-up left: the
 * free blocks of pymalloc's partly used pools (cvb_arena_fill_pools) and
 * malloc's cached and binned free chunks (cvb_arena_fill_malloc_holes). A
 * job's new objects are then packed into fresh memory instead of written
 * into holes all over the heap, one copied page per hole.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "runner/runner.h"

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define HUGE_SIZE   ((size_t)2 << 20)
#define MAX_REGIONS 64

struct free_arena {
	struct free_arena *next;
	size_t size;
};

static struct {
	char *cur, *end;	 /* the unused rest of the newest region */
	struct free_arena *free; /* arenas pymalloc gave back */
	PyObjectArenaAllocator fallback;
	size_t arena_size; /* what pymalloc asks for: 64 of its pools */
	struct {
		char *start, *end;
	} regions[MAX_REGIONS];
	size_t n_regions;
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
	if (heap.n_regions < MAX_REGIONS) {
		heap.regions[heap.n_regions].start = start;
		heap.regions[heap.n_regions++].end = start + len;
	}
	heap.cur = start;
	heap.end = start + len;
	return 0;
}

static void *arena_alloc(void *ctx, size_t size)
{
	if (!heap.arena_size)
		heap.arena_size = size;
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

/*
 * The head of a pymalloc pool, as CPython 3.11 lays it out
 * (Objects/obmalloc.c). Read, never written, and only where a block lies in
 * one of our regions and the head agrees with the size asked for.
 */
struct pool_header {
	union {
		void *padding;
		unsigned count; /* blocks in use */
	} ref;
	void *freeblock;
	struct pool_header *nextpool, *prevpool;
	unsigned arenaindex, szidx, nextoffset, maxnextoffset;
};

#define SIZE_CLASSES   32		 /* 16 to 512 bytes, 16 apart */
#define MAX_FILL_BYTES ((size_t)8 << 20) /* a bound, should pools not be as we read them */

static const struct pool_header *pool_of(const void *block, unsigned szidx)
{
	size_t pool_size = heap.arena_size / 64;
	uintptr_t p = (uintptr_t)block & ~(uintptr_t)(pool_size - 1);
	bool geometry = pool_size >= 4096 && (pool_size & (pool_size - 1)) == 0;
	for (size_t i = 0; block && geometry && i < heap.n_regions; i++) {
		if ((char *)p < heap.regions[i].start || (char *)p >= heap.regions[i].end)
			continue;
		const struct pool_header *h = (const struct pool_header *)p;
		bool sane = h->szidx == szidx && h->ref.count >= 1 &&
			    h->maxnextoffset <= pool_size &&
			    h->nextoffset <= h->maxnextoffset + 16 * (szidx + 1);
		return sane ? h : NULL;
	}
	return NULL;
}

/*
 * Allocate every free block of the partly used pools of each size class and
 * keep it: pymalloc serves a class from its partly used pools first, so the
 * first block that opens a fresh pool says they are all full (and goes back).
 * Measured: a spare's copied pages in the arenas fell from 205 to 163, and
 * the CPU per job by about 4 %, for some 3,000 blocks (300 KiB) held.
 */
void cvb_arena_fill_pools(void)
{
	size_t filled = 0;
	for (unsigned k = 0; heap.arena_size && k < SIZE_CLASSES; k++) {
		for (; filled < MAX_FILL_BYTES; filled += 16 * (k + 1)) {
			void *b = PyObject_Malloc(16 * (k + 1));
			const struct pool_header *h = pool_of(b, k);
			if (!h) { /* not a pool as we know them: leave the rest as it is */
				PyObject_Free(b);
				return;
			}
			if (h->ref.count == 1) { /* a fresh pool: every partly used one is full */
				PyObject_Free(b);
				break;
			}
			/* the block stays allocated, for the zygote's life */
		}
	}
}

/*
 * malloc's holes: the chunks its per-size caches and bins hold, which a job's
 * allocations would otherwise take first, wherever they lie. For each small
 * request size, allocate and keep chunks until three in a row come out
 * packed, each right after the one before (glibc: the next chunk starts 8
 * bytes past the usable end of this one), that is from the top of the heap
 * or the rest of one large free chunk. The cap bounds what is kept with an
 * allocator that never packs; a sanitizer's is left alone. Measured: some 40
 * page faults fewer per job and 13 fewer pages copied ahead, CPU per job
 * about -4 %, for some 450 chunks kept.
 */
#define MAX_SMALL_REQUEST 1024
#define MAX_HELD	  8192 /* chunks; glibc holds some 450 */

static void *held[MAX_HELD]; /* kept reachable: never freed, never leaked */
static size_t n_held;

void cvb_arena_fill_malloc_holes(void)
{
	if (CVB_SANITIZER_BUILD)
		return; /* the sanitizer's allocator packs as it pleases */
	/* largest first: a smaller size would split the larger holes and scatter their rests */
	for (size_t size = MAX_SMALL_REQUEST; size >= 16 && n_held < MAX_HELD; size -= 16) {
		char *prev = NULL;
		for (int packed = 0; n_held < MAX_HELD;) {
			char *p = malloc(size);
			if (!p)
				return;
			packed = prev && p == prev + malloc_usable_size(prev) + 8 ? packed + 1 : 0;
			if (packed == 3) {
				free(p); /* the packed ones are kept: a job's first of this size */
				break;
			}
			held[n_held++] = p;
			prev = p;
		}
	}
}
