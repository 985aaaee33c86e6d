/*
 * Making a conversion durable: report ids, the report spool, and what
 * happens to the input file afterwards.
 *
 * The spool is a folder of `<id>.queued` files, one WATS report each, the
 * naming of the official WATS client (an uploader renames them to
 * `.transferring`, `.transferred` or `.error`). A report is written to a
 * temporary file, fsync'd, and given its final name in one step (a link
 * that never replaces, or a rename over an older queued copy of the same
 * id); cvb_spool_sync then makes the names durable. So a `.queued` file is
 * always complete, and the spool holds one file per id.
 *
 * A report without an id gets one derived from the converter's name, the
 * file's name, the SHA-256 of its bytes and the report's index in the
 * result: the same file converted again after a crash gets the same id, so
 * the spool keeps one copy, and an upload of it replaces rather than
 * duplicates; two files of the same bytes under other names are two reports.
 *
 * Post actions never overwrite: a file moved into Done or Error under a
 * name that is taken gets a unique name instead. Across file systems a move
 * is a copy to a temporary name, fsync, link, unlink.
 */
#ifndef CONVBOX_SPOOL_H
#define CONVBOX_SPOOL_H

#include "convbox/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CVB_UUID_LEN 36 /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" */

/* SHA-256 (FIPS 180-4), incremental. */
struct cvb_sha256 {
	uint32_t h[8];
	uint64_t bytes;
	uint8_t buf[64];
	size_t n;
};

void cvb_sha256_init(struct cvb_sha256 *s);
void cvb_sha256_update(struct cvb_sha256 *s, const void *data, size_t len);
void cvb_sha256_final(struct cvb_sha256 *s, uint8_t out[32]);

/* SHA-256 of a whole file; -1 with err naming the file on failure. */
int cvb_sha256_file(const char *path, uint8_t out[32], struct cvb_error *err);

/* Lower-case hex of a digest into out[65]. */
void cvb_sha256_hex(const uint8_t digest[32], char out[65]);

/*
 * The stable id of report number `index` of the file `name` converted by
 * `converter` whose content has SHA-256 `content`: a UUID (RFC 9562
 * version 8, the SHA-256 based form) in lower case, into out[37].
 */
void cvb_spool_derive_id(const char *converter, const char *name, const uint8_t content[32],
			 size_t index, char out[CVB_UUID_LEN + 1]);

/* Whether s is a UUID in the 8-4-4-4-12 hex form (either case). */
bool cvb_spool_is_uuid(const char *s);

/* Station fields put into reports that do not carry them (NULL: leave out). */
struct cvb_station {
	const char *machine_name;
	const char *location;
	const char *purpose;
};

/*
 * Make one report ready for the spool. It must be a JSON object; its "id",
 * when present, must be a UUID string, else derived_id is inserted; the
 * station fields the report lacks are inserted. Insertion is textual, at
 * the start of the object, so every byte the converter wrote (numbers
 * included) is kept. On success *out (malloc'd, *out_len bytes, NUL
 * terminated) is the report and id[] its id in lower case.
 */
int cvb_spool_prepare_report(const char *raw, size_t len, const char *derived_id,
			     const struct cvb_station *st, char **out, size_t *out_len,
			     char id[CVB_UUID_LEN + 1], struct cvb_error *err);

struct cvb_spool;

/*
 * Open (creating it and its parents) the spool folder and remove temporary
 * files an interrupted write left behind.
 */
int cvb_spool_open(const char *dir, struct cvb_spool **out, struct cvb_error *err);

void cvb_spool_close(struct cvb_spool *sp);

/* The spool folder's path. */
const char *cvb_spool_path(const struct cvb_spool *sp);

/* Whether `<id>.queued`, `.transferring`, `.transferred` or `.error` exists. */
bool cvb_spool_has(const struct cvb_spool *sp, const char *id);

/*
 * Write a report as `<id>.queued`: temporary file, fsync, link under the
 * final name. The spool keeps one file per id, as WATS keeps one report
 * per id: when the id is already there with the same bytes (the same file
 * converted again after a crash) nothing is written and 0 is returned;
 * with other bytes a queued copy is replaced (rename over it) and one
 * already transferred is queued again, returning 2; a new id returns 1.
 * -1 on failure. The name is durable only after cvb_spool_sync.
 */
int cvb_spool_put(struct cvb_spool *sp, const char *id, const char *text, size_t len,
		  struct cvb_error *err);

/* fsync the spool folder: every name put so far survives a crash. */
int cvb_spool_sync(struct cvb_spool *sp, struct cvb_error *err);

/*
 * Move a file into dst_dir (created when missing) under its own name, or a
 * unique variant of it (`name_<time>.ext`) when that is taken; never
 * replaces. *final (malloc'd, may be NULL) receives the new path.
 */
int cvb_spool_move_unique(const char *src, const char *dst_dir, char **final,
			  struct cvb_error *err);

/* The same under another name (and its unique variants) in dst_dir. */
int cvb_spool_move_as(const char *src, const char *dst_dir, const char *name, char **final,
		      struct cvb_error *err);

/*
 * Write a zip archive holding the file (stored, no compression; its name,
 * time and mode kept) at zip_path: a temporary file in that folder, fsync,
 * rename. The file itself is left alone. Files of 4 GiB and more are refused.
 */
int cvb_spool_zip_file(const char *src, const char *zip_path, struct cvb_error *err);

/*
 * The post action "keep": mark the file as converted (extended attribute
 * user.convbox.kept = its size and modification time) and move it back
 * into its watch folder, unique-named. Fails with ENOTSUP in err when the
 * file system has no user extended attributes; the caller then moves it
 * elsewhere rather than converting it forever.
 */
int cvb_spool_keep(const char *src, const char *watch_dir, char **final, struct cvb_error *err);

/* Whether a file carries a "kept" mark matching its current size and time. */
bool cvb_spool_is_kept(int dirfd, const char *name);

/*
 * Write `text` durably as a new file in `dir` named `name`, or a unique
 * variant of it (shortened when too long): never replaces a file. The path
 * written into *final when given.
 */
int cvb_spool_write_new(const char *dir, const char *name, const char *text, size_t len,
			char **final, struct cvb_error *err);

/* Remove temporary files an interrupted move, zip or write left in a folder. */
void cvb_spool_sweep_temps(const char *dir);

/*
 * mkdir -p; 0 when the folder exists afterwards and belongs to the service
 * or root (so does a symbolic link naming it): a folder files are moved or
 * written into (Done, Error, the spool).
 */
int cvb_spool_mkdirs(const char *dir, struct cvb_error *err);

/* mkdir -p for a folder others may own and write into: a watch folder. */
int cvb_spool_mkdirs_shared(const char *dir, struct cvb_error *err);

#endif
