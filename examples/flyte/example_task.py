"""A Flyte task that runs a Databricks job through the flyte-databricks-lambda front door.

With flytekit installed, this module defines ``run_databricks_job``, a ``@task`` a workflow can call. Without it,
the same code runs as a plain script (no flytekit needed), which is how it is tested::

    export FLYTE_INTERNAL_EXECUTION_ID=f8a1b2c3d4 FLYTE_INTERNAL_EXECUTION_PROJECT=flytesnacks \\
        FLYTE_INTERNAL_EXECUTION_DOMAIN=development
    python3 example_task.py databricks_task.json --api-url https://abc123.execute-api.us-east-1.amazonaws.com/prod

The JSON file holds the DatabricksV2 task config (``{"databricksConf": ..., ...}``, the task's ``custom`` as
flytekit serializes it), or ``{"task": ..., "container": ...}``, or a whole POST /v1/jobs body. The executionId is
the Flyte execution id and the namespace ``<project>-<domain>``, both from the variables Flyte sets in the task's
pod; a value in the file is used only when the variable is not set.

On SUCCEEDED the final job view is printed to stdout as one JSON line and the exit status is 0. Otherwise the
reason is printed to stderr and the exit status is 1 (the job ended FAILED, RETRYABLE_FAILED or ABORTED),
2 (bad arguments, or a request file or request the API finds invalid), 3 (the API refused the request, e.g. a
403 for the signature, or could not be reached) or 4 (timed out).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Dict, Mapping, Optional, Sequence

from databricks_lambda_client import (
    ApiError,
    DatabricksLambdaError,
    JobFailedError,
    JobTimeoutError,
    JobView,
    submit_and_wait,
)

try:  # flytekit is optional: without it the module still runs as a plain script.
    from flytekit import task as flyte_task
except ImportError:
    flyte_task = None

EXIT_JOB_FAILED = 1
EXIT_USAGE = 2
EXIT_API_ERROR = 3
EXIT_TIMEOUT = 4


def namespace_from_env(env: Mapping[str, str]) -> Optional[str]:
    """The Flyte workflow namespace, ``<project>-<domain>`` (e.g. flytesnacks-development), from the variables
    Flyte sets in every task pod; None outside Flyte."""
    project = env.get("FLYTE_INTERNAL_EXECUTION_PROJECT")
    domain = env.get("FLYTE_INTERNAL_EXECUTION_DOMAIN")
    return f"{project}-{domain}".lower() if project and domain else None


def execution_id_from_env(env: Mapping[str, str], suffix: Optional[str] = None) -> Optional[str]:
    """The Flyte execution id (the same for every attempt of the task, so a retry attaches to the job the first
    attempt created), with ``-<suffix>`` when a workflow runs more than one Databricks task; None outside Flyte."""
    execution_id = env.get("FLYTE_INTERNAL_EXECUTION_ID")
    if not execution_id:
        return None
    return f"{execution_id}-{suffix}" if suffix else execution_id


def build_request(spec: Mapping[str, Any], env: Mapping[str, str], suffix: Optional[str] = None) -> Dict[str, Any]:
    """The POST /v1/jobs body for ``spec`` (a task config with ``databricksConf``, or a body with ``task``), with
    namespace and executionId from the Flyte environment, else from ``spec``. Raises ValueError if either is
    missing or ``spec`` has no task."""
    if "databricksConf" in spec:
        task: Any = dict(spec)
        container: Any = None
    else:
        task = spec.get("task")
        container = spec.get("container")
    if not isinstance(task, dict) or not isinstance(task.get("databricksConf"), dict):
        raise ValueError("the request file has no task config: expected databricksConf, or task.databricksConf")
    namespace = namespace_from_env(env) or spec.get("namespace")
    execution_id = execution_id_from_env(env, suffix) or spec.get("executionId")
    if not namespace:
        raise ValueError("no namespace: set FLYTE_INTERNAL_EXECUTION_PROJECT and FLYTE_INTERNAL_EXECUTION_DOMAIN")
    if not execution_id:
        raise ValueError("no executionId: set FLYTE_INTERNAL_EXECUTION_ID")
    request: Dict[str, Any] = {"namespace": namespace, "executionId": execution_id, "task": task}
    if container is not None:
        request["container"] = container
    return request


def report_progress(job: JobView) -> None:
    """Prints one line per phase or message change to stderr (stdout is kept for the final job)."""
    print(f"{job.get('jobId')} {job.get('phase')}: {job.get('message')}", file=sys.stderr, flush=True)


if flyte_task is not None:

    @flyte_task(retries=2)
    def run_databricks_job(api_url: str, task_config: dict) -> str:
        """Runs the DatabricksV2 task config ``task_config`` (``{"databricksConf": ...}``) and returns the
        Databricks run page URL; raises (failing the Flyte task) unless the job SUCCEEDED. The task's IAM role
        (IRSA) needs execute-api:Invoke on the API. A retry (a lost pod) attaches to the job the first attempt
        created, since the executionId is the same; it does not start a second run."""
        job = submit_and_wait(api_url, build_request(task_config, os.environ), on_update=report_progress)
        return str(job.get("runPageUrl") or "")


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """The command line of :func:`main`."""
    parser = argparse.ArgumentParser(description="Run a Databricks job through flyte-databricks-lambda and wait.")
    parser.add_argument("request_file", help="JSON: a task config, {task, container}, or a POST /v1/jobs body")
    parser.add_argument(
        "--api-url",
        default=os.environ.get("FLYTE_DATABRICKS_API_URL"),
        help="the API stage URL (stack output ApiUrl); default $FLYTE_DATABRICKS_API_URL",
    )
    parser.add_argument("--region", help="the API's region; default: from an execute-api URL, else AWS_REGION")
    parser.add_argument("--execution-suffix", help="appended to the executionId (one per Databricks task)")
    parser.add_argument("--timeout", type=float, default=12 * 3600, help="seconds to wait for the job to end")
    args = parser.parse_args(argv)
    if not args.api_url:
        parser.error("--api-url or FLYTE_DATABRICKS_API_URL is required")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Submits the request file's job, waits for it, prints the final job as JSON; returns the exit status."""
    args = parse_args(argv)
    try:
        with open(args.request_file, encoding="utf-8") as file:
            spec = json.load(file)
        if not isinstance(spec, dict):
            raise ValueError("the request file must hold a JSON object")
        request = build_request(spec, os.environ, args.execution_suffix)
    except (OSError, ValueError) as error:
        print(f"error: {args.request_file}: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        job = submit_and_wait(
            args.api_url, request, args.region, timeout_seconds=args.timeout, on_update=report_progress
        )
    except JobFailedError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_JOB_FAILED
    except JobTimeoutError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_TIMEOUT
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ApiError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE if error.status in (400, 409, 413) else EXIT_API_ERROR
    except DatabricksLambdaError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_API_ERROR
    print(json.dumps(job))
    return 0


if __name__ == "__main__":
    sys.exit(main())
