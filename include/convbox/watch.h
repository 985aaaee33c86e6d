/*
 * Watch folders for `convbox serve`: which files are complete, and
 * claiming them so that each is converted once.
 *
 * A file is complete when it was closed after writing (inotify
 * IN_CLOSE_WRITE), moved into the folder (IN_MOVED_TO), or found unchanged
 * (same inode, size and modification time) by two looks at the folder at
 * least `settle` seconds apart. Folders are looked at on start-up, every
 * `rescan` seconds as a safety net against lost events, `settle` seconds
 * after a look that found files still changing, and at once after an
 * inotify queue overflow. Only regular files count; names starting with a
 * dot are never touched (writers use them for temporary files, and the
 * processing area is one).
 *
 * Claiming moves a file with one rename into a folder of its own inside
 * `<watch folder>/.convbox-processing/` (same file system, mode 0700), so
 * the converter still sees the original name and no two claims can take
 * the same file. Just before the rename the file is opened and a read lease
 * is taken: the kernel refuses it while anyone has the file open for
 * writing, so a file still being written is not claimed (where leases are
 * not available, e.g. for a file another user owns and no CAP_LEASE, the
 * claim goes ahead on the completeness rules alone). Files left in the
 * processing area by a crash are found again by cvb_watch_recover.
 */
#ifndef CONVBOX_WATCH_H
#define CONVBOX_WATCH_H

#include "convbox/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CVB_PROCESSING_DIR ".convbox-processing"

/*
 * A zip post action is built beside its file in the claim folder under this
 * prefix (`.convbox-zip-<name>.zip`); removing the file commits it, and a
 * claim folder holding only the zip is a post action to finish.
 */
#define CVB_ZIP_PREFIX ".convbox-zip-"

/* A complete file: in folder `folder` (index from cvb_watch_add), or a claimed path. */
struct cvb_watch_file {
	unsigned folder;
	char *name;	  /* file name in the folder; for cvb_watch_recover, the claimed path */
	int64_t mtime_ns; /* modification time, ns since the epoch */
	bool zip;	  /* cvb_watch_recover: a finished zip (name is its path), not an input */
};

/* A growable list of files; the caller frees it with cvb_watch_list_clear. */
struct cvb_watch_list {
	struct cvb_watch_file *v;
	size_t n, cap;
};

void cvb_watch_list_clear(struct cvb_watch_list *l);

struct cvb_watch;

/* An inotify instance with no folders. settle and rescan are in seconds. */
int cvb_watch_open(double settle, double rescan, struct cvb_watch **out, struct cvb_error *err);

void cvb_watch_close(struct cvb_watch *w);

/* The descriptor to poll for events (readable: call cvb_watch_read). */
int cvb_watch_fd(const struct cvb_watch *w);

/*
 * Watch a folder (created when missing). Returns its index (the same
 * index for the same path added twice) or -1. Its first look is due at once.
 */
int cvb_watch_add(struct cvb_watch *w, const char *dir, struct cvb_error *err);

/* A folder's path. */
const char *cvb_watch_dir(const struct cvb_watch *w, unsigned folder);

/*
 * Read pending inotify events without blocking: files closed after
 * writing or moved in are appended to `ready`; an overflow makes every
 * folder's look due at once.
 */
int cvb_watch_read(struct cvb_watch *w, struct cvb_watch_list *ready, struct cvb_error *err);

/*
 * Look at every folder whose look is due: files unchanged since the
 * previous look are appended to `ready` (every time, so the caller dedupes),
 * except files marked as kept (see cvb_spool_keep).
 */
int cvb_watch_scan(struct cvb_watch *w, double now, struct cvb_watch_list *ready);

/* Make every folder's look due now (after a reload, or a converter coming back). */
void cvb_watch_rescan_all(struct cvb_watch *w);

/* When the next look is due (monotonic seconds). */
double cvb_watch_next_due(const struct cvb_watch *w);

enum cvb_claim {
	CVB_CLAIM_GONE = 0, /* the file is no longer there (or not a regular file) */
	CVB_CLAIM_OK = 1,   /* moved into the processing area */
	CVB_CLAIM_BUSY = 2, /* someone still has it open for writing */
};

/*
 * Claim `name` in watch folder `dir`: on CVB_CLAIM_OK, *claimed (malloc'd)
 * is its path in the processing area. -1 with err on failure.
 */
int cvb_watch_claim(const char *dir, const char *name, char **claimed, struct cvb_error *err);

/*
 * Files left in `dir`'s processing area (a crash between claim and post
 * action): appended to `found` with the claimed path as name and folder set
 * to `folder`. A zip beside its input is removed (its post action never
 * happened); a zip alone is listed with zip set. Empty claim folders are
 * removed.
 */
int cvb_watch_recover(const char *dir, unsigned folder, struct cvb_watch_list *found,
		      struct cvb_error *err);

/* Remove the claim folder of a claimed path once its file has left it. */
void cvb_watch_release(const char *claimed);

/* Give a claimed file back to its watch folder (unique name), removing the claim. */
int cvb_watch_unclaim(const char *claimed, const char *dir, struct cvb_error *err);

/* The original file name of a claimed path (its last component). */
const char *cvb_watch_name(const char *claimed);

#endif
