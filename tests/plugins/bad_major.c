/*
 * bad_major.c: a loader test plugin built for handler ABI 2.x, a major
 * this evbusd does not speak.  The loader must refuse it and tell the
 * operator to rebuild it against this evbus/handler.h.
 */
#include "evbus/handler.h"

static const char *const bad_major_types[] = { "OrderCreated", NULL };

static enum evbus_result
bad_major_handle(void *state, const struct evbus_event_view *ev,
    struct evbus_error *err)
{
	return EVBUS_OK;
}

__attribute__((__visibility__("default")))
const struct evbus_handler evbus_handler = {
	.magic = EVBUS_HANDLER_MAGIC,
	.abi_major = 2,
	.abi_minor = 0,
	.struct_size = sizeof(struct evbus_handler),
	.name = "bad_major",
	.version = "1.0",
	.event_types = bad_major_types,
	.handle = bad_major_handle,
};
