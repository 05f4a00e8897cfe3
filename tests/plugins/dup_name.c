/*
 * dup_name.c: a well-formed loader test plugin that takes the name of
 * good_a.c.  Names key the config sections and the statistics, so the
 * loader must refuse the second one, naming both files.
 */
#include "evbus/handler.h"

static const char *const dup_name_types[] = { "OrderCreated", NULL };

static enum evbus_result
dup_name_handle(void *state, const struct evbus_event_view *ev,
    struct evbus_error *err)
{
	return EVBUS_OK;
}

EVBUS_HANDLER_DECLARE("good_a", "2.0", dup_name_types, NULL,
    dup_name_handle, NULL);
