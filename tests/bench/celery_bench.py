#!/usr/bin/python3
"""celery_bench.py: a Celery prefork pool on evbus's bench events, a
comparison point for evbusd.

    celery_bench.py preload URL QUEUE N SIZE
        publish N Celery (protocol 2, JSON) messages of task
        "evbus_bench.noop", whose one argument is an event JSON string of
        about SIZE bytes, to the durable classic QUEUE (declared if missing,
        with no arguments: not a queue made by evbusctl) on one connection,
        persistent, no confirms; the clean connection close makes sure the
        broker has them
    celery_bench.py run URL QUEUE N CONCURRENCY PREFETCH OUT
        run a Celery worker (-P prefork, CONCURRENCY processes, acks_late,
        no result backend, no gossip/mingle/heartbeat/remote control) on
        QUEUE until N tasks have run, then shut it down warm.  Every pool
        process writes "first/last/count" (CLOCK_REALTIME us after the
        json.loads) to OUT.<pid>; stale OUT.<digits> files are removed first.
        Celery's prefetch is CONCURRENCY x worker_prefetch_multiplier, so
        the multiplier is ceil(PREFETCH / CONCURRENCY): the total prefetch is
        PREFETCH rounded up to a multiple of CONCURRENCY.

Needs Debian 12's python3-celery (run with /usr/bin/python3).  The "worker"
sub-command is internal: `run` starts it in its own process group.
"""
import glob
import json
import os
import signal
import subprocess
import sys
import time
import warnings

from celery import Celery
from celery.exceptions import SecurityWarning
from kombu import Exchange, Queue

TASK = "evbus_bench.noop"
TIMEOUT = 300           # seconds for `run` to see all N tasks
STOP_TIMEOUT = 60       # seconds for the warm shutdown
OUT_ENV = "EVBUS_BENCH_OUT"

app = Celery("evbus_bench")


def configure(url, queue, concurrency=1, prefetch=1):
    app.conf.update(
        broker_url=url,
        result_backend=None,
        task_ignore_result=True,
        task_acks_late=True,
        task_serializer="json",
        accept_content=["json"],
        # Celery's usual topology: a durable direct exchange named like the
        # queue, bound with key QUEUE (Celery insists on a named exchange),
        # though send_task publishes through the default exchange.
        task_queues=[Queue(queue, Exchange(queue, type="direct"),
                           routing_key=queue, durable=True)],
        task_default_queue=queue,
        worker_prefetch_multiplier=-(-prefetch // concurrency),
        worker_enable_remote_control=False,
    )


# Per pool process: the first/last call times and the count, rewritten in
# OUT.<pid> after every call.  The record has a fixed width so one pwrite()
# always covers the previous one: no truncation, a single syscall (a few
# microseconds, against a Celery per-task cost of hundreds), and the file is
# right whenever the process stops, even if it is killed.
_st = {"fd": -1, "first": 0, "last": 0, "count": 0}


@app.task(name=TASK)
def noop(event):
    json.loads(event)
    t = time.time_ns() // 1000
    if _st["count"] == 0:
        _st["first"] = t
        _st["fd"] = os.open("%s.%d" % (os.environ[OUT_ENV], os.getpid()),
                            os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    _st["last"] = t
    _st["count"] += 1
    rec = "first %-20d\nlast %-20d\ncount %-12d\n" % (
        _st["first"], _st["last"], _st["count"])
    os.pwrite(_st["fd"], rec.encode(), 0)


def preload(url, queue, n, size):
    configure(url, queue)
    ev = {"event_type": "BenchEvent", "aggregate_type": "Bench",
          "aggregate_id": "7d9e1f20-3a4b-4c5d-8e6f-708192a3b4c5",
          "aggregate_version": n, "sent_us": time.time_ns() // 1000,
          "pad": ""}
    ev["pad"] = "x" * max(1, size - len(json.dumps(ev,
                                                   separators=(",", ":"))))
    with app.connection_for_write() as conn:
        producer = app.amqp.Producer(conn)
        for i in range(1, n + 1):
            ev["aggregate_version"] = i
            ev["sent_us"] = time.time_ns() // 1000
            app.send_task(TASK, (json.dumps(ev, separators=(",", ":")),),
                          queue=queue, producer=producer)
    # Leaving the block closes the connection with connection.close /
    # close-ok, after which the broker has routed every message.


def worker(url, queue, concurrency, prefetch):
    configure(url, queue, concurrency, prefetch)
    # Root in a container: Celery warns (json only, so harmless).
    warnings.filterwarnings("ignore", category=SecurityWarning)
    app.worker_main([
        "--quiet", "worker", "-P", "prefork", "-c", str(concurrency),
        "-Q", queue, "-l", "WARNING",
        "-n", "evbus_bench%d@%%h" % os.getpid(),
        "--without-gossip", "--without-mingle", "--without-heartbeat"])


def out_files(out):
    return [f for f in glob.glob(glob.escape(out) + ".*")
            if f[len(out) + 1:].isdigit()]


def total(out):
    n = 0
    for f in out_files(out):
        try:
            with open(f) as fp:
                n += int(fp.read().split("count")[1].split()[0])
        except (OSError, IndexError, ValueError):
            pass                # not written yet
    return n


def run(url, queue, n, concurrency, prefetch, out):
    for f in out_files(out):
        os.unlink(f)
    env = dict(os.environ, **{OUT_ENV: os.path.abspath(out)})
    # Its own process group, so that killpg() reaches every pool process.
    w = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "worker", url, queue,
         str(concurrency), str(prefetch)],
        env=env, stdout=sys.stderr, start_new_session=True)
    # Turn SIGTERM into SystemExit so that the finally below runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("celery_bench: killed"))
    try:
        deadline = time.monotonic() + TIMEOUT
        while (got := total(out)) < n:
            if w.poll() is not None:
                sys.exit("celery_bench: the worker exited (status %d) after "
                         "%d of %d tasks" % (w.returncode, got, n))
            if time.monotonic() > deadline:
                sys.exit("celery_bench: timeout: %d of %d tasks in %d s"
                         % (got, n, TIMEOUT))
            time.sleep(0.1)
        w.send_signal(signal.SIGTERM)           # Celery's warm shutdown
        try:
            w.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            sys.exit("celery_bench: no warm shutdown in %d s" % STOP_TIMEOUT)
        if w.returncode != 0:
            sys.exit("celery_bench: the worker exited with status %d"
                     % w.returncode)
    finally:
        try:
            os.killpg(w.pid, signal.SIGKILL)    # stragglers, if any
        except ProcessLookupError:
            pass
        w.wait()


def main():
    a = sys.argv[1:]
    if len(a) == 5 and a[0] == "preload":
        preload(a[1], a[2], int(a[3]), int(a[4]))
    elif len(a) == 7 and a[0] == "run":
        run(a[1], a[2], int(a[3]), int(a[4]), int(a[5]), a[6])
    elif len(a) == 5 and a[0] == "worker":
        worker(a[1], a[2], int(a[3]), int(a[4]))
    else:
        sys.exit("usage: celery_bench.py preload URL QUEUE N SIZE\n"
                 "       celery_bench.py run URL QUEUE N CONCURRENCY "
                 "PREFETCH OUT")


if __name__ == "__main__":
    main()
