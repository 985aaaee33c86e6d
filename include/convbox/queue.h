/*
 * The conversion queue of `convbox serve`: files waiting for a worker.
 *
 * Entries are ordered by priority (1 first), then age (the file's
 * modification time, oldest first), then the order they were pushed. Each
 * entry belongs to a lane (one lane per converter); a pop names the lanes
 * that may run now, so a converter that is restarting holds back its own
 * files and nobody else's. An entry may carry a not-before time (a
 * suspended conversion waiting for its retry); it is invisible to pop until
 * then. Keys are unique: pushing a key that is already queued (waiting or
 * delayed) does nothing, so a file reported twice by the watcher is queued
 * once.
 *
 * Pop is O(lanes + log n); push is O(log n). Nothing here touches files.
 */
#ifndef CONVBOX_QUEUE_H
#define CONVBOX_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cvb_queue_entry {
	char *key;	    /* the file's path: unique in the queue, owned by the entry */
	unsigned lane;	    /* converter index */
	int priority;	    /* 1 first .. 10 last */
	int64_t arrival_ns; /* age: the file's modification time, ns since the epoch */
	double not_before;  /* monotonic seconds; invisible to pop before then (0: now) */
	bool claimed;	    /* key is a path in the processing area, not the watch folder */
	unsigned attempts;  /* conversions that ended on our side (driver or sandbox died) */
	unsigned suspends;  /* times the converter answered Suspended */
	uint64_t seq;	    /* set by push: tie-break, first pushed first */
};

struct cvb_queue;

/* An empty queue, or NULL when out of memory. */
struct cvb_queue *cvb_queue_new(void);

/* Free the queue and every entry still in it. NULL is ignored. */
void cvb_queue_free(struct cvb_queue *q);

/*
 * Queue a copy of *e (the key is duplicated; e->seq is ignored). Returns 1
 * when queued, 0 when the key is already queued (nothing changes), -ENOMEM.
 */
int cvb_queue_push(struct cvb_queue *q, const struct cvb_queue_entry *e);

/* Whether a key is queued (waiting or delayed). */
bool cvb_queue_contains(const struct cvb_queue *q, const char *key);

/*
 * Take the best entry whose lane is allowed (lane_ok[lane] true; lanes at
 * or beyond n_lanes are not allowed) and whose not-before time has come.
 * Returns 1 with *out filled (the caller owns out->key; free it with
 * cvb_queue_entry_clear), 0 when no such entry exists.
 */
int cvb_queue_pop(struct cvb_queue *q, double now, const bool *lane_ok, size_t n_lanes,
		  struct cvb_queue_entry *out);

/* Remove every entry of one lane (a converter that was removed). Returns how many. */
size_t cvb_queue_drop_lane(struct cvb_queue *q, unsigned lane);

/* Entries queued, waiting and delayed. */
size_t cvb_queue_len(const struct cvb_queue *q);

/* Entries of one lane, waiting and delayed. */
size_t cvb_queue_lane_len(const struct cvb_queue *q, unsigned lane);

/* The earliest not-before time of a delayed entry, or -1 when none is delayed. */
double cvb_queue_next_due(const struct cvb_queue *q);

/* Free what an entry owns (its key) and zero it. */
void cvb_queue_entry_clear(struct cvb_queue_entry *e);

#endif
