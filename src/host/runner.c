/*
 * Starting and stopping the runner process. The host execs it (it is never
 * a fork of the host, so no host memory is ever copied into a sandbox) with
 * an empty environment, stdin/stdout on /dev/null, and the control socket
 * as fd 3.
 */
#include "host/host.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int spawn_runner(const char *path, int child_fd, pid_t *pid, struct cvb_error *err)
{
	posix_spawn_file_actions_t fa;
	char arg[32], name[] = "convbox-runner", path_env[] = "PATH=/usr/bin:/bin",
		      lang_env[] = "LANG=C.UTF-8";
	char *argv[] = {name, arg, NULL};
	char *envp[] = {path_env, lang_env, NULL};
	snprintf(arg, sizeof(arg), "--control-fd=%d", 3);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, child_fd, 3);
	int rc = posix_spawn(pid, path, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return cvb_error_errno(err, rc, "cannot start the runner %s", path);
	return 0;
}

static int send_setup(struct cvb_sandbox *sb, struct runner_proc *rp)
{
	bool network = sb->opts.trusted || (sb->opts.caps & CVB_CAP_BIT(CVB_CAP_NETWORK_FULL));
	/*
	 * A zygote preloads the stdlib modules its converter names and keeps a
	 * prepared spare per job slot, plus one being prepared; a cold runner
	 * does neither.
	 */
	unsigned spares = sb->opts.cold ? 0 : sb->opts.jobs + 1;
	rp->spares_expected = spares;
	json_t *o = json_pack(
	    "{s:I, s:b, s:s, s:b, s:I, s:b, s:I, s:I}", "max_frame", (json_int_t)sb->opts.max_frame,
	    "network", network, "converter_path", sb->converter_abs, "preload", !sb->opts.cold,
	    "spares", (json_int_t)spares, "trusted", sb->opts.trusted, "caps",
	    (json_int_t)sb->opts.caps, "max_procs", (json_int_t)sb->opts.limits.max_procs);
	if (o) {
		json_object_set_new(o, "source_len", json_integer((json_int_t)sb->source_len));
		json_object_set_new(o, "max_output_mb",
				    json_integer((json_int_t)sb->opts.limits.max_output_mb));
		json_object_set_new(o, "max_files",
				    json_integer((json_int_t)sb->opts.limits.max_files));
		json_object_set_new(o, "allow_degraded", json_boolean(sb->opts.allow_degraded));
		/* the zygote drops these modules once, for every job of this policy */
		json_object_set_new(o, "blocked_imports",
				    cvb_strlist_to_json(&sb->opts.blocked_imports));
		json_object_set_new(o, "native_modules",
				    cvb_strlist_to_json(&sb->opts.native_modules));
	}
	char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!t)
		return -ENOMEM;
	/* the source goes as a descriptor: this small frame never waits on the runner */
	int rc =
	    cvb_frame_write_fds(rp->ctl_fd, CVB_FRAME_SETUP, 0, t, strlen(t), &sb->source_fd, 1);
	free(t);
	return rc == CVB_FRAME_OK ? 0 : -EIO;
}

int cvb_runner_read_ready(struct runner_proc *rp, struct cvb_error *err)
{
	struct cvb_frame_header h;
	uint8_t *payload = NULL;
	int rc = cvb_frame_read(rp->ctl_fd, 1u << 20, &h, &payload, NULL, NULL);
	if (rc != CVB_FRAME_OK) {
		free(payload);
		return cvb_error_set(err, "the runner exited during start-up (%s)",
				     cvb_frame_strerror(rc));
	}
	json_t *o = json_loads((char *)payload, 0, NULL);
	free(payload);
	if (h.type == CVB_FRAME_FATAL) {
		const char *msg = json_string_value(json_object_get(o, "error"));
		cvb_error_set(err, "the runner failed to start: %s", msg ? msg : "unknown error");
		json_decref(o);
		return -1;
	}
	if (h.type != CVB_FRAME_READY || !json_is_object(json_object_get(o, "layers"))) {
		json_decref(o);
		return cvb_error_set(err, "the runner sent no READY frame");
	}
	rp->layers = json_incref(json_object_get(o, "layers"));
	rp->landlock_abi = (int)json_integer_value(json_object_get(o, "landlock_abi"));
	rp->root = json_is_true(json_object_get(o, "root"));
	json_decref(o);
	return 0;
}

int cvb_runner_start_error(struct cvb_error *err)
{
	return cvb_error_set(err, "the runner did not start within %d s",
			     CVB_RUNNER_READY_TIMEOUT_MS / 1000);
}

struct runner_proc *cvb_runner_spawn(struct cvb_sandbox *sb, struct cvb_error *err)
{
	int sv[2];
	struct runner_proc *rp = calloc(1, sizeof(*rp));
	if (!rp || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		free(rp);
		cvb_error_errno(err, errno, "cannot create the runner's control channel");
		return NULL;
	}
	rp->ctl_fd = sv[0];
	rp->pidfd = -1;
	rp->ready_by = cvb_now() + CVB_RUNNER_READY_TIMEOUT_MS / 1000.0;
	int rc = spawn_runner(sb->runner_path, sv[1], &rp->pid, err);
	close(sv[1]);
	if (rc == 0 && send_setup(sb, rp) < 0)
		rc = cvb_error_set(err, "the runner closed its control channel during set-up");
	if (rc < 0) {
		cvb_runner_stop(rp);
		return NULL;
	}
	return rp;
}

struct runner_proc *cvb_runner_start(struct cvb_sandbox *sb, struct cvb_error *err)
{
	struct runner_proc *rp = cvb_runner_spawn(sb, err);
	if (!rp)
		return NULL;
	struct pollfd p = {.fd = rp->ctl_fd, .events = POLLIN};
	int rc = poll(&p, 1, CVB_RUNNER_READY_TIMEOUT_MS) <= 0 ? cvb_runner_start_error(err)
							       : cvb_runner_read_ready(rp, err);
	if (rc < 0) {
		cvb_runner_stop(rp);
		return NULL;
	}
	return rp;
}

/* SHUTDOWN, and the closed channel ends the runner. */
static void close_channel(struct runner_proc *rp)
{
	if (rp->ctl_fd >= 0) {
		cvb_frame_write(rp->ctl_fd, CVB_FRAME_SHUTDOWN, 0, NULL, 0);
		close(rp->ctl_fd);
		rp->ctl_fd = -1;
	}
}

void cvb_runner_add_spare(struct runner_proc *rp, uint64_t id, int *fds, size_t nfds)
{
	if (nfds == 2 && rp->n_spares < CVB_HOST_SPARES && !rp->dead) {
		rp->spares[rp->n_spares++] = (struct host_spare){id, fds[0], fds[1]};
		rp->spare_wait_until = 0; /* the next job without one waits again */
		return;
	}
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
}

struct host_spare cvb_runner_take_spare(struct runner_proc *rp, size_t i)
{
	struct host_spare sp = rp->spares[i];
	memmove(&rp->spares[i], &rp->spares[i + 1], (--rp->n_spares - i) * sizeof(sp));
	return sp;
}

void cvb_runner_forget_spare(struct runner_proc *rp, uint64_t id)
{
	for (size_t i = 0; i < rp->n_spares; i++)
		if (rp->spares[i].id == id) {
			struct host_spare sp = cvb_runner_take_spare(rp, i);
			close(sp.sock);
			close(sp.pidfd);
			return;
		}
}

void cvb_runner_drop_spares(struct runner_proc *rp)
{
	for (size_t i = 0; i < rp->n_spares; i++) {
		close(rp->spares[i].sock); /* its read ends, and so does the spare */
		close(rp->spares[i].pidfd);
	}
	rp->n_spares = 0;
}

static void free_runner(struct runner_proc *rp)
{
	cvb_runner_drop_spares(rp);
	if (rp->pidfd >= 0)
		close(rp->pidfd);
	json_decref(rp->layers);
	free(rp);
}

void cvb_runner_stop(struct runner_proc *rp)
{
	if (!rp)
		return;
	close_channel(rp);
	/* a runner that lingers is killed by pid */
	for (int i = 0; i < 200 && rp->pid > 0; i++) {
		if (waitpid(rp->pid, NULL, WNOHANG) == rp->pid)
			rp->pid = 0;
		else
			usleep(i < 20 ? 100 : 5000);
	}
	if (rp->pid > 0) {
		kill(rp->pid, SIGKILL);
		waitpid(rp->pid, NULL, 0);
	}
	free_runner(rp);
}

bool cvb_runner_release(struct runner_proc *rp)
{
	close_channel(rp);
	if (rp->pid <= 0 || waitpid(rp->pid, NULL, WNOHANG) == rp->pid) {
		rp->pid = 0;
		return true;
	}
	rp->pidfd = (int)syscall(SYS_pidfd_open, rp->pid, 0);
	rp->gone_by = cvb_now() + CVB_RUNNER_EXIT_GRACE_MS / 1000.0;
	return false;
}

bool cvb_runner_reap(struct runner_proc *rp, bool force)
{
	if (waitpid(rp->pid, NULL, WNOHANG) != rp->pid) {
		if (!force)
			return false;
		kill(rp->pid, SIGKILL);
		waitpid(rp->pid, NULL, 0);
	}
	free_runner(rp);
	return true;
}

/*
 * Strict by default: a layer the kernel lacks means the job does not run.
 * With --allow-degraded the missing layers are listed in every result.
 */
int cvb_runner_check_layers(struct cvb_sandbox *sb, struct runner_proc *rp, struct cvb_error *err)
{
	static const char *const needed[] = {"user namespace",	"pid namespace",
					     "mount namespace", "network namespace",
					     "landlock",	"seccomp"};
	size_t nd = 0;
	if (sb->opts.trusted)
		return 0;
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		if (json_is_true(json_object_get(rp->layers, needed[i])))
			continue;
		if (strcmp(needed[i], "network namespace") == 0 &&
		    (sb->opts.caps & CVB_CAP_BIT(CVB_CAP_NETWORK_FULL)))
			continue;
		/* the namespaces are the frame every other layer hangs on: never optional */
		if (i < 3)
			return cvb_error_set(err,
					     "this kernel offers no %s, which convbox cannot run "
					     "without, even with --allow-degraded (see `convbox "
					     "check`)",
					     needed[i]);
		if (!sb->opts.allow_degraded)
			return cvb_error_set(
			    err,
			    "strict mode: this kernel offers no %s%s, so the sandbox cannot be "
			    "built "
			    "(see `convbox check`; --allow-degraded runs without it)",
			    needed[i],
			    strcmp(needed[i], "seccomp") == 0
				? " filter with a listener (before Linux 5.0, or under another "
				  "seccomp supervisor)"
				: "");
		if (nd < sizeof(sb->degraded) / sizeof(sb->degraded[0]) - 1)
			sb->degraded[nd++] = needed[i];
	}
	sb->degraded[nd] = NULL;
	return 0;
}
