/*
 * malloc_count.c: the cost benchmark's allocation counter, an LD_PRELOAD
 * object (glibc only: it forwards to __libc_malloc and friends, so it
 * needs no dlsym, which itself allocates).
 *
 *	MALLOC_COUNT_DIR=/dir LD_PRELOAD=.../malloc_count.so evbusd ...
 *
 * Every process (and every child forked from it: a fork handler starts
 * the child's count at zero) keeps its counts in a file "/dir/<pid>",
 * mapped shared, so they can be read at any moment while it runs, not
 * only at exit:
 *
 *	uint64_t malloc, calloc, realloc;	(native byte order)
 *
 * e.g. od -An -t u8 /dir/<pid>.  posix_memalign, aligned_alloc and the
 * like are not counted (neither rabbitmq-c nor json-c uses them); free
 * is not counted either.  Without MALLOC_COUNT_DIR it only counts in
 * memory.
 */
#include <sys/mman.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

extern void	*__libc_malloc(size_t);
extern void	*__libc_calloc(size_t, size_t);
extern void	*__libc_realloc(void *, size_t);

static uint64_t	 early[3];		/* before the file is mapped */
static uint64_t	*counts = early;

static void
count(int i)
{
	__atomic_fetch_add(&counts[i], 1, __ATOMIC_RELAXED);
}

void *
malloc(size_t n)
{
	count(0);
	return __libc_malloc(n);
}

void *
calloc(size_t n, size_t size)
{
	count(1);
	return __libc_calloc(n, size);
}

void *
realloc(void *p, size_t n)
{
	count(2);
	return __libc_realloc(p, n);
}

/*
 * Map this process's count file, starting from what early holds; on
 * failure, count in memory.
 */
static void
map_counts(void)
{
	const char	*dir = getenv("MALLOC_COUNT_DIR");
	char		 path[4096];
	uint64_t	*p;
	int		 fd;

	if (dir == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%ld", dir, (long)getpid());
	if ((fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		return;
	if (ftruncate(fd, sizeof(early)) == 0 && (p = mmap(NULL,
	    sizeof(early), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) !=
	    MAP_FAILED) {
		p[0] = early[0];
		p[1] = early[1];
		p[2] = early[2];
		counts = p;
	}
	close(fd);
}

/*
 * A forked child still has its parent's mapping, shared: give it a file
 * of its own before it counts (the allocations between fork() and this
 * handler, if any, go to the parent).
 */
static void
child(void)
{
	counts = early;
	early[0] = early[1] = early[2] = 0;
	map_counts();
}

__attribute__((constructor)) static void
init(void)
{
	map_counts();
	pthread_atfork(NULL, NULL, child);
}
