/*
 * undefined_sym.c: a loader test plugin with a correct descriptor that
 * calls a function nothing defines (it is linked without -no-undefined,
 * as a plugin missing a library on its link line would be).  dlopen()
 * with RTLD_NOW must fail at load time, not at the first event.
 */
#include "evbus/handler.h"

/* Defined nowhere. */
__attribute__((__visibility__("default")))
extern int evbus_test_no_such_function(const char *);

static const char *const undefined_sym_types[] = { "OrderCreated", NULL };

static enum evbus_result
undefined_sym_handle(void *state, const struct evbus_event_view *ev,
    struct evbus_error *err)
{
	return evbus_test_no_such_function(ev->event_id) == 0 ? EVBUS_OK :
	    EVBUS_RETRY;
}

EVBUS_HANDLER_DECLARE("undefined_sym", "1.0", undefined_sym_types, NULL,
    undefined_sym_handle, NULL);
