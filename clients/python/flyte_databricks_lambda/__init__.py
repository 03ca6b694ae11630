"""Run Databricks jobs from Flyte tasks through flyte-databricks-lambda's API.

``DatabricksLambda`` takes the fields of flytekitplugins-spark's ``DatabricksV2``; with flytekit installed it is a
task config (``@task(task_config=DatabricksLambda(...))``). Without flytekit, :func:`run_job` and the command line
(``python -m flyte_databricks_lambda run``) do the same for any process that has Flyte's variables.
"""

from .api import Backoff, JobsApiClient, job_id_for
from .config import DatabricksLambda
from .container import Container, in_databricks_run, rendered_args, run_env
from .errors import (
    ApiError,
    ApiUnavailableError,
    ConfigError,
    DatabricksLambdaError,
    JobAbortedError,
    JobFailedError,
    JobInterruptedError,
    JobRetryableError,
    RecoverableError,
    is_recoverable,
)
from .identity import FlyteIdentity, Plan, identity_from_env, plan_attempt
from .runner import RunResult, run_job

__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "ApiUnavailableError",
    "Backoff",
    "ConfigError",
    "Container",
    "DatabricksLambda",
    "DatabricksLambdaError",
    "FlyteIdentity",
    "JobAbortedError",
    "JobFailedError",
    "JobInterruptedError",
    "JobRetryableError",
    "JobsApiClient",
    "Plan",
    "RecoverableError",
    "RunResult",
    "identity_from_env",
    "in_databricks_run",
    "is_recoverable",
    "job_id_for",
    "plan_attempt",
    "rendered_args",
    "run_env",
    "run_job",
]

import importlib.util as _importlib_util

# With flytekit, DatabricksLambda becomes a task config: the plugin registers itself with flytekit on import.
if _importlib_util.find_spec("flytekit") is not None:
    from . import flytekit_plugin as _flytekit_plugin  # noqa: F401
