/*
 * xmalloc.h: allocation helpers for daemon code; they die on OOM.
 * Code that a plugin calls (the host API) must not use them.
 */
#ifndef EVBUS_XMALLOC_H
#define EVBUS_XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((__format__(printf, 2, 3)));

#endif
