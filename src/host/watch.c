/*
 * Watch folders: inotify for the fast path, looks at the folder (two looks
 * agreeing) as the safety net, and claiming by rename into the processing
 * area. See convbox/watch.h for the rules.
 */
#include "convbox/watch.h"
#include "convbox/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR | IN_DELETE_SELF | IN_MOVE_SELF)

/* What one look saw of one file. */
struct seen {
	char *name;
	ino_t ino;
	off_t size;
	int64_t mtime_ns;
};

struct folder {
	char *path;
	int fd; /* the folder, O_DIRECTORY; -1 until (re)attached */
	int wd; /* inotify watch, -1 when lost */
	struct seen *prev;
	size_t n_prev;
	double next_look;
};

struct cvb_watch {
	int ifd;
	double settle, rescan;
	struct folder *f;
	size_t n;
};

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static int list_add_kind(struct cvb_watch_list *l, unsigned folder, const char *name, int64_t mt,
			 bool zip)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct cvb_watch_file *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	char *copy = strdup(name);
	if (!copy)
		return -1;
	l->v[l->n++] =
	    (struct cvb_watch_file){.folder = folder, .name = copy, .mtime_ns = mt, .zip = zip};
	return 0;
}

void cvb_watch_list_clear(struct cvb_watch_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int list_add(struct cvb_watch_list *l, unsigned folder, const char *name, int64_t mt)
{
	return list_add_kind(l, folder, name, mt, false);
}

int cvb_watch_open(double settle, double rescan, struct cvb_watch **out, struct cvb_error *err)
{
	struct cvb_watch *w = calloc(1, sizeof(*w));
	*out = NULL;
	if (!w)
		return cvb_error_set(err, "out of memory");
	w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->ifd < 0) {
		free(w);
		return cvb_error_errno(err, errno, "inotify_init1");
	}
	w->settle = settle;
	w->rescan = rescan;
	*out = w;
	return 0;
}

static void free_seen(struct seen *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i].name);
	free(s);
}

void cvb_watch_close(struct cvb_watch *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n; i++) {
		if (w->f[i].fd >= 0)
			close(w->f[i].fd);
		free_seen(w->f[i].prev, w->f[i].n_prev);
		free(w->f[i].path);
	}
	free(w->f);
	close(w->ifd);
	free(w);
}

int cvb_watch_fd(const struct cvb_watch *w)
{
	return w->ifd;
}

const char *cvb_watch_dir(const struct cvb_watch *w, unsigned folder)
{
	return folder < w->n ? w->f[folder].path : NULL;
}

/* Open the folder (creating it) and put an inotify watch on it. */
static int attach(struct cvb_watch *w, struct folder *f, struct cvb_error *err)
{
	if (f->fd < 0) {
		if (cvb_spool_mkdirs_shared(f->path, err) < 0) /* a station user's, maybe */
			return -1;
		f->fd = open(f->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (f->fd < 0)
			return cvb_error_errno(err, errno, "cannot open watch folder '%s'",
					       f->path);
	}
	if (f->wd < 0) {
		f->wd = inotify_add_watch(w->ifd, f->path, WATCH_MASK);
		if (f->wd < 0)
			return cvb_error_errno(err, errno, "cannot watch '%s'", f->path);
	}
	return 0;
}

int cvb_watch_add(struct cvb_watch *w, const char *dir, struct cvb_error *err)
{
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->f[i].path, dir) == 0)
			return (int)i;
	struct folder *f = realloc(w->f, (w->n + 1) * sizeof(*f));
	if (!f)
		return cvb_error_set(err, "out of memory");
	w->f = f;
	f = &w->f[w->n];
	*f = (struct folder){.path = strdup(dir), .fd = -1, .wd = -1};
	if (!f->path)
		return cvb_error_set(err, "out of memory");
	w->n++;
	if (attach(w, f, err) < 0)
		return -1;
	return (int)(w->n - 1);
}

static struct folder *folder_by_wd(struct cvb_watch *w, int wd, unsigned *idx)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->f[i].wd == wd) {
			*idx = (unsigned)i;
			return &w->f[i];
		}
	return NULL;
}

/* A name event: report the file when it is a regular, visible one. */
static int on_name(struct folder *f, unsigned idx, const char *name, struct cvb_watch_list *ready)
{
	struct stat st;
	if (name[0] == '.' || fstatat(f->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode) || cvb_spool_is_kept(f->fd, name))
		return 0;
	return list_add(ready, idx, name, mtime_ns(&st));
}

/* The folder itself went away: look again (and re-create it) at once. */
static void on_lost(struct cvb_watch *w, struct folder *f)
{
	if (f->wd >= 0)
		inotify_rm_watch(w->ifd, f->wd);
	f->wd = -1;
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	f->next_look = 0;
}

static int on_event(struct cvb_watch *w, const struct inotify_event *ev,
		    struct cvb_watch_list *ready)
{
	unsigned idx = 0;
	if (ev->mask & IN_Q_OVERFLOW) {
		cvb_watch_rescan_all(w);
		return 0;
	}
	struct folder *f = folder_by_wd(w, ev->wd, &idx);
	if (!f)
		return 0;
	if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
		if (ev->mask & IN_IGNORED)
			f->wd = -1; /* the kernel already removed it */
		on_lost(w, f);
		return 0;
	}
	if (ev->len > 0 && (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)))
		return on_name(f, idx, ev->name, ready);
	return 0;
}

int cvb_watch_read(struct cvb_watch *w, struct cvb_watch_list *ready, struct cvb_error *err)
{
	char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(w->ifd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return cvb_error_errno(err, n < 0 ? errno : EIO, "reading inotify events");
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)(void *)p;
			if (on_event(w, ev, ready) < 0)
				return cvb_error_set(err, "out of memory");
			p += sizeof(*ev) + ev->len;
		}
	}
}

static int seen_cmp(const void *a, const void *b)
{
	return strcmp(((const struct seen *)a)->name, ((const struct seen *)b)->name);
}

/* One look: every visible regular file with its identity, sorted by name. */
static int look(struct folder *f, struct seen **out, size_t *n_out)
{
	int dfd = openat(f->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct seen *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	while ((e = readdir(d))) {
		struct stat st;
		if (e->d_name[0] == '.' || (e->d_type != DT_REG && e->d_type != DT_UNKNOWN) ||
		    fstatat(f->fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			struct seen *nv = realloc(v, cap * sizeof(*nv));
			if (!nv)
				break;
			v = nv;
		}
		v[n] = (struct seen){strdup(e->d_name), st.st_ino, st.st_size, mtime_ns(&st)};
		if (v[n].name)
			n++;
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof(*v), seen_cmp);
	*out = v;
	*n_out = n;
	return 0;
}

/* Report files the previous look saw the same; true when some file is still changing. */
static bool compare_looks(struct folder *f, unsigned idx, struct seen *cur, size_t n,
			  struct cvb_watch_list *ready)
{
	bool changing = false;
	for (size_t i = 0; i < n; i++) {
		struct seen *p =
		    f->n_prev ? bsearch(&cur[i], f->prev, f->n_prev, sizeof(*p), seen_cmp) : NULL;
		bool same = p && p->ino == cur[i].ino && p->size == cur[i].size &&
			    p->mtime_ns == cur[i].mtime_ns;
		if (!same)
			changing = true;
		else if (!cvb_spool_is_kept(f->fd, cur[i].name))
			list_add(ready, idx, cur[i].name, cur[i].mtime_ns);
	}
	return changing;
}

static void scan_folder(struct cvb_watch *w, struct folder *f, unsigned idx, double now,
			struct cvb_watch_list *ready)
{
	struct seen *cur = NULL;
	size_t n = 0;
	struct cvb_error err;
	if ((f->fd < 0 || f->wd < 0) && attach(w, f, &err) < 0) {
		f->next_look = now + w->rescan; /* try again later; the caller sees nothing */
		return;
	}
	if (look(f, &cur, &n) < 0) {
		f->next_look = now + w->rescan;
		return;
	}
	bool changing = compare_looks(f, idx, cur, n, ready);
	free_seen(f->prev, f->n_prev);
	f->prev = cur;
	f->n_prev = n;
	f->next_look = now + (changing ? w->settle : w->rescan);
}

int cvb_watch_scan(struct cvb_watch *w, double now, struct cvb_watch_list *ready)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->f[i].next_look <= now)
			scan_folder(w, &w->f[i], (unsigned)i, now, ready);
	return 0;
}

void cvb_watch_rescan_all(struct cvb_watch *w)
{
	for (size_t i = 0; i < w->n; i++)
		w->f[i].next_look = 0;
}

double cvb_watch_next_due(const struct cvb_watch *w)
{
	double next = mono_now() + w->rescan;
	for (size_t i = 0; i < w->n; i++)
		if (w->f[i].next_look < next)
			next = w->f[i].next_look;
	return next;
}

/* ---- claiming ---- */

/*
 * The processing area must be the service's own and writable by it alone
 * (it makes it 0700): in a shared watch folder another user could have made
 * it first, and then swap a claim folder for a link while its file converts.
 */
static int own_processing(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -1;
	if (st.st_uid != geteuid() || (st.st_mode & 022)) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

static int not_own_processing(struct cvb_error *err, const char *path)
{
	return cvb_error_set(err,
			     "'%s' is not the service's own folder, writable by it alone "
			     "(did another user make it?): remove it, the service makes its own",
			     path);
}

/* The processing area of a watch folder, created 0700 when missing. */
static int open_processing(int dirfd)
{
	if (mkdirat(dirfd, CVB_PROCESSING_DIR, 0700) < 0 && errno != EEXIST)
		return -1;
	int fd = openat(dirfd, CVB_PROCESSING_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && own_processing(fd) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * What the rename took must be the file that was checked (fd): between the
 * check and the rename, whoever may write the watch folder can put another
 * entry in its place, a symbolic link above all. Anything else is put back.
 * Where its name was taken again meanwhile, a link or an empty folder is
 * removed, and another regular file stays claimed: it is safe where it is.
 */
static int check_claimed(int dirfd, const char *name, int procfd, const char *target,
			 const char *cdir, int fd)
{
	struct stat want, got;
	if (fstatat(procfd, target, &got, AT_SYMLINK_NOFOLLOW) < 0) {
		unlinkat(procfd, cdir, AT_REMOVEDIR);
		return CVB_CLAIM_GONE;
	}
	if (fstat(fd, &want) == 0 && S_ISREG(got.st_mode) && got.st_dev == want.st_dev &&
	    got.st_ino == want.st_ino)
		return CVB_CLAIM_OK;
	if (renameat2(procfd, target, dirfd, name, RENAME_NOREPLACE) < 0) {
		if (S_ISREG(got.st_mode))
			return CVB_CLAIM_OK;
		unlinkat(procfd, target, S_ISDIR(got.st_mode) ? AT_REMOVEDIR : 0);
	}
	unlinkat(procfd, cdir, AT_REMOVEDIR);
	return CVB_CLAIM_GONE;
}

/* A new, empty claim folder; its name into out[64]. */
static int make_claim_dir(int procfd, char out[64])
{
	for (int tries = 0; tries < 100; tries++) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		snprintf(out, 64, "%lld%09ld-%d-%d", (long long)ts.tv_sec, ts.tv_nsec,
			 (int)getpid(), tries);
		if (mkdirat(procfd, out, 0700) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

/*
 * Hold a read lease while renaming: the kernel grants it only when nobody
 * has the file open for writing. EAGAIN = busy; other errors (not the
 * owner, leases disabled, a file system without them) skip the check.
 */
static int lease_busy(int fd)
{
	if (fcntl(fd, F_SETLEASE, F_RDLCK) == 0)
		return 0;
	return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -1;
}

static int claim_fd(int dirfd, const char *name, int *out)
{
	struct stat st;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ELOOP || errno == ENXIO ? CVB_CLAIM_GONE : -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return CVB_CLAIM_GONE;
	}
	*out = fd;
	return CVB_CLAIM_OK;
}

static int do_claim(int dirfd, const char *dir, const char *name, char **claimed,
		    struct cvb_error *err)
{
	char cdir[64], target[64 + NAME_MAX + 2];
	int fd = -1, procfd = -1, rc = claim_fd(dirfd, name, &fd);
	if (rc != CVB_CLAIM_OK)
		return rc < 0 ? cvb_error_errno(err, errno, "cannot open '%s/%s'", dir, name) : rc;
	int leased = lease_busy(fd);
	if (leased == 1) {
		rc = CVB_CLAIM_BUSY;
		goto out_close_fd;
	}
	procfd = open_processing(dirfd);
	if (procfd < 0 && errno == EPERM) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", dir, CVB_PROCESSING_DIR);
		rc = not_own_processing(err, path);
		goto out_unlease;
	}
	if (procfd < 0 || make_claim_dir(procfd, cdir) < 0) {
		rc = cvb_error_errno(err, errno, "cannot create a claim in '%s/%s'", dir,
				     CVB_PROCESSING_DIR);
		goto out_unlease;
	}
	snprintf(target, sizeof(target), "%s/%s", cdir, name);
	if (renameat(dirfd, name, procfd, target) < 0) {
		rc = errno == ENOENT
			 ? CVB_CLAIM_GONE
			 : cvb_error_errno(err, errno, "cannot claim '%s/%s'", dir, name);
		unlinkat(procfd, cdir, AT_REMOVEDIR);
	} else if ((rc = check_claimed(dirfd, name, procfd, target, cdir, fd)) != CVB_CLAIM_OK) {
		/* not the file that was checked */
	} else if (asprintf(claimed, "%s/%s/%s", dir, CVB_PROCESSING_DIR, target) < 0) {
		*claimed = NULL; /* the file waits in the processing area for a restart */
		rc = cvb_error_set(err, "out of memory");
	}
out_unlease:
	if (leased == 0)
		fcntl(fd, F_SETLEASE, F_UNLCK);
	if (procfd >= 0)
		close(procfd);
out_close_fd:
	close(fd);
	return rc;
}

int cvb_watch_claim(const char *dir, const char *name, char **claimed, struct cvb_error *err)
{
	*claimed = NULL;
	if (strchr(name, '/') || name[0] == '.' || !name[0])
		return cvb_error_set(err, "'%s' is not a plain file name", name);
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return errno == ENOENT ? CVB_CLAIM_GONE
				       : cvb_error_errno(err, errno, "cannot open '%s'", dir);
	int rc = do_claim(dirfd, dir, name, claimed, err);
	close(dirfd);
	return rc;
}

const char *cvb_watch_name(const char *claimed)
{
	const char *s = strrchr(claimed, '/');
	return s ? s + 1 : claimed;
}

/* Add a claimed path to the list. */
static int add_claimed(struct cvb_watch_list *found, unsigned folder, const char *procpath,
		       const char *cname, const char *name, int64_t mt, bool zip)
{
	char *path = NULL;
	if (asprintf(&path, "%s/%s/%s", procpath, cname, name) < 0)
		return -1;
	int rc = list_add_kind(found, folder, path, mt, zip);
	free(path);
	return rc;
}

/*
 * The files in one claim folder: normally exactly one input; a zip beside
 * it and temporary files are removed, a zip alone is listed. The folder is
 * removed when empty.
 */
static int recover_claim(int procfd, const char *procpath, const char *cname, unsigned folder,
			 struct cvb_watch_list *found)
{
	int cfd = openat(procfd, cname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = cfd >= 0 ? fdopendir(cfd) : NULL;
	struct dirent *e;
	char zip[NAME_MAX + 1] = "";
	int64_t zip_mt = 0;
	size_t files = 0;
	if (!d) {
		if (cfd >= 0)
			close(cfd);
		return 0;
	}
	while ((e = readdir(d))) {
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (strncmp(e->d_name, CVB_ZIP_PREFIX, strlen(CVB_ZIP_PREFIX)) == 0) {
			snprintf(zip, sizeof(zip), "%s", e->d_name);
			zip_mt = mtime_ns(&st);
		} else if (e->d_name[0] == '.') {
			unlinkat(dirfd(d), e->d_name, 0); /* a temporary an interrupted zip left */
		} else if (add_claimed(found, folder, procpath, cname, e->d_name, mtime_ns(&st),
				       false) == 0) {
			files++;
		}
	}
	if (zip[0] && files > 0)
		unlinkat(dirfd(d), zip, 0);
	else if (zip[0] && add_claimed(found, folder, procpath, cname, zip, zip_mt, true) == 0)
		files++;
	closedir(d);
	if (files == 0)
		unlinkat(procfd, cname, AT_REMOVEDIR);
	return 0;
}

int cvb_watch_recover(const char *dir, unsigned folder, struct cvb_watch_list *found,
		      struct cvb_error *err)
{
	char procpath[PATH_MAX];
	snprintf(procpath, sizeof(procpath), "%s/%s", dir, CVB_PROCESSING_DIR);
	int procfd = open(procpath, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (procfd < 0)
		return errno == ENOENT ? 0
				       : cvb_error_errno(err, errno, "cannot open '%s'", procpath);
	if (own_processing(procfd) < 0) { /* nothing in it was claimed by us */
		close(procfd);
		return not_own_processing(err, procpath);
	}
	DIR *d = fdopendir(dup(procfd));
	struct dirent *e;
	if (!d) {
		close(procfd);
		return cvb_error_errno(err, errno, "cannot read '%s'", procpath);
	}
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			recover_claim(procfd, procpath, e->d_name, folder, found);
	closedir(d);
	close(procfd);
	return 0;
}

void cvb_watch_release(const char *claimed)
{
	char cdir[PATH_MAX];
	const char *slash = strrchr(claimed, '/');
	if (!slash || !strstr(claimed, "/" CVB_PROCESSING_DIR "/"))
		return;
	snprintf(cdir, sizeof(cdir), "%.*s", (int)(slash - claimed), claimed);
	rmdir(cdir);
}

int cvb_watch_unclaim(const char *claimed, const char *dir, struct cvb_error *err)
{
	if (cvb_spool_move_unique(claimed, dir, NULL, err) < 0)
		return -1;
	cvb_watch_release(claimed);
	return 0;
}
