/*
 * test_loader.c: the plugin loader (worker/loader.c) against purpose-built
 * good and broken plugins (tests/plugins/), and the host API
 * (worker/host.c) against hand-built config sections, AMQP header tables
 * and JSON bodies.
 *
 * The plugins come from the build tree ($EVBUS_BUILDDIR, set by make
 * check, else "."): tests/plugins/.libs/NAME.so and handlers/.libs/NAME.so
 * (chaos is built for make check; jsonl and the tutorial handlers by
 * make all, which make check runs first).  Each case builds its own
 * plugin directory under $TMPDIR (mkdtemp, mode 0755) from symlinks or
 * copies of them, and removes it afterwards, pass or fail.  A third suite
 * drives the bundled handlers (chaos, jsonl, the order flow) through the
 * real loader and host API.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libconfig.h>

#include "cu.h"
#include "conf.h"
#include "log.h"
#include "worker.h"

#define MAX_DIRS	8
#define MAX_REC		32


/* A body on a tape of its own, as the worker parses one; NULL if invalid. */
static const struct pyjson_tape *
tape_of(const char *body)
{
	struct pyjson_tape	*t;
	struct pyjson_error	 e;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if (pyjson_parse_tape(body, strlen(body), t, &e) == -1) {
		pyjson_tape_free(t);
		free(t);
		return NULL;
	}
	return t;
}

static void
tape_free(const struct pyjson_tape *t)
{
	struct pyjson_tape	*tt = (struct pyjson_tape *)t;

	if (tt != NULL) {
		pyjson_tape_free(tt);
		free(tt);
	}
}
static const char	*builddir = ".";
static char		 dirs[MAX_DIRS][PATH_MAX];
static size_t		 ndirs;

/* What the recording plugins reported through publish(), in order. */
static char		 rec[MAX_REC][1024];
static size_t		 nrec;
static struct worker	*rec_worker;

/*
 * The worker the host API reads (identity, current delivery, whether it
 * may publish): worker 2, publishing off until a test turns it on.
 */
static struct worker	 tw = { .index = 2,
			    .consumer_name = "test-consumer-2" };

/* The built plugin called name. */
static void
plugin_src(const char *name, char *buf, size_t len)
{
	static const char *const bundled[] = { "chaos", "jsonl", "inventory",
	    "fulfillment", "shipping", NULL };
	size_t	 i;

	for (i = 0; bundled[i] != NULL; i++)
		if (strcmp(name, bundled[i]) == 0) {
			snprintf(buf, len, "%s/handlers/.libs/%s.so", builddir,
			    name);
			return;
		}
	snprintf(buf, len, "%s/tests/plugins/.libs/%s.so", builddir, name);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	return remove(path);
}

static void
rm_dirs(void)
{
	while (ndirs > 0) {
		ndirs--;
		chmod(dirs[ndirs], 0700);
		nftw(dirs[ndirs], rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	}
}

/* A fresh plugin directory, mode 0755, removed by rm_dirs(). */
static const char *
make_dir(void)
{
	const char	*tmp = getenv("TMPDIR");
	char		*d;

	if (ndirs == MAX_DIRS) {
		cu_failf("too many temporary directories");
		return "/nonexistent";
	}
	d = dirs[ndirs];
	snprintf(d, PATH_MAX, "%s/evbus-loader.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(d) == NULL || chmod(d, 0755) == -1) {
		cu_failf("mkdtemp %s: %s", d, strerror(errno));
		return "/nonexistent";
	}
	ndirs++;
	return d;
}

/* Symlink the built plugin name into dir as file (name.so if NULL). */
static void
link_plugin(const char *dir, const char *name, const char *file)
{
	char	 src[PATH_MAX], dst[PATH_MAX];

	plugin_src(name, src, sizeof(src));
	if (file == NULL)
		snprintf(dst, sizeof(dst), "%s/%s.so", dir, name);
	else
		snprintf(dst, sizeof(dst), "%s/%s", dir, file);
	if (access(src, R_OK) == -1)
		cu_failf("plugin %s: %s (EVBUS_BUILDDIR=%s)", src,
		    strerror(errno), builddir);
	if (symlink(src, dst) == -1)
		cu_failf("symlink %s: %s", dst, strerror(errno));
}

/* Copy the built plugin name into dir as file, with mode. */
static void
copy_plugin(const char *dir, const char *name, const char *file,
    mode_t mode)
{
	char	 src[PATH_MAX], dst[PATH_MAX], buf[8192];
	ssize_t	 n;
	int	 in, out;

	plugin_src(name, src, sizeof(src));
	snprintf(dst, sizeof(dst), "%s/%s", dir, file);
	if ((in = open(src, O_RDONLY)) == -1) {
		cu_failf("open %s: %s", src, strerror(errno));
		return;
	}
	if ((out = open(dst, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1) {
		cu_failf("open %s: %s", dst, strerror(errno));
		close(in);
		return;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			cu_failf("write %s: %s", dst, strerror(errno));
			break;
		}
	close(in);
	close(out);
	if (chmod(dst, mode) == -1)
		cu_failf("chmod %s: %s", dst, strerror(errno));
}

static void
write_file(const char *dir, const char *file, const char *text)
{
	char	 path[PATH_MAX];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((fp = fopen(path, "w")) == NULL) {
		cu_failf("fopen %s: %s", path, strerror(errno));
		return;
	}
	fputs(text, fp);
	fclose(fp);
}

/* 1 when the built plugin name is still mapped into this process. */
static int
resident(const char *name)
{
	char	 src[PATH_MAX];
	void	*h;

	plugin_src(name, src, sizeof(src));
	if ((h = dlopen(src, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD)) == NULL)
		return 0;
	dlclose(h);
	return 1;
}

/* Check that err contains every string of subs (NULL-terminated). */
static void
check_err(const char *label, const char *err, const char *const *subs)
{
	for (; *subs != NULL; subs++)
		cu_checkf(strstr(err, *subs) != NULL,
		    "%s: expected the message to contain \"%s\", got \"%s\"",
		    label, *subs, err);
}

/* Check that ps holds exactly the plugins names, in that order. */
static void
check_loaded(const char *label, const struct plugins *ps,
    const char *const *names)
{
	size_t	 i, n = 0;

	while (names[n] != NULL)
		n++;
	cu_checkf(ps->n == n, "%s: expected %zu plugins loaded, got %zu",
	    label, n, ps->n);
	for (i = 0; i < n && i < ps->n; i++) {
		cu_checkf(strcmp(ps->v[i].h->name, names[i]) == 0,
		    "%s: plugin %zu: expected %s, got %s", label, i, names[i],
		    ps->v[i].h->name);
		cu_checkf(ps->v[i].index == i, "%s: plugin %s: expected "
		    "index %zu, got %zu", label, names[i], i, ps->v[i].index);
	}
}

/* Stand-in for wpublish.c, which this test does not link: records. */
int
wpub_event(struct worker *w, const struct evbus_event_view *cause,
    const char *json, char *err, size_t errlen)
{
	rec_worker = w;
	if (nrec < MAX_REC)
		snprintf(rec[nrec++], sizeof(rec[0]), "%s", json);
	return 0;
}

static void
rec_reset(void)
{
	nrec = 0;
	rec_worker = NULL;
}

/* Check the recorded calls against want (NULL-terminated). */
static void
check_rec(const char *label, const char *const *want)
{
	char	 got[1024] = "", exp[1024] = "";
	size_t	 i, n = 0;

	while (want[n] != NULL)
		n++;
	for (i = 0; i < n; i++)
		snprintf(exp + strlen(exp), sizeof(exp) - strlen(exp), "%s%s",
		    i ? ", " : "", want[i]);
	for (i = 0; i < nrec; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
		    i ? ", " : "", rec[i]);
	cu_checkf(strcmp(got, exp) == 0, "%s: expected calls [%s], got [%s]",
	    label, exp, got);
}

/*
 * Loader: the good set.
 */

static void
test_good_set(void)
{
	static const struct {
		const char	*type;
		const char	*want[4];
	} cases[] = {
		{ "OrderCreated", { "good_a", "good_b", "wild", NULL } },
		{ "OrderShipped", { "good_a", "wild", NULL } },
		{ "Unknown", { "wild", NULL } },
		{ NULL, { "wild", NULL } },
	};
	static const char *const names[] = { "good_a", "good_b", "wild", NULL };
	struct plugins	*ps;
	struct plugin	*list[EVBUS_MAX_PLUGINS];
	const char	*dir;
	char		 err[1024] = "", sub[PATH_MAX];
	size_t		 i, j, n;

	ps = calloc(1, sizeof(*ps));
	dir = make_dir();
	link_plugin(dir, "good_a", NULL);
	link_plugin(dir, "good_b", NULL);
	link_plugin(dir, "wild", NULL);
	/* Never loaded: not *.so, hidden, "..", or not a regular file. */
	write_file(dir, "x.txt", "not a plugin\n");
	write_file(dir, "notes.so.txt", "not a plugin\n");
	link_plugin(dir, "dup_name", ".hidden.so");
	link_plugin(dir, "dup_name", "evil..so");
	snprintf(sub, sizeof(sub), "%s/sub.so", dir);
	if (mkdir(sub, 0755) == -1)
		cu_failf("mkdir %s: %s", sub, strerror(errno));

	cu_checkf(loader_load_dir(dir, ps, err, sizeof(err)) == 0,
	    "good set: expected to load, got \"%s\"", err);
	check_loaded("good set", ps, names);
	if (ps->n == 3) {
		cu_checkf(!ps->v[0].wildcard && !ps->v[1].wildcard &&
		    ps->v[2].wildcard, "good set: expected only wild to be a "
		    "wildcard, got %d %d %d", ps->v[0].wildcard,
		    ps->v[1].wildcard, ps->v[2].wildcard);
		cu_checkf(strcmp(ps->v[0].file, "good_a.so") == 0,
		    "good set: expected file good_a.so, got %s",
		    ps->v[0].file);
		snprintf(sub, sizeof(sub), "%s/good_a.so", dir);
		cu_checkf(strcmp(ps->v[0].path, sub) == 0,
		    "good set: expected path %s, got %s", sub, ps->v[0].path);
		cu_checkf(loader_wants(&ps->v[0], "OrderShipped") &&
		    !loader_wants(&ps->v[1], "OrderShipped") &&
		    loader_wants(&ps->v[2], "Anything") &&
		    !loader_wants(&ps->v[0], NULL), "good set: loader_wants "
		    "answers wrongly");
	}

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = loader_dispatch_list(ps, cases[i].type, list,
		    EVBUS_MAX_PLUGINS);
		for (j = 0; cases[i].want[j] != NULL; j++)
			;
		cu_checkf(n == j, "dispatch %s: expected %zu handlers, got "
		    "%zu", cases[i].type ? cases[i].type : "(null)", j, n);
		for (j = 0; j < n && cases[i].want[j] != NULL; j++)
			cu_checkf(strcmp(list[j]->h->name,
			    cases[i].want[j]) == 0, "dispatch %s: position "
			    "%zu: expected %s, got %s",
			    cases[i].type ? cases[i].type : "(null)", j,
			    cases[i].want[j], list[j]->h->name);
	}
	n = loader_dispatch_list(ps, "OrderCreated", list, 2);
	cu_checkf(n == 2 && strcmp(list[1]->h->name, "good_b") == 0,
	    "dispatch with max 2: expected good_a, good_b, got %zu", n);

	loader_unload_all(ps);
	cu_checkf(ps->n == 0, "unload: expected 0 plugins, got %zu", ps->n);
	cu_checkf(!resident("good_a") && !resident("wild"),
	    "unload: plugins still mapped after loader_unload_all");
	loader_unload_all(ps);
	free(ps);
	rm_dirs();
}

/* NULL event_types and "*" are both wildcards, dispatched in load order. */
static void
test_wildcard_order(void)
{
	static const char *const names[] = { "chaos", "good_a", "wild", NULL };
	static const char *const types[] = { "OrderCreated", "OrderShipped",
	    "Other" };
	struct plugins	*ps;
	struct plugin	*list[EVBUS_MAX_PLUGINS];
	const char	*dir;
	char		 err[1024] = "";
	size_t		 i, n, off;

	ps = calloc(1, sizeof(*ps));
	dir = make_dir();
	link_plugin(dir, "good_a", NULL);
	link_plugin(dir, "wild", NULL);
	link_plugin(dir, "chaos", NULL);
	cu_checkf(loader_load_dir(dir, ps, err, sizeof(err)) == 0,
	    "wildcards: expected to load, got \"%s\"", err);
	check_loaded("wildcards", ps, names);
	if (ps->n == 3)
		cu_checkf(ps->v[0].wildcard && ps->v[0].h->event_types == NULL,
		    "wildcards: chaos (NULL event_types) is not a wildcard");
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		n = loader_dispatch_list(ps, types[i], list,
		    EVBUS_MAX_PLUGINS);
		/* good_a first when it subscribes, then chaos, then wild. */
		off = i < 2 ? 1 : 0;
		cu_checkf(n == 2 + off, "dispatch %s: expected %zu handlers, "
		    "got %zu", types[i], 2 + off, n);
		if (n != 2 + off)
			continue;
		cu_checkf((off == 0 || strcmp(list[0]->h->name, "good_a") == 0)
		    && strcmp(list[off]->h->name, "chaos") == 0 &&
		    strcmp(list[off + 1]->h->name, "wild") == 0,
		    "dispatch %s: expected %schaos, wild; got %s, %s, ...",
		    types[i], off ? "good_a, " : "", list[0]->h->name,
		    list[1]->h->name);
	}
	loader_unload_all(ps);
	free(ps);
	rm_dirs();
}

/*
 * Loader: every broken plugin is refused with the exact problem, and
 * whatever loaded before it is unloaded again.
 */
static void
test_broken(void)
{
	struct {
		const char	*name;
		const char	*subs[6];
	} cases[] = {
		{ "bad_magic", { "plugin bad_magic.so", "not an evbus handler",
		    "magic is 0xdeadbeef", "expected 0x45564248", NULL } },
		{ "bad_major", { "plugin bad_major.so", "abi_major is 2",
		    "built for handler ABI 2.x, this evbusd supports 1.x: "
		    "rebuild it against this evbus/handler.h", NULL } },
		{ "bad_minor", { "plugin bad_minor.so", "abi_minor is 99",
		    "built for handler ABI 1.99, newer than this evbusd's 1.0",
		    "rebuild it against this evbus/handler.h", NULL } },
		{ "bad_size", { "plugin bad_size.so", "struct_size is",
		    NULL /* sizes filled in below */, NULL, NULL } },
		{ "no_symbol", { "plugin no_symbol.so: no symbol "
		    "evbus_handler (declare the handler with "
		    "EVBUS_HANDLER_DECLARE)", NULL } },
		{ "undefined_sym", { "plugin undefined_sym.so", "cannot load",
		    "undefined symbol", "evbus_test_no_such_function", NULL } },
		{ "no_handle", { "plugin no_handle.so (no_handle)",
		    "handle is NULL", NULL } },
	};
	struct plugins	*ps;
	const char	*dir;
	char		 err[1024], small[64], want[64];
	size_t		 i;

	snprintf(small, sizeof(small), "struct_size is %zu bytes",
	    sizeof(struct evbus_handler) - sizeof(void *));
	snprintf(want, sizeof(want), "handler ABI 1.0 requires %zu",
	    sizeof(struct evbus_handler));
	cases[3].subs[2] = small;
	cases[3].subs[3] = want;

	ps = calloc(1, sizeof(*ps));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dir = make_dir();
		/* The good ones sort before some broken ones, after others. */
		link_plugin(dir, "good_a", NULL);
		link_plugin(dir, "good_b", NULL);
		link_plugin(dir, cases[i].name, NULL);
		err[0] = '\0';
		cu_checkf(loader_load_dir(dir, ps, err, sizeof(err)) == -1,
		    "%s: expected the load to fail, it succeeded",
		    cases[i].name);
		check_err(cases[i].name, err, cases[i].subs);
		cu_checkf(ps->n == 0, "%s: expected nothing loaded, got %zu "
		    "plugins", cases[i].name, ps->n);
		cu_checkf(!resident("good_a") && !resident("good_b") &&
		    !resident(cases[i].name), "%s: a plugin is still mapped "
		    "after the failed load", cases[i].name);
		loader_unload_all(ps);
		rm_dirs();
	}
	free(ps);
}

/* Names are unique, across files and for one file under two names. */
static void
test_duplicates(void)
{
	static const char *const dup_subs[] = { "plugin good_a.so",
	    "name \"good_a\" is already used by plugin dup_name.so",
	    "unique", NULL };
	static const char *const twice_subs[] = { "plugin b.so",
	    "already used by plugin a.so", NULL };
	struct plugins	*ps;
	const char	*dir;
	char		 err[1024] = "";

	ps = calloc(1, sizeof(*ps));
	dir = make_dir();
	link_plugin(dir, "good_a", NULL);
	link_plugin(dir, "dup_name", NULL);
	cu_checkf(loader_load_dir(dir, ps, err, sizeof(err)) == -1,
	    "duplicate names: expected the load to fail");
	check_err("duplicate names", err, dup_subs);
	cu_checkf(ps->n == 0 && !resident("dup_name") && !resident("good_a"),
	    "duplicate names: plugins left loaded");

	dir = make_dir();
	link_plugin(dir, "good_a", "a.so");
	link_plugin(dir, "good_a", "b.so");
	err[0] = '\0';
	cu_checkf(loader_load_dir(dir, ps, err, sizeof(err)) == -1,
	    "one file twice: expected the load to fail");
	check_err("one file twice", err, twice_subs);
	cu_checkf(ps->n == 0 && !resident("good_a"),
	    "one file twice: plugin left loaded");
	free(ps);
	rm_dirs();
}

/* The directory (and each file) must be safe to load code from. */
static void
test_dir_checks(void)
{
	struct plugins	*ps;
	const char	*dir;
	char		 err[1024], path[PATH_MAX], mode[64];
	const char	*subs[5];

	ps = calloc(1, sizeof(*ps));

	/* Missing. */
	dir = make_dir();
	snprintf(path, sizeof(path), "%s/missing", dir);
	err[0] = '\0';
	cu_checkf(loader_load_dir(path, ps, err, sizeof(err)) == -1,
	    "missing dir: expected the load to fail");
	subs[0] = path;
	subs[1] = "No such file or directory";
	subs[2] = NULL;
	check_err("missing dir", err, subs);

	/* Not a directory. */
	write_file(dir, "file", "x\n");
	snprintf(path, sizeof(path), "%s/file", dir);
	err[0] = '\0';
	cu_checkf(loader_load_dir(path, ps, err, sizeof(err)) == -1,
	    "not a dir: expected the load to fail");
	subs[0] = path;
	subs[1] = "not a directory";
	check_err("not a dir", err, subs);

	/* World-writable, with and without the sticky bit. */
	link_plugin(dir, "good_a", NULL);
	if (chmod(dir, 0777) == -1)
		cu_failf("chmod %s: %s", dir, strerror(errno));
	err[0] = '\0';
	cu_checkf(loader_load_dir(dir, ps, err, sizeof(err)) == -1,
	    "world-writable dir: expected the load to fail");
	subs[0] = dir;
	subs[1] = "world-writable";
	subs[2] = "(mode 0777)";
	subs[3] = NULL;
	check_err("world-writable dir", err, subs);
	cu_checkf(ps->n == 0 && !resident("good_a"),
	    "world-writable dir: a plugin was loaded");
	if (chmod(dir, 01777) == -1)
		cu_failf("chmod %s: %s", dir, strerror(errno));
	err[0] = '\0';
	cu_checkf(loader_load_dir(dir, ps, err, sizeof(err)) == -1,
	    "sticky world-writable dir: expected the load to fail");
	subs[2] = "(mode 1777)";
	check_err("sticky world-writable dir", err, subs);

	/* A world-writable plugin file in a safe directory. */
	dir = make_dir();
	copy_plugin(dir, "good_a", "good_a.so", 0666);
	err[0] = '\0';
	cu_checkf(loader_load_dir(dir, ps, err, sizeof(err)) == -1,
	    "world-writable file: expected the load to fail");
	snprintf(mode, sizeof(mode), "(mode 0666)");
	subs[0] = "plugin good_a.so";
	subs[1] = "world-writable";
	subs[2] = mode;
	subs[3] = NULL;
	check_err("world-writable file", err, subs);

	/* A copy (not a symlink) with a sane mode loads. */
	dir = make_dir();
	copy_plugin(dir, "good_b", "good_b.so", 0644);
	err[0] = '\0';
	cu_checkf(loader_load_dir(dir, ps, err, sizeof(err)) == 0 &&
	    ps->n == 1, "copied plugin: expected 1 plugin, got %zu (\"%s\")",
	    ps->n, err);
	loader_unload_all(ps);

	/* An empty directory is not an error: nothing to load. */
	dir = make_dir();
	err[0] = '\0';
	cu_checkf(loader_load_dir(dir, ps, err, sizeof(err)) == 0 &&
	    ps->n == 0, "empty dir: expected 0 plugins and success, got %zu "
	    "(\"%s\")", ps->n, err);

	free(ps);
	rm_dirs();
}

/*
 * Loader: init, dispatch and fini through the recording plugins.
 */

static struct evbus_config *
record_config(void)
{
	struct evbus_conf_errors errs = { NULL, 0 };
	struct evbus_config	*c;
	size_t			 i;

	c = evbus_config_load_string("handlers = {\n"
	    "	good_a = { record = true; };\n"
	    "	good_b = { record = true; };\n"
	    "	wild = { record = true; };\n"
	    "	init_fail = { record = true; };\n"
	    "};\n", "test-loader", &errs);
	for (i = 0; i < errs.n; i++)
		cu_failf("config: %s", errs.msgs[i]);
	evbus_conf_errors_clear(&errs);
	return c;
}

static void
test_init_dispatch_fini(void)
{
	static const char *const inits[] = { "init good_a", "init good_b",
	    "init wild", NULL };
	static const char *const handles[] = { "handle good_a OrderCreated",
	    "handle good_b OrderCreated", "handle wild OrderCreated", NULL };
	static const char *const finis[] = { "fini wild", "fini good_b",
	    "fini good_a", NULL };
	struct evbus_config	*c;
	struct plugins		*ps;
	struct plugin		*list[EVBUS_MAX_PLUGINS];
	struct delivery		 d;
	struct evbus_error	 e;
	struct worker		*w = &tw;
	const char		*dir;
	char			 err[1024] = "";
	size_t			 i, n;

	if ((c = record_config()) == NULL)
		return;
	ps = calloc(1, sizeof(*ps));
	dir = make_dir();
	link_plugin(dir, "good_a", NULL);
	link_plugin(dir, "good_b", NULL);
	link_plugin(dir, "wild", NULL);
	rec_reset();
	tw.can_publish = 1;

	cu_checkf(loader_load_dir(dir, ps, err, sizeof(err)) == 0,
	    "load: got \"%s\"", err);
	cu_checkf(nrec == 0, "load: plugin code ran before init (%zu calls)",
	    nrec);
	cu_checkf(loader_init_all(ps, c, w, err, sizeof(err)) == 0,
	    "init: expected success, got \"%s\"", err);
	check_rec("init", inits);
	cu_checkf(rec_worker == w, "init: publish got worker %p, expected %p",
	    (void *)rec_worker, (void *)w);
	for (i = 0; i < ps->n; i++)
		cu_checkf(ps->v[i].initialized && ps->v[i].conf != NULL &&
		    ps->v[i].host.plugin == &ps->v[i] &&
		    ps->v[i].host.worker == w, "init: plugin %s not set up "
		    "(initialized %d, conf %p)", ps->v[i].h->name,
		    ps->v[i].initialized, ps->v[i].conf);

	rec_reset();
	memset(&d, 0, sizeof(d));
	d.view.event_id = "3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b";
	d.view.event_type = "OrderCreated";
	d.view.host_private = &d;
	host_set_current(w, &d);
	n = loader_dispatch_list(ps, "OrderCreated", list, EVBUS_MAX_PLUGINS);
	for (i = 0; i < n; i++) {
		memset(&e, 0, sizeof(e));
		cu_checkf(list[i]->h->handle(list[i]->state, &d.view, &e) ==
		    EVBUS_OK, "handle: %s did not return EVBUS_OK",
		    list[i]->h->name);
	}
	host_set_current(w, NULL);
	check_rec("dispatch", handles);

	rec_reset();
	loader_unload_all(ps);
	check_rec("fini", finis);
	cu_checkf(ps->n == 0 && !resident("good_a"),
	    "fini: plugins left loaded");

	tw.can_publish = 0;
	evbus_config_free(c);
	free(ps);
	rm_dirs();
}

static void
test_init_fail(void)
{
	static const char *const calls[] = { "init good_a", "init good_b",
	    "init init_fail", "fini good_b", "fini good_a", NULL };
	static const char *const subs[] = {
	    "plugin init_fail.so (init_fail): init failed", NULL };
	struct evbus_config	*c;
	struct plugins		*ps;
	const char		*dir;
	char			 err[1024] = "";

	if ((c = record_config()) == NULL)
		return;
	ps = calloc(1, sizeof(*ps));
	dir = make_dir();
	link_plugin(dir, "good_a", NULL);
	link_plugin(dir, "good_b", NULL);
	link_plugin(dir, "init_fail", NULL);
	rec_reset();
	tw.can_publish = 1;

	cu_checkf(loader_load_dir(dir, ps, err, sizeof(err)) == 0,
	    "load: got \"%s\"", err);
	err[0] = '\0';
	cu_checkf(loader_init_all(ps, c, &tw, err, sizeof(err)) == -1,
	    "init_fail: expected loader_init_all to fail");
	check_err("init_fail", err, subs);
	check_rec("init_fail", calls);
	cu_checkf(ps->n == 0, "init_fail: expected nothing loaded, got %zu",
	    ps->n);
	cu_checkf(!resident("good_a") && !resident("init_fail"),
	    "init_fail: plugins still mapped");
	/* What worker.c does after a failure: must be harmless. */
	loader_unload_all(ps);

	tw.can_publish = 0;
	evbus_config_free(c);
	free(ps);
	rm_dirs();
}

/* Direct descriptor checks: every field, and its boundaries. */

static enum evbus_result
dummy_handle(void *state, const struct evbus_event_view *ev,
    struct evbus_error *err)
{
	return EVBUS_OK;
}

static void
test_check_descriptor(void)
{
	static const char *const empty_type[] = { "A", "", NULL };
	static const char *const star[] = { "*", NULL };
	char			 n63[64], n64[65], err[1024];
	struct {
		const char	*label;
		const char	*name;
		const char *const *types;
		int		 no_handle;
		int		 size_delta;
		int		 ok;
		const char	*sub;
	} cases[] = {
		{ "valid", "inventory", NULL, 0, 0, 1, NULL },
		{ "valid star", "a.b-c_9", star, 0, 0, 1, NULL },
		{ "63 bytes", n63, NULL, 0, 0, 1, NULL },
		{ "64 bytes", n64, NULL, 0, 0, 0, "is invalid: use 1 to 63" },
		{ "NULL name", NULL, NULL, 0, 0, 0, "x.so: name is NULL" },
		{ "empty name", "", NULL, 0, 0, 0, "name \"\" is invalid" },
		{ "space", "has space", NULL, 0, 0, 0,
		    "name \"has space\" is invalid" },
		{ "slash", "a/b", NULL, 0, 0, 0, "name \"a/b\" is invalid" },
		{ "newline", "a\nb", NULL, 0, 0, 0, "name \"a\\x0ab\"" },
		{ "empty type", "t", empty_type, 0, 0, 0,
		    "x.so (t): event_types[1] is empty" },
		{ "no handle", "t", NULL, 1, 0, 0, "x.so (t): handle is NULL" },
		{ "too large", "t", NULL, 0, 8, 0, "larger than the" },
		{ "too small", "t", NULL, 0, -1, 0, "requires" },
	};
	struct evbus_handler	 h;
	size_t			 i;
	int			 rc;

	memset(n63, 'n', 63);
	n63[63] = '\0';
	memset(n64, 'n', 64);
	n64[64] = '\0';

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&h, 0, sizeof(h));
		h.magic = EVBUS_HANDLER_MAGIC;
		h.abi_major = EVBUS_HANDLER_ABI_MAJOR;
		h.abi_minor = EVBUS_HANDLER_ABI_MINOR;
		h.struct_size = (uint32_t)(sizeof(h) + cases[i].size_delta);
		h.name = cases[i].name;
		h.event_types = cases[i].types;
		h.handle = cases[i].no_handle ? NULL : dummy_handle;
		err[0] = '\0';
		rc = loader_check_descriptor(&h, "x.so", err, sizeof(err));
		cu_checkf(rc == (cases[i].ok ? 0 : -1), "%s: expected %d, "
		    "got %d (\"%s\")", cases[i].label, cases[i].ok ? 0 : -1,
		    rc, err);
		if (cases[i].sub != NULL)
			cu_checkf(strstr(err, cases[i].sub) != NULL, "%s: "
			    "expected \"%s\" in \"%s\"", cases[i].label,
			    cases[i].sub, err);
	}
	err[0] = '\0';
	cu_checkf(loader_check_descriptor(NULL, "x.so", err,
	    sizeof(err)) == -1 && strstr(err, "x.so") != NULL,
	    "NULL descriptor: expected a refusal, got \"%s\"", err);
}

/*
 * Host API.
 */

static const char *const host_test_types[] = { "*", NULL };
static const struct evbus_handler host_test_desc = {
	EVBUS_HANDLER_MAGIC, EVBUS_HANDLER_ABI_MAJOR, EVBUS_HANDLER_ABI_MINOR,
	sizeof(struct evbus_handler), "t", "1.0", host_test_types, NULL,
	dummy_handle, NULL
};

/* One lookup: which function, which key, and what it must give. */
enum lookup { L_STR, L_INT, L_FLOAT, L_BOOL };
struct lookup_case {
	enum lookup	 fn;
	const char	*key;
	int		 rc;
	const char	*s;
	int64_t		 i;
	double		 f;
	bool		 b;
};

/* Run cases through the config (hdr 0), header (1) or field (2) calls. */
static void
run_lookups(const char *what, int kind, struct evbus_host *host,
    const struct evbus_event_view *ev, const struct lookup_case *c,
    size_t n)
{
	const struct evbus_host_api *api = &worker_host_api;
	const char	*s, *untouched = "untouched";
	int64_t		 i;
	double		 f;
	bool		 b;
	size_t		 k;
	int		 rc = -2;

	for (k = 0; k < n; k++, c++) {
		s = untouched;
		i = -12345;
		f = -1.25;
		b = false;
		switch (c->fn) {
		case L_STR:
			rc = kind == 0 ? api->config_string(host, c->key, &s) :
			    kind == 1 ? api->header_string(host, ev, c->key,
			    &s) : api->field_string(host, ev, c->key, &s);
			break;
		case L_INT:
			rc = kind == 0 ? api->config_int(host, c->key, &i) :
			    kind == 1 ? api->header_int(host, ev, c->key, &i) :
			    api->field_int(host, ev, c->key, &i);
			break;
		case L_FLOAT:
			rc = kind == 0 ? api->config_float(host, c->key, &f) :
			    api->field_float(host, ev, c->key, &f);
			break;
		case L_BOOL:
			rc = kind == 0 ? api->config_bool(host, c->key, &b) :
			    api->field_bool(host, ev, c->key, &b);
			break;
		}
		cu_checkf(rc == c->rc, "%s %s (%d): expected rc %d, got %d",
		    what, c->key, (int)c->fn, c->rc, rc);
		if (rc != c->rc)
			continue;
		if (rc != 0) {
			/* Absent or wrong type: the default stays. */
			cu_checkf(s == untouched && i == -12345 && f == -1.25 &&
			    !b, "%s %s: out value changed on rc %d", what,
			    c->key, rc);
			continue;
		}
		switch (c->fn) {
		case L_STR:
			cu_checkf(s != NULL && strcmp(s, c->s) == 0,
			    "%s %s: expected \"%s\", got \"%s\"", what, c->key,
			    c->s, s ? s : "(null)");
			break;
		case L_INT:
			cu_checkf(i == c->i, "%s %s: expected %lld, got %lld",
			    what, c->key, (long long)c->i, (long long)i);
			break;
		case L_FLOAT:
			cu_checkf(f == c->f, "%s %s: expected %g, got %g",
			    what, c->key, c->f, f);
			break;
		case L_BOOL:
			cu_checkf(b == c->b, "%s %s: expected %d, got %d",
			    what, c->key, (int)c->b, (int)b);
			break;
		}
	}
}

static void
test_host_config(void)
{
	static const struct lookup_case cases[] = {
		{ L_STR, "s", 0, "str", 0, 0, 0 },
		{ L_STR, "i", -1, NULL, 0, 0, 0 },
		{ L_STR, "missing", 1, NULL, 0, 0, 0 },
		{ L_STR, "nested.host", 0, "db1", 0, 0, 0 },
		{ L_STR, "nested.missing", 1, NULL, 0, 0, 0 },
		{ L_STR, "nested", -1, NULL, 0, 0, 0 },
		{ L_INT, "i", 0, NULL, 42, 0, 0 },
		{ L_INT, "neg", 0, NULL, -7, 0, 0 },
		{ L_INT, "big", 0, NULL, 5000000000LL, 0, 0 },
		{ L_INT, "nested.port", 0, NULL, 5432, 0, 0 },
		{ L_INT, "f", -1, NULL, 0, 0, 0 },
		{ L_INT, "s", -1, NULL, 0, 0, 0 },
		{ L_INT, "arr", -1, NULL, 0, 0, 0 },
		{ L_INT, "missing", 1, NULL, 0, 0, 0 },
		{ L_FLOAT, "f", 0, NULL, 0, 1.5, 0 },
		{ L_FLOAT, "i", 0, NULL, 0, 42.0, 0 },
		{ L_FLOAT, "big", 0, NULL, 0, 5000000000.0, 0 },
		{ L_FLOAT, "b", -1, NULL, 0, 0, 0 },
		{ L_FLOAT, "missing", 1, NULL, 0, 0, 0 },
		{ L_BOOL, "b", 0, NULL, 0, 0, true },
		{ L_BOOL, "nested.off", 0, NULL, 0, 0, false },
		{ L_BOOL, "i", -1, NULL, 0, 0, 0 },
		{ L_BOOL, "missing", 1, NULL, 0, 0, 0 },
		{ L_STR, NULL, -1, NULL, 0, 0, 0 },
	};
	static const struct lookup_case nosection[] = {
		{ L_STR, "s", 1, NULL, 0, 0, 0 },
		{ L_INT, "i", 1, NULL, 0, 0, 0 },
		{ L_FLOAT, "f", 1, NULL, 0, 0, 0 },
		{ L_BOOL, "b", 1, NULL, 0, 0, 0 },
	};
	config_t		 cfg;
	struct plugin		 p;

	config_init(&cfg);
	if (config_read_string(&cfg, "handlers = { t = {\n"
	    "	s = \"str\"; i = 42; neg = -7; big = 5000000000L;\n"
	    "	f = 1.5;\n"
	    "	b = true; arr = [1, 2];\n"
	    "	nested = { host = \"db1\"; port = 5432; off = false; };\n"
	    "}; };\n") != CONFIG_TRUE) {
		cu_failf("config_read_string: line %d: %s",
		    config_error_line(&cfg), config_error_text(&cfg));
		config_destroy(&cfg);
		return;
	}
	memset(&p, 0, sizeof(p));
	p.h = &host_test_desc;
	p.host.plugin = &p;
	p.conf = config_lookup(&cfg, "handlers.t");
	cu_checkf(p.conf != NULL, "config: no handlers.t section");
	run_lookups("config", 0, &p.host, NULL, cases,
	    sizeof(cases) / sizeof(cases[0]));
	/* A handler without a section: everything is absent. */
	p.conf = NULL;
	run_lookups("no section", 0, &p.host, NULL, nosection,
	    sizeof(nosection) / sizeof(nosection[0]));
	config_destroy(&cfg);
}

static void
hdr(amqp_table_entry_t *e, const char *key, uint8_t kind)
{
	memset(e, 0, sizeof(*e));
	e->key = amqp_cstring_bytes(key);
	e->value.kind = kind;
}

static void
test_host_headers(void)
{
	static const struct lookup_case cases[] = {
		{ L_STR, "s", 0, "hello", 0, 0, 0 },
		{ L_STR, "empty", 0, "", 0, 0, 0 },
		{ L_STR, "n", -1, NULL, 0, 0, 0 },
		{ L_STR, "bin", -1, NULL, 0, 0, 0 },
		{ L_STR, "nul", -1, NULL, 0, 0, 0 },
		{ L_STR, "missing", 1, NULL, 0, 0, 0 },
		{ L_INT, "n", 0, NULL, 7, 0, 0 },
		{ L_INT, "neg", 0, NULL, -3, 0, 0 },
		{ L_INT, "big", 0, NULL, 1LL << 40, 0, 0 },
		{ L_INT, "digits", 0, NULL, 123, 0, 0 },
		{ L_INT, "x-retry-count", 0, NULL, 2, 0, 0 },
		{ L_INT, "s", -1, NULL, 0, 0, 0 },
		{ L_INT, "missing", 1, NULL, 0, 0, 0 },
	};
	static const struct lookup_case none[] = {
		{ L_STR, "s", 1, NULL, 0, 0, 0 },
		{ L_INT, "n", 1, NULL, 0, 0, 0 },
	};
	amqp_table_entry_t	 e[10];
	amqp_table_t		 t;
	struct delivery		 d;
	struct plugin		 p;
	const char		*s1 = NULL, *s2 = NULL;
	int			 rc;

	hdr(&e[0], "s", AMQP_FIELD_KIND_UTF8);
	e[0].value.value.bytes = amqp_cstring_bytes("hello");
	hdr(&e[1], "empty", AMQP_FIELD_KIND_UTF8);
	e[1].value.value.bytes = amqp_cstring_bytes("");
	hdr(&e[2], "n", AMQP_FIELD_KIND_I32);
	e[2].value.value.i32 = 7;
	hdr(&e[3], "bin", AMQP_FIELD_KIND_BYTES);
	e[3].value.value.bytes = amqp_cstring_bytes("raw");
	hdr(&e[4], "nul", AMQP_FIELD_KIND_UTF8);
	e[4].value.value.bytes.bytes = (void *)"a\0b";
	e[4].value.value.bytes.len = 3;
	hdr(&e[5], "neg", AMQP_FIELD_KIND_I8);
	e[5].value.value.i8 = -3;
	hdr(&e[6], "big", AMQP_FIELD_KIND_I64);
	e[6].value.value.i64 = 1LL << 40;
	hdr(&e[7], "digits", AMQP_FIELD_KIND_UTF8);
	e[7].value.value.bytes = amqp_cstring_bytes("123");
	hdr(&e[8], "x-retry-count", AMQP_FIELD_KIND_U8);
	e[8].value.value.u8 = 2;
	t.num_entries = 9;
	t.entries = e;

	memset(&p, 0, sizeof(p));
	p.h = &host_test_desc;
	p.host.plugin = &p;
	p.host.worker = &tw;
	memset(&d, 0, sizeof(d));
	d.headers = &t;
	d.view.host_private = &d;
	host_set_current(&tw, &d);
	run_lookups("header", 1, &p.host, &d.view, cases,
	    sizeof(cases) / sizeof(cases[0]));

	/* Copies are made once per header and delivery. */
	rc = worker_host_api.header_string(&p.host, &d.view, "s", &s1);
	rc |= worker_host_api.header_string(&p.host, &d.view, "s", &s2);
	cu_checkf(rc == 0 && s1 == s2, "header copy: expected the same "
	    "pointer twice, got %p and %p", (const void *)s1,
	    (const void *)s2);
	/* A NULL view means the current delivery. */
	s1 = NULL;
	rc = worker_host_api.header_string(&p.host, NULL, "s", &s1);
	cu_checkf(rc == 0 && s1 != NULL && strcmp(s1, "hello") == 0,
	    "header with NULL view: expected hello, got rc %d", rc);
	host_set_current(&tw, NULL);
	rc = worker_host_api.header_string(&p.host, NULL, "s", &s1);
	cu_checkf(rc == -1, "header with no delivery: expected -1, got %d",
	    rc);

	/* A message without headers. */
	d.headers = NULL;
	run_lookups("no headers", 1, &p.host, &d.view, none,
	    sizeof(none) / sizeof(none[0]));
	host_set_current(&tw, NULL);
}

static void
test_host_fields(void)
{
	static const struct lookup_case cases[] = {
		{ L_STR, "order_number", 0, "ORD-001", 0, 0, 0 },
		{ L_STR, "total_amount", -1, NULL, 0, 0, 0 },
		{ L_STR, "nul", 1, NULL, 0, 0, 0 },
		{ L_STR, "zero", -1, NULL, 0, 0, 0 },
		{ L_STR, "missing", 1, NULL, 0, 0, 0 },
		{ L_STR, "obj", -1, NULL, 0, 0, 0 },
		{ L_INT, "qty", 0, NULL, 3, 0, 0 },
		{ L_INT, "qty_s", 0, NULL, 42, 0, 0 },
		{ L_INT, "neg_s", 0, NULL, -7, 0, 0 },
		{ L_INT, "plus_s", 0, NULL, 5, 0, 0 },
		{ L_INT, "under", 0, NULL, 1000, 0, 0 },
		{ L_INT, "bad_under", -1, NULL, 0, 0, 0 },
		{ L_INT, "lead_under", -1, NULL, 0, 0, 0 },
		{ L_INT, "trail_under", -1, NULL, 0, 0, 0 },
		{ L_INT, "sign_only", -1, NULL, 0, 0, 0 },
		{ L_INT, "bad_s", -1, NULL, 0, 0, 0 },
		{ L_INT, "float_s", -1, NULL, 0, 0, 0 },
		{ L_INT, "empty_s", -1, NULL, 0, 0, 0 },
		{ L_INT, "float_int", 0, NULL, 3, 0, 0 },
		{ L_INT, "total_amount", -1, NULL, 0, 0, 0 },
		{ L_INT, "max", 0, NULL, INT64_MAX, 0, 0 },
		{ L_INT, "max_s", 0, NULL, INT64_MAX, 0, 0 },
		{ L_INT, "min_s", 0, NULL, INT64_MIN, 0, 0 },
		{ L_INT, "huge", -1, NULL, 0, 0, 0 },
		{ L_INT, "huge_s", -1, NULL, 0, 0, 0 },
		{ L_INT, "flag", -1, NULL, 0, 0, 0 },
		{ L_INT, "nul", 1, NULL, 0, 0, 0 },
		{ L_FLOAT, "total_amount", 0, NULL, 0, 99.5, 0 },
		{ L_FLOAT, "qty", 0, NULL, 0, 3.0, 0 },
		{ L_FLOAT, "price", 0, NULL, 0, 19.99, 0 },
		{ L_FLOAT, "bad_s", -1, NULL, 0, 0, 0 },
		{ L_FLOAT, "hex_s", -1, NULL, 0, 0, 0 },
		{ L_FLOAT, "inf_s", -1, NULL, 0, 0, 0 },
		{ L_FLOAT, "flag", -1, NULL, 0, 0, 0 },
		{ L_FLOAT, "missing", 1, NULL, 0, 0, 0 },
		{ L_BOOL, "flag", 0, NULL, 0, 0, true },
		{ L_BOOL, "qty", -1, NULL, 0, 0, 0 },
		{ L_BOOL, "nul", 1, NULL, 0, 0, 0 },
		{ L_BOOL, "missing", 1, NULL, 0, 0, 0 },
		/* Only top-level keys: nested ones are not reachable. */
		{ L_STR, "obj.k", 1, NULL, 0, 0, 0 },
	};
	struct delivery		 d;
	struct plugin		 p;
	const char		*s = NULL;
	int			 rc;

	memset(&p, 0, sizeof(p));
	p.h = &host_test_desc;
	p.host.plugin = &p;
	p.host.worker = &tw;
	memset(&d, 0, sizeof(d));
	d.body = tape_of("{\"order_number\":\"ORD-001\","
	    "\"total_amount\":99.5,\"qty\":3,\"qty_s\":\" 42 \","
	    "\"neg_s\":\"-7\",\"plus_s\":\"+5\",\"under\":\"1_000\","
	    "\"bad_under\":\"1__000\",\"lead_under\":\"_1\","
	    "\"trail_under\":\"1_\",\"sign_only\":\" - \",\"bad_s\":\"4x\","
	    "\"float_s\":\"4.0\","
	    "\"empty_s\":\"\",\"float_int\":3.0,"
	    "\"max\":9223372036854775807,\"max_s\":\"9223372036854775807\","
	    "\"min_s\":\"-9223372036854775808\","
	    "\"huge\":18446744073709551615,\"huge_s\":\"9223372036854775808\","
	    "\"flag\":true,\"nul\":null,\"zero\":\"a\\u0000b\","
	    "\"price\":\"19.99\",\"hex_s\":\"0x10\",\"inf_s\":\"inf\","
	    "\"obj\":{\"k\":\"v\"}}");
	cu_checkf(d.body != NULL, "fields: the test body does not parse");
	if (d.body == NULL)
		return;
	d.view.host_private = &d;
	run_lookups("field", 2, &p.host, &d.view, cases,
	    sizeof(cases) / sizeof(cases[0]));

	/* A NULL view with no current delivery is a misuse, not a crash. */
	rc = worker_host_api.field_string(&p.host, NULL, "order_number", &s);
	cu_checkf(rc == -1, "field with no delivery: expected -1, got %d", rc);
	/* A delivery without a body object: every field is absent. */
	tape_free(d.body);
	d.body = NULL;
	rc = worker_host_api.field_string(&p.host, &d.view, "order_number",
	    &s);
	cu_checkf(rc == 1, "field without body: expected 1, got %d", rc);
}

/* Send stderr to a temporary file until capture_stderr_end(). */
static FILE	*cap_file;
static int	 cap_saved = -1;

static void
capture_stderr_begin(void)
{
	fflush(stderr);
	if ((cap_file = tmpfile()) == NULL ||
	    (cap_saved = dup(2)) == -1) {
		cu_failf("capture: %s", strerror(errno));
		if (cap_file != NULL)
			fclose(cap_file);
		cap_file = NULL;
		return;
	}
	dup2(fileno(cap_file), 2);
}

/* Restore stderr; return what was written meanwhile. */
static char *
capture_stderr_end(void)
{
	static char	 buf[8192];
	size_t		 n;

	buf[0] = '\0';
	if (cap_file == NULL)
		return buf;
	fflush(stderr);
	dup2(cap_saved, 2);
	close(cap_saved);
	cap_saved = -1;
	rewind(cap_file);
	n = fread(buf, 1, sizeof(buf) - 1, cap_file);
	buf[n] = '\0';
	fclose(cap_file);
	cap_file = NULL;
	return buf;
}

/* Run fn with stderr going to a file; return what it wrote. */
static char *
capture_stderr(void (*fn)(void *), void *arg)
{
	capture_stderr_begin();
	fn(arg);
	return capture_stderr_end();
}

static void
log_some(void *arg)
{
	struct evbus_host	*host = arg;

	worker_host_api.log(host, EVBUS_LOG_INFO, "hello %d", 42);
	worker_host_api.log(host, EVBUS_LOG_WARN, "two\nlines");
	worker_host_api.log(host, EVBUS_LOG_DEBUG, "debug %s", "hidden");
}

static void
test_host_log(void)
{
	struct delivery		 d;
	struct plugin		 p;
	char			*out;

	memset(&p, 0, sizeof(p));
	p.h = &host_test_desc;
	p.host.plugin = &p;
	p.host.worker = &tw;

	/* Outside handle(): only the handler's name. */
	out = capture_stderr(log_some, &p.host);
	cu_checkf(strstr(out, "handler t: hello 42\n") != NULL,
	    "log: expected \"handler t: hello 42\", got \"%s\"", out);
	cu_checkf(strstr(out, "handler t: two\\nlines\n") != NULL,
	    "log: expected the newline escaped, got \"%s\"", out);
	cu_checkf(strstr(out, "hidden") == NULL,
	    "log: debug line printed while not verbose: \"%s\"", out);

	/* Inside handle(): event id and trace id too. */
	memset(&d, 0, sizeof(d));
	d.view.event_id = "3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b";
	snprintf(d.trace_id, sizeof(d.trace_id), "%s",
	    "4bf92f3577b34da6a3ce929d0e0e4736");
	d.view.host_private = &d;
	host_set_current(&tw, &d);
	log_setverbose(1);
	out = capture_stderr(log_some, &p.host);
	log_setverbose(0);
	cu_checkf(strstr(out, "handler t: event "
	    "3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b trace "
	    "4bf92f3577b34da6a3ce929d0e0e4736: hello 42\n") != NULL,
	    "log in handle: expected event and trace ids, got \"%s\"", out);
	cu_checkf(strstr(out, "debug hidden") != NULL,
	    "log: debug line missing while verbose: \"%s\"", out);

	/* Without a trace id. */
	d.trace_id[0] = '\0';
	out = capture_stderr(log_some, &p.host);
	cu_checkf(strstr(out, "handler t: event "
	    "3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b: hello 42\n") != NULL,
	    "log without trace: expected the event id only, got \"%s\"", out);
	host_set_current(&tw, NULL);
}

static void
test_host_publish_identity(void)
{
	const struct evbus_host_api *api = &worker_host_api;
	struct plugin		 p;
	struct worker		*w = &tw;
	char			 err[128];
	int			 rc;

	cu_checkf(api->struct_size == sizeof(struct evbus_host_api) &&
	    api->abi_major == EVBUS_HANDLER_ABI_MAJOR &&
	    api->abi_minor == EVBUS_HANDLER_ABI_MINOR, "api header: got size "
	    "%u, ABI %u.%u", (unsigned int)api->struct_size,
	    (unsigned int)api->abi_major, (unsigned int)api->abi_minor);

	memset(&p, 0, sizeof(p));
	p.h = &host_test_desc;
	p.host.plugin = &p;
	p.host.worker = w;

	tw.can_publish = 0;
	err[0] = '\0';
	rc = api->publish(&p.host, NULL, "{}", err, sizeof(err));
	cu_checkf(rc == -1 && strcmp(err, "publishing is not available "
	    "here") == 0, "publish without a publisher: expected -1 and the "
	    "reason, got %d \"%s\"", rc, err);
	rc = api->publish(&p.host, NULL, "{}", NULL, 0);
	cu_checkf(rc == -1, "publish without a publisher or err: expected -1, "
	    "got %d", rc);

	rec_reset();
	tw.can_publish = 1;
	rc = api->publish(&p.host, NULL, "{\"event_type\":\"X\"}", err,
	    sizeof(err));
	cu_checkf(rc == 0 && nrec == 1 && strcmp(rec[0],
	    "{\"event_type\":\"X\"}") == 0 && rec_worker == w,
	    "publish: expected wpub_event to get the event and worker, got rc "
	    "%d, %zu calls", rc, nrec);
	tw.can_publish = 0;

	cu_checkf(api->worker_index(&p.host) == 2, "worker_index: expected 2, "
	    "got %d", api->worker_index(&p.host));
	cu_checkf(strcmp(api->consumer_name(&p.host), "test-consumer-2") == 0,
	    "consumer_name: expected test-consumer-2, got %s",
	    api->consumer_name(&p.host));
}

/*
 * Bundled handlers: chaos, jsonl and the tutorial's order flow, loaded
 * and driven through the real loader and host API.
 */

#define TEST_EVENT_ID	"3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b"
#define TEST_AGG_ID	"7d9e1f20-3a4b-4c5d-8e6f-708192a3b4c5"

/* A delivery of type with body (an object), as the worker builds one. */
static int
event_make(struct delivery *d, const char *type, const char *body,
    int64_t retry_count)
{
	memset(d, 0, sizeof(*d));
	if ((d->body = tape_of(body)) == NULL) {
		cu_failf("test body does not parse: %s", body);
		return -1;
	}
	d->view.event_id = TEST_EVENT_ID;
	d->view.event_type = type;
	d->view.event_version = 1;
	d->view.aggregate_id = TEST_AGG_ID;
	d->view.aggregate_type = "Order";
	d->view.aggregate_version = 3;
	d->view.body = body;
	d->view.body_len = strlen(body);
	d->view.retry_count = retry_count;
	d->view.host_private = d;
	return 0;
}

static void
event_free(struct delivery *d)
{
	tape_free(d->body);
	d->body = NULL;
}

/* Load names (NULL-terminated) from a fresh dir and init them with conf. */
static int
load_init(struct plugins *ps, const char *const *names, const char *conf,
    struct evbus_config **cp, char *err, size_t errlen)
{
	struct evbus_conf_errors errs = { NULL, 0 };
	const char	*dir;
	size_t		 i;

	*cp = evbus_config_load_string(conf, "test-handlers", &errs);
	for (i = 0; i < errs.n; i++)
		cu_failf("config: %s", errs.msgs[i]);
	evbus_conf_errors_clear(&errs);
	if (*cp == NULL)
		return -1;
	dir = make_dir();
	for (; *names != NULL; names++)
		link_plugin(dir, *names, NULL);
	if (loader_load_dir(dir, ps, err, errlen) == -1)
		return -1;
	return loader_init_all(ps, *cp, &tw, err, errlen);
}

/* Run every plugin that wants d's type; the last result, err filled. */
static enum evbus_result
dispatch_one(struct plugins *ps, struct delivery *d, struct evbus_error *e)
{
	struct plugin		*list[EVBUS_MAX_PLUGINS];
	enum evbus_result	 r = EVBUS_OK;
	size_t			 i, n;

	n = loader_dispatch_list(ps, d->view.event_type, list,
	    EVBUS_MAX_PLUGINS);
	host_set_current(&tw, d);
	for (i = 0; i < n; i++) {
		memset(e, 0, sizeof(*e));
		r = list[i]->h->handle(list[i]->state, &d->view, e);
	}
	host_set_current(&tw, NULL);
	return r;
}

/*
 * Count the lines of a file, each of which must be a JSON object ending in
 * a newline (*bad counts the others); the first n parsed go to objs.
 */
static size_t
read_lines(const char *path, json_object **objs, size_t n, int *bad)
{
	json_object	*o;
	FILE	*fp;
	char	*line = NULL;
	size_t	 cap = 0, k = 0;
	ssize_t	 len;

	*bad = 0;
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	while ((len = getline(&line, &cap, fp)) != -1) {
		if (len == 0 || line[len - 1] != '\n')
			(*bad)++;
		o = json_tokener_parse(line);
		if (o == NULL || !json_object_is_type(o, json_type_object))
			(*bad)++;
		if (k < n)
			objs[k] = o;
		else
			json_object_put(o);
		k++;
	}
	free(line);
	fclose(fp);
	return k;
}

static const char *
jstr(json_object *o, const char *key)
{
	json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) || v == NULL)
		return NULL;
	return json_object_get_string(v);
}

static void
test_chaos_controls(void)
{
	static const struct {
		const char		*body;
		int64_t			 retry_count;
		enum evbus_result	 res;
		const char		*type;
		const char		*reason;
		const char		*outcome;
	} cases[] = {
		{ "{}", 0, EVBUS_OK, "", "", "ok" },
		{ "{\"chaos\":\"ok\"}", 0, EVBUS_OK, "", "", "ok" },
		{ "{\"chaos\":\"fail\"}", 0, EVBUS_FAIL, "ChaosError",
		    "chaos: asked to fail", "fail" },
		{ "{\"chaos\":\"retry\"}", 5, EVBUS_RETRY, "ChaosRetry",
		    "chaos: asked to retry", "retry" },
		{ "{\"chaos\":\"retry_once\"}", 0, EVBUS_RETRY, "ChaosRetry",
		    "chaos: asked to retry once", "retry" },
		{ "{\"chaos\":\"retry_once\"}", 1, EVBUS_OK, "", "", "ok" },
		{ "{\"fail_until\":2}", 0, EVBUS_RETRY, "ChaosRetry",
		    "fail until retry 2 (retry_count is 0)", "retry" },
		{ "{\"fail_until\":2}", 1, EVBUS_RETRY, "ChaosRetry",
		    "(retry_count is 1)", "retry" },
		{ "{\"fail_until\":2}", 2, EVBUS_OK, "", "", "ok" },
		{ "{\"fail_until\":\"1\"}", 0, EVBUS_RETRY, "ChaosRetry", "",
		    "retry" },
		{ "{\"chaos\":\"fail\",\"fail_until\":1}", 0, EVBUS_RETRY,
		    "ChaosRetry", "", "retry" },
		{ "{\"chaos\":\"fail\",\"fail_until\":1}", 1, EVBUS_FAIL,
		    "ChaosError", "chaos: asked to fail", "fail" },
		{ "{\"sleep_ms\":30}", 0, EVBUS_OK, "", "", "ok" },
		{ "{\"chaos\":\"explode\"}", 0, EVBUS_FAIL, "ChaosError",
		    "chaos: unknown mode \"explode\"", "fail" },
		{ "{\"chaos\":5}", 0, EVBUS_FAIL, "ChaosError",
		    "field \"chaos\" is not a string", "fail" },
		{ "{\"fail_until\":\"x\"}", 0, EVBUS_FAIL, "ChaosError",
		    "must be integers", "fail" },
	};
	enum { NCASES = sizeof(cases) / sizeof(cases[0]) };
	struct plugins		*ps;
	struct evbus_config	*c = NULL;
	struct delivery		 d;
	struct evbus_error	 e;
	struct timespec		 t0, t1;
	json_object		*lines[NCASES + 1];
	const char		*dir;
	char			 conf[PATH_MAX + 64], rpath[PATH_MAX];
	char			 err[1024] = "";
	enum evbus_result	 r;
	size_t			 i, n;
	double			 ms;
	int			 bad;
	static const char *const names[] = { "chaos", NULL };

	ps = calloc(1, sizeof(*ps));
	dir = make_dir();
	snprintf(rpath, sizeof(rpath), "%s/attempts.jsonl", dir);
	snprintf(conf, sizeof(conf), "handlers = { chaos = { path = \"%s\"; "
	    "}; };", rpath);
	if (load_init(ps, names, conf, &c, err, sizeof(err)) == -1) {
		cu_failf("chaos: load/init: %s", err);
		goto out;
	}
	for (i = 0; i < NCASES; i++) {
		if (event_make(&d, "AnyEvent", cases[i].body,
		    cases[i].retry_count) == -1)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = dispatch_one(ps, &d, &e);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		cu_checkf(r == cases[i].res, "chaos %s retry %lld: expected "
		    "result %d, got %d (%s: %s)", cases[i].body,
		    (long long)cases[i].retry_count, cases[i].res, r, e.type,
		    e.reason);
		if (r != EVBUS_OK) {
			cu_checkf(strcmp(e.type, cases[i].type) == 0,
			    "chaos %s: expected error type %s, got %s",
			    cases[i].body, cases[i].type, e.type);
			cu_checkf(strstr(e.reason, cases[i].reason) != NULL,
			    "chaos %s: expected reason with \"%s\", got "
			    "\"%s\"", cases[i].body, cases[i].reason,
			    e.reason);
		}
		ms = (t1.tv_sec - t0.tv_sec) * 1e3 +
		    (t1.tv_nsec - t0.tv_nsec) / 1e6;
		if (strstr(cases[i].body, "sleep_ms") != NULL)
			cu_checkf(ms >= 30, "chaos sleep_ms 30: returned "
			    "after %.1f ms", ms);
		event_free(&d);
	}

	/* One record line per attempt, with the outcome and the event. */
	n = read_lines(rpath, lines, NCASES + 1, &bad);
	cu_checkf(n == NCASES && bad == 0, "chaos record: expected %d good "
	    "lines, got %zu (%d bad)", (int)NCASES, n, bad);
	for (i = 0; i < n && i < NCASES; i++) {
		if (lines[i] == NULL)
			continue;
		cu_checkf(jstr(lines[i], "outcome") != NULL &&
		    strcmp(jstr(lines[i], "outcome"), cases[i].outcome) == 0,
		    "chaos record %zu (%s): expected outcome %s, got %s", i,
		    cases[i].body, cases[i].outcome,
		    jstr(lines[i], "outcome") ? jstr(lines[i], "outcome") :
		    "(none)");
		cu_checkf(jstr(lines[i], "event_id") != NULL &&
		    strcmp(jstr(lines[i], "event_id"), TEST_EVENT_ID) == 0 &&
		    strcmp(jstr(lines[i], "consumer"), "test-consumer-2") == 0,
		    "chaos record %zu: wrong event_id or consumer", i);
		json_object_put(lines[i]);
	}
out:
	loader_unload_all(ps);
	evbus_config_free(c);
	free(ps);
	rm_dirs();
}

/* Config keys override the body's controls for every event. */
static void
test_chaos_config(void)
{
	static const char *const names[] = { "chaos", NULL };
	static const char *const bad_subs[] = {
	    "plugin chaos.so (chaos): init failed", NULL };
	struct plugins		*ps;
	struct evbus_config	*c = NULL;
	struct delivery		 d;
	struct evbus_error	 e;
	char			 err[1024] = "";
	enum evbus_result	 r;

	ps = calloc(1, sizeof(*ps));
	if (load_init(ps, names, "handlers = { chaos = { mode = \"fail\"; }; "
	    "};", &c, err, sizeof(err)) == -1)
		cu_failf("chaos mode=fail: load/init: %s", err);
	else if (event_make(&d, "AnyEvent", "{\"chaos\":\"ok\"}", 0) == 0) {
		r = dispatch_one(ps, &d, &e);
		cu_checkf(r == EVBUS_FAIL && strcmp(e.reason,
		    "chaos: asked to fail") == 0, "chaos mode=fail: expected "
		    "EVBUS_FAIL over the body's \"ok\", got %d (%s)", r,
		    e.reason);
		event_free(&d);
	}
	loader_unload_all(ps);
	evbus_config_free(c);
	c = NULL;
	rm_dirs();

	if (load_init(ps, names, "handlers = { chaos = { fail_until = 1; "
	    "}; };", &c, err, sizeof(err)) == -1)
		cu_failf("chaos fail_until=1: load/init: %s", err);
	else if (event_make(&d, "AnyEvent", "{\"fail_until\":9}", 1) == 0) {
		r = dispatch_one(ps, &d, &e);
		cu_checkf(r == EVBUS_OK, "chaos fail_until=1 at retry 1: "
		    "expected EVBUS_OK over the body's 9, got %d", r);
		event_free(&d);
	}
	loader_unload_all(ps);
	evbus_config_free(c);
	c = NULL;
	rm_dirs();

	err[0] = '\0';
	cu_checkf(load_init(ps, names, "handlers = { chaos = { mode = "
	    "\"explode\"; }; };", &c, err, sizeof(err)) == -1,
	    "chaos mode=explode: expected init to fail");
	check_err("chaos mode=explode", err, bad_subs);
	cu_checkf(ps->n == 0, "chaos mode=explode: plugins left loaded");
	evbus_config_free(c);
	free(ps);
	rm_dirs();
}

/*
 * The destructive modes, each in a child process: the child dies the way
 * the mode says, after its attempt was recorded.
 */
static void
test_chaos_crashes(void)
{
	static const struct {
		const char	*mode;
		int		 sig;	/* expected signal, or 0 */
		int		 status;	/* expected exit status */
		int		 hangs;
	} cases[] = {
		{ "segv", SIGSEGV, 0, 0 },
		{ "abort", SIGABRT, 0, 0 },
		{ "exit", 0, 3, 0 },
		{ "hang", 0, 0, 1 },
	};
	static const char *const names[] = { "chaos", NULL };
	struct plugins		*ps;
	struct evbus_config	*c = NULL;
	struct delivery		 d;
	struct evbus_error	 e;
	json_object		*lines[8];
	const char		*dir;
	char			 conf[PATH_MAX + 64], rpath[PATH_MAX];
	char			 body[64], err[1024] = "";
	size_t			 i, n;
	pid_t			 pid;
	int			 st, bad, waited, limit;

	ps = calloc(1, sizeof(*ps));
	dir = make_dir();
	snprintf(rpath, sizeof(rpath), "%s/attempts.jsonl", dir);
	snprintf(conf, sizeof(conf), "handlers = { chaos = { path = \"%s\"; "
	    "}; };", rpath);
	if (load_init(ps, names, conf, &c, err, sizeof(err)) == -1) {
		cu_failf("chaos: load/init: %s", err);
		goto out;
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(body, sizeof(body), "{\"chaos\":\"%s\"}",
		    cases[i].mode);
		fflush(NULL);
		if ((pid = fork()) == -1) {
			cu_failf("fork: %s", strerror(errno));
			break;
		}
		if (pid == 0) {
			/* Let a sanitizer's SEGV handler step aside. */
			signal(SIGSEGV, SIG_DFL);
			if (event_make(&d, "AnyEvent", body, 0) == 0)
				dispatch_one(ps, &d, &e);
			_exit(100);
		}
		limit = cases[i].hangs ? 50 : 300;
		for (waited = 0; waited < limit; waited++) {
			if (waitpid(pid, &st, WNOHANG) == pid)
				break;
			usleep(10000);
		}
		if (cases[i].hangs) {
			cu_checkf(waited == limit, "chaos hang: the child "
			    "returned (status 0x%x)", st);
			if (waited == limit) {
				kill(pid, SIGKILL);
				waitpid(pid, &st, 0);
			}
			continue;
		}
		if (waited == limit) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			cu_failf("chaos %s: the child did not die in 3 s",
			    cases[i].mode);
			continue;
		}
		if (cases[i].sig != 0)
			cu_checkf(WIFSIGNALED(st) &&
			    WTERMSIG(st) == cases[i].sig, "chaos %s: expected "
			    "death by signal %d, got status 0x%x",
			    cases[i].mode, cases[i].sig, st);
		else
			cu_checkf(WIFEXITED(st) &&
			    WEXITSTATUS(st) == cases[i].status, "chaos %s: "
			    "expected exit %d, got status 0x%x", cases[i].mode,
			    cases[i].status, st);
	}
	/* Every attempt was recorded before the child died. */
	n = read_lines(rpath, lines, 8, &bad);
	cu_checkf(n == 4 && bad == 0, "chaos crash records: expected 4 good "
	    "lines, got %zu (%d bad)", n, bad);
	for (i = 0; i < n && i < 4; i++) {
		if (lines[i] == NULL)
			continue;
		cu_checkf(jstr(lines[i], "outcome") != NULL &&
		    strcmp(jstr(lines[i], "outcome"), cases[i].mode) == 0,
		    "chaos crash record %zu: expected outcome %s", i,
		    cases[i].mode);
		json_object_put(lines[i]);
	}
out:
	loader_unload_all(ps);
	evbus_config_free(c);
	free(ps);
	rm_dirs();
}

static void
test_jsonl(void)
{
	static const char *const names[] = { "jsonl", NULL };
	static const char *const nopath_subs[] = {
	    "plugin jsonl.so (jsonl): init failed", NULL };
	static const char body[] = "{\n  \"order_number\": \"ORD-\\\"1\\\"\",\n"
	    "  \"total_amount\": 99.5\n}";
	struct plugins		*ps;
	struct evbus_config	*c = NULL;
	struct delivery		 d;
	struct evbus_error	 e;
	json_object		*lines[4], *b, *v;
	const char		*dir;
	char			 conf[PATH_MAX + 64], path[PATH_MAX];
	char			 err[1024] = "";
	enum evbus_result	 r;
	size_t			 n;
	int			 bad;

	ps = calloc(1, sizeof(*ps));

	/* path is required. */
	err[0] = '\0';
	cu_checkf(load_init(ps, names, "handlers = { jsonl = { fsync = true; "
	    "}; };", &c, err, sizeof(err)) == -1,
	    "jsonl without path: expected init to fail");
	check_err("jsonl without path", err, nopath_subs);
	evbus_config_free(c);
	c = NULL;
	rm_dirs();

	dir = make_dir();
	snprintf(path, sizeof(path), "%s/events.jsonl", dir);
	snprintf(conf, sizeof(conf), "handlers = { jsonl = { path = \"%s\"; "
	    "fsync = true; }; };", path);
	if (load_init(ps, names, conf, &c, err, sizeof(err)) == -1) {
		cu_failf("jsonl: load/init: %s", err);
		goto out;
	}
	if (event_make(&d, "Odd\"Type\\", body, 2) == 0) {
		d.view.redelivered = true;
		d.view.traceparent =
		    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
		r = dispatch_one(ps, &d, &e);
		cu_checkf(r == EVBUS_OK, "jsonl: expected EVBUS_OK, got %d "
		    "(%s: %s)", r, e.type, e.reason);
		d.view.traceparent = NULL;
		d.view.redelivered = false;
		d.view.body = NULL;
		d.view.body_len = 0;
		r = dispatch_one(ps, &d, &e);
		event_free(&d);
	}
	n = read_lines(path, lines, 4, &bad);
	cu_checkf(n == 2 && bad == 0, "jsonl: expected 2 good lines, got %zu "
	    "(%d bad)", n, bad);
	if (n == 2 && bad == 0) {
		cu_checkf(json_object_object_get_ex(lines[0], "worker", &v) &&
		    json_object_get_int(v) == 2, "jsonl: worker is not 2");
		cu_checkf(strcmp(jstr(lines[0], "consumer"),
		    "test-consumer-2") == 0 && strcmp(jstr(lines[0],
		    "event_id"), TEST_EVENT_ID) == 0 && strcmp(jstr(lines[0],
		    "event_type"), "Odd\"Type\\") == 0,
		    "jsonl: consumer, event_id or escaped event_type wrong: "
		    "%s", json_object_to_json_string(lines[0]));
		cu_checkf(json_object_object_get_ex(lines[0], "retry_count",
		    &v) && json_object_get_int(v) == 2 &&
		    json_object_object_get_ex(lines[0], "redelivered", &v) &&
		    json_object_get_boolean(v), "jsonl: retry_count or "
		    "redelivered wrong");
		cu_checkf(jstr(lines[0], "traceparent") != NULL &&
		    strncmp(jstr(lines[0], "traceparent"), "00-4bf92f", 9) ==
		    0 && jstr(lines[1], "traceparent") == NULL,
		    "jsonl: traceparent should be a string, then null");
		cu_checkf(json_object_object_get_ex(lines[0], "body", &b) &&
		    json_object_is_type(b, json_type_object) &&
		    strcmp(jstr(b, "order_number"), "ORD-\"1\"") == 0,
		    "jsonl: body not embedded as the original object: %s",
		    json_object_to_json_string(lines[0]));
		cu_checkf(json_object_object_get_ex(lines[1], "body", &b) &&
		    b == NULL, "jsonl: an empty body should be null");
	}
	for (; n > 0; n--)
		if (n <= 4)
			json_object_put(lines[n - 1]);
	loader_unload_all(ps);
	evbus_config_free(c);
	c = NULL;

	/* A failing write asks for a retry with IOError. */
	if (access("/dev/full", W_OK) == 0) {
		if (load_init(ps, names, "handlers = { jsonl = { path = "
		    "\"/dev/full\"; }; };", &c, err, sizeof(err)) == -1)
			cu_failf("jsonl /dev/full: load/init: %s", err);
		else if (event_make(&d, "X", "{}", 0) == 0) {
			r = dispatch_one(ps, &d, &e);
			cu_checkf(r == EVBUS_RETRY && strcmp(e.type,
			    "IOError") == 0 && strstr(e.reason,
			    "/dev/full") != NULL, "jsonl /dev/full: expected "
			    "EVBUS_RETRY IOError, got %d %s: %s", r, e.type,
			    e.reason);
			event_free(&d);
		}
		loader_unload_all(ps);
		evbus_config_free(c);
	}
out:
	loader_unload_all(ps);
	free(ps);
	rm_dirs();
}

/* Workers appending at once never interleave their lines. */
static void
test_jsonl_concurrent(void)
{
	enum { NPROC = 4, NLINES = 250, PAD = 6000 };
	static const char *const names[] = { "jsonl", NULL };
	struct plugins		*ps;
	struct evbus_config	*c = NULL;
	struct delivery		 d;
	struct evbus_error	 e;
	const char		*dir;
	char			 conf[PATH_MAX + 64], path[PATH_MAX];
	char			 err[1024] = "", *body;
	pid_t			 pids[NPROC];
	size_t			 n;
	int			 i, k, st, bad, failed = 0;

	ps = calloc(1, sizeof(*ps));
	dir = make_dir();
	snprintf(path, sizeof(path), "%s/events.jsonl", dir);
	snprintf(conf, sizeof(conf), "handlers = { jsonl = { path = \"%s\"; "
	    "}; };", path);
	if (load_init(ps, names, conf, &c, err, sizeof(err)) == -1) {
		cu_failf("jsonl: load/init: %s", err);
		goto out;
	}
	fflush(NULL);
	for (i = 0; i < NPROC; i++) {
		if ((pids[i] = fork()) == -1) {
			cu_failf("fork: %s", strerror(errno));
			break;
		}
		if (pids[i] != 0)
			continue;
		/* A big line, several pages, so a torn write would show. */
		if ((body = malloc(PAD + 64)) == NULL)
			_exit(1);
		k = snprintf(body, 64, "{\"worker\":%d,\"pad\":\"", i);
		memset(body + k, 'a' + i, PAD);
		snprintf(body + k + PAD, 64, "\"}");
		for (k = 0; k < NLINES; k++) {
			if (event_make(&d, "Load", body, 0) == -1 ||
			    dispatch_one(ps, &d, &e) != EVBUS_OK)
				_exit(1);
			event_free(&d);
		}
		_exit(0);
	}
	for (k = 0; k < i; k++) {
		waitpid(pids[k], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;
	}
	cu_checkf(failed == 0, "jsonl concurrent: %d writers failed", failed);
	n = read_lines(path, NULL, 0, &bad);
	cu_checkf(n == NPROC * NLINES && bad == 0, "jsonl concurrent: "
	    "expected %d whole lines, got %zu (%d incomplete)",
	    NPROC * NLINES, n, bad);
out:
	loader_unload_all(ps);
	evbus_config_free(c);
	free(ps);
	rm_dirs();
}

static struct plugins	*flow_ps;

static void
flow_run(void *arg)
{
	struct delivery		*d = arg;
	struct evbus_error	 e;

	cu_checkf(dispatch_one(flow_ps, d, &e) == EVBUS_OK, "order flow %s: "
	    "expected EVBUS_OK, got %s: %s", d->view.event_type, e.type,
	    e.reason);
}

/*
 * The tutorial's handlers: subscriptions, config, logging, publishing.
 * Dispatch follows file names: fulfillment.so, inventory.so, shipping.so.
 */
static void
test_order_flow(void)
{
	static const char *const names[] = { "inventory", "fulfillment",
	    "shipping", NULL };
	static const struct {
		const char	*type;
		const char	*want[3];
		const char	*log;
	} cases[] = {
		{ "OrderCreated", { "fulfillment", "inventory", NULL },
		    "reserving stock for order ORD-001" },
		{ "PaymentReceived", { "fulfillment", NULL },
		    "payment 99.50 for order ORD-001" },
		{ "OrderCancelled", { "fulfillment", "inventory", NULL },
		    "releasing the stock of order ORD-001" },
		{ "OrderShipped", { "shipping", NULL },
		    "booking dhl for Order ORD-001" },
		{ "OrderDelivered", { "shipping", NULL },
		    "delivered by dhl" },
		{ "Unrelated", { NULL }, NULL },
	};
	struct plugins		*ps;
	struct plugin		*list[EVBUS_MAX_PLUGINS];
	struct evbus_config	*c = NULL;
	struct delivery		 d;
	amqp_table_entry_t	 he;
	amqp_table_t		 ht;
	json_object		*pub;
	char			 err[1024] = "", *out;
	size_t			 i, j, n;

	ps = calloc(1, sizeof(*ps));
	rec_reset();
	tw.can_publish = 1;
	capture_stderr_begin();
	if (load_init(ps, names, "handlers = {\n"
	    "	inventory = { warehouse = \"north\"; };\n"
	    "	fulfillment = { ship_on_payment = true;\n"
	    "		site = \"dc-7\"; };\n"
	    "	shipping = { carrier = \"dhl\"; };\n"
	    "};\n", &c, err, sizeof(err)) == -1) {
		capture_stderr_end();
		cu_failf("order flow: load/init: %s", err);
		goto out;
	}
	out = capture_stderr_end();
	cu_checkf(strstr(out, "keeping stock in warehouse north") != NULL &&
	    strstr(out, "fulfilling orders at dc-7, shipping on payment") !=
	    NULL && strstr(out, "booking parcels with dhl") != NULL,
	    "order flow: config not read, init logged \"%s\"", out);

	hdr(&he, "aggregate_type", AMQP_FIELD_KIND_UTF8);
	he.value.value.bytes = amqp_cstring_bytes("Order");
	ht.num_entries = 1;
	ht.entries = &he;
	flow_ps = ps;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = loader_dispatch_list(ps, cases[i].type, list,
		    EVBUS_MAX_PLUGINS);
		for (j = 0; cases[i].want[j] != NULL; j++)
			cu_checkf(j < n && strcmp(list[j]->h->name,
			    cases[i].want[j]) == 0, "order flow %s: expected "
			    "%s at %zu", cases[i].type, cases[i].want[j], j);
		cu_checkf(n == j, "order flow %s: expected %zu handlers, got "
		    "%zu", cases[i].type, j, n);
		if (event_make(&d, cases[i].type, "{\"order_number\":"
		    "\"ORD-001\",\"total_amount\":99.5,\"amount\":\"99.50\"}",
		    0) == -1)
			continue;
		d.headers = &ht;
		out = capture_stderr(flow_run, &d);
		if (cases[i].log != NULL)
			cu_checkf(strstr(out, cases[i].log) != NULL,
			    "order flow %s: expected \"%s\" in the log, got "
			    "\"%s\"", cases[i].type, cases[i].log, out);
		event_free(&d);
	}

	/* PaymentReceived published exactly one OrderShipped. */
	cu_checkf(nrec == 1, "order flow: expected 1 publish, got %zu", nrec);
	if (nrec == 1) {
		pub = json_tokener_parse(rec[0]);
		cu_checkf(pub != NULL && strcmp(jstr(pub, "event_type"),
		    "OrderShipped") == 0 && strcmp(jstr(pub, "aggregate_id"),
		    TEST_AGG_ID) == 0 && strcmp(jstr(pub, "order_number"),
		    "ORD-001") == 0 && strcmp(jstr(pub, "aggregate_version"),
		    "4") == 0, "order flow: published %s", rec[0]);
		json_object_put(pub);
	}
out:
	tw.can_publish = 0;
	loader_unload_all(ps);
	evbus_config_free(c);
	free(ps);
	rm_dirs();
}

static const struct cu_test loader_tests[] = {
	{ "good set loads, dispatch order", test_good_set },
	{ "NULL and \"*\" wildcards in load order", test_wildcard_order },
	{ "broken plugins refused", test_broken },
	{ "duplicate names refused", test_duplicates },
	{ "plugin_dir checks", test_dir_checks },
	{ "init, dispatch, fini", test_init_dispatch_fini },
	{ "init failure unloads everything", test_init_fail },
	{ "descriptor checks", test_check_descriptor },
	{ NULL, NULL }
};

static const struct cu_test host_tests[] = {
	{ "config lookups", test_host_config },
	{ "header lookups", test_host_headers },
	{ "field lookups", test_host_fields },
	{ "log prefixes", test_host_log },
	{ "publish and identity", test_host_publish_identity },
	{ NULL, NULL }
};

static const struct cu_test handler_tests[] = {
	{ "chaos controls from the body", test_chaos_controls },
	{ "chaos controls from the config", test_chaos_config },
	{ "chaos crashes, aborts, exits, hangs", test_chaos_crashes },
	{ "jsonl line format and errors", test_jsonl },
	{ "jsonl concurrent writers", test_jsonl_concurrent },
	{ "tutorial order flow", test_order_flow },
	{ NULL, NULL }
};

static const struct cu_suite suites[] = {
	{ "loader", loader_tests },
	{ "host", host_tests },
	{ "handlers", handler_tests },
	{ NULL, NULL }
};

int
main(void)
{
	const char	*b;

	if ((b = getenv("EVBUS_BUILDDIR")) != NULL && *b != '\0')
		builddir = b;
	atexit(rm_dirs);
	return cu_run(suites);
}
