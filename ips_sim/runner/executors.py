"""Where work units run: this process, a local process pool, or a Dask cluster.

A work unit is a plain function call (module-level function, picklable
arguments). Every executor offers the same three operations -- ``submit``,
``wait_first`` and ``close`` -- and :func:`execute` is the one loop that feeds
units to any of them, used by every command that runs replications. Results
never depend on the executor: callers put them back in point and replication
order before aggregating.

Local worker processes ignore Ctrl-C (the parent stops them at once) and, on
Linux, die with their parent even when it is killed with SIGKILL.
"""

from __future__ import annotations

import os
import re
import signal
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as cf_wait
from multiprocessing import get_context
from typing import Any, Callable, Iterable

from ips_sim.core.echo import shown
from ips_sim.core.errors import EnvironmentFault, UserError

SCHEDULER_PATTERN = re.compile(r"^(tcp|tls|inproc|ucx|ws|wss)://[^\s/]+(:\d+)?/?$")


POOL_ABANDONED = False  # set when an interrupt stopped local workers mid-work (see LocalExecutor.close)


def default_workers() -> int:
    """The cores this process may use."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def _worker_init() -> None:
    """In each local worker: leave Ctrl-C to the parent, and die when the parent dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() == 1:  # the parent died before the line above took effect
            os._exit(1)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


class ExecutorError(UserError):
    """The executor cannot be set up (bad address, no scheduler, dask missing)."""


class WorkerLost(EnvironmentFault):
    """A worker process stopped on its own (killed, out of memory): its units are lost, finished ones kept."""


class InlineExecutor:
    """Runs each unit at once in this process (one worker: no pool, no pickling)."""

    capacity = 1
    window = 1
    description = "this process"

    def submit(self, fn, *args) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args))
        except Exception as exc:  # noqa: BLE001 - handed to the caller through the future
            fut.set_exception(exc)
        return fut

    def wait_first(self, futures):
        return set(futures), set()

    def close(self, cancel: bool = False) -> None:
        pass


class LocalExecutor:
    """A pool of ``workers`` spawned processes on this machine."""

    def __init__(self, workers: int):
        self.capacity = workers
        self.closed = False
        self.description = f"{workers} local processes"
        # The resource tracker (a helper process started with the pool) reads this: when a stopped pool
        # is abandoned it cleans up the pool's semaphores itself, without a warning on the user's terminal.
        quiet = "ignore::UserWarning:multiprocessing.resource_tracker"
        if quiet not in os.environ.get("PYTHONWARNINGS", ""):
            os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), quiet]))
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                        initializer=_worker_init)

    def submit(self, fn, *args) -> Future:
        return self.pool.submit(fn, *args)

    def wait_first(self, futures):
        while True:
            done, not_done = cf_wait(futures, timeout=1.0, return_when=FIRST_COMPLETED)
            if done:
                return done, not_done
            # A worker killed while sending a result leaves the pool's manager thread reading half a
            # message for ever, so the pool never reports it broken: look at the workers ourselves.
            processes = (getattr(self.pool, "_processes", None) or {}).values()
            if any(p.exitcode is not None for p in list(processes)):
                from concurrent.futures.process import BrokenProcessPool

                broken: Future = Future()
                broken.set_exception(BrokenProcessPool("a worker process died"))
                return {broken}, set(not_done)

    def close(self, cancel: bool = False) -> None:
        if self.closed:
            return  # already stopped (an interrupt closes first; the caller's cleanup closes again)
        self.closed = True
        if not cancel:
            self.pool.shutdown(wait=True)
            return
        # Interrupted: drop queued units and stop the pool's own worker processes now.
        processes = list((getattr(self.pool, "_processes", None) or {}).values())
        call_queue = getattr(self.pool, "_call_queue", None)
        if call_queue is not None:
            # Units still in the pipe will never be read: do not wait at exit to flush them.
            call_queue.cancel_join_thread()
        self.pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            if p.is_alive():
                p.terminate()
        for p in processes:
            p.join(timeout=1)
            if p.is_alive():
                p.kill()
        # A worker stopped while sending a result can leave half a message in the result pipe, and
        # the pool's manager thread then waits for the rest for ever; the interpreter joins that
        # thread at exit. Say so: a command line that stops here ends its process without that join.
        global POOL_ABANDONED
        POOL_ABANDONED = True


class DaskExecutor:
    """Units run on a Dask distributed cluster (``dask.distributed.Client``).

    The cluster's workers must be able to import ``ips_sim`` (same version).
    """

    def __init__(self, address: str, timeout: float = 20.0):
        try:
            from distributed import Client
        except ImportError:
            raise ExecutorError(
                "--scheduler needs dask.distributed; install it with: pip install 'ips-sim[dask]'"
            ) from None
        try:
            self.client = Client(address, timeout=timeout, set_as_default=False)
        except KeyboardInterrupt:
            # Ctrl-C / SIGTERM while connecting: the half-made client would wait out its timeout at
            # exit; mark the process to end at once after the interrupt line (see interrupt.report).
            global POOL_ABANDONED
            POOL_ABANDONED = True
            raise
        except Exception as exc:  # noqa: BLE001 - any failure to connect is reported the same way
            raise ExecutorError(f"cannot connect to the Dask scheduler at {address}: {exc}") from None
        threads = sum(self.client.nthreads().values())
        self.capacity = max(1, threads)
        self.description = f"Dask cluster at {address} ({threads} worker threads)"

    def submit(self, fn, *args):
        return self.client.submit(fn, *args, pure=False)

    def wait_first(self, futures):
        from distributed import wait
        with self.client.as_current():
            res = wait(list(futures), return_when="FIRST_COMPLETED")
        return set(res.done), set(res.not_done)

    def close(self, cancel: bool = False) -> None:
        self.client.close()


def check_scheduler_address(address: str) -> str | None:
    """Why ``address`` is not a scheduler address, or None if it looks right."""
    if not SCHEDULER_PATTERN.match(address):
        return "expected a scheduler address such as tcp://HOST:PORT"
    return None


def option_problems(workers: int | None, scheduler: str | None) -> list[str]:
    """One line per problem with ``--workers`` / ``--scheduler`` as given on a command line."""
    problems = []
    if scheduler is not None and workers is not None:
        problems.append(f"--workers: {workers}: give either --workers (local processes) or --scheduler (Dask), "
                        "not both")
    if scheduler is not None and check_scheduler_address(scheduler):
        problems.append(f"--scheduler: {shown(scheduler)}: {check_scheduler_address(scheduler)}")
    return problems


def make_executor(workers: int | None = None, scheduler: str | None = None):
    """The executor for ``--workers`` / ``--scheduler`` (default: all local cores)."""
    if scheduler:
        return DaskExecutor(scheduler)
    workers = default_workers() if workers is None else workers
    if workers <= 1:
        return InlineExecutor()
    return LocalExecutor(workers)


def execute(executor, fn: Callable, units: Iterable[tuple[Any, tuple]], on_result: Callable[[Any, Any], None],
            window: int | None = None, describe: Callable[[list], str] | None = None) -> None:
    """Run ``fn(*args)`` for each ``(key, args)`` on ``executor``, at most ``window`` at a time.

    Units are submitted in the order given and results handed to ``on_result(key, result)``
    as they finish. On any error or interruption the queued units are dropped and local
    workers stopped at once. A worker process that dies on its own raises :class:`WorkerLost`
    naming the units in flight (``describe(keys)`` words them), after the finished ones were handed over.
    """
    from concurrent.futures.process import BrokenProcessPool

    window = window or getattr(executor, "window", None) or max(2, executor.capacity * 4)
    it = iter(units)
    in_flight: dict = {}
    exhausted = False
    try:
        while True:
            while not exhausted and len(in_flight) < window:
                try:
                    key, args = next(it)
                except StopIteration:
                    exhausted = True
                    break
                in_flight[executor.submit(fn, *args)] = key
            if not in_flight:
                break
            done, _ = executor.wait_first(list(in_flight))
            broken = False
            for fut in sorted(done, key=lambda f: f.exception() is not None):  # finished ones first
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    broken = True
                    continue
                on_result(in_flight.pop(fut), result)
            if broken:
                lost = sorted(in_flight.values(), key=str)
                what = describe(lost) if describe else f"work units {', '.join(map(str, lost[:8]))}" + (
                    f" and {len(lost) - 8} more" if len(lost) > 8 else "")
                raise WorkerLost([f"a worker process stopped on its own (killed, or out of memory): {what} "
                                  "were lost; finished work is kept"])
    except BaseException:
        executor.close(cancel=True)
        raise
