/*
 * After the converter returns, what it left in its output folder goes to the
 * host as OUTPUT frames: regular files only, opened without following
 * symlinks and without blocking (a planted FIFO cannot hang the job), within
 * the output budget. The host re-checks every name and size.
 */
#include "runner/runner.h"

#include "convbox/frame.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEPTH 8

struct walk {
	struct cvb_job *job;
	uint64_t budget;
	unsigned files;
};

static int send_file(struct walk *w, int fd, const char *rel, off_t size)
{
	size_t nlen = strlen(rel);
	if ((uint64_t)size > w->budget || nlen > 4096 ||
	    2 + nlen + (size_t)size > w->job->spec.max_frame)
		return -EFBIG;
	uint8_t *buf = malloc(2 + nlen + (size_t)size);
	if (!buf)
		return -ENOMEM;
	buf[0] = (uint8_t)nlen;
	buf[1] = (uint8_t)(nlen >> 8);
	memcpy(buf + 2, rel, nlen);
	size_t got = 0;
	while (got < (size_t)size) {
		ssize_t n = read(fd, buf + 2 + nlen + got, (size_t)size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	int rc = cvb_frame_write(w->job->channel_fd, CVB_FRAME_OUTPUT, w->job->spec.job_id, buf,
				 2 + nlen + got);
	free(buf);
	w->budget -= got;
	w->files++;
	return rc == CVB_FRAME_OK ? 0 : -EIO;
}

static int walk_dir(struct walk *w, int dirfd, const char *prefix, int depth);

static int visit(struct walk *w, int dirfd, const char *name, const char *prefix, int depth)
{
	char rel[4096];
	struct stat st;
	if ((size_t)snprintf(rel, sizeof(rel), "%s%s", prefix, name) >= sizeof(rel) - 1)
		return 0; /* deeper than any name the host would accept */
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH) {
		int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			return 0;
		char sub_prefix[4096 + 2];
		snprintf(sub_prefix, sizeof(sub_prefix), "%s/", rel);
		return walk_dir(w, sub, sub_prefix, depth + 1);
	}
	if (!S_ISREG(st.st_mode))
		return 0; /* symlinks, fifos, sockets, devices: never collected */
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	int rc = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? send_file(w, fd, rel, st.st_size) : 0;
	close(fd);
	return rc;
}

static int walk_dir(struct walk *w, int dirfd, const char *prefix, int depth)
{
	DIR *d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return 0;
	}
	int rc = 0;
	for (struct dirent *e; rc == 0 && (e = readdir(d));) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		rc = visit(w, dirfd, e->d_name, prefix, depth);
	}
	closedir(d);
	return rc;
}

int cvb_outputs_send(struct cvb_job *j, uint64_t budget_bytes)
{
	if (!j->output_view)
		return 0;
	int fd = open(j->output_view, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	struct walk w = {.job = j, .budget = budget_bytes};
	int rc = walk_dir(&w, fd, "", 0);
	if (rc == -EFBIG)
		j->signals->fsize_hit = 1;
	return rc;
}
