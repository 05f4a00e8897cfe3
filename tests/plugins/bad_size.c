/*
 * bad_size.c: a loader test plugin whose descriptor is smaller than its
 * ABI version requires (as if built against a header that lacked the
 * last field).  The loader must refuse it, giving both sizes, rather than
 * read past its end.
 */
#include "evbus/handler.h"

static const char *const bad_size_types[] = { "OrderCreated", NULL };

static enum evbus_result
bad_size_handle(void *state, const struct evbus_event_view *ev,
    struct evbus_error *err)
{
	return EVBUS_OK;
}

__attribute__((__visibility__("default")))
const struct evbus_handler evbus_handler = {
	.magic = EVBUS_HANDLER_MAGIC,
	.abi_major = EVBUS_HANDLER_ABI_MAJOR,
	.abi_minor = EVBUS_HANDLER_ABI_MINOR,
	.struct_size = sizeof(struct evbus_handler) - sizeof(void *),
	.name = "bad_size",
	.version = "1.0",
	.event_types = bad_size_types,
	.handle = bad_size_handle,
};
