/*
 * bad_magic.c: a loader test plugin whose descriptor has the wrong magic
 * number, as a library that is not an evbus handler (or one with a
 * corrupted descriptor) would.  The loader must refuse it, naming the
 * field and both values, without calling any of its functions.
 */
#include "evbus/handler.h"

static const char *const bad_magic_types[] = { "OrderCreated", NULL };

static enum evbus_result
bad_magic_handle(void *state, const struct evbus_event_view *ev,
    struct evbus_error *err)
{
	return EVBUS_OK;
}

__attribute__((__visibility__("default")))
const struct evbus_handler evbus_handler = {
	.magic = 0xdeadbeefu,
	.abi_major = EVBUS_HANDLER_ABI_MAJOR,
	.abi_minor = EVBUS_HANDLER_ABI_MINOR,
	.struct_size = sizeof(struct evbus_handler),
	.name = "bad_magic",
	.version = "1.0",
	.event_types = bad_magic_types,
	.handle = bad_magic_handle,
};
