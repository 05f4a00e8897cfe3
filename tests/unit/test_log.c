/*
 * test_log.c: the logging vocabulary (shared/log.c): the "name: message"
 * format on stderr, errno left alone, debug only when verbose, fatal's
 * exit, and rate limiting of repeated conditions.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cu.h"
#include "log.h"

#define PROCNAME	"test_log[7]"

/* fd 2 while a capture runs, and the file it goes to. */
static int	 saved_stderr = -1;
static int	 capture_fd = -1;

/* Send fd 2 to an unlinked temporary file until capture_end(). */
static int
capture_begin(void)
{
	char	 path[] = "/tmp/test_log.XXXXXX";

	fflush(stderr);
	if ((capture_fd = mkstemp(path)) == -1)
		return -1;
	unlink(path);
	if ((saved_stderr = dup(STDERR_FILENO)) == -1 ||
	    dup2(capture_fd, STDERR_FILENO) == -1) {
		close(capture_fd);
		capture_fd = -1;
		return -1;
	}
	return 0;
}

/* Restore fd 2; what was written goes into buf. */
static void
capture_end(char *buf, size_t len)
{
	ssize_t	 n;

	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	saved_stderr = -1;
	n = pread(capture_fd, buf, len - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	close(capture_fd);
	capture_fd = -1;
}

static void
setup(void)
{
	log_init(1, 0, LOG_DAEMON);
	log_procinit(PROCNAME);
}

static void
test_format(void)
{
	char	 out[1024];

	setup();
	CU_ASSERT_STRING_EQUAL(log_procname(), PROCNAME);
	CU_ASSERT_EQUAL_FATAL(capture_begin(), 0);
	log_warnx("amqp: basic.consume on %s: %s", "events.default",
	    "ACCESS_REFUSED");
	log_info("started %d workers", 4);
	errno = ENOENT;
	log_warn("open %s", "/etc/evbus/evbusd.conf");
	errno = EACCES;
	log_warn(NULL);
	logit(LOG_NOTICE, "%s", "via logit");
	capture_end(out, sizeof(out));
	cu_checkf(strcmp(out,
	    PROCNAME ": amqp: basic.consume on events.default: ACCESS_REFUSED\n"
	    PROCNAME ": started 4 workers\n"
	    PROCNAME ": open /etc/evbus/evbusd.conf: No such file or "
	    "directory\n"
	    PROCNAME ": Permission denied\n"
	    PROCNAME ": via logit\n") == 0, "got:\n%s", out);

	/* A new prefix applies to later messages; long ones are cut. */
	log_procinit("worker[3]");
	CU_ASSERT_EQUAL_FATAL(capture_begin(), 0);
	log_warnx("x");
	log_procinit("a-name-much-longer-than-the-sixty-three-bytes-a-prefix-"
	    "may-take-in-log.c");
	log_warnx("y");
	capture_end(out, sizeof(out));
	cu_checkf(strcmp(out, "worker[3]: x\n"
	    "a-name-much-longer-than-the-sixty-three-bytes-a-prefix-may-take:"
	    " y\n") == 0, "got:\n%s", out);
	/* NULL keeps the prefix. */
	log_procinit(NULL);
	CU_ASSERT_EQUAL(strlen(log_procname()), 63);
	setup();
}

static void
test_verbose(void)
{
	char	 out[1024];

	setup();
	log_setverbose(0);
	CU_ASSERT_EQUAL(log_getverbose(), 0);
	CU_ASSERT_EQUAL_FATAL(capture_begin(), 0);
	log_debug("hidden %d", 1);
	log_setverbose(2);
	log_debug("shown %d", 2);
	capture_end(out, sizeof(out));
	CU_ASSERT_EQUAL(log_getverbose(), 2);
	cu_checkf(strcmp(out, PROCNAME ": shown 2\n") == 0, "got:\n%s", out);
	log_setverbose(0);
}

/* Logging never changes errno, even when the write itself fails. */
static void
test_errno_preserved(void)
{
	static const int	 errs[] = { EINTR, EAGAIN, ENOENT, 0 };
	char			 out[4096];
	size_t			 i;
	int			 ro;

	setup();
	CU_ASSERT_EQUAL_FATAL(capture_begin(), 0);
	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		errno = errs[i];
		log_warnx("warnx");
		cu_checkf(errno == errs[i], "log_warnx: errno %d became %d",
		    errs[i], errno);
		errno = errs[i];
		log_info("info");
		cu_checkf(errno == errs[i], "log_info: errno %d became %d",
		    errs[i], errno);
		errno = errs[i];
		log_warn("warn");
		cu_checkf(errno == errs[i], "log_warn: errno %d became %d",
		    errs[i], errno);
		errno = errs[i];
		log_setverbose(1);
		log_debug("debug");
		log_setverbose(0);
		cu_checkf(errno == errs[i], "log_debug: errno %d became %d",
		    errs[i], errno);
	}
	capture_end(out, sizeof(out));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, PROCNAME ": warn: Interrupted "
	    "system call\n"));

	/* stderr open read-only: fprintf fails with EBADF. */
	ro = open("/dev/null", O_RDONLY);
	CU_ASSERT_FATAL(ro != -1);
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	dup2(ro, STDERR_FILENO);
	close(ro);
	errno = EINTR;
	log_warnx("lost");
	cu_checkf(errno == EINTR, "failed write: errno EINTR became %d", errno);
	errno = ETIMEDOUT;
	log_info("lost");
	cu_checkf(errno == ETIMEDOUT, "failed write: errno ETIMEDOUT became %d",
	    errno);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	saved_stderr = -1;
	clearerr(stderr);
}

/* Run fn in a child with stderr on a pipe; its output and exit status. */
static int
run_child(void (*fn)(void), char *buf, size_t len)
{
	ssize_t	 n;
	size_t	 o = 0;
	pid_t	 pid;
	int	 fds[2], status;

	fflush(stdout);
	fflush(stderr);
	if (pipe(fds) == -1 || (pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		fn();
		_exit(99);	/* fn must not return */
	}
	close(fds[1]);
	while (o + 1 < len && (n = read(fds[0], buf + o, len - 1 - o)) > 0)
		o += (size_t)n;
	buf[o] = '\0';
	close(fds[0]);
	if (waitpid(pid, &status, 0) == -1)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void
child_fatalx(void)
{
	fatalx("config: %s", "broken");
}

static void
child_fatal(void)
{
	errno = EACCES;
	fatal("open %s", "/run/evbus.pid");
}

static void
child_fatal_null(void)
{
	errno = ENOENT;
	fatal(NULL);
}

static void
test_fatal(void)
{
	char	 out[512];
	int	 rv;

	setup();
	rv = run_child(child_fatalx, out, sizeof(out));
	cu_checkf(rv == 1 && strcmp(out, PROCNAME ": fatal: config: broken\n")
	    == 0, "fatalx: status %d, output \"%s\"", rv, out);
	rv = run_child(child_fatal, out, sizeof(out));
	cu_checkf(rv == 1 && strcmp(out, PROCNAME ": fatal: open "
	    "/run/evbus.pid: Permission denied\n") == 0,
	    "fatal: status %d, output \"%s\"", rv, out);
	rv = run_child(child_fatal_null, out, sizeof(out));
	cu_checkf(rv == 1 && strcmp(out, PROCNAME ": fatal: No such file or "
	    "directory\n") == 0, "fatal(NULL): status %d, output \"%s\"", rv,
	    out);
}

static void
sleep_ms(long ms)
{
	struct timespec	 ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void
test_ratelimit(void)
{
	struct log_ratelimit	 rl;
	char			 out[1024];
	int			 i, passed;

	setup();
	memset(&rl, 0, sizeof(rl));
	rl.interval = 0.3;

	CU_ASSERT_EQUAL_FATAL(capture_begin(), 0);
	/* The first message passes, repeats within the interval do not. */
	CU_ASSERT_EQUAL(log_ratelimit(&rl), 1);
	CU_ASSERT_EQUAL(rl.suppressed, 0);
	for (passed = 0, i = 0; i < 5; i++)
		passed += log_ratelimit(&rl);
	CU_ASSERT_EQUAL(passed, 0);
	cu_checkf(rl.suppressed == 5, "suppressed %lu, expected 5",
	    rl.suppressed);
	capture_end(out, sizeof(out));
	cu_checkf(out[0] == '\0', "muted condition logged \"%s\"", out);

	/* After the interval one passes and reports what was swallowed. */
	sleep_ms(350);
	CU_ASSERT_EQUAL_FATAL(capture_begin(), 0);
	CU_ASSERT_EQUAL(log_ratelimit(&rl), 1);
	capture_end(out, sizeof(out));
	cu_checkf(strcmp(out, PROCNAME ": (5 similar messages suppressed)\n")
	    == 0, "got \"%s\"", out);
	CU_ASSERT_EQUAL(rl.suppressed, 0);

	/* The window starts again from that message. */
	CU_ASSERT_EQUAL(log_ratelimit(&rl), 0);
	CU_ASSERT_EQUAL(rl.suppressed, 1);

	/* Nothing swallowed: nothing to report. */
	memset(&rl, 0, sizeof(rl));
	rl.interval = 0.05;
	CU_ASSERT_EQUAL(log_ratelimit(&rl), 1);
	sleep_ms(80);
	CU_ASSERT_EQUAL_FATAL(capture_begin(), 0);
	CU_ASSERT_EQUAL(log_ratelimit(&rl), 1);
	capture_end(out, sizeof(out));
	cu_checkf(out[0] == '\0', "reported \"%s\"", out);

	/* An unset interval means 10 s, not "never mute". */
	memset(&rl, 0, sizeof(rl));
	CU_ASSERT_EQUAL(log_ratelimit(&rl), 1);
	CU_ASSERT_EQUAL(log_ratelimit(&rl), 0);
	CU_ASSERT_EQUAL(rl.suppressed, 1);

	/* Two conditions are limited independently. */
	{
		struct log_ratelimit	 a, b;

		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		a.interval = b.interval = 60;
		CU_ASSERT_EQUAL(log_ratelimit(&a), 1);
		CU_ASSERT_EQUAL(log_ratelimit(&b), 1);
		CU_ASSERT_EQUAL(log_ratelimit(&a), 0);
		CU_ASSERT_EQUAL(log_ratelimit(&b), 0);
	}
}

static const struct cu_test log_tests[] = {
	{ "\"name: message\" on stderr", test_format },
	{ "log_debug only when verbose", test_verbose },
	{ "errno preserved", test_errno_preserved },
	{ "fatal and fatalx log and exit 1", test_fatal },
	{ "log_ratelimit", test_ratelimit },
	{ NULL, NULL }
};

static const struct cu_suite suites[] = {
	{ "log", log_tests },
	{ NULL, NULL }
};

int
main(void)
{
	return cu_run(suites);
}
