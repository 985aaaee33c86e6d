/*
 * The conversion queue: one binary heap per lane (converter), ordered by
 * priority, age and push order; one heap of delayed entries ordered by
 * not-before time; and an open-addressing set of keys so that a file is
 * queued once. Pop looks at the head of each allowed lane and takes the
 * best, so eligibility never costs a scan of the entries.
 */
#include "convbox/queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct heap {
	struct cvb_queue_entry **v;
	size_t n, cap;
};

struct cvb_queue {
	struct heap *lanes;
	size_t n_lanes;
	struct heap delayed;
	struct cvb_queue_entry **slots; /* key set, linear probing, NULL = free */
	size_t n_slots, n_keys;
	uint64_t next_seq;
};

typedef bool (*before_fn)(const struct cvb_queue_entry *a, const struct cvb_queue_entry *b);

/* Priority first, then age, then push order. */
static bool entry_before(const struct cvb_queue_entry *a, const struct cvb_queue_entry *b)
{
	if (a->priority != b->priority)
		return a->priority < b->priority;
	if (a->arrival_ns != b->arrival_ns)
		return a->arrival_ns < b->arrival_ns;
	return a->seq < b->seq;
}

static bool due_before(const struct cvb_queue_entry *a, const struct cvb_queue_entry *b)
{
	if (a->not_before != b->not_before)
		return a->not_before < b->not_before;
	return a->seq < b->seq;
}

static void sift_up(struct heap *h, size_t i, before_fn before)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!before(h->v[i], h->v[parent]))
			break;
		struct cvb_queue_entry *t = h->v[i];
		h->v[i] = h->v[parent];
		h->v[parent] = t;
		i = parent;
	}
}

static void sift_down(struct heap *h, size_t i, before_fn before)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, best = i;
		if (l < h->n && before(h->v[l], h->v[best]))
			best = l;
		if (r < h->n && before(h->v[r], h->v[best]))
			best = r;
		if (best == i)
			return;
		struct cvb_queue_entry *t = h->v[i];
		h->v[i] = h->v[best];
		h->v[best] = t;
		i = best;
	}
}

static int heap_push(struct heap *h, struct cvb_queue_entry *e, before_fn before)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		struct cvb_queue_entry **v = realloc(h->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	h->v[h->n++] = e;
	sift_up(h, h->n - 1, before);
	return 0;
}

static struct cvb_queue_entry *heap_pop(struct heap *h, before_fn before)
{
	struct cvb_queue_entry *top = h->v[0];
	h->v[0] = h->v[--h->n];
	if (h->n > 0)
		sift_down(h, 0, before);
	return top;
}

/* Keep only the entries of a heap that are not in `lane`; returns those removed. */
static size_t heap_filter(struct heap *h, unsigned lane, before_fn before,
			  struct cvb_queue_entry **removed, size_t n_removed)
{
	size_t kept = 0;
	for (size_t i = 0; i < h->n; i++) {
		if (h->v[i]->lane == lane)
			removed[n_removed++] = h->v[i];
		else
			h->v[kept++] = h->v[i];
	}
	h->n = kept;
	for (size_t i = kept / 2 + 1; i-- > 0;)
		sift_down(h, i, before);
	return n_removed;
}

/* FNV-1a: keys are paths, short and well mixed by it. */
static size_t key_hash(const char *k)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 0x100000001b3ull;
	return (size_t)h;
}

static size_t slot_of(const struct cvb_queue *q, const char *key)
{
	size_t mask = q->n_slots - 1, i = key_hash(key) & mask;
	while (q->slots[i] && strcmp(q->slots[i]->key, key) != 0)
		i = (i + 1) & mask;
	return i;
}

static int set_grow(struct cvb_queue *q)
{
	size_t n = q->n_slots ? q->n_slots * 2 : 64;
	struct cvb_queue_entry **old = q->slots;
	size_t old_n = q->n_slots;
	q->slots = calloc(n, sizeof(*q->slots));
	if (!q->slots) {
		q->slots = old;
		return -ENOMEM;
	}
	q->n_slots = n;
	for (size_t i = 0; i < old_n; i++)
		if (old[i])
			q->slots[slot_of(q, old[i]->key)] = old[i];
	free(old);
	return 0;
}

/* Remove a key by backward-shift deletion, so probing needs no tombstones. */
static void set_remove(struct cvb_queue *q, const char *key)
{
	size_t mask = q->n_slots - 1, i = slot_of(q, key);
	if (!q->slots[i])
		return;
	q->slots[i] = NULL;
	q->n_keys--;
	for (size_t j = (i + 1) & mask; q->slots[j]; j = (j + 1) & mask) {
		size_t home = key_hash(q->slots[j]->key) & mask;
		bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
		if (movable) {
			q->slots[i] = q->slots[j];
			q->slots[j] = NULL;
			i = j;
		}
	}
}

struct cvb_queue *cvb_queue_new(void)
{
	struct cvb_queue *q = calloc(1, sizeof(*q));
	if (q && set_grow(q) < 0) {
		free(q);
		return NULL;
	}
	return q;
}

static void free_entry(struct cvb_queue_entry *e)
{
	free(e->key);
	free(e);
}

void cvb_queue_free(struct cvb_queue *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->n_slots; i++)
		if (q->slots[i])
			free_entry(q->slots[i]);
	for (size_t l = 0; l < q->n_lanes; l++)
		free(q->lanes[l].v);
	free(q->lanes);
	free(q->delayed.v);
	free(q->slots);
	free(q);
}

static struct heap *lane_heap(struct cvb_queue *q, unsigned lane)
{
	if (lane >= q->n_lanes) {
		struct heap *l = realloc(q->lanes, (lane + 1) * sizeof(*l));
		if (!l)
			return NULL;
		memset(l + q->n_lanes, 0, (lane + 1 - q->n_lanes) * sizeof(*l));
		q->lanes = l;
		q->n_lanes = lane + 1;
	}
	return &q->lanes[lane];
}

int cvb_queue_push(struct cvb_queue *q, const struct cvb_queue_entry *e)
{
	if (cvb_queue_contains(q, e->key))
		return 0;
	if ((q->n_keys + 1) * 2 > q->n_slots && set_grow(q) < 0)
		return -ENOMEM;
	struct heap *h = lane_heap(q, e->lane);
	struct cvb_queue_entry *c = h ? malloc(sizeof(*c)) : NULL;
	if (!c)
		return -ENOMEM;
	*c = *e;
	c->seq = q->next_seq++;
	c->key = strdup(e->key);
	if (!c->key) {
		free(c);
		return -ENOMEM;
	}
	int rc = c->not_before > 0 ? heap_push(&q->delayed, c, due_before)
				   : heap_push(h, c, entry_before);
	if (rc < 0) {
		free_entry(c);
		return rc;
	}
	q->slots[slot_of(q, c->key)] = c;
	q->n_keys++;
	return 1;
}

bool cvb_queue_contains(const struct cvb_queue *q, const char *key)
{
	return q->slots[slot_of(q, key)] != NULL;
}

/* Move delayed entries whose time has come into their lanes. */
static void release_due(struct cvb_queue *q, double now)
{
	while (q->delayed.n > 0 && q->delayed.v[0]->not_before <= now) {
		struct cvb_queue_entry *e = heap_pop(&q->delayed, due_before);
		e->not_before = 0;
		if (heap_push(&q->lanes[e->lane], e, entry_before) < 0) {
			heap_push(&q->delayed, e, due_before); /* cannot fail: it just left */
			return;
		}
	}
}

int cvb_queue_pop(struct cvb_queue *q, double now, const bool *lane_ok, size_t n_lanes,
		  struct cvb_queue_entry *out)
{
	release_due(q, now);
	struct heap *best = NULL;
	for (size_t l = 0; l < q->n_lanes && l < n_lanes; l++) {
		struct heap *h = &q->lanes[l];
		if (lane_ok[l] && h->n > 0 && (!best || entry_before(h->v[0], best->v[0])))
			best = h;
	}
	if (!best)
		return 0;
	struct cvb_queue_entry *e = heap_pop(best, entry_before);
	set_remove(q, e->key);
	*out = *e;
	free(e);
	return 1;
}

size_t cvb_queue_drop_lane(struct cvb_queue *q, unsigned lane)
{
	size_t n = cvb_queue_lane_len(q, lane), got = 0;
	struct cvb_queue_entry **removed = malloc((n ? n : 1) * sizeof(*removed));
	if (!removed)
		return 0;
	if (lane < q->n_lanes)
		got = heap_filter(&q->lanes[lane], lane, entry_before, removed, got);
	got = heap_filter(&q->delayed, lane, due_before, removed, got);
	for (size_t i = 0; i < got; i++) {
		set_remove(q, removed[i]->key);
		free_entry(removed[i]);
	}
	free(removed);
	return got;
}

size_t cvb_queue_len(const struct cvb_queue *q)
{
	return q->n_keys;
}

size_t cvb_queue_lane_len(const struct cvb_queue *q, unsigned lane)
{
	size_t n = lane < q->n_lanes ? q->lanes[lane].n : 0;
	for (size_t i = 0; i < q->delayed.n; i++)
		n += q->delayed.v[i]->lane == lane;
	return n;
}

double cvb_queue_next_due(const struct cvb_queue *q)
{
	return q->delayed.n > 0 ? q->delayed.v[0]->not_before : -1;
}

void cvb_queue_entry_clear(struct cvb_queue_entry *e)
{
	free(e->key);
	memset(e, 0, sizeof(*e));
}
