"""The flytekit task type: ``@task(task_config=DatabricksLambda(...))``, imported only when flytekit is installed.

It follows flytekit's plugin contract (``TaskPlugins.register_pythontask_plugin``, a ``PythonFunctionTask`` subclass,
``IgnoreOutputs``, ``FlyteRecoverableException``) as flytekit 1.15-1.16 and flytekitplugins-spark's DatabricksV2 task
use it. The task type is ``python-task``: FlytePropeller runs it as an ordinary pod, no connector involved.

- In the task pod, :meth:`DatabricksLambdaTask.execute` runs the job (:func:`..runner.run_job`) with the pod's own
  rendered command as the run's entrypoint parameters, and ends with ``IgnoreOutputs``: the task's function runs
  inside Databricks, which writes the outputs to the attempt's output prefix, where Flyte reads them.
- Inside the run (``FLYTE_DATABRICKS_LAMBDA_RUN=true``, or ``DATABRICKS_RUNTIME_VERSION``), the same task runs its
  function, with the cluster's Spark session as ``flytekit.current_context().spark_session``.
- Notebook mode (``notebook_path``): nothing in the run writes Flyte outputs, so a task declaring one output gets the
  run page URL as it.
"""

from __future__ import annotations

import html
import os
import sys
from typing import Any, Callable, Dict, List, Optional

from flytekit import FlyteContextManager
from flytekit.core.python_function_task import PythonFunctionTask
from flytekit.extend import IgnoreOutputs, TaskPlugins

from .config import DatabricksLambda
from .container import Container, in_databricks_run, option_value, rendered_args, run_env
from .errors import ConfigError
from .identity import identity_from_env
from .runner import log_to_stderr, run_job

#: Overrides the image the run's cluster uses when the config does not name one.
IMAGE_ENV = "FLYTE_DATABRICKS_CONTAINER_IMAGE"
OUTPUTS_FILE = "outputs.pb"


class DatabricksLambdaTask(PythonFunctionTask[DatabricksLambda]):
    """A Python function task whose function runs in a Databricks job submitted through flyte-databricks-lambda."""

    _TASK_TYPE = "python-task"

    def __init__(self, task_config: DatabricksLambda, task_function: Callable[..., Any], **kwargs: Any) -> None:
        # The run page is shown as a Deck; decks render only when enabled. flytekit refuses both flags set at once.
        if kwargs.get("enable_deck") is None and kwargs.get("disable_deck") is None:
            kwargs["enable_deck"] = True
        super().__init__(task_config=task_config, task_function=task_function, task_type=self._TASK_TYPE, **kwargs)

    def get_custom(self, settings: Any) -> Dict[str, Any]:
        """The API's ``task``, recorded with the registered task for reference (propeller does not read it)."""
        return self.task_config.to_task()

    def pre_execute(self, user_params: Any) -> Any:
        """Inside the run, hands the task the cluster's Spark session, as flytekitplugins-spark does."""
        if not in_databricks_run(os.environ):
            return user_params
        session = _spark_session()
        return user_params.builder().add_attr("SPARK_SESSION", session).build() if session is not None else user_params

    def execute(self, **kwargs: Any) -> Any:
        """Inside the run: the function. In the pod: the Databricks job (see the module's documentation)."""
        if in_databricks_run(os.environ):
            return super().execute(**kwargs)
        config = self.task_config
        identity = identity_from_env(os.environ)
        args = rendered_args(sys.argv)
        container = Container(args=args, image=self._run_image(), env=run_env(os.environ, self.environment))
        result = run_job(config, container, identity, on_run_page=_add_deck)
        if config.is_notebook():
            return result.run_page_url if len(self.python_interface.outputs) == 1 else None
        if result.attached and result.generation < identity.attempt:
            _copy_outputs(args, result.generation, identity.attempt)
        raise IgnoreOutputs(f"Databricks job {result.job_id} SUCCEEDED; its run wrote this task's outputs")

    def _run_image(self) -> Optional[str]:
        """The config's image, else $FLYTE_DATABRICKS_CONTAINER_IMAGE, else this task's own image."""
        if self.task_config.container_image:
            return self.task_config.container_image
        if os.environ.get(IMAGE_ENV):
            return os.environ[IMAGE_ENV]
        try:
            settings = FlyteContextManager.current_context().serialization_settings
            return self.get_image(settings) if settings is not None else None
        except Exception as error:  # an image flytekit cannot name here must not fail the task: the run may not need it
            log_to_stderr(f"warning: cannot tell this task's image ({error}); set container_image or {IMAGE_ENV}")
            return None


def _add_deck(url: str) -> None:
    """The run page as a Deck of the task; a Deck that cannot be made is logged, never a failure."""
    try:
        from flytekit import Deck

        link = html.escape(url, quote=True)
        Deck("Databricks", f'<p>Databricks run: <a href="{link}" target="_blank">{link}</a></p>')
    except Exception as error:  # decks are decoration
        log_to_stderr(f"warning: could not add the Databricks Deck: {error}")


def previous_output_prefix(output_prefix: str, generation: int, attempt: int) -> Optional[str]:
    """The output prefix attempt ``generation`` had, from this attempt's (Flyte ends it with ``/<attempt>``)."""
    head, _, last = output_prefix.rstrip("/").rpartition("/")
    return f"{head}/{generation}" if head and last == str(attempt) else None


def _copy_outputs(args: List[str], generation: int, attempt: int) -> None:
    """A re-attached run wrote its outputs under the attempt that submitted it; Flyte reads this attempt's."""
    execute = args[args.index("--") + 1 :] if args[0] == "pyflyte-fast-execute" else args
    prefix = option_value(execute, "--output-prefix")
    source = previous_output_prefix(prefix, generation, attempt) if prefix else None
    if prefix is None or source is None:
        raise ConfigError(f"cannot tell where attempt {generation} wrote its outputs (output prefix {prefix!r})")
    file_access = FlyteContextManager.current_context().file_access
    remote = f"{source}/{OUTPUTS_FILE}"
    if not file_access.exists(remote):
        log_to_stderr(f"no {remote}: the run wrote no outputs")
        return
    local = file_access.get_random_local_path()
    file_access.get_data(remote, local)
    file_access.put_data(local, f"{prefix.rstrip('/')}/{OUTPUTS_FILE}")
    log_to_stderr(f"copied the run's outputs from {source} to {prefix}")


def _spark_session() -> Any:
    """The run's Spark session: the one the serverless entrypoint publishes, the active one, or a new one."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return None
    published = sys.modules.get("_flyte_spark_session")
    if published is not None and getattr(published, "spark", None) is not None:
        return published.spark
    return SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()


TaskPlugins.register_pythontask_plugin(DatabricksLambda, DatabricksLambdaTask)
