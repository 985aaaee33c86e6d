/*
 * Unit tests for the conversion queue (include/convbox/queue.h): priority
 * first, then age, then push order; lanes that may not run hold back only
 * their own entries; delayed entries wait for their time; keys are unique;
 * a randomised run against a naive model.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "convbox/queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const bool all_lanes[16] = {true, true, true, true, true, true, true, true,
				   true, true, true, true, true, true, true, true};

static int push(struct cvb_queue *q, const char *key, unsigned lane, int prio, int64_t arrival,
		double not_before)
{
	struct cvb_queue_entry e = {.key = (char *)(uintptr_t)key,
				    .lane = lane,
				    .priority = prio,
				    .arrival_ns = arrival,
				    .not_before = not_before};
	return cvb_queue_push(q, &e);
}

/* Pop one entry and compare its key; "" means nothing may be popped. */
static void expect_pop(struct cvb_queue *q, double now, const bool *ok, size_t n, const char *key)
{
	struct cvb_queue_entry e;
	int rc = cvb_queue_pop(q, now, ok, n, &e);
	if (!*key) {
		assert_int_equal(rc, 0);
		return;
	}
	assert_int_equal(rc, 1);
	assert_string_equal(e.key, key);
	cvb_queue_entry_clear(&e);
}

static void test_priority_then_age(void **state)
{
	struct cvb_queue *q = cvb_queue_new();
	assert_int_equal(push(q, "p5-new", 0, 5, 300, 0), 1);
	assert_int_equal(push(q, "p5-old", 0, 5, 100, 0), 1);
	assert_int_equal(push(q, "p2", 1, 2, 900, 0), 1);
	assert_int_equal(push(q, "p9", 2, 9, 1, 0), 1);
	assert_int_equal(push(q, "p5-same-age-later", 0, 5, 100, 0), 1);
	expect_pop(q, 0, all_lanes, 16, "p2");
	expect_pop(q, 0, all_lanes, 16, "p5-old");
	expect_pop(q, 0, all_lanes, 16, "p5-same-age-later");
	expect_pop(q, 0, all_lanes, 16, "p5-new");
	expect_pop(q, 0, all_lanes, 16, "p9");
	expect_pop(q, 0, all_lanes, 16, "");
	assert_int_equal(cvb_queue_len(q), 0);
	cvb_queue_free(q);
}

/* The case: a priority-1 file arriving behind 10,000 priority-8 files is next. */
static void test_priority_one_behind_backlog(void **state)
{
	struct cvb_queue *q = cvb_queue_new();
	char key[64];
	for (int i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "/w/backlog-%05d.csv", i);
		assert_int_equal(push(q, key, 0, 8, i, 0), 1);
	}
	expect_pop(q, 0, all_lanes, 16, "/w/backlog-00000.csv");
	assert_int_equal(push(q, "/w/urgent.csv", 1, 1, 1000000, 0), 1);
	expect_pop(q, 0, all_lanes, 16, "/w/urgent.csv");
	expect_pop(q, 0, all_lanes, 16, "/w/backlog-00001.csv");
	assert_int_equal(cvb_queue_len(q), 9998);
	cvb_queue_free(q);
}

static void test_duplicate_keys(void **state)
{
	struct cvb_queue *q = cvb_queue_new();
	assert_int_equal(push(q, "a", 0, 5, 1, 0), 1);
	assert_int_equal(push(q, "a", 1, 1, 0, 0), 0);
	assert_true(cvb_queue_contains(q, "a"));
	assert_false(cvb_queue_contains(q, "b"));
	assert_int_equal(cvb_queue_len(q), 1);
	expect_pop(q, 0, all_lanes, 16, "a");
	assert_false(cvb_queue_contains(q, "a"));
	/* Popped keys may come back (the same name dropped again). */
	assert_int_equal(push(q, "a", 0, 5, 1, 0), 1);
	cvb_queue_free(q);
}

static void test_lane_not_allowed(void **state)
{
	struct cvb_queue *q = cvb_queue_new();
	bool ok[3] = {true, false, true};
	push(q, "lane1-best", 1, 1, 0, 0);
	push(q, "lane0", 0, 5, 0, 0);
	push(q, "lane2", 2, 7, 0, 0);
	expect_pop(q, 0, ok, 3, "lane0");
	expect_pop(q, 0, ok, 3, "lane2");
	expect_pop(q, 0, ok, 3, "");
	expect_pop(q, 0, ok, 1, "");
	assert_int_equal(cvb_queue_lane_len(q, 1), 1);
	ok[1] = true;
	expect_pop(q, 0, ok, 3, "lane1-best");
	cvb_queue_free(q);
}

static void test_delayed(void **state)
{
	struct cvb_queue *q = cvb_queue_new();
	assert_true(cvb_queue_next_due(q) < 0);
	push(q, "later", 0, 1, 0, 20.0);
	push(q, "soon", 0, 1, 5, 10.0);
	push(q, "now", 0, 9, 9, 0);
	assert_int_equal(cvb_queue_len(q), 3);
	assert_true(cvb_queue_contains(q, "later"));
	assert_true(cvb_queue_next_due(q) == 10.0);
	expect_pop(q, 5.0, all_lanes, 16, "now");
	expect_pop(q, 5.0, all_lanes, 16, "");
	expect_pop(q, 10.0, all_lanes, 16, "soon");
	assert_true(cvb_queue_next_due(q) == 20.0);
	/* Once due, a delayed entry competes by priority and age like any other. */
	push(q, "p1-young", 0, 1, 100, 0);
	expect_pop(q, 25.0, all_lanes, 16, "later");
	expect_pop(q, 25.0, all_lanes, 16, "p1-young");
	assert_true(cvb_queue_next_due(q) < 0);
	cvb_queue_free(q);
}

static void test_drop_lane(void **state)
{
	struct cvb_queue *q = cvb_queue_new();
	push(q, "a0", 0, 1, 0, 0);
	push(q, "a1", 1, 1, 1, 0);
	push(q, "a1-delayed", 1, 1, 1, 50.0);
	push(q, "b0", 0, 2, 2, 0);
	assert_int_equal(cvb_queue_drop_lane(q, 1), 2);
	assert_int_equal(cvb_queue_drop_lane(q, 7), 0);
	assert_false(cvb_queue_contains(q, "a1"));
	assert_false(cvb_queue_contains(q, "a1-delayed"));
	assert_int_equal(cvb_queue_len(q), 2);
	expect_pop(q, 100, all_lanes, 16, "a0");
	expect_pop(q, 100, all_lanes, 16, "b0");
	expect_pop(q, 100, all_lanes, 16, "");
	cvb_queue_free(q);
}

static void test_entry_fields_survive(void **state)
{
	struct cvb_queue *q = cvb_queue_new();
	struct cvb_queue_entry e = {.key = (char *)(uintptr_t) "/p/x",
				    .lane = 3,
				    .priority = 4,
				    .arrival_ns = 77,
				    .claimed = true,
				    .attempts = 2,
				    .suspends = 3};
	assert_int_equal(cvb_queue_push(q, &e), 1);
	struct cvb_queue_entry out;
	assert_int_equal(cvb_queue_pop(q, 0, all_lanes, 16, &out), 1);
	assert_int_equal(out.lane, 3);
	assert_int_equal(out.priority, 4);
	assert_int_equal(out.arrival_ns, 77);
	assert_true(out.claimed);
	assert_int_equal(out.attempts, 2);
	assert_int_equal(out.suspends, 3);
	cvb_queue_entry_clear(&out);
	assert_null(out.key);
	cvb_queue_free(q);
}

/* A naive model: the best allowed, due entry by a linear scan. */
struct model_entry {
	char key[16];
	unsigned lane;
	int prio;
	int64_t arrival;
	double not_before;
	uint64_t seq;
	bool live;
};

static int model_best(const struct model_entry *m, size_t n, double now, const bool *ok)
{
	int best = -1;
	for (size_t i = 0; i < n; i++) {
		if (!m[i].live || !ok[m[i].lane] || m[i].not_before > now)
			continue;
		const struct model_entry *b = best >= 0 ? &m[best] : NULL;
		if (!b || m[i].prio < b->prio ||
		    (m[i].prio == b->prio && m[i].arrival < b->arrival) ||
		    (m[i].prio == b->prio && m[i].arrival == b->arrival && m[i].seq < b->seq))
			best = (int)i;
	}
	return best;
}

static void test_random_against_model(void **state)
{
	enum { N = 3000 };
	struct model_entry *m = calloc(N, sizeof(*m));
	struct cvb_queue *q = cvb_queue_new();
	size_t n = 0;
	uint64_t seq = 0;
	srand(12345);
	for (int step = 0; step < 20000; step++) {
		double now = step / 10.0;
		bool ok[4] = {true, rand() % 4 != 0, true, rand() % 2 == 0};
		if (n < N && rand() % 3 != 0) {
			struct model_entry *e = &m[n];
			snprintf(e->key, sizeof(e->key), "k%zu", n);
			e->lane = (unsigned)(rand() % 4);
			e->prio = 1 + rand() % 10;
			e->arrival = rand() % 50;
			e->not_before = rand() % 5 == 0 ? now + rand() % 30 : 0;
			e->seq = seq++;
			e->live = true;
			assert_int_equal(
			    push(q, e->key, e->lane, e->prio, e->arrival, e->not_before), 1);
			n++;
			continue;
		}
		int want = model_best(m, n, now, ok);
		expect_pop(q, now, ok, 4, want >= 0 ? m[want].key : "");
		if (want >= 0)
			m[want].live = false;
	}
	size_t live = 0;
	for (size_t i = 0; i < n; i++)
		live += m[i].live;
	assert_int_equal(cvb_queue_len(q), live);
	cvb_queue_free(q);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_priority_then_age),
	    cmocka_unit_test(test_priority_one_behind_backlog),
	    cmocka_unit_test(test_duplicate_keys),
	    cmocka_unit_test(test_lane_not_allowed),
	    cmocka_unit_test(test_delayed),
	    cmocka_unit_test(test_drop_lane),
	    cmocka_unit_test(test_entry_fields_survive),
	    cmocka_unit_test(test_random_against_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
