/*
 * no_handle.c: a loader test plugin with a correct header but no handle
 * function.  The loader must refuse it at load time instead of crashing
 * the worker at the first event.
 */
#include "evbus/handler.h"

static const char *const no_handle_types[] = { "OrderCreated", NULL };

EVBUS_HANDLER_DECLARE("no_handle", "1.0", no_handle_types, NULL, NULL,
    NULL);
