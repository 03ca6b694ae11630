"""The task configuration: the fields of flytekitplugins-spark's ``DatabricksV2``, and where the API is.

``DatabricksLambda`` takes every field ``DatabricksV2`` takes, under the same names, so moving a task is a one-line
change (``task_config=DatabricksV2(...)`` becomes ``task_config=DatabricksLambda(...)``). :meth:`to_task` serializes
them to the API's ``task`` as flytekit serializes a DatabricksV2 task's ``custom`` (``PysparkFunctionTask.get_custom``:
``MessageToDict`` of the SparkJob proto, then the DatabricksV2-only fields): camelCase keys, unset and empty values
left out. The connector's settings (``api_url`` ...) are this package's own and never sent.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, fields
from typing import Any, Dict, Optional

from .errors import ConfigError

#: The API's stage URL when the config does not give one.
API_URL_ENV = "FLYTE_DATABRICKS_API_URL"

#: DatabricksV2 field -> ``custom`` key, in the order flytekit writes them (SparkJob proto fields, then the rest).
CUSTOM_KEYS = (
    ("spark_conf", "sparkConf"),
    ("hadoop_conf", "hadoopConf"),
    ("applications_path", "mainApplicationFile"),
    ("executor_path", "executorPath"),
    ("databricks_conf", "databricksConf"),
    ("databricks_instance", "databricksInstance"),
    ("databricks_service_credential_provider", "databricksServiceCredentialProvider"),
    ("databricks_token_secret", "databricksTokenSecret"),
    ("notebook_path", "notebookPath"),
    ("notebook_base_parameters", "notebookBaseParameters"),
    ("databricks_auth_type", "databricksAuthType"),
    ("databricks_client_id", "databricksClientId"),
    ("databricks_oauth_secret", "databricksOauthSecret"),
    ("databricks_oidc_token_file", "databricksOidcTokenFile"),
    ("databricks_oidc_audience", "databricksOidcAudience"),
)
#: Spark-on-Kubernetes pod templates: DatabricksV2 inherits them from Spark, Databricks never reads them.
IGNORED_FIELDS = ("driver_pod", "executor_pod")
AUTH_TYPES = ("pat", "oauth_m2m", "oidc_federation")


@dataclass
class DatabricksLambda:
    """A Databricks task run through flyte-databricks-lambda: ``DatabricksV2``'s fields, plus where the API is.

    Example::

        @task(task_config=DatabricksLambda(
            databricks_conf={"run_name": "etl", "new_cluster": {"spark_version": "15.4.x-scala2.12", "num_workers": 2}},
            databricks_instance="dbc-123.cloud.databricks.com",
        ))
        def etl(n: int) -> float: ...
    """

    databricks_conf: Optional[Dict[str, Any]] = None
    databricks_instance: Optional[str] = None
    databricks_service_credential_provider: Optional[str] = None
    databricks_token_secret: Optional[str] = None
    notebook_path: Optional[str] = None
    notebook_base_parameters: Optional[Dict[str, str]] = None
    databricks_auth_type: Optional[str] = None
    databricks_client_id: Optional[str] = None
    databricks_oauth_secret: Optional[str] = None
    databricks_oidc_token_file: Optional[str] = None
    databricks_oidc_audience: Optional[str] = None
    spark_conf: Optional[Dict[str, str]] = None
    hadoop_conf: Optional[Dict[str, str]] = None
    executor_path: Optional[str] = None
    applications_path: Optional[str] = None
    driver_pod: Any = None
    executor_pod: Any = None
    # This package's settings, never part of the API's `task`.
    #: The API stage URL (stack output ApiUrl); default $FLYTE_DATABRICKS_API_URL.
    api_url: Optional[str] = None
    #: The API's region; default: from an execute-api URL, else AWS_REGION.
    region: Optional[str] = None
    #: The image the run's cluster uses (container.image); default: the task's own image when flytekit knows it.
    container_image: Optional[str] = None
    #: After SIGTERM/SIGINT, how long to wait for the job to read ABORTED (keep it under the pod's grace period).
    abort_wait_seconds: float = 20.0
    #: First and longest delay between polls of the job.
    poll_initial_seconds: float = 2.0
    poll_max_seconds: float = 60.0

    def resolved_api_url(self, env: Optional[Dict[str, str]] = None) -> str:
        """``api_url``, else $FLYTE_DATABRICKS_API_URL; ConfigError when neither is set."""
        url = self.api_url or (env if env is not None else os.environ).get(API_URL_ENV)
        if not url:
            raise ConfigError(f"no API URL: set api_url in DatabricksLambda(...) or {API_URL_ENV}")
        return url

    def to_task(self) -> Dict[str, Any]:
        """The API's ``task``: the DatabricksV2 ``custom`` as flytekit serializes it."""
        if self.databricks_conf is not None and not isinstance(self.databricks_conf, dict):
            raise ConfigError("databricks_conf must be a dict (the runs/submit body)")
        if self.databricks_auth_type is not None and self.databricks_auth_type not in AUTH_TYPES:
            raise ConfigError(f"databricks_auth_type must be one of {', '.join(AUTH_TYPES)}")
        task: Dict[str, Any] = {}
        for name, key in CUSTOM_KEYS:
            value = getattr(self, name)
            # MessageToDict leaves out unset and empty fields, except the Struct databricksConf, which is always set.
            if key == "databricksConf":
                task[key] = copy.deepcopy(value) if value is not None else {}
            elif value not in (None, "", {}):
                task[key] = copy.deepcopy(value)
        try:
            json.dumps(task, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"the task configuration is not JSON: {error}") from None
        return task

    @classmethod
    def from_databricks_v2(cls, config: Any, **settings: Any) -> "DatabricksLambda":
        """The same task from an existing ``DatabricksV2`` (or ``Databricks``) instance, with this package's
        ``settings`` (``api_url=...``) added. Fields the instance lacks (older flytekit) stay unset."""
        own = {f.name for f in fields(cls)}
        values = {name: getattr(config, name) for name, _ in CUSTOM_KEYS if hasattr(config, name)}
        unknown = set(settings) - own
        if unknown:
            raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
        return cls(**values, **settings)

    @classmethod
    def from_dict(cls, values: Dict[str, Any]) -> "DatabricksLambda":
        """From a JSON object of the same field names (``databricks_conf``, ``api_url`` ...); unknown names refused."""
        own = {f.name for f in fields(cls)}
        unknown = set(values) - own
        if unknown:
            raise ConfigError(f"unknown fields: {', '.join(sorted(unknown))} (expected DatabricksV2's field names)")
        return cls(**values)

    def ignored_fields(self) -> Dict[str, Any]:
        """Fields set that Databricks never reads (Spark-on-Kubernetes pod templates); worth a warning."""
        return {name: getattr(self, name) for name in IGNORED_FIELDS if getattr(self, name) is not None}

    def is_notebook(self) -> bool:
        """Notebook mode: Databricks runs ``notebook_path``, not the task's own code."""
        return bool(self.notebook_path)
