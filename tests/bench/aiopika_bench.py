#!/usr/bin/python3
"""aiopika_bench.py: a bare aio-pika consumer, a comparison point for evbusd.

    aiopika_bench.py URL QUEUE N PREFETCH

Consumes N messages from the existing QUEUE with manual acks and basic.qos
PREFETCH; every body is json-decoded (evbusd decodes every event), then
acked.  Prints, like consume_bench and the noop handler:

    first <CLOCK_REALTIME us when the first message was handled>
    last <us when the last was handled>
    count <N>

"Handled" is after the decode and the ack.  Exits 1 if nothing arrives for
30 s.  Needs Debian 12's python3-aio-pika (run with /usr/bin/python3).
"""
import asyncio
import json
import sys
import time

import aio_pika

IDLE_TIMEOUT = 30  # seconds without a message before giving up


async def consume(url, queue_name, n, prefetch):
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    st = {"first": 0, "last": 0, "count": 0, "seen": loop.time()}

    async def on_message(message):
        if st["count"] >= n:    # surplus: left unacked, requeued on close
            return
        json.loads(message.body)
        await message.ack()
        t = time.time_ns() // 1000
        if st["count"] == 0:
            st["first"] = t
        st["last"] = t
        st["count"] += 1
        st["seen"] = loop.time()
        if st["count"] == n and not done.done():
            done.set_result(None)

    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        queue = await channel.declare_queue(queue_name, passive=True)
        await queue.consume(on_message, no_ack=False)
        # Wake up every second to check for an idle broker.
        while not done.done():
            await asyncio.wait([done], timeout=1)
            if not done.done() and loop.time() - st["seen"] > IDLE_TIMEOUT:
                return st, "no message within %d s (got %d of %d)" % (
                    IDLE_TIMEOUT, st["count"], n)
    return st, None


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: aiopika_bench.py URL QUEUE N PREFETCH")
    url, queue = sys.argv[1:3]
    n, prefetch = int(sys.argv[3]), int(sys.argv[4])
    st, err = asyncio.run(consume(url, queue, n, prefetch))
    if err:
        sys.exit("aiopika_bench: " + err)
    print("first %d\nlast %d\ncount %d"
          % (st["first"], st["last"], st["count"]))


if __name__ == "__main__":
    main()
