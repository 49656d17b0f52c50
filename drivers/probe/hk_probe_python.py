#!/usr/bin/env python3
"""hk probe's Python rows: what CPython's global interpreter lock (GIL) does to threads.

Run by `hk probe` (never by hand in the normal case) as

    PYTHON -I hk_probe_python.py --out FILE [sizes]

and writes every raw measurement to FILE as JSON (schema hybridkit.probe.python/1): wall times
of every trial, the CPU contention during each timed window, the interpreter it ran on. The C++
side turns them into figures, verdicts and table rows; nothing is judged here.

Measured:
  cpu       a pure-Python loop, the same total work on 1 thread, N threads, N processes (fork and
            spawn) and `--many` threads / forked processes; timed from the release of workers that
            are already running to the last one done (start-up is timed separately)
  io        waits for a delay server (a separate process answering each request over a UNIX
            socket after --wait-s): one at a time, on N threads, N processes, N asyncio tasks,
            and the same with --many waits
  creation  threading.Thread vs multiprocessing.Process (fork, spawn) start + join
  data      a --data-bytes bytearray handed to a thread (queue.Queue: the same object) and sent to
            a process (multiprocessing Pipe: pickled and copied)

Contention: each timed window records the share of its time in which some task was runnable but
waiting for a CPU (/proc/pressure/cpu "some", Linux >= 4.20) or the hypervisor ran something else
(steal, /proc/stat), so the caller can tell a quiet trial from one that other programs slowed
down. null where the kernel has no pressure files.

Worker processes are released through a pipe (StartGate) and the 64-process variants run once
(they are reported, never judged, and cost the most).

Exit status 0 with FILE written; 3 with one line "hk_probe_python: ..." on stderr on any failure.
"""

import argparse
import json
import os
import platform
import sys
import sysconfig
import threading
import time

SCHEMA = "hybridkit.probe.python/1"
WARMUP = 1  # untimed trials before the creation and data series


class ProbeError(Exception):
    """A failure reported as one line."""


# --- contention ---------------------------------------------------------------------------
PRESSURE = "/proc/pressure/cpu"


def stall_us():
    """Microseconds in which some task waited for a CPU since boot, or None without PSI."""
    try:
        with open(PRESSURE) as f:
            for line in f:
                if line.startswith("some "):
                    for field in line.split():
                        if field.startswith("total="):
                            return int(field[len("total="):])
    except OSError:
        return None
    return None


def steal_s():
    """Seconds the hypervisor ran something else on this machine's CPUs, summed over the CPUs."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK") if fields[0] == "cpu" and len(fields) > 8 else 0.0
    except (OSError, ValueError):
        return 0.0


CPUS = os.cpu_count() or 1


class Window:
    """A timed window: monotonic start and the contention counters at its start."""

    def __init__(self):
        self.stall0, self.steal0 = stall_us(), steal_s()
        self.t0 = time.monotonic()

    def trial(self, end):
        """A trial record for a window that ended at monotonic `end` (the last worker done).

        stall: the share of the window in which some task waited for a CPU, or the share of the
        CPUs' time the hypervisor took (steal), whichever is larger; None without PSI."""
        now = time.monotonic()
        stall1, steal1 = stall_us(), steal_s()
        stall = None
        if self.stall0 is not None and stall1 is not None and now > self.t0:
            waited = (stall1 - self.stall0) / 1e6 / (now - self.t0)
            stolen = (steal1 - self.steal0) / CPUS / (now - self.t0)
            stall = min(1.0, max(waited, stolen))
        return {"wall_s": end - self.t0, "stall": stall}


# --- the CPU-bound work -------------------------------------------------------------------
def spin(start, stop):
    """The pure-Python loop every CPU-bound variant runs on its share of the iterations."""
    x = 0
    for i in range(start, stop):
        x += i & 7
    return x


def spin_expected(n):
    """What spin(0, n) returns: each block of 8 adds 0+1+...+7 = 28."""
    full, rest = divmod(n, 8)
    return full * 28 + rest * (rest - 1) // 2


def shares(total, parts):
    """`parts` consecutive ranges covering [0, total), sizes differing by at most 1."""
    bounds = [total * k // parts for k in range(parts + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def thread_run(ranges, work):
    """Runs work(*range) on one thread per range, all released at once. Returns (results, trial)."""
    n = len(ranges)
    results, done = [None] * n, [0.0] * n
    start = threading.Barrier(n + 1)

    def worker(k):
        start.wait()
        results[k] = work(*ranges[k])
        done[k] = time.monotonic()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    window = Window()
    start.wait()
    for t in threads:
        t.join()
    return results, window.trial(max(done))


class StartGate:
    """Releases waiting worker processes at once: each blocks reading one byte of a pipe, and one
    write gives every worker its byte. (A multiprocessing Event wakes them through a handshake
    with each in turn: milliseconds apart, as much as a short trial's work.)"""

    def __init__(self, ctx):
        self.reader, self.writer = ctx.Pipe(duplex=False)

    def wait(self):
        if os.read(self.reader.fileno(), 1) != b"g":
            raise ProbeError("the start gate closed before the start")

    def open(self, workers):
        os.write(self.writer.fileno(), b"g" * workers)


def process_worker(k, lo, hi, work, ready, gate, out):
    ready.release()
    gate.wait()
    value = work(lo, hi)
    out.put((k, value, time.monotonic()))


def check_alive(procs, what):
    for p in procs:
        if p.exitcode not in (None, 0):
            raise ProbeError(f"a {what} worker exited with status {p.exitcode}")


def start_processes(ctx, target, args_of, n, what):
    """Starts n processes running target(*args_of(k), ready, gate, out), waits until each is at
    the gate. Returns (processes, gate, out)."""
    ready, gate, out = ctx.Semaphore(0), StartGate(ctx), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args_of(k), ready, gate, out)) for k in range(n)]
    for p in procs:
        p.start()
    for _ in procs:
        while not ready.acquire(timeout=1):
            check_alive(procs, what)
    return procs, gate, out


def collect(out, procs, what):
    """One result from each worker, in the order they come; a dead worker is an error, not a hang."""
    import queue

    results = []
    while len(results) < len(procs):
        try:
            results.append(out.get(timeout=1))
        except queue.Empty:
            check_alive(procs, what)
    return results


def join_processes(procs, what):
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise ProbeError(f"a {what} worker exited with status {p.exitcode}")


def process_run(ctx, ranges, work):
    """The same with one process per range. Returns (results, trial, end_to_end_s)."""
    n = len(ranges)
    created = time.monotonic()
    what = ctx.get_start_method()
    procs, gate, out = start_processes(ctx, process_worker, lambda k: (k, *ranges[k], work), n, what)
    window = Window()
    gate.open(n)
    results, done = [None] * n, [0.0] * n
    for k, value, finished in collect(out, procs, what):
        results[k], done[k] = value, finished
    trial = window.trial(max(done))
    join_processes(procs, what)
    return results, trial, time.monotonic() - created


# --- the I/O-bound work: requests to a delay server ---------------------------------------
def serve_delays(delay_s):
    """The delay server: answers each one-byte request after delay_s, any number at once.

    Listens on an abstract UNIX socket (no file), prints its name, and exits when its stdin closes
    (the probe is done or died)."""
    import heapq
    import selectors
    import socket

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind("")  # autobind: a unique abstract name
    listener.listen(4096)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(sys.stdin, selectors.EVENT_READ)
    sys.stdout.write(listener.getsockname()[1:].decode() + "\n")
    sys.stdout.flush()
    due, order = [], 0
    while True:
        timeout = max(0.0, due[0][0] - time.monotonic()) if due else None
        for key, _ in selector.select(timeout):
            if key.fileobj is sys.stdin:
                return
            if key.fileobj is listener:
                conn, _ = listener.accept()
                selector.register(conn, selectors.EVENT_READ)
                continue
            conn = key.fileobj
            selector.unregister(conn)
            if conn.recv(1):
                order += 1
                heapq.heappush(due, (time.monotonic() + delay_s, order, conn))
            else:
                conn.close()
        now = time.monotonic()
        while due and due[0][0] <= now:
            _, _, conn = heapq.heappop(due)
            conn.sendall(b"!")
            conn.close()


class DelayServer:
    def __init__(self, delay_s):
        import subprocess

        self.proc = subprocess.Popen([sys.executable, "-I", os.path.abspath(__file__), "--delay-server",
                                      repr(delay_s)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        name = self.proc.stdout.readline().strip()
        if not name:
            raise ProbeError("the delay server did not start")
        self.address = b"\0" + name

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def connect(address):
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(address)
    return sock


def ask(sock):
    """One blocking wait: a request, then a read until the answer comes. Returns when it ended."""
    sock.sendall(b"?")
    answer = sock.recv(1)
    ended = time.monotonic()
    sock.close()
    if answer != b"!":
        raise ProbeError(f"the delay server answered {answer!r}")
    return ended


def io_in_turn(address, n):
    """n waits one after the other on this thread. Returns (trial of all, trials of each)."""
    socks = [connect(address) for _ in range(n)]
    each = []
    window = Window()
    for sock in socks:
        one = Window()
        each.append(one.trial(ask(sock)))
    return window.trial(time.monotonic()), each


def io_threads(address, n):
    socks = [connect(address) for _ in range(n)]
    _, trial = thread_run([(sock,) for sock in socks], ask)
    return trial


def io_process_worker(k, address, ready, gate, out):
    sock = connect(address)
    ready.release()
    gate.wait()
    out.put((k, ask(sock), time.monotonic()))


def io_processes(ctx, address, n):
    procs, gate, out = start_processes(ctx, io_process_worker, lambda k: (k, address), n, "I/O")
    window = Window()
    gate.open(n)
    done = [ended for _, ended, _ in collect(out, procs, "I/O")]
    trial = window.trial(max(done))
    join_processes(procs, "I/O")
    return trial


def io_asyncio(address, n):
    import asyncio

    async def ask_async(reader, writer):
        writer.write(b"?")
        await writer.drain()
        answer = await reader.read(1)
        ended = time.monotonic()
        writer.close()
        if answer != b"!":
            raise ProbeError(f"the delay server answered {answer!r}")
        return ended

    async def main():
        conns = [await asyncio.open_unix_connection(sock=connect(address)) for _ in range(n)]
        window = Window()
        done = await asyncio.gather(*(ask_async(r, w) for r, w in conns))
        return window.trial(max(done))

    return asyncio.run(main())


# --- creation and data --------------------------------------------------------------------
def nothing():
    pass


def timed_series(trials, once):
    seconds = []
    for i in range(WARMUP + trials):
        t = once()
        if i >= WARMUP:
            seconds.append(t)
    return seconds


def create_thread():
    t0 = time.perf_counter()
    t = threading.Thread(target=nothing)
    t.start()
    t.join()
    return time.perf_counter() - t0


def create_process(ctx):
    t0 = time.perf_counter()
    p = ctx.Process(target=nothing)
    p.start()
    p.join()
    seconds = time.perf_counter() - t0
    if p.exitcode != 0:
        raise ProbeError(f"a {ctx.get_start_method()} process exited with status {p.exitcode}")
    return seconds


def data_receiver(conn):
    """The process side of the data row: receives, marks its copy, reports when it had it."""
    while True:
        buffer = conn.recv()
        if buffer is None:
            return
        received = time.monotonic()
        buffer[0] ^= 0xFF
        conn.send((received, len(buffer)))


def data_to_thread(buffer, trials):
    import queue

    inbox, replies = queue.Queue(), queue.Queue()

    def receiver():
        while True:
            item = inbox.get()
            if item is None:
                return
            received = time.monotonic()
            item[0] ^= 0xFF  # the sender's buffer, if it is the same object
            replies.put((received, id(item)))

    thread = threading.Thread(target=receiver)
    thread.start()
    seconds, shared = [], True
    for i in range(WARMUP + trials):
        before = buffer[0]
        sent = time.monotonic()
        inbox.put(buffer)
        received, identity = replies.get()
        shared = shared and identity == id(buffer) and buffer[0] == before ^ 0xFF
        if i >= WARMUP:
            seconds.append(received - sent)
    inbox.put(None)
    thread.join()
    return {"handoff_s": seconds, "same_object": shared, "bytes_copied": 0 if shared else len(buffer)}


def data_to_process(mp, buffer, trials):
    from multiprocessing.reduction import ForkingPickler

    method = "spawn" if "spawn" in mp.get_all_start_methods() else mp.get_start_method()
    ctx = mp.get_context(method)
    ours, theirs = ctx.Pipe()
    receiver = ctx.Process(target=data_receiver, args=(theirs,))
    receiver.start()
    seconds, copied = [], True
    for i in range(WARMUP + trials):
        before = buffer[0]
        sent = time.monotonic()
        ours.send(buffer)  # pickled, written through the pipe, unpickled into a new object
        received, length = ours.recv()
        copied = copied and length == len(buffer) and buffer[0] == before
        if i >= WARMUP:
            seconds.append(received - sent)
    ours.send(None)
    receiver.join()
    return {"transfer_s": seconds, "start_method": method, "child_had_a_copy": copied,
            "pickled_bytes": len(ForkingPickler.dumps(buffer))}


# --- the run ------------------------------------------------------------------------------
def interpreter(mp):
    """Which Python this is. `gil_enabled` is read after every module the probe uses is imported:
    a free-threaded build turns the lock back on when an extension that needs it is loaded."""
    has_query = hasattr(sys, "_is_gil_enabled")
    return {
        "executable": sys.executable,
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "build": " ".join(platform.python_build()),
        "compiler": platform.python_compiler(),
        "free_threaded_build": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "gil_enabled": bool(sys._is_gil_enabled()) if has_query else True,
        "gil_reported_by": "sys._is_gil_enabled()" if has_query
        else "no sys._is_gil_enabled() before 3.13, the lock is always on",
        "switch_interval_s": sys.getswitchinterval(),
        "start_methods": mp.get_all_start_methods(),
        "default_start_method": mp.get_start_method(allow_none=True) or "",
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
    }


def measure_cpu(mp, a, failures):
    """Rounds of every variant, interleaved, so a burst of load spreads over all of them."""
    total, n, many = a.cpu_iterations, a.workers, a.many
    expected = spin_expected(total)
    variants = {name: [] for name in ("one_thread", "threads", "many_threads")}
    methods = [m for m in ("fork", "spawn") if m in mp.get_all_start_methods()]
    for m in methods:
        variants[f"processes_{m}"], variants[f"processes_{m}_end_to_end"] = [], []
    if "fork" in methods:
        variants["many_processes_fork"] = []

    def record(name, results, trial):
        if sum(results) != expected:
            failures.append(f"cpu {name}: the loop summed to {sum(results)} instead of {expected}")
        variants[name].append(trial)

    for round_number in range(a.trials):
        record("one_thread", *thread_run(shares(total, 1), spin))
        record("threads", *thread_run(shares(total, n), spin))
        for m in methods:
            results, trial, end_to_end = process_run(mp.get_context(m), shares(total, n), spin)
            record(f"processes_{m}", results, trial)
            variants[f"processes_{m}_end_to_end"].append({"wall_s": end_to_end, "stall": None})
        record("many_threads", *thread_run(shares(total, many), spin))
        if "fork" in methods and round_number == 0:  # reported only, and 64 processes are costly: once
            results, trial, _ = process_run(mp.get_context("fork"), shares(total, many), spin)
            record("many_processes_fork", results, trial)
    return {"iterations": total, "expected_sum": expected, "workers": n, "many": many, "trials": variants}


def measure_io(mp, a):
    n, many = a.workers, a.many
    method = "fork" if "fork" in mp.get_all_start_methods() else mp.get_start_method()
    ctx = mp.get_context(method)
    variants = {name: [] for name in ("one_wait", "in_turn", "threads", "asyncio", "processes",
                                      "many_threads", "many_asyncio", "many_processes")}
    server = DelayServer(a.wait_s)
    try:
        for round_number in range(a.trials):
            all_of_them, each = io_in_turn(server.address, n)
            variants["in_turn"].append(all_of_them)
            variants["one_wait"].extend(each)
            variants["threads"].append(io_threads(server.address, n))
            variants["asyncio"].append(io_asyncio(server.address, n))
            variants["processes"].append(io_processes(ctx, server.address, n))
            variants["many_threads"].append(io_threads(server.address, many))
            variants["many_asyncio"].append(io_asyncio(server.address, many))
            if round_number == 0:  # reported only, and costly: once
                variants["many_processes"].append(io_processes(ctx, server.address, many))
    finally:
        server.close()
    return {"wait_s": a.wait_s, "workers": n, "many": many, "process_start_method": method, "trials": variants}


def measure_creation(mp, a):
    out = {"thread_s": timed_series(a.create_trials, create_thread)}
    for m in ("fork", "spawn"):
        if m in mp.get_all_start_methods():
            ctx = mp.get_context(m)
            out[f"process_{m}_s"] = timed_series(a.create_trials, lambda: create_process(ctx))
    return out


def measure_data(mp, a):
    buffer = bytearray(bytes(range(256)) * (a.data_bytes // 256))
    return {"bytes": len(buffer), "kind": "bytearray",
            "thread": data_to_thread(buffer, a.trials), "process": data_to_process(mp, buffer, a.trials)}


def run(a):
    try:
        import multiprocessing as mp
    except ImportError as e:
        raise ProbeError(f"this Python has no usable multiprocessing module ({e}); the process rows need it")
    import asyncio  # noqa: F401 (imported before the lock is queried, like every module used)
    import queue  # noqa: F401
    import selectors  # noqa: F401
    import socket  # noqa: F401
    import multiprocessing.reduction  # noqa: F401

    failures = []
    result = {"schema": SCHEMA, "interpreter": interpreter(mp),
              "contention_source": PRESSURE if stall_us() is not None else None}
    result["cpu"] = measure_cpu(mp, a, failures)
    result["io"] = measure_io(mp, a)
    result["creation"] = measure_creation(mp, a)
    result["data"] = measure_data(mp, a)
    result["verification_failures"] = failures
    result["interpreter"]["gil_enabled_at_end"] = (bool(sys._is_gil_enabled()) if hasattr(sys, "_is_gil_enabled")
                                                   else True)
    return result


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--delay-server":
        serve_delays(float(sys.argv[2]))
        return 0
    parser = argparse.ArgumentParser(description="hk probe's Python rows (run by hk probe)")
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--workers", type=positive_int, default=2, help="N: threads / processes / tasks")
    parser.add_argument("--many", type=positive_int, default=64, help="workers far above the CPU count")
    parser.add_argument("--cpu-iterations", type=positive_int, default=6_000_000, help="total loop iterations")
    parser.add_argument("--wait-s", type=float, default=0.2, help="seconds the delay server waits per request")
    parser.add_argument("--trials", type=positive_int, default=5, help="rounds of every variant")
    parser.add_argument("--create-trials", type=positive_int, default=15, help="start + join trials")
    parser.add_argument("--data-bytes", type=positive_int, default=64 << 20, help="bytes handed to a worker")
    a = parser.parse_args()
    try:
        result = run(a)
        result["settings"] = vars(a)
        with open(a.out + ".part", "w") as f:
            json.dump(result, f, indent=1)
        os.replace(a.out + ".part", a.out)
    except ProbeError as e:
        sys.stderr.write(f"hk_probe_python: {e}\n")
        return 3
    except Exception as e:  # one line, not a traceback: hk probe shows it as the reason
        sys.stderr.write(f"hk_probe_python: {type(e).__name__}: {e}\n")
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
