"""The flytekit task type, against the labelled flytekit stand-in (tests/flytekit_standin; flytekit cannot be
installed here): it registers for DatabricksLambda, is a plain python-task, and runs the function inside the run."""

import json
import unittest

from _support import run_with_standin

SCRIPT = """
import json, os
from flytekit import task
from flytekit.extend import TaskPlugins
from flyte_databricks_lambda import DatabricksLambda
from flyte_databricks_lambda.flytekit_plugin import DatabricksLambdaTask, previous_output_prefix

config = DatabricksLambda(databricks_conf={"run_name": "etl", "existing_cluster_id": "c1"}, api_url="https://a/p")

@task(task_config=config)
def double(n: int) -> int:
    return 2 * n

params = object()
in_run = bool(os.environ.get("FLYTE_DATABRICKS_LAMBDA_RUN"))
print(json.dumps({
    "registered": TaskPlugins.find_pythontask_plugin(DatabricksLambda) is DatabricksLambdaTask,
    "type": type(double).__name__,
    "task_type": double.task_type,
    "enable_deck": double.kwargs.get("enable_deck"),
    "custom": double.get_custom(None),
    "in_run": double.execute(n=21) if in_run else None,
    "pre_execute_outside_run": None if in_run else double.pre_execute(params) is params,
    "previous": [
        previous_output_prefix("s3://b/metadata/propeller/p-d-e/n0/data/2", 0, 2),
        previous_output_prefix("s3://b/metadata/propeller/p-d-e/n0/data/2/", 1, 2),
        previous_output_prefix("s3://b/x/data/0", 0, 2),
    ],
}))
"""


class FlytekitTaskType(unittest.TestCase):
    def test_registration_task_type_and_custom(self) -> None:
        ran = run_with_standin(SCRIPT)
        self.assertEqual(ran.returncode, 0, ran.stderr)
        out = json.loads(ran.stdout)
        self.assertTrue(out["registered"])
        self.assertEqual(out["type"], "DatabricksLambdaTask")
        # An ordinary pod for propeller: no connector is involved.
        self.assertEqual(out["task_type"], "python-task")
        self.assertTrue(out["enable_deck"])
        self.assertEqual(out["custom"], {"databricksConf": {"run_name": "etl", "existing_cluster_id": "c1"}})
        self.assertTrue(out["pre_execute_outside_run"])
        prefix = "s3://b/metadata/propeller/p-d-e/n0/data"
        self.assertEqual(out["previous"], [f"{prefix}/0", f"{prefix}/1", None])

    def test_inside_the_run_the_task_runs_its_function(self) -> None:
        ran = run_with_standin(SCRIPT, {"FLYTE_DATABRICKS_LAMBDA_RUN": "true"})
        self.assertEqual(ran.returncode, 0, ran.stderr)
        self.assertEqual(json.loads(ran.stdout)["in_run"], 42)

    def test_the_task_type_is_there_exactly_when_flytekit_is(self) -> None:
        import importlib.util

        import flyte_databricks_lambda

        has_flytekit = importlib.util.find_spec("flytekit") is not None
        self.assertEqual(hasattr(flyte_databricks_lambda, "flytekit_plugin"), has_flytekit)


if __name__ == "__main__":
    unittest.main()
