/*
 * parse_bench.c: the worker's body parsing, old against new.
 *
 *	parse_bench [N [FILE]]
 *
 * Parses one body N times (default 1000000) with the old three-pass
 * parser (kept in tests/fuzz/event_ref.h: UTF-8 check, json-c's tokener,
 * token re-scan), with evbus_json_parse_object() (the strict parser's
 * json-c tree) and with pyjson_parse_tape() (the tape the worker reuses),
 * alone and followed by the event's validation (evbus_event_from_json()
 * or, for the tape, evbus_event_from_tape() as the worker calls it).  The
 * body is FILE, or the consume benchmark's event as evbus publishes it:
 * 512 bytes with the envelope, sent_us and a pad.  Prints nanoseconds per
 * body, the median of 5 rounds run alternately so all see the same
 * machine.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "event.h"
#include "pyjson.h"
#include "../fuzz/event_ref.h"

#define ROUNDS		5
#define BODY_SIZE	512


static void __attribute__((__noreturn__))
die(const char *what, const char *why)
{
	fprintf(stderr, "parse_bench: %s: %s\n", what, why);
	exit(1);
}

static double
now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* The consume benchmark's event, serialised as evbus publishes it. */
static char *
bench_body(size_t *lenp)
{
	struct evbus_event	 ev;
	char			 json[4096], pad[BODY_SIZE], err[256], *out;
	size_t			 len, padlen = 0;

	for (;;) {
		memset(pad, 'x', padlen);
		pad[padlen] = '\0';
		snprintf(json, sizeof(json), "{\"event_type\":\"BenchEvent\","
		    "\"aggregate_type\":\"Bench\",\"aggregate_id\":"
		    "\"7d9e1f20-3a4b-4c5d-8e6f-708192a3b4c5\","
		    "\"aggregate_version\":1,\"sent_us\":1795839120522607,"
		    "\"pad\":\"%s\"}", pad);
		if (evbus_event_parse(json, strlen(json),
		    EVBUS_EVENT_FILL_DEFAULTS, &ev, err, sizeof(err)) == -1)
			die("event", err);
		out = evbus_event_serialize(&ev, &len);
		evbus_event_free(&ev);
		if (out == NULL)
			die("event", "serialize failed");
		if (len >= BODY_SIZE || padlen > 0)
			break;
		padlen = BODY_SIZE - len;
		free(out);
	}
	*lenp = len;
	return out;
}

static char *
file_body(const char *path, size_t *lenp)
{
	FILE	*fp;
	char	*buf;
	long	 n;

	if ((fp = fopen(path, "rb")) == NULL || fseek(fp, 0, SEEK_END) == -1 ||
	    (n = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) == -1)
		die(path, "cannot read");
	if ((buf = malloc(n + 1)) == NULL ||
	    fread(buf, 1, (size_t)n, fp) != (size_t)n)
		die(path, "cannot read");
	fclose(fp);
	*lenp = (size_t)n;
	return buf;
}

/*
 * Nanoseconds per body: parse n times (the old parser, the tree, or the
 * worker's tape), and build the event if asked.
 */
static double
run(int how, const char *body, size_t len, long n, int build)
{
	static struct pyjson_tape tape;
	struct pyjson_error	 e;
	struct json_object	*obj;
	struct evbus_event	 ev;
	char			 err[256];
	double			 t0;
	long			 i;

	t0 = now_ns();
	for (i = 0; i < n; i++) {
		if (how == 2) {
			if (pyjson_parse_tape(body, len, &tape, &e) == -1)
				die("parse", "tape");
			if (build) {
				if (evbus_event_from_tape(&tape, NULL,
				    EVBUS_EVENT_FILL_DEFAULTS, &ev, err,
				    sizeof(err)) == -1)
					die("event", err);
				evbus_event_free(&ev);
			}
			continue;
		}
		if ((obj = (how == 0 ? ref_json_parse_object :
		    evbus_json_parse_object)(body, len, err,
		    sizeof(err))) == NULL)
			die("parse", err);
		if (build) {
			if (evbus_event_from_json(obj,
			    EVBUS_EVENT_FILL_DEFAULTS | EVBUS_EVENT_SHARE, &ev,
			    err, sizeof(err)) == -1)
				die("event", err);
			evbus_event_free(&ev);
		}
		json_object_put(obj);
	}
	return (now_ns() - t0) / n;
}

static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	static const char *const what[] = { "parse", "parse + event" };
	double		 t[2][3][ROUNDS], med[2][3];
	char		*body, why[1024];
	size_t		 len;
	long		 n = 1000000;
	int		 r, p, b;

	if (argc > 1 && (n = strtol(argv[1], NULL, 10)) < 1)
		die("usage", "parse_bench [N [FILE]]");
	body = argc > 2 ? file_body(argv[2], &len) : bench_body(&len);
	if (json_diff(body, len, why, sizeof(why)) != 1)
		die("body", "not accepted alike by both parsers");

	/* Warm up each, then alternate so drift hits all alike. */
	for (p = 0; p < 3; p++)
		run(p, body, len, n / 10 + 1, 1);
	for (r = 0; r < ROUNDS; r++)
		for (b = 0; b < 2; b++)
			for (p = 0; p < 3; p++)
				t[b][p][r] = run(p, body, len, n, b);
	for (b = 0; b < 2; b++)
		for (p = 0; p < 3; p++) {
			qsort(t[b][p], ROUNDS, sizeof(double), cmp_double);
			med[b][p] = t[b][p][ROUNDS / 2];
		}

	printf("parse_bench: %zu-byte body, %ld times, median of %d rounds "
	    "(ns per body)\n", len, n, ROUNDS);
	printf("%-14s %14s %12s %12s %8s\n", "", "old (3 passes)",
	    "json-c tree", "tape", "old/tape");
	for (b = 0; b < 2; b++)
		printf("%-14s %14.0f %12.0f %12.0f %7.2fx\n", what[b],
		    med[b][0], med[b][1], med[b][2], med[b][0] / med[b][2]);
	free(body);
	return 0;
}
