"""Signed calls to the flyte-databricks-lambda front door: ``POST /v1/jobs``, ``GET`` and ``DELETE /v1/jobs/{id}``.

Every method of the API uses IAM authorization, so every request is signed with AWS Signature Version 4 for
``execute-api``, with credentials from botocore's standard chain (environment, shared config, the IRSA web identity
token of an EKS pod, container or instance metadata). Only botocore and the standard library are used.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import random
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Mapping, Optional

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.session import Session

from .errors import ApiError, ConfigError, JobView, api_error

SERVICE = "execute-api"
#: Larger answers are refused (a job view is a few kilobytes).
MAX_RESPONSE_BYTES = 1024 * 1024
_EXECUTE_API_HOST = re.compile(r"\.execute-api\.([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com(?:\.cn)?$")


def job_id_for(namespace: str, execution_id: str) -> str:
    """The job id the API derives from (namespace, executionId): ``fdl-`` and the first 40 hex digits of the SHA-256
    of ``namespace + NUL + executionId`` (the recipe examples/sqs documents). Lets a retried task look a job up
    without creating it."""
    digest = hashlib.sha256(f"{namespace}\0{execution_id}".encode("utf-8")).hexdigest()
    return f"fdl-{digest[:40]}"


@dataclass(frozen=True)
class Backoff:
    """Delays between polls: ``initial`` seconds, times ``multiplier`` each poll, at most ``maximum``, each spread
    by ±``jitter`` (a fraction) so that the tasks of a wide map do not poll in step."""

    initial: float = 2.0
    multiplier: float = 1.5
    maximum: float = 60.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.maximum < self.initial or self.multiplier < 1 or not 0 <= self.jitter < 1:
            raise ConfigError(f"invalid backoff: {self}")

    def delays(self, rng: random.Random) -> Iterator[float]:
        """An endless series of jittered delays, in seconds."""
        base = self.initial
        while True:
            yield base * rng.uniform(1 - self.jitter, 1 + self.jitter)
            base = min(base * self.multiplier, self.maximum)


def parse_region(api_url: str) -> Optional[str]:
    """The region of an execute-api URL (``https://<api-id>.execute-api.<region>.amazonaws.com/<stage>``, also the
    ``<api-id>-<vpce-id>`` form of private APIs), or None for any other URL (a custom domain, a local stack)."""
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
    """The URL without a trailing slash; ConfigError unless it is https, or http to loopback only (a local stack).
    Credentials in the URL, a query or a fragment are refused."""
    parts = urllib.parse.urlsplit(api_url)
    host = parts.hostname or ""
    if not host:
        raise ConfigError(f"the API URL has no host: {api_url!r}")
    if parts.scheme == "http":
        if not is_loopback_host(host):
            raise ConfigError(f"the API URL must be https (http is accepted for loopback only): {api_url!r}")
    elif parts.scheme != "https":
        raise ConfigError(f"the API URL must be https: {api_url!r}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigError("the API URL must not carry credentials, a query or a fragment")
    return api_url.rstrip("/")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """The API never redirects; a redirect is answered as the HTTP error it is instead of being followed."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        """Declines every redirect."""
        return None


class JobsApiClient:
    """``submit`` (POST /v1/jobs), ``get`` and ``cancel`` (GET and DELETE /v1/jobs/{id}): each returns the job view
    or raises :class:`~flyte_databricks_lambda.errors.ApiError` (:class:`ApiUnavailableError` when transient)."""

    def __init__(
        self,
        api_url: str,
        region: Optional[str] = None,
        *,
        credentials: Optional[Credentials] = None,
        session: Optional[Session] = None,
        request_timeout_seconds: float = 30.0,
    ) -> None:
        """``api_url`` is the stage URL (the stack output ``ApiUrl``). ``region`` defaults to the one in an
        execute-api URL, else ``AWS_REGION`` / the AWS config's region. ``credentials`` default to botocore's chain."""
        self.api_url = check_api_url(api_url)
        boto_session = session or Session()
        resolved = region or parse_region(self.api_url) or os.environ.get("AWS_REGION")
        resolved = resolved or boto_session.get_config_variable("region")
        if not resolved:
            raise ConfigError(f"no region: give one, or use an execute-api URL (got {self.api_url!r})")
        self.region: str = resolved
        found = credentials or boto_session.get_credentials()
        if found is None:
            raise ConfigError(
                "no AWS credentials found (environment, shared config, web identity/IRSA, container or instance "
                "metadata); the task's role needs execute-api:Invoke on the API"
            )
        self._credentials: Credentials = found
        self.request_timeout_seconds = request_timeout_seconds
        handlers: List[urllib.request.BaseHandler] = [_NoRedirect()]
        if is_loopback_host(urllib.parse.urlsplit(self.api_url).hostname or ""):
            handlers.append(urllib.request.ProxyHandler({}))  # never send a local stack's traffic to a proxy
        self._opener = urllib.request.build_opener(*handlers)

    def submit(self, request: Mapping[str, Any]) -> JobView:
        """POST /v1/jobs: the new job (202) or, for a repeated request, the job it created before (200)."""
        return self._call("POST", "/v1/jobs", json.dumps(request).encode("utf-8"))

    def get(self, job_id: str, timeout: Optional[float] = None) -> JobView:
        """GET /v1/jobs/{id}: where the job is."""
        return self._call("GET", f"/v1/jobs/{urllib.parse.quote(job_id, safe='')}", timeout=timeout)

    def find(self, job_id: str) -> Optional[JobView]:
        """GET /v1/jobs/{id}, or None when there is no such job (404)."""
        try:
            return self.get(job_id)
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    def cancel(self, job_id: str, timeout: Optional[float] = None) -> JobView:
        """DELETE /v1/jobs/{id}: asks for the run to be cancelled (the job becomes ABORTED when it ends)."""
        return self._call("DELETE", f"/v1/jobs/{urllib.parse.quote(job_id, safe='')}", timeout=timeout)

    def _call(self, method: str, path: str, body: Optional[bytes] = None, timeout: Optional[float] = None) -> JobView:
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
            with self._opener.open(request, timeout=timeout or self.request_timeout_seconds) as response:
                return _json_object(response.read(MAX_RESPONSE_BYTES + 1), method, path, response.status)
        except urllib.error.HTTPError as error:
            try:
                failure = _error_from_answer(method, path, error)
            finally:
                error.close()
            raise failure from None
        except (urllib.error.URLError, socket.timeout, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            raise api_error(method, path, None, "", f"cannot reach {self.api_url}: {reason}") from error


def _json_object(raw: bytes, method: str, path: str, status: int) -> Dict[str, Any]:
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


def _error_from_answer(method: str, path: str, error: urllib.error.HTTPError) -> ApiError:
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
        return api_error(method, path, status, code, message, str(field) if field is not None else None)
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return api_error(method, path, status, gateway_type, body["message"])
    return api_error(method, path, status, gateway_type, error.reason or f"HTTP {status}")
