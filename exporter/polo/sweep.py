"""One sweep: every (account, region, collector) task on a bounded worker pool.

Each account-region (AWS rate-limits per account and region; global services count as one
region) may hold at most `per_region_workers` pool slots at a time, so a throttled or slow
region queues behind itself instead of starving the account's other regions or other accounts.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

from polo.aws.access import AssumeRoleError, AwsAccess
from polo.errors import error_code
from polo.collectors.base import CollectContext
from polo.collectors import COLLECTORS
from polo.config import Account, Config
from polo.model import Resource, TaskKey, TaskResult

log = logging.getLogger(__name__)
GLOBAL = "global"


class SweepCancelled(Exception):
    """The exporter is shutting down; the unfinished sweep is not published."""


@dataclass(frozen=True)
class SweepOutcome:
    results: list[TaskResult]
    accounts_up: dict[str, bool]
    duration: float


class Sweeper:
    def __init__(self, config: Config, access: AwsAccess, collectors=COLLECTORS,
                 found: Callable[[tuple[Resource, ...]], None] | None = None):
        """`found` is handed each task's resources as the task ends (polo.source.Source.found)."""
        self.config = config
        self.access = access
        self.found = found
        self.collectors = {name: collectors[name] for name in config.collectors}
        self._accounts = {a.id: a for a in config.own_accounts}
        self._assume_failures: dict[str, str] = {}
        self._took: dict[TaskKey, float] = {}  # each task's seconds in the previous sweep
        # Reentrant: a future that is already done runs its callback inside add_done_callback.
        self._lock = threading.RLock()
        self._cancelled = threading.Event()
        self.abandoned = 0  # tasks still running when a sweep was cancelled

    def cancel(self) -> None:
        """Shutting down: start no more tasks, and make a running sweep raise SweepCancelled."""
        self._cancelled.set()

    def tasks_for(self, account: Account) -> list[TaskKey]:
        """The longest tasks first, so none starts last and becomes the sweep's tail: by the
        time each took in the previous sweep, and where there was none (the first sweep, the first
        after a reload) by its declared chain of dependent calls."""
        tasks = []
        for name, collector in self.collectors.items():
            regions = [GLOBAL] if collector.scope == "global" else self.config.regions
            tasks += [TaskKey(account.id, region, name) for region in regions]
        return sorted(tasks, key=lambda task: (-self._took.get(task, 0.0), -self.collectors[task.collector].chain))

    def run(self) -> SweepOutcome:
        """In a large estate (more account-regions than sweep.kept_client_regions) at most
        workers / per_region_workers account-regions are swept at a time, each with its own
        slots, and an account-region's clients are dropped once its tasks are done (made again
        next sweep): the clients alive at once are bounded by the pool, not the estate."""
        started = time.monotonic()
        self._assume_failures = {}
        tasks = [task for account in self._accounts.values() for task in self.tasks_for(account)]
        queues: dict[tuple[str, str], deque[TaskKey]] = {}
        for region in [GLOBAL, *self.config.regions]:  # accounts interleaved: first slots shared fairly
            for account_id in self._accounts:
                own = [task for task in tasks if task.account_id == account_id and task.region == region]
                if own:
                    queues[(account_id, region)] = deque(own)
        total = sum(len(q) for q in queues.values())
        keep_clients = sum(1 for _, region in queues if region != GLOBAL) <= self.config.sweep.kept_client_regions
        waiting = deque(queues)  # account-regions not started yet
        in_flight: dict[tuple[str, str], int] = {}
        # with every client kept, bounding saves nothing: all account-regions start at once, as before
        concurrent_regions = len(queues) if keep_clients else max(
            1, self.config.sweep.workers // self.config.sweep.per_region_workers)
        results: list[TaskResult] = []
        all_done = threading.Event()
        if total == 0:
            all_done.set()

        pool = ThreadPoolExecutor(self.config.sweep.workers, thread_name_prefix="polo-sweep")

        def start_regions() -> None:  # caller holds self._lock
            while waiting and len(in_flight) < concurrent_regions and not self._cancelled.is_set():
                key = waiting.popleft()
                in_flight[key] = 0
                for _ in range(self.config.sweep.per_region_workers):
                    launch(key)

        def launch(key: tuple[str, str]) -> None:  # caller holds self._lock
            if queues[key] and not self._cancelled.is_set():
                task = queues[key].popleft()
                in_flight[key] += 1
                pool.submit(self._run_task, task).add_done_callback(
                    lambda future: finished(task, future))

        def finished(task: TaskKey, future) -> None:
            if future.cancelled():  # a cancelled sweep: never published, nothing to record
                return
            try:
                result = future.result()
            except BaseException as exc:  # _run_task guards itself; whatever escapes is still this task's
                log.error("collector %s in account %s region %s raised past its guard: %r",
                          task.collector, task.account_id, task.region, exc)
                result = TaskResult(task, None, 0.0, error=error_code(exc))
            if result.resources and self.found is not None:
                try:
                    self.found(result.resources)
                except Exception:  # whoever listens, the sweep goes on
                    log.exception("handing the resources of collector %s in account %s region %s on failed",
                                  task.collector, task.account_id, task.region)
            key = (task.account_id, task.region)
            with self._lock:
                results.append(result)
                in_flight[key] -= 1
                launch(key)
                if in_flight[key] == 0:  # the account-region is done
                    del in_flight[key]
                    if not keep_clients and task.region != GLOBAL:
                        self.access.release(task.account_id, task.region)
                    start_regions()
                if len(results) == total:
                    all_done.set()

        try:
            with self._lock:
                start_regions()
            while not all_done.wait(0.25):
                if self._cancelled.is_set():
                    self.abandoned = total - len(results)
                    raise SweepCancelled(f"{self.abandoned} of {total} tasks unfinished")
        finally:  # on cancel, in-flight calls are abandoned (their threads end with their timeouts)
            pool.shutdown(wait=not self._cancelled.is_set(), cancel_futures=True)
        if not keep_clients:  # what global tasks made (S3's clients in each bucket's region)
            for account_id in self._accounts:
                self.access.release(account_id)

        self._took = {result.task: result.duration for result in results}
        accounts_up = {a.id: a.id not in self._assume_failures for a in self._accounts.values()}
        return SweepOutcome(results, accounts_up, time.monotonic() - started)

    def _client_factory(self, account: Account):
        return lambda service, region: self.access.client(account, service, region)

    def _run_task(self, task: TaskKey) -> TaskResult:
        started = time.monotonic()
        account = self._accounts[task.account_id]
        try:
            failure = self._assume_failures.get(account.id)
            if failure:
                raise AssumeRoleError(account, failure)
            self.access.session(account)
            ctx = CollectContext(account_id=account.id, region=task.region,
                                 home_region=self.config.regions[0],
                                 client=self._client_factory(account))
            resources = tuple(self.collectors[task.collector].collect(ctx))
            return TaskResult(task, resources, time.monotonic() - started)
        except AssumeRoleError as exc:  # first assume, or a refresh inside a collector's call
            if account.id not in self._assume_failures:
                self._assume_failures[account.id] = exc.code
                self.access.forget(account)  # the next sweep assumes the role afresh
            return self._failed(task, account, exc, started)
        except Exception as exc:  # one failing task must never take the sweep down
            return self._failed(task, account, exc, started)

    def _failed(self, task: TaskKey, account: Account, exc: Exception, started: float) -> TaskResult:
        code = error_code(exc)
        log.debug("collector %s failed in account %s (%s) region %s: %s",
                  task.collector, account.id, account.name, task.region, code)
        return TaskResult(task, None, time.monotonic() - started, error=code)


def failure_summary(results: list[TaskResult], endpoint: str | None) -> list[str]:
    """One line per error kind for the sweep's WARNING: with AWS unreachable, one line per task
    was 720 lines a sweep. Which task failed how stays at DEBUG and in polo_collector_error_info."""
    failed: dict[str, list[TaskKey]] = {}
    for result in results:
        if not result.ok:
            failed.setdefault(result.error or "unknown", []).append(result.task)
    lines = []
    for code, tasks in sorted(failed.items(), key=lambda item: -len(item[1])):
        collectors = sorted({t.collector for t in tasks})
        shown = ", ".join(collectors[:5]) + (f" and {len(collectors) - 5} more" if len(collectors) > 5 else "")
        lines.append(f"{len(tasks)} collector tasks failed with {code}: {len({t.account_id for t in tasks})} "
                     f"accounts, {len({t.region for t in tasks})} regions, collectors {shown}; "
                     f"endpoint {endpoint or 'AWS (default)'}")
    return lines
