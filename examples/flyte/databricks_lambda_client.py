"""A small client of the flyte-databricks-lambda front door, for Flyte tasks and connectors.

It submits a Databricks job (``POST /v1/jobs``), waits for it to end (``GET /v1/jobs/{id}``, with backoff) and
returns the final job view, or raises :class:`JobFailedError` when the job ended any other way than SUCCEEDED.
Every request is signed with AWS Signature Version 4 for ``execute-api`` (the API uses IAM authorization on every
method), with credentials from botocore's standard chain: environment, shared config, IRSA web identity, container
or instance metadata.

Only the standard library and botocore are needed (no ``requests``, no ``boto3``, no ``flytekit``); Python 3.9+.

Example::

    from databricks_lambda_client import submit_and_wait

    job = submit_and_wait(
        "https://abc123.execute-api.us-east-1.amazonaws.com/prod",
        {
            "namespace": "flytesnacks-development",
            "executionId": "f8a1b2c3d4",
            "task": {"databricksConf": {...}},
            "container": {"image": "...", "args": [...], "env": {}},
        },
    )
    print(job["runPageUrl"])
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.session import Session

SERVICE = "execute-api"
SUCCEEDED = "SUCCEEDED"
#: Terminal phases other than SUCCEEDED: the job is over and did not succeed.
FAILURE_PHASES = frozenset({"FAILED", "RETRYABLE_FAILED", "ABORTED"})
TERMINAL_PHASES = FAILURE_PHASES | {SUCCEEDED}
#: Answers worth retrying: throttling and the gateway's or the function's transient failures.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Larger answers are refused (a job view is a few kilobytes).
MAX_RESPONSE_BYTES = 1024 * 1024
_EXECUTE_API_HOST = re.compile(r"\.execute-api\.([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com(?:\.cn)?$")

JobView = Dict[str, Any]


class DatabricksLambdaError(Exception):
    """Base class of the errors this module raises."""


class ApiError(DatabricksLambdaError):
    """The front door refused a request (an HTTP error answer), or could not be reached."""

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

    @property
    def transient(self) -> bool:
        """Whether the same request may succeed later (throttling, a gateway hiccup, a network error)."""
        return self.status is None or self.status in TRANSIENT_STATUSES


class JobFailedError(DatabricksLambdaError):
    """The job ended FAILED, RETRYABLE_FAILED or ABORTED; ``job`` is its final view."""

    def __init__(self, job: JobView) -> None:
        self.job = job
        self.phase = str(job.get("phase"))
        self.message = str(job.get("message") or "")
        text = f"Databricks job {job.get('jobId')} ended {self.phase}: {self.message}"
        if job.get("runPageUrl"):
            text += f" (run: {job['runPageUrl']})"
        super().__init__(text)


class JobTimeoutError(DatabricksLambdaError):
    """The job did not end within the timeout; ``job`` is the last view seen."""

    def __init__(self, job: JobView, timeout_seconds: float) -> None:
        self.job = job
        self.phase = str(job.get("phase"))
        super().__init__(
            f"Databricks job {job.get('jobId')} still {self.phase} after {timeout_seconds:g} s: {job.get('message')}"
        )


@dataclass(frozen=True)
class Backoff:
    """Delays between polls: ``initial`` seconds, times ``multiplier`` each poll, at most ``maximum``, each
    spread by ±``jitter`` (a fraction) so that many tasks started together do not poll in step."""

    initial: float = 2.0
    multiplier: float = 1.5
    maximum: float = 60.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.maximum < self.initial or self.multiplier < 1 or not 0 <= self.jitter < 1:
            raise ValueError(f"invalid backoff: {self}")

    def delays(self, rng: random.Random) -> Iterator[float]:
        """An endless series of jittered delays, in seconds."""
        base = self.initial
        while True:
            yield base * rng.uniform(1 - self.jitter, 1 + self.jitter)
            base = min(base * self.multiplier, self.maximum)


def parse_region(api_url: str) -> Optional[str]:
    """The region of an execute-api URL (``https://<api-id>.execute-api.<region>.amazonaws.com/<stage>``, also
    the ``<api-id>-<vpce-id>`` form of private APIs), or None for any other URL (a custom domain, a local stack)."""
    host = urllib.parse.urlsplit(api_url).hostname or ""
    match = _EXECUTE_API_HOST.search(host.lower())
    return match.group(1) if match else None


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` is a loopback address (127.0.0.0/8, ::1) or ``localhost``."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_api_url(api_url: str) -> str:
    """Returns the URL without a trailing slash; raises ValueError unless it is https, or http to loopback only
    (a local stack on 127.0.0.1). Credentials in the URL, a query or a fragment are refused."""
    parts = urllib.parse.urlsplit(api_url)
    host = parts.hostname or ""
    if not host:
        raise ValueError(f"the API URL has no host: {api_url!r}")
    if parts.scheme == "http":
        if not is_loopback_host(host):
            raise ValueError(f"the API URL must be https (http is accepted for loopback only): {api_url!r}")
    elif parts.scheme != "https":
        raise ValueError(f"the API URL must be https: {api_url!r}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("the API URL must not carry credentials, a query or a fragment")
    return api_url.rstrip("/")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """The API never redirects; a redirect is answered as the HTTP error it is instead of being followed."""

    def redirect_request(
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> None:
        """Declines every redirect."""
        return None


class JobsApiClient:
    """Signed calls to the front door: ``submit`` (POST /v1/jobs), ``get`` (GET /v1/jobs/{id}) and ``cancel``
    (DELETE /v1/jobs/{id}). Each returns the job view, or raises :class:`ApiError`."""

    def __init__(
        self,
        api_url: str,
        region: Optional[str] = None,
        *,
        credentials: Optional[Credentials] = None,
        session: Optional[Session] = None,
        request_timeout_seconds: float = 30.0,
    ) -> None:
        """``api_url`` is the stage URL (the stack output ``ApiUrl``, e.g.
        ``https://abc123.execute-api.us-east-1.amazonaws.com/prod``). ``region`` is the API's region: by default
        parsed from an execute-api URL, else ``AWS_REGION`` or the AWS config's region. ``credentials`` default
        to botocore's standard chain (``session`` or a new one)."""
        self.api_url = check_api_url(api_url)
        boto_session = session or Session()
        resolved = region or parse_region(self.api_url) or os.environ.get("AWS_REGION")
        resolved = resolved or boto_session.get_config_variable("region")
        if not resolved:
            raise ValueError(f"no region: give one, or use an execute-api URL (got {self.api_url!r})")
        self.region: str = resolved
        found = credentials or boto_session.get_credentials()
        if found is None:
            raise DatabricksLambdaError(
                "no AWS credentials found (environment, shared config, web identity/IRSA, container or instance "
                "metadata); the caller needs execute-api:Invoke on the API"
            )
        self._credentials: Credentials = found
        self._timeout = request_timeout_seconds
        handlers: List[urllib.request.BaseHandler] = [_NoRedirect()]
        if is_loopback_host(urllib.parse.urlsplit(self.api_url).hostname or ""):
            handlers.append(urllib.request.ProxyHandler({}))  # never send a local stack's traffic to a proxy
        self._opener = urllib.request.build_opener(*handlers)

    def submit(self, request: Mapping[str, Any]) -> JobView:
        """POST /v1/jobs: the new job (202) or, for a repeated request, the job it created before (200)."""
        return self._call("POST", "/v1/jobs", json.dumps(request).encode("utf-8"))

    def get(self, job_id: str) -> JobView:
        """GET /v1/jobs/{id}: where the job is."""
        return self._call("GET", f"/v1/jobs/{urllib.parse.quote(job_id, safe='')}")

    def cancel(self, job_id: str) -> JobView:
        """DELETE /v1/jobs/{id}: asks for the run to be cancelled (the job becomes ABORTED when it ends)."""
        return self._call("DELETE", f"/v1/jobs/{urllib.parse.quote(job_id, safe='')}")

    def _call(self, method: str, path: str, body: Optional[bytes] = None) -> JobView:
        """Signs and sends one request; the JSON object answered, or ApiError."""
        url = self.api_url + path
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        signed = AWSRequest(method=method, url=url, data=body or b"", headers=headers)
        # Frozen: a refreshable identity (IRSA) must not change between the parts of one signature.
        SigV4Auth(self._credentials.get_frozen_credentials(), SERVICE, self.region).add_auth(signed)
        request = urllib.request.Request(url, data=body, headers=dict(signed.headers.items()), method=method)
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                return _json_object(response.read(MAX_RESPONSE_BYTES + 1), method, path, response.status)
        except urllib.error.HTTPError as error:
            try:
                failure = _api_error(method, path, error)
            finally:
                error.close()
            raise failure from None
        except (urllib.error.URLError, socket.timeout, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            raise ApiError(method, path, None, "", f"cannot reach {self.api_url}: {reason}") from error


def _json_object(raw: bytes, method: str, path: str, status: int) -> JobView:
    """The JSON object a successful answer carries; ApiError if it is too large, not JSON or not an object."""
    if len(raw) > MAX_RESPONSE_BYTES:
        raise ApiError(method, path, status, "InvalidResponse", "the answer is larger than expected")
    try:
        value = json.loads(raw.decode("utf-8"))
    except ValueError:
        raise ApiError(method, path, status, "InvalidResponse", "the answer is not JSON") from None
    if not isinstance(value, dict):
        raise ApiError(method, path, status, "InvalidResponse", "the answer is not a JSON object")
    return value


def _api_error(method: str, path: str, error: urllib.error.HTTPError) -> ApiError:
    """The API's errors are ``{"error": {"code", "message", "field"?}}``; API Gateway's own (a refused signature)
    are ``{"message"}`` with the error type in the ``x-amzn-ErrorType`` header."""
    status = error.code
    try:
        body = json.loads(error.read(MAX_RESPONSE_BYTES).decode("utf-8"))
    except (ValueError, OSError):
        body = None
    gateway_type = (error.headers.get("x-amzn-ErrorType") or "").split(":")[0] if error.headers else ""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        detail = body["error"]
        field = detail.get("field")
        code = str(detail.get("code") or "")
        message = str(detail.get("message") or "")
        return ApiError(method, path, status, code, message, str(field) if field is not None else None)
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return ApiError(method, path, status, gateway_type, body["message"])
    return ApiError(method, path, status, gateway_type, error.reason or f"HTTP {status}")


def submit_and_wait(
    api_url: str,
    request: Mapping[str, Any],
    region: Optional[str] = None,
    *,
    timeout_seconds: float = 12 * 3600,
    backoff: Backoff = Backoff(),
    max_transient_errors: int = 5,
    cancel_on_timeout: bool = False,
    on_update: Optional[Callable[[JobView], None]] = None,
    client: Optional[JobsApiClient] = None,
    rng: Optional[random.Random] = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> JobView:
    """Submits ``request`` (the body of POST /v1/jobs) and waits for the job to end.

    Returns the final job view when the job SUCCEEDED. Raises :class:`JobFailedError` (with the phase and the
    message) when it ended FAILED, RETRYABLE_FAILED or ABORTED, :class:`JobTimeoutError` when it has not ended
    after ``timeout_seconds`` (then cancelled first if ``cancel_on_timeout``), and :class:`ApiError` when the API
    refuses a request (403 for a signature or permission problem, 400 naming the invalid field, 409 for an
    executionId reused with a different request). Throttling, 5xx answers and network errors are retried with the
    same backoff, up to ``max_transient_errors`` in a row.

    Submitting is idempotent: the job id is derived from (namespace, executionId), so calling this again with the
    same request (a retried Flyte task) attaches to the job the first call created instead of starting another run.
    ``on_update`` is called with every view whose phase or message changed.
    """
    api = client or JobsApiClient(api_url, region)
    random_source = rng or random.Random()
    delays = backoff.delays(random_source)
    deadline = clock() + timeout_seconds

    def with_retries(call: Callable[[], JobView]) -> JobView:
        failures = 0
        while True:
            try:
                return call()
            except ApiError as error:
                failures += 1
                if not error.transient or failures > max_transient_errors or clock() >= deadline:
                    raise
                sleep(min(next(delays), max(0.0, deadline - clock())))

    job = with_retries(lambda: api.submit(request))
    job_id = str(job["jobId"])
    last_seen: Tuple[Any, Any] = (None, None)
    while True:
        if on_update is not None and (job.get("phase"), job.get("message")) != last_seen:
            last_seen = (job.get("phase"), job.get("message"))
            on_update(job)
        phase = job.get("phase")
        if phase == SUCCEEDED:
            return job
        if phase in FAILURE_PHASES:
            raise JobFailedError(job)
        # Any other phase (QUEUED, WAITING_FOR_RESOURCES, INITIALIZING, RUNNING, or one added later) is in progress.
        remaining = deadline - clock()
        if remaining <= 0:
            if cancel_on_timeout:
                job = with_retries(lambda: api.cancel(job_id))
            raise JobTimeoutError(job, timeout_seconds)
        sleep(min(next(delays), remaining))
        job = with_retries(lambda: api.get(job_id))
