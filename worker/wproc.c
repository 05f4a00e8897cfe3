/*
 * wproc.c: the worker's side of the scoreboard: state, liveness heartbeat,
 * the message in flight (for the supervisor's watchdog and poison-message
 * detection) and a consistent copy of the counters, all under the slot's
 * seqlock.  Without a supervisor (--single-worker) there is no slot.
 */
#include "config.h"

#include <string.h>

#include "url.h"
#include "worker.h"

static int64_t	 last_publish;

/* Copy the counters into the slot; the caller holds the seqlock. */
static void
copy_stats(struct worker *w)
{
	size_t	 n = offsetof(struct evbus_worker_stats, handlers) +
	    w->stats->nhandlers * sizeof(struct evbus_handler_stats);

	memcpy(&w->slot->stats, w->stats, n);
}

void
wproc_state(struct worker *w, int state)
{
	if (w->slot == NULL)
		return;
	evbus_slot_begin(w->slot);
	w->slot->state = (uint32_t)state;
	w->slot->heartbeat = evbus_mono_us();
	copy_stats(w);
	evbus_slot_end(w->slot);
}

/* The broker node the worker is connected to ("" when none). */
void
wproc_node(struct worker *w, const char *where)
{
	if (w->slot == NULL)
		return;
	evbus_slot_begin(w->slot);
	strlcpy(w->slot->node, where, sizeof(w->slot->node));
	evbus_slot_end(w->slot);
}

void
wproc_heartbeat(struct worker *w)
{
	int64_t	 now;

	if (w->slot == NULL)
		return;
	now = evbus_clock_coarse_us(0);
	/* Idle ticks come every 200 ms; a few per second is plenty. */
	if (now - last_publish < 100000)
		return;
	last_publish = now;
	evbus_slot_begin(w->slot);
	w->slot->heartbeat = now;
	copy_stats(w);
	evbus_slot_end(w->slot);
}

void
wproc_inflight(struct worker *w, const char *id, int redelivered)
{
	if (w->slot == NULL)
		return;
	evbus_slot_begin(w->slot);
	w->slot->heartbeat = evbus_clock_coarse_us(0);
	if (id != NULL) {
		strlcpy(w->slot->inflight_id, id, sizeof(w->slot->inflight_id));
		w->slot->inflight_redelivered = (uint32_t)redelivered;
		w->slot->inflight_since = w->slot->heartbeat;
	} else {
		w->slot->inflight_id[0] = '\0';
		w->slot->inflight_since = 0;
		copy_stats(w);
	}
	evbus_slot_end(w->slot);
}

void
wproc_handlers(struct worker *w, int running)
{
	if (w->slot == NULL)
		return;
	evbus_slot_begin(w->slot);
	w->slot->heartbeat = evbus_clock_coarse_us(0);
	w->slot->handler_since = running ? w->slot->heartbeat : 0;
	evbus_slot_end(w->slot);
}

/* The text of the latest error (its time is in the counters). */
void
wproc_error(struct worker *w, const char *text)
{
	char	 masked[EVBUS_SB_ERROR_MAX];

	if (w->slot == NULL)
		return;
	evbus_mask_secrets(text, masked, sizeof(masked));
	evbus_slot_begin(w->slot);
	strlcpy(w->slot->last_error, masked, sizeof(w->slot->last_error));
	evbus_slot_end(w->slot);
}

/* ordering = "aggregate": the partitions this worker is active on. */
void
wproc_partitions(struct worker *w, const uint64_t *bits)
{
	if (w->slot == NULL)
		return;
	evbus_slot_begin(w->slot);
	memcpy(w->slot->partitions, bits, sizeof(w->slot->partitions));
	evbus_slot_end(w->slot);
}
