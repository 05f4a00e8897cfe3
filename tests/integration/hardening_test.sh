#!/usr/bin/env bash
. "$EVBUS_SRCDIR/tests/integration/lib.sh"
need_broker
not_ok "not written yet"
finish
