/*
 * suggest.h: "did you mean": the closest of a set of known names to a
 * misspelt one, for config keys (conf.c) and evbusctl's commands.
 */
#ifndef EVBUS_SUGGEST_H
#define EVBUS_SUGGEST_H

#include <stddef.h>

/*
 * Edit distance of two short names (Damerau: insertions, deletions,
 * substitutions and transpositions of adjacent characters each cost 1),
 * with case and '-'/'_' ignored.  SIZE_MAX for names of 64 bytes or more.
 */
size_t		 evbus_name_distance(const char *, const char *);

/*
 * The name of names[] (NULL-terminated) closest to name, if its distance
 * is below maxd and below name's length (so that "x" suggests nothing);
 * NULL otherwise.  The first of equally close names wins.
 */
const char	*evbus_suggest(const char *name, const char *const *names,
		    size_t maxd);

#endif
