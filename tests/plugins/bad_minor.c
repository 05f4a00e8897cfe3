/*
 * bad_minor.c: a loader test plugin that claims handler ABI 1.99, a minor
 * newer than this evbusd's: it may rely on host API fields this evbusd
 * does not have, so the loader must refuse it.
 */
#include "evbus/handler.h"

static const char *const bad_minor_types[] = { "OrderCreated", NULL };

static enum evbus_result
bad_minor_handle(void *state, const struct evbus_event_view *ev,
    struct evbus_error *err)
{
	return EVBUS_OK;
}

__attribute__((__visibility__("default")))
const struct evbus_handler evbus_handler = {
	.magic = EVBUS_HANDLER_MAGIC,
	.abi_major = EVBUS_HANDLER_ABI_MAJOR,
	.abi_minor = 99,
	.struct_size = sizeof(struct evbus_handler),
	.name = "bad_minor",
	.version = "1.0",
	.event_types = bad_minor_types,
	.handle = bad_minor_handle,
};
