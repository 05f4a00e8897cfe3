/*
 * no_symbol.c: a loader test plugin that exports no evbus_handler: its
 * author misspelled the descriptor instead of using EVBUS_HANDLER_DECLARE.
 * The loader must say which symbol is missing and how to declare it.
 */
#include "evbus/handler.h"

static const char *const no_symbol_types[] = { "OrderCreated", NULL };

static enum evbus_result
no_symbol_handle(void *state, const struct evbus_event_view *ev,
    struct evbus_error *err)
{
	return EVBUS_OK;
}

__attribute__((__visibility__("default")))
const struct evbus_handler evbus_handlers = {
	.magic = EVBUS_HANDLER_MAGIC,
	.abi_major = EVBUS_HANDLER_ABI_MAJOR,
	.abi_minor = EVBUS_HANDLER_ABI_MINOR,
	.struct_size = sizeof(struct evbus_handler),
	.name = "no_symbol",
	.version = "1.0",
	.event_types = no_symbol_types,
	.handle = no_symbol_handle,
};
