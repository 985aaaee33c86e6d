/*
 * Output files from a job: every OUTPUT frame is checked (relative name,
 * no "..", no empty or hidden-trick components, within the size budget) and
 * written beneath --output-dir with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS), never replacing an existing file.
 */
#include "host/host.h"

#include "convbox/fdio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_OUTPUT_DEPTH 8

/* Each component non-empty, not "." or "..", at most 255 bytes; no NUL; at most 8 deep. */
static bool valid_rel_name(const char *name, size_t len)
{
	size_t comp = 0, depth = 1;
	if (len == 0 || len > 4096 || name[0] == '/' || memchr(name, 0, len))
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || name[i] == '/') {
			if (comp == 0 || comp > 255 || (comp == 1 && name[i - 1] == '.') ||
			    (comp == 2 && name[i - 1] == '.' && name[i - 2] == '.'))
				return false;
			comp = 0;
			depth++;
			continue;
		}
		comp++;
	}
	return depth - 1 <= MAX_OUTPUT_DEPTH;
}

static int open_beneath(int dirfd, const char *name, int flags, mode_t mode)
{
	struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW),
			       .mode = mode,
			       .resolve =
				   RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	return (int)syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
}

/* Create the parent folders of rel beneath dirfd; returns an fd of the innermost. */
static int make_parents(int dirfd, char *rel, const char **leaf)
{
	int cur = dup(dirfd);
	char *save = NULL, *seg = strtok_r(rel, "/", &save), *next;
	while (cur >= 0 && seg && (next = strtok_r(NULL, "/", &save))) {
		mkdirat(cur, seg, 0755);
		int sub = open_beneath(cur, seg, O_RDONLY | O_DIRECTORY, 0);
		close(cur);
		cur = sub;
		seg = next;
	}
	*leaf = seg;
	return cur;
}

/* name, then name.1.ext, name.2.ext ...: an existing file is never replaced. */
static int create_unique(int dirfd, const char *leaf, char *chosen, size_t len)
{
	const char *dot = strrchr(leaf, '.');
	int stem = dot && dot != leaf ? (int)(dot - leaf) : (int)strlen(leaf);
	for (int n = 0; n < 1000; n++) {
		if (n == 0)
			snprintf(chosen, len, "%s", leaf);
		else
			snprintf(chosen, len, "%.*s.%d%s", stem, leaf, n, leaf + stem);
		int fd = open_beneath(dirfd, chosen, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

static int store_file(const char *outdir, const char *name, const uint8_t *data, size_t len,
		      char *chosen, size_t chosen_len)
{
	char rel[4097];
	const char *leaf = NULL;
	int root = open(outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return -1;
	snprintf(rel, sizeof(rel), "%s", name);
	int dir = make_parents(root, rel, &leaf);
	close(root);
	if (dir < 0 || !leaf)
		return -1;
	int fd = create_unique(dir, leaf, chosen, chosen_len);
	close(dir);
	if (fd < 0)
		return -1;
	int rc = cvb_write_all(fd, data, len);
	if (close(fd) < 0)
		rc = -1;
	return rc;
}

int cvb_host_output_store(struct cvb_sandbox *sb, struct host_job *j, const uint8_t *payload,
			  size_t len)
{
	if (len < 2)
		return -1;
	size_t nlen = (size_t)payload[0] | ((size_t)payload[1] << 8);
	if (2 + nlen > len || !valid_rel_name((const char *)payload + 2, nlen))
		return -1;
	char name[4097];
	memcpy(name, payload + 2, nlen);
	name[nlen] = 0;
	size_t size = len - 2 - nlen;
	uint64_t budget = (uint64_t)sb->opts.limits.max_output_mb << 20;
	if (j->output_bytes + size > budget ||
	    json_array_size(j->outputs) >= sb->opts.limits.max_files) {
		snprintf(j->protocol, sizeof(j->protocol), "outputs exceed the output limit");
		return -1;
	}
	j->output_bytes += size;
	char chosen[300] = "";
	json_t *entry = json_pack("{s:s, s:I}", "name", name, "size", (json_int_t)size);
	if (sb->opts.output_dir) {
		if (store_file(sb->opts.output_dir, name, payload + 2 + nlen, size, chosen,
			       sizeof(chosen)) < 0)
			json_object_set_new(entry, "error",
					    json_sprintf("not stored: %s", strerror(errno)));
		else if (strcmp(chosen, strrchr(name, '/') ? strrchr(name, '/') + 1 : name) != 0)
			json_object_set_new(entry, "stored_as", json_string(chosen));
	}
	json_array_append_new(j->outputs, entry);
	return 0;
}

static void remove_at(int dirfd, const char *name, int depth)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (S_ISDIR(st.st_mode) && depth < 32) {
		int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *d = sub >= 0 ? fdopendir(sub) : NULL;
		for (struct dirent *e; d && (e = readdir(d));)
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				remove_at(sub, e->d_name, depth + 1);
		if (d)
			closedir(d);
		unlinkat(dirfd, name, AT_REMOVEDIR);
		return;
	}
	unlinkat(dirfd, name, 0);
}

void cvb_host_remove_tree(const char *path)
{
	remove_at(AT_FDCWD, path, 0);
}
