"""Runs a task's Databricks job through the API and waits for it, as a Flyte task attempt should.

1. Which job: the identity (:mod:`.identity`) names the executionIds this task's attempts use; the newest existing
   job among them decides (:func:`.identity.plan_attempt`): a live or SUCCEEDED job is attached to (GET only, so a
   system retry never starts a second run), a job an earlier attempt saw end FAILED, RETRYABLE_FAILED or ABORTED is
   followed by a new one (POST with this attempt's executionId), none yet is submitted.
2. Waiting: GET with backoff (2 s, ×1.5, at most 60 s, jittered); throttling, 5xx and network errors are retried with
   the same delays, up to ``max_transient_errors`` in a row. A line per change of phase or message goes to the task
   log (stderr), and the Databricks run page once known.
3. The end: SUCCEEDED returns a :class:`RunResult`; otherwise the error for the phase (:mod:`.errors`).
4. SIGTERM / SIGINT (Flyte aborting the execution, the pod being deleted): DELETE the job, wait up to
   ``abort_wait_seconds`` for it to read ABORTED, raise :class:`.errors.JobInterruptedError`. A lost pod (SIGKILL,
   a node gone) sends nothing: the run lives on and the next attempt attaches to it.
"""

from __future__ import annotations

import contextlib
import random
import signal
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, Optional, Tuple, TypeVar

from .api import Backoff, JobsApiClient, job_id_for
from .config import DatabricksLambda
from .container import Container
from .errors import ApiError, ApiUnavailableError, JobInterruptedError, JobView, error_for_job
from .identity import TERMINAL_PHASES, FlyteIdentity, plan_attempt

Log = Callable[[str], None]
T = TypeVar("T")


def log_to_stderr(line: str) -> None:
    """Prints a progress line to stderr, where a Flyte task's log shows it (stdout stays for results)."""
    print(f"[flyte-databricks-lambda] {line}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class RunResult:
    """A job that SUCCEEDED: its final view, which job it was, and whether this attempt submitted it."""

    job: JobView
    job_id: str
    execution_id: str
    #: The attempt whose executionId the job has (0: the first one's).
    generation: int
    #: True when this attempt found the job already there (a retry re-attaching), False when it submitted it.
    attached: bool

    @property
    def run_page_url(self) -> Optional[str]:
        """The Databricks run page."""
        return self.job.get("runPageUrl") or None


class _Interrupt(BaseException):
    """Raised by the signal handler; a BaseException so no ``except Exception`` on the way swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _signals_interrupt(enabled: bool) -> Iterator[None]:
    """While open, SIGTERM and SIGINT raise _Interrupt (main thread only: Python delivers signals there)."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, _frame: Any) -> None:
        raise _Interrupt(signum)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _signals_ignored(enabled: bool) -> Iterator[None]:
    """While cancelling, a second SIGTERM must not cut the cancel short; the kubelet's SIGKILL ends it anyway."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Run:
    """One attempt's conversation with the API."""

    def __init__(
        self,
        config: DatabricksLambda,
        identity: FlyteIdentity,
        api: JobsApiClient,
        log: Log,
        max_transient_errors: int,
        rng: random.Random,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
    ) -> None:
        self.config = config
        self.identity = identity
        self.api = api
        self.log = log
        self.max_transient_errors = max_transient_errors
        self.sleep = sleep
        self.clock = clock
        initial = config.poll_initial_seconds
        self.delays = Backoff(initial=initial, maximum=max(config.poll_max_seconds, initial)).delays(rng)
        #: Known before the job is submitted, so a signal during the POST still cancels what it created.
        self.job_id: Optional[str] = None
        self.job: Optional[JobView] = None

    def with_retries(self, call: Callable[[], T], what: str) -> T:
        """``call``, retried on transient API errors (throttling, 5xx, network) up to the limit in a row."""
        failures = 0
        while True:
            try:
                return call()
            except ApiUnavailableError as error:
                failures += 1
                if failures > self.max_transient_errors:
                    raise
                delay = next(self.delays)
                self.log(f"{what}: {error}; retrying in {delay:.1f} s ({failures}/{self.max_transient_errors})")
                self.sleep(delay)

    def find(self, generation: int) -> Optional[JobView]:
        """The job of ``generation``'s executionId, or None."""
        job_id = job_id_for(self.identity.namespace, self.identity.execution_id(generation))
        return self.with_retries(lambda: self.api.find(job_id), f"looking up job {job_id}")

    def start(self, task: Dict[str, Any], container: Container) -> Tuple[int, bool]:
        """Attaches to this task's live job or submits one; returns (generation, attached)."""
        identity = self.identity
        newest: Optional[Tuple[int, str]] = None
        for generation in range(identity.attempt, -1, -1):
            job = self.find(generation)
            if job is not None:
                newest, self.job = (generation, str(job.get("phase"))), job
                break
        plan = plan_attempt(identity.attempt, newest)
        execution_id = identity.execution_id(plan.generation)
        self.job_id = job_id_for(identity.namespace, execution_id)
        if plan.action == "attach":
            assert self.job is not None
            self.log(
                f"attempt {identity.attempt}: attaching to job {self.job_id} (executionId {execution_id}, "
                f"{self.job.get('phase')}), no new run"
            )
            return plan.generation, True
        if newest is not None:
            self.log(
                f"attempt {identity.attempt}: job {self.job.get('jobId') if self.job else '?'} of attempt {newest[0]} "
                f"ended {newest[1]}; submitting a new job"
            )
        request = {
            "namespace": identity.namespace,
            "executionId": execution_id,
            "task": task,
            "container": container.to_request(),
        }
        self.job = self.with_retries(lambda: self.api.submit(request), "submitting")
        self.log(f"attempt {identity.attempt}: submitted job {self.job_id} (executionId {execution_id})")
        return plan.generation, False

    def wait(self, on_run_page: Optional[Callable[[str], None]]) -> JobView:
        """Polls until the job ends; returns it when SUCCEEDED, raises the phase's error otherwise."""
        assert self.job is not None and self.job_id is not None
        job_id = self.job_id
        last: Tuple[Any, ...] = ()
        announced = False
        while True:
            job = self.job
            databricks = job.get("databricks") or {}
            state = " ".join(str(s) for s in (databricks.get("lifeCycleState"), databricks.get("resultState")) if s)
            seen = (job.get("phase"), job.get("message"), state)
            if seen != last:
                last = seen
                # Databricks' own state, unless the message already says it.
                shown = f" (Databricks {state})" if state and state not in str(seen[1]) else ""
                self.log(f"job {job_id} {seen[0]}: {seen[1]}{shown}")
            url = job.get("runPageUrl")
            if url and not announced:
                announced = True
                self.log(f"Databricks run page: {url}")
                if on_run_page is not None:
                    on_run_page(url)
            phase = job.get("phase")
            if phase == "SUCCEEDED":
                return job
            if phase in TERMINAL_PHASES:
                raise error_for_job(job)
            self.sleep(next(self.delays))
            self.job = self.with_retries(lambda: self.api.get(job_id), f"reading job {job_id}")

    def abort(self, signum: int) -> JobInterruptedError:
        """Cancels the job and waits (bounded) for it to read ABORTED; the error to raise."""
        job_id = self.job_id
        if job_id is None:
            self.log(f"signal {signum} before any job was chosen; nothing to cancel")
            return JobInterruptedError(signum, None, "-")
        deadline = self.clock() + self.config.abort_wait_seconds
        self.log(f"signal {signum}: cancelling job {job_id}")
        job = self.job
        for _ in range(3):
            remaining = deadline - self.clock()
            if remaining <= 0:
                break
            try:
                job = self.api.cancel(job_id, timeout=min(10.0, remaining))
                self.log(f"job {job_id}: {job.get('message')}")
                break
            except ApiError as error:
                if error.status == 404:
                    self.log(f"job {job_id} does not exist; nothing to cancel")
                    return JobInterruptedError(signum, None, job_id)
                self.log(f"cancelling job {job_id}: {error}")
                if not isinstance(error, ApiUnavailableError):
                    break
                self.sleep(min(1.0, max(0.0, deadline - self.clock())))
        while job is not None and job.get("phase") not in TERMINAL_PHASES:
            remaining = deadline - self.clock()
            if remaining <= 0:
                self.log(
                    f"job {job_id} still {job.get('phase')} after {self.config.abort_wait_seconds:g} s; "
                    "Databricks cancels the run asynchronously and the job reads ABORTED once it has"
                )
                break
            self.sleep(min(1.0, remaining))
            try:
                job = self.api.get(job_id, timeout=max(1.0, min(5.0, deadline - self.clock())))
            except ApiError as error:
                self.log(f"reading job {job_id}: {error}")
        if job is not None and job.get("phase") in TERMINAL_PHASES:
            self.log(f"job {job_id} {job.get('phase')}: {job.get('message')}")
        return JobInterruptedError(signum, job, job_id)


def run_job(
    config: DatabricksLambda,
    container: Container,
    identity: FlyteIdentity,
    *,
    client: Optional[JobsApiClient] = None,
    log: Log = log_to_stderr,
    on_run_page: Optional[Callable[[str], None]] = None,
    handle_signals: bool = True,
    max_transient_errors: int = 8,
    rng: Optional[random.Random] = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> RunResult:
    """Runs this task attempt's Databricks job (see the module's documentation) and returns it once SUCCEEDED."""
    task = config.to_task()
    for warning in identity.warnings:
        log(f"warning: {warning}")
    for name in config.ignored_fields():
        log(f"warning: {name} is a Spark-on-Kubernetes setting Databricks does not use; it is not sent")
    api = client or JobsApiClient(config.resolved_api_url(), config.region)
    run = _Run(config, identity, api, log, max_transient_errors, rng or random.Random(), sleep, clock)
    log(
        f"{identity.namespace}: execution {identity.execution}, node {identity.node} (from {identity.node_source})"
        + (f", map item {identity.map_index}" if identity.map_index is not None else "")
        + f", attempt {identity.attempt}"
    )
    with _signals_interrupt(handle_signals):
        try:
            generation, attached = run.start(task, container)
            job = run.wait(on_run_page)
        except _Interrupt as interrupt:
            with _signals_ignored(handle_signals):
                raise run.abort(interrupt.signum) from None
    assert run.job_id is not None
    return RunResult(job, run.job_id, identity.execution_id(generation), generation, attached)
