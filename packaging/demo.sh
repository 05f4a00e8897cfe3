#!/usr/bin/env bash
# demo.sh: the README's first command.  On a fresh Debian 12 machine it
# installs what is missing, builds evbus, starts a throwaway RabbitMQ on
# 127.0.0.1, checks the sample configuration, runs evbusd with three
# workers and the tutorial's handlers, publishes the tutorial's order
# events, shows what the handlers did and `evbusctl status`, and stops
# everything cleanly.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# Headings in bold only on a terminal that takes it, and never with
# NO_COLOR set (no-color.org): piped into a file the demo stays plain text.
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ] && [ "${TERM:-dumb}" != dumb ]; then
	say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
	say() { printf '\n== %s\n' "$*"; }
fi

say "installing dependencies (Debian packages, skipped when present)"
bash packaging/deps.sh

say "building"
bdir=$(bash packaging/build.sh "$top/build")
demo=$bdir/demo
rm -rf "$demo"
mkdir -p "$demo/plugins"
chmod 755 "$demo/plugins"
cleanup() {
	[ -n "${evbusd_pid:-}" ] && kill "$evbusd_pid" 2>/dev/null && sleep 1
	bash "$top/tests/broker.sh" stop "$demo/broker" >/dev/null 2>&1 || true
}
trap cleanup EXIT

say "checking the sample configuration: evbusd -n -f etc/evbusd.conf"
"$bdir/evbusd" -n -f "$top/etc/evbusd.conf"

say "starting a throwaway RabbitMQ on 127.0.0.1"
url=$(bash tests/broker.sh start "$demo/broker" --owner $$)
echo "broker: $url"

for h in inventory fulfillment shipping jsonl; do
	cp "$bdir/handlers/.libs/$h.so" "$demo/plugins/"
done
cat > "$demo/evbusd.conf" <<CONF
# The demo's configuration (see etc/evbusd.conf for every key).
rabbitmq_url = "$url";
exchange_name = "shop";
consumer_group = "orders";
consumer_name = "demo";
workers = 3;
plugin_dir = "$demo/plugins";
status_socket = "$demo/evbusd.sock";
pid_file = "$demo/evbusd.pid";
handlers = {
	inventory = { warehouse = "north"; };
	fulfillment = { site = "dc-1"; ship_on_payment = true; };
	shipping = { carrier = "parcelco"; };
	jsonl = { path = "$demo/events.jsonl"; };
};
CONF
chmod 600 "$demo/evbusd.conf"
"$bdir/evbusd" -n -v -f "$demo/evbusd.conf"

say "starting evbusd with 3 workers (log: $demo/evbusd.log)"
"$bdir/evbusd" -d -f "$demo/evbusd.conf" > "$demo/evbusd.log" 2>&1 &
evbusd_pid=$!
for i in $(seq 1 100); do
	"$bdir/evbusctl" -f "$demo/evbusd.conf" health >/dev/null 2>&1 && break
	sleep 0.2
done
"$bdir/evbusctl" -f "$demo/evbusd.conf" health

say "publishing the tutorial's order events"
ev() {
	printf '{"event_type":"%s","aggregate_type":"Order","aggregate_id":"%s","aggregate_version":%d,"order_number":"%s"%s}\n' "$@"
}
{
	ev OrderCreated 11111111-1111-4111-8111-111111111111 1 ORD-001 ',"total_amount":99.5'
	ev OrderCreated 22222222-2222-4222-8222-222222222222 1 ORD-002 ',"total_amount":"12.30"'
	ev PaymentReceived 11111111-1111-4111-8111-111111111111 2 ORD-001 ',"amount":99.5'
	ev OrderCancelled 22222222-2222-4222-8222-222222222222 2 ORD-002 ''
	ev OrderDelivered 11111111-1111-4111-8111-111111111111 4 ORD-001 ''
} > "$demo/events.jsonl.in"
cat "$demo/events.jsonl.in"
"$bdir/evbusctl" -f "$demo/evbusd.conf" publish -i "$demo/events.jsonl.in"

# Five published, plus the OrderShipped that fulfillment publishes.
for i in $(seq 1 100); do
	n=$(wc -l < "$demo/events.jsonl" 2>/dev/null || echo 0)
	[ "$n" -ge 6 ] && break
	sleep 0.2
done

say "what the handlers did (evbusd's log)"
grep -E "handler (inventory|fulfillment|shipping)" "$demo/evbusd.log" | grep -v "keeping\|booking with\|site " || true

say "evbusctl status"
"$bdir/evbusctl" -f "$demo/evbusd.conf" status

say "stopping evbusd (SIGTERM: workers finish their message and exit)"
"$bdir/evbusctl" -f "$demo/evbusd.conf" stop
wait "$evbusd_pid" || true
evbusd_pid=""
tail -n 4 "$demo/evbusd.log"
say "done; the broker is being stopped"
