"""The errors this package raises, and which of them Flyte may retry.

A Flyte task fails *recoverably* (Flyte retries it while the task has ``retries`` left) when it raises
``flytekit.exceptions.user.FlyteRecoverableException``, and for good with any other exception. So the recoverable
errors here derive from that class when flytekit can be imported, and from a local stand-in when it cannot; code
that must know either way calls :func:`is_recoverable`.

- :class:`JobRetryableError`: the job ended RETRYABLE_FAILED (Databricks INTERNAL_ERROR, a limit, a transient failure
  the connector gave up on): recoverable.
- :class:`JobFailedError`: the job ended FAILED, or ABORTED (:class:`JobAbortedError`): not recoverable.
- :class:`ApiError`: the API refused the request (400 naming the field, 403, 404, 409, 413): not recoverable.
  :class:`ApiUnavailableError`: throttled, 5xx or unreachable after the client's own retries: recoverable.
- :class:`ConfigError`: the task's configuration or the Flyte environment is unusable: not recoverable.
- :class:`JobInterruptedError`: SIGTERM/SIGINT arrived; the job was asked to cancel.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

try:  # flytekit is optional: with it, Flyte sees these errors as recoverable.
    from flytekit.exceptions.user import FlyteRecoverableException as _RecoverableBase
except ImportError:

    class _RecoverableBase(Exception):  # type: ignore[no-redef]
        """Marks an error Flyte may retry (flytekit's FlyteRecoverableException when flytekit is installed)."""


RecoverableError = _RecoverableBase
JobView = Dict[str, Any]


def is_recoverable(error: BaseException) -> bool:
    """Whether Flyte may retry a task that failed with ``error``."""
    return isinstance(error, _RecoverableBase)


class DatabricksLambdaError(Exception):
    """Base class of the errors this package raises."""


class ConfigError(DatabricksLambdaError, ValueError):
    """The task configuration or the Flyte environment cannot be used as it is; retrying cannot help."""


class ApiError(DatabricksLambdaError):
    """The API refused a request. ``status`` is the HTTP status, ``code``/``message``/``field`` the API's error."""

    def __init__(
        self,
        method: str,
        path: str,
        status: Optional[int],
        code: str,
        message: str,
        field: Optional[str] = None,
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        answered = f"answered {status}" if status is not None else "failed"
        detail = f"{code}: {message}" if code else message
        if field:
            detail += f" (field {field})"
        super().__init__(f"{method} {path} {answered}: {detail}")


class ApiUnavailableError(ApiError, _RecoverableBase):
    """The API throttled, failed (5xx) or could not be reached, and kept doing so through the client's retries."""


#: Answers worth retrying: throttling and the gateway's or the function's transient failures.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


def api_error(
    method: str, path: str, status: Optional[int], code: str, message: str, field: Optional[str] = None
) -> ApiError:
    """The error for an answer: :class:`ApiUnavailableError` for a transient one (or none), else :class:`ApiError`."""
    cls = ApiUnavailableError if status is None or status in TRANSIENT_STATUSES else ApiError
    return cls(method, path, status, code, message, field)


class JobFailedError(DatabricksLambdaError):
    """The job ended without succeeding; ``job`` is its final view, ``phase`` and ``message`` its end."""

    def __init__(self, job: JobView) -> None:
        self.job = job
        self.phase = str(job.get("phase"))
        self.message = str(job.get("message") or "")
        self.run_page_url: Optional[str] = job.get("runPageUrl") or None
        text = f"Databricks job {job.get('jobId')} ended {self.phase}: {self.message}"
        if self.run_page_url:
            text += f" (run: {self.run_page_url})"
        super().__init__(text)


class JobRetryableError(JobFailedError, _RecoverableBase):
    """The job ended RETRYABLE_FAILED: another attempt may succeed."""


class JobAbortedError(JobFailedError):
    """The job ended ABORTED: its run was cancelled through the API."""


class JobInterruptedError(DatabricksLambdaError):
    """The process got SIGTERM or SIGINT while waiting; the job was asked to cancel. ``job`` is the last view seen."""

    def __init__(self, signum: int, job: Optional[JobView], job_id: str) -> None:
        self.signum = signum
        self.job = job
        self.job_id = job_id
        phase = job.get("phase") if job else None
        super().__init__(
            f"Interrupted by signal {signum}; Databricks job {job_id} was asked to cancel (last seen {phase})"
        )


def error_for_job(job: JobView) -> JobFailedError:
    """The error a job that ended without succeeding raises."""
    phase = job.get("phase")
    if phase == "RETRYABLE_FAILED":
        return JobRetryableError(job)
    if phase == "ABORTED":
        return JobAbortedError(job)
    return JobFailedError(job)
