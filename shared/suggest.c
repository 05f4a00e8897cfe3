/*
 * suggest.c: the closest known name to a misspelt one (optimal string
 * alignment distance, i.e. Damerau-Levenshtein without reediting a
 * transposed pair), for the config loader's unknown keys and evbusctl's
 * unknown commands.  Names are short, so three rows on the stack do.
 */
#include "config.h"

#include <sys/types.h>

#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "suggest.h"

#define NAME_MAX_LEN	64

/* One character as compared: case and '-'/'_' alike. */
static int
fold(char c)
{
	return c == '-' ? '_' : tolower((u_char)c);
}

size_t
evbus_name_distance(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b), i, j, cost, v;
	size_t	 rows[3][NAME_MAX_LEN + 1];
	size_t	*pp, *p, *r, *t;

	if (la >= NAME_MAX_LEN || lb >= NAME_MAX_LEN)
		return SIZE_MAX;
	/* pp: row i-2, p: row i-1, r: row i (rotated each turn). */
	pp = rows[0];
	p = rows[1];
	r = rows[2];
	for (j = 0; j <= lb; j++)
		p[j] = j;
	for (i = 1; i <= la; i++) {
		r[0] = i;
		for (j = 1; j <= lb; j++) {
			cost = fold(a[i - 1]) == fold(b[j - 1]) ? 0 : 1;
			v = p[j - 1] + cost;
			if (p[j] + 1 < v)
				v = p[j] + 1;
			if (r[j - 1] + 1 < v)
				v = r[j - 1] + 1;
			/* "stauts": a swapped pair costs one edit, not two. */
			if (i > 1 && j > 1 && fold(a[i - 1]) == fold(b[j - 2]) &&
			    fold(a[i - 2]) == fold(b[j - 1]) && pp[j - 2] + 1 < v)
				v = pp[j - 2] + 1;
			r[j] = v;
		}
		t = pp;
		pp = p;
		p = r;
		r = t;
	}
	return p[lb];
}

const char *
evbus_suggest(const char *name, const char *const *names, size_t maxd)
{
	const char	*best = NULL;
	size_t		 i, d, bestd = maxd, len = strlen(name);

	for (i = 0; names[i] != NULL; i++) {
		d = evbus_name_distance(name, names[i]);
		if (d < bestd && d < len) {
			bestd = d;
			best = names[i];
		}
	}
	return best;
}
