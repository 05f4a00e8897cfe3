/*
 * loader.c: finding, loading and checking handler plugins, and the
 * dispatch table built from their subscriptions.
 *
 * A plugin is a *.so file directly in plugin_dir.  Each one is dlopen()ed
 * with RTLD_NOW | RTLD_LOCAL, so an unresolved symbol fails at load time
 * and plugins cannot see each other's symbols, and its evbus_handler
 * descriptor is checked field by field before any of its functions is
 * called (PostgreSQL's "incompatible library" and nginx's "not binary
 * compatible" checks: the message says which field is wrong and what was
 * expected).  dlopen() itself runs the object's ELF constructors; a
 * descriptor check cannot come before that, so plugins must not have any.
 *
 * Plugins are never loaded from plugin_dir itself but from a private copy
 * taken when a configuration is accepted (loader_snapshot(): one sealed
 * memfd per file).  Overwriting a loaded .so in place (cp over it) changed
 * the pages every worker had mapped and killed them all with SIGSEGV;
 * now it changes nothing until the next reload, and a worker restarted
 * meanwhile loads exactly what was checked.  The supervisor takes the
 * snapshot, checks it in a throwaway child, and its workers load it after
 * fork; loader_load_dir() does all three in one process.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "xmalloc.h"
#include "worker.h"

/* A descriptor's event_types longer than this has lost its NULL. */
#define EVENT_TYPES_MAX		1024

/* Kernels from 6.3 refuse executable memfds unless asked (vm.memfd_noexec). */
#ifndef MFD_EXEC
#define MFD_EXEC		0x0010U
#endif

/*
 * sizeof(struct evbus_handler) as of each minor of the current major.
 * A minor bump appends fields: add a row with the new size and turn the
 * previous row into the offsetof() of the first appended field.
 */
static const size_t handler_size_by_minor[EVBUS_HANDLER_ABI_MINOR + 1] = {
	sizeof(struct evbus_handler),		/* 1.0 */
};

static void	 plugin_clear(struct plugin *);

/* Only "*.so" names, never hidden files, '/' or "..". */
static int
plugin_file_filter(const struct dirent *de)
{
	const char	*name = de->d_name;
	size_t		 len = strlen(name);

	/* Hidden files are editors' and package managers' leftovers. */
	if (name[0] == '.' || len <= 3)
		return 0;
	if (strchr(name, '/') != NULL || strstr(name, "..") != NULL)
		return 0;
	return strcmp(name + len - 3, ".so") == 0;
}

/* Byte order, not the locale's collation: load order must not move. */
static int
plugin_file_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* A plugin-supplied string, made safe and short for a message. */
static const char *
printable(const char *s, char *buf, size_t len)
{
	size_t		 i, o;
	unsigned char	 c;

	for (i = o = 0; s[i] != '\0' && i < EVBUS_PLUGIN_NAME_MAX + 1; i++) {
		c = (unsigned char)s[i];
		if (o + 5 >= len)
			break;
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			buf[o++] = (char)c;
		else
			o += snprintf(buf + o, len - o, "\\x%02x", c);
	}
	if (s[i] != '\0' && o + 4 < len)
		o += snprintf(buf + o, len - o, "...");
	buf[o] = '\0';
	return buf;
}

/* 1 when name is 1..63 bytes of [A-Za-z0-9_.-]. */
static int
valid_name(const char *name)
{
	size_t	 i;

	for (i = 0; name[i] != '\0'; i++) {
		if (i >= EVBUS_PLUGIN_NAME_MAX)
			return 0;
		if (strchr("abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", name[i]) == NULL)
			return 0;
	}
	return i > 0;
}

int
loader_check_descriptor(const struct evbus_handler *h, const char *file,
    char *err, size_t errlen)
{
	const char	*name;
	char		 buf[4 * EVBUS_PLUGIN_NAME_MAX + 16];
	size_t		 want, i;

	if (h == NULL) {
		snprintf(err, errlen, "plugin %s: symbol %s is NULL", file,
		    EVBUS_HANDLER_SYMBOL);
		return -1;
	}
	if (h->magic != EVBUS_HANDLER_MAGIC) {
		snprintf(err, errlen, "plugin %s: not an evbus handler: "
		    "magic is 0x%08x, expected 0x%08x (\"EVBH\"); declare "
		    "the handler with EVBUS_HANDLER_DECLARE", file,
		    (unsigned int)h->magic, (unsigned int)EVBUS_HANDLER_MAGIC);
		return -1;
	}
	if (h->abi_major != EVBUS_HANDLER_ABI_MAJOR) {
		snprintf(err, errlen, "plugin %s: incompatible module: "
		    "abi_major is %u: built for handler ABI %u.x, this evbusd "
		    "supports %u.x: rebuild it against this evbus/handler.h",
		    file, (unsigned int)h->abi_major,
		    (unsigned int)h->abi_major,
		    (unsigned int)EVBUS_HANDLER_ABI_MAJOR);
		return -1;
	}
	if (h->abi_minor > EVBUS_HANDLER_ABI_MINOR) {
		snprintf(err, errlen, "plugin %s: incompatible module: "
		    "abi_minor is %u: built for handler ABI %u.%u, newer than "
		    "this evbusd's %u.%u: rebuild it against this "
		    "evbus/handler.h or upgrade evbusd", file,
		    (unsigned int)h->abi_minor, (unsigned int)h->abi_major,
		    (unsigned int)h->abi_minor,
		    (unsigned int)EVBUS_HANDLER_ABI_MAJOR,
		    (unsigned int)EVBUS_HANDLER_ABI_MINOR);
		return -1;
	}
	want = handler_size_by_minor[h->abi_minor];
	if (h->struct_size < want) {
		snprintf(err, errlen, "plugin %s: not binary compatible: "
		    "struct_size is %u bytes, handler ABI %u.%u requires %zu: "
		    "rebuild it against this evbus/handler.h", file,
		    (unsigned int)h->struct_size, (unsigned int)h->abi_major,
		    (unsigned int)h->abi_minor, want);
		return -1;
	}
	if (h->struct_size > want) {
		snprintf(err, errlen, "plugin %s: not binary compatible: "
		    "struct_size is %u bytes, larger than the %zu of handler "
		    "ABI %u.%u (a modified evbus/handler.h?): rebuild it "
		    "against this evbus/handler.h", file,
		    (unsigned int)h->struct_size, want,
		    (unsigned int)h->abi_major, (unsigned int)h->abi_minor);
		return -1;
	}

	/* The layout is known from here on: the other fields can be read. */
	if ((name = h->name) == NULL) {
		snprintf(err, errlen, "plugin %s: name is NULL: every handler "
		    "needs a name (1 to %d of [A-Za-z0-9_.-])", file,
		    EVBUS_PLUGIN_NAME_MAX);
		return -1;
	}
	if (!valid_name(name)) {
		snprintf(err, errlen, "plugin %s: name \"%s\" is invalid: "
		    "use 1 to %d of [A-Za-z0-9_.-]", file,
		    printable(name, buf, sizeof(buf)), EVBUS_PLUGIN_NAME_MAX);
		return -1;
	}
	if (h->handle == NULL) {
		snprintf(err, errlen, "plugin %s (%s): handle is NULL: a "
		    "handler must have a handle function", file, name);
		return -1;
	}
	if (h->event_types != NULL) {
		for (i = 0; h->event_types[i] != NULL; i++) {
			if (i >= EVENT_TYPES_MAX) {
				snprintf(err, errlen, "plugin %s (%s): "
				    "event_types has more than %d entries "
				    "(missing NULL terminator?)", file, name,
				    EVENT_TYPES_MAX);
				return -1;
			}
			if (h->event_types[i][0] == '\0') {
				snprintf(err, errlen, "plugin %s (%s): "
				    "event_types[%zu] is empty: list event "
				    "types, or \"*\" for every event", file,
				    name, i);
				return -1;
			}
		}
	}
	return 0;
}

/* 1 when the descriptor subscribes to every event. */
static int
descriptor_wildcard(const struct evbus_handler *h)
{
	size_t	 i;

	if (h->event_types == NULL)
		return 1;
	for (i = 0; h->event_types[i] != NULL; i++)
		if (strcmp(h->event_types[i], "*") == 0)
			return 1;
	return 0;
}

/*
 * A sealed in-memory copy of the open file fd, named name; the new fd or
 * -1 with err.  Sealed, so that nothing can change it once checked.
 */
static int
copy_to_memfd(int fd, const char *name, const char *path, char *err,
    size_t errlen)
{
	ssize_t	 n;
	int	 mfd;

	mfd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (mfd == -1 && errno == EINVAL)
		mfd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd == -1) {
		snprintf(err, errlen, "plugin %s: memfd_create: %s", name,
		    strerror(errno));
		return -1;
	}
	/*
	 * The kernel copies (fd is a regular file): no buffer, so the
	 * supervisor's stack stays shallow, and every worker forked from it
	 * inherits that much less of it.
	 */
	while ((n = sendfile(mfd, fd, NULL, 1 << 30)) != 0)
		if (n == -1 && errno != EINTR) {
			snprintf(err, errlen, "plugin %s: copying %s: %s",
			    name, path, strerror(errno));
			close(mfd);
			return -1;
		}
	if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) == -1) {
		snprintf(err, errlen, "plugin %s: sealing its copy: %s", name,
		    strerror(errno));
		close(mfd);
		return -1;
	}
	return mfd;
}

/* Copy one file of the directory into snap; 0, 1 when skipped, -1. */
static int
snapshot_one(struct plugin_snapshot *snap, const char *file, char *err,
    size_t errlen)
{
	struct stat	 st;
	char		*path;
	int		 fd, mfd, rc = -1;

	xasprintf(&path, "%s/%s", snap->dir, file);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1 ||
	    fstat(fd, &st) == -1) {
		snprintf(err, errlen, "plugin %s: %s: %s", file, path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = 1;
		goto out;
	}
	if (st.st_mode & S_IWOTH) {
		snprintf(err, errlen, "plugin %s: %s is world-writable "
		    "(mode %04o): refusing to load it", file, path,
		    (unsigned int)(st.st_mode & 07777));
		goto out;
	}
	if (snap->n == EVBUS_MAX_PLUGINS) {
		snprintf(err, errlen, "plugin_dir %s: more than %d plugins",
		    snap->dir, EVBUS_MAX_PLUGINS);
		goto out;
	}
	if ((mfd = copy_to_memfd(fd, file, path, err, errlen)) == -1)
		goto out;
	snap->v[snap->n].file = xstrdup(file);
	snap->v[snap->n].fd = mfd;
	snap->n++;
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	free(path);
	return rc;
}

int
loader_snapshot(const char *dir, struct plugin_snapshot *snap, char *err,
    size_t errlen)
{
	struct dirent	**names = NULL;
	struct stat	  st;
	int		  n, k, rc = 0;

	memset(snap, 0, sizeof(*snap));
	if (stat(dir, &st) == -1) {
		snprintf(err, errlen, "plugin_dir %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "plugin_dir %s: not a directory", dir);
		return -1;
	}
	/* Anyone could drop code into it that every worker would run. */
	if (st.st_mode & S_IWOTH) {
		snprintf(err, errlen, "plugin_dir %s is world-writable "
		    "(mode %04o): refusing to load plugins from it; "
		    "chmod o-w it", dir, (unsigned int)(st.st_mode & 07777));
		return -1;
	}
	if ((n = scandir(dir, &names, plugin_file_filter,
	    plugin_file_cmp)) == -1) {
		snprintf(err, errlen, "plugin_dir %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	snap->dir = xstrdup(dir);
	for (k = 0; k < n && rc != -1; k++)
		if (snapshot_one(snap, names[k]->d_name, err, errlen) == -1)
			rc = -1;
	for (k = 0; k < n; k++)
		free(names[k]);
	free(names);
	if (rc == -1)
		loader_snapshot_free(snap);
	return rc;
}

void
loader_snapshot_free(struct plugin_snapshot *snap)
{
	free(snap->info);
	snap->info = NULL;
	size_t	 i;

	for (i = 0; i < snap->n; i++) {
		close(snap->v[i].fd);
		free(snap->v[i].file);
	}
	free(snap->dir);
	memset(snap, 0, sizeof(*snap));
}

/* dlopen the private copy of one file into p and check it; 0 or -1. */
static int
plugin_open(struct plugin *p, const struct plugin_snapshot *snap, size_t i,
    char *err, size_t errlen)
{
	const char	*file = snap->v[i].file, *dlerr;
	char		 proc[64];
	size_t		 plen;
	void		*sym;

	xasprintf(&p->path, "%s/%s", snap->dir, file);
	p->file = xstrdup(file);
	plen = (size_t)snprintf(proc, sizeof(proc), "/proc/self/fd/%d",
	    snap->v[i].fd);
	if ((p->dl = dlopen(proc, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		/* dlerror() names the copy: name the file instead. */
		dlerr = dlerror();
		if (dlerr == NULL)
			dlerr = "dlopen failed";
		else if (strncmp(dlerr, proc, plen) == 0)
			dlerr += plen + (dlerr[plen] == ':' ? 2 : 0);
		snprintf(err, errlen, "plugin %s: cannot load: %s: %s", file,
		    p->path, dlerr);
		return -1;
	}
	(void)dlerror();
	sym = dlsym(p->dl, EVBUS_HANDLER_SYMBOL);
	if (sym == NULL || dlerror() != NULL) {
		snprintf(err, errlen, "plugin %s: no symbol %s (declare the "
		    "handler with EVBUS_HANDLER_DECLARE)", file,
		    EVBUS_HANDLER_SYMBOL);
		return -1;
	}
	p->h = sym;
	if (loader_check_descriptor(p->h, file, err, errlen) == -1)
		return -1;
	p->wildcard = descriptor_wildcard(p->h);
	return 0;
}

int
loader_load_snapshot(const struct plugin_snapshot *snap, struct plugins *ps,
    char *err, size_t errlen)
{
	struct plugin	*p;
	size_t		 i, k;

	memset(ps, 0, sizeof(*ps));
	for (k = 0; k < snap->n; k++) {
		p = &ps->v[ps->n];
		memset(p, 0, sizeof(*p));
		if (plugin_open(p, snap, k, err, errlen) == -1) {
			plugin_clear(p);
			goto fail;
		}
		for (i = 0; i < ps->n; i++) {
			if (strcmp(ps->v[i].h->name, p->h->name) != 0)
				continue;
			snprintf(err, errlen, "plugin %s: name \"%s\" is "
			    "already used by plugin %s: handler names must "
			    "be unique", p->file, p->h->name, ps->v[i].file);
			plugin_clear(p);
			goto fail;
		}
		p->index = ps->n++;
		p->host.plugin = p;
		log_info("plugin %s: handler %s %s loaded (handler ABI "
		    "%u.%u)%s", p->file, p->h->name,
		    p->h->version != NULL ? p->h->version : "(no version)",
		    (unsigned int)p->h->abi_major,
		    (unsigned int)p->h->abi_minor,
		    p->wildcard ? ", every event" : "");
	}
	return 0;
fail:
	loader_unload_all(ps);
	return -1;
}

int
loader_load_dir(const char *dir, struct plugins *ps, char *err, size_t errlen)
{
	struct plugin_snapshot	 snap;
	int			 rc;

	memset(ps, 0, sizeof(*ps));
	if (loader_snapshot(dir, &snap, err, errlen) == -1)
		return -1;
	rc = loader_load_snapshot(&snap, ps, err, errlen);
	/* The objects stay mapped; their copies need no name any more. */
	loader_snapshot_free(&snap);
	return rc;
}

int
loader_init_all(struct plugins *ps, const struct evbus_config *conf,
    struct worker *w, char *err, size_t errlen)
{
	struct plugin	*p;
	size_t		 i;

	for (i = 0; i < ps->n; i++) {
		p = &ps->v[i];
		p->host.plugin = p;
		p->host.worker = w;
		p->conf = evbus_config_handler_section(conf, p->h->name);
		p->state = NULL;
		if (p->h->init != NULL &&
		    p->h->init(&worker_host_api, &p->host, &p->state) != 0) {
			snprintf(err, errlen, "plugin %s (%s): init failed",
			    p->file, p->h->name);
			/* Its state is the plugin's to clean up on failure. */
			p->state = NULL;
			loader_unload_all(ps);
			return -1;
		}
		p->initialized = 1;
	}
	return 0;
}

/* Close p's object and free what the loader allocated for it. */
static void
plugin_clear(struct plugin *p)
{
	if (p->dl != NULL)
		dlclose(p->dl);
	free(p->path);
	free(p->file);
	memset(p, 0, sizeof(*p));
}

void
loader_unload_all(struct plugins *ps)
{
	struct plugin	*p;
	size_t		 i;

	/* Finalize in reverse, as a later plugin may rely on an earlier one. */
	for (i = ps->n; i-- > 0;) {
		p = &ps->v[i];
		if (p->initialized && p->h->fini != NULL)
			p->h->fini(p->state);
		p->initialized = 0;
		p->state = NULL;
	}
	for (i = ps->n; i-- > 0;)
		plugin_clear(&ps->v[i]);
	ps->n = 0;
}

int
loader_wants(const struct plugin *p, const char *event_type)
{
	size_t	 i;

	if (p->wildcard)
		return 1;
	if (event_type == NULL || p->h->event_types == NULL)
		return 0;
	for (i = 0; p->h->event_types[i] != NULL; i++)
		if (strcmp(p->h->event_types[i], event_type) == 0)
			return 1;
	return 0;
}

size_t
loader_dispatch_list(const struct plugins *ps, const char *event_type,
    struct plugin **out, size_t max)
{
	const struct plugin	*p;
	size_t			 i, n = 0;

	/* Named subscribers first, then the wildcards, each in load order. */
	for (i = 0; i < ps->n && n < max; i++) {
		p = &ps->v[i];
		if (!p->wildcard && loader_wants(p, event_type))
			out[n++] = (struct plugin *)p;
	}
	for (i = 0; i < ps->n && n < max; i++) {
		p = &ps->v[i];
		if (p->wildcard)
			out[n++] = (struct plugin *)p;
	}
	return n;
}
