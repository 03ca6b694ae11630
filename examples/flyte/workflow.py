"""A Flyte workflow whose Spark tasks run on Databricks through flyte-databricks-lambda.

The task image needs flytekit, flytekitplugins-spark (for the Spark session inside Databricks) and this package
(``pip install ./clients/python``). The task pods need AWS credentials that may call the API (IRSA), and
FLYTE_DATABRICKS_API_URL (or ``api_url=`` below). Register and run as any workflow::

    pyflyte run --remote examples/flyte/workflow.py estimate_pi --partitions 10
"""

from typing import List

import flytekit
from flytekit import map_task, task, workflow

from flyte_databricks_lambda import DatabricksLambda

CLUSTER = {"spark_version": "15.4.x-scala2.12", "node_type_id": "m6i.large", "num_workers": 2}

# Before: task_config=DatabricksV2(databricks_conf=..., databricks_instance=...) with a Flyte connector.
# After: the same fields, in DatabricksLambda.
DATABRICKS = DatabricksLambda(
    databricks_conf={"run_name": "estimate-pi", "new_cluster": CLUSTER, "timeout_seconds": 3600},
    databricks_instance="dbc-0123456789abcdef.cloud.databricks.com",
)


@task(task_config=DATABRICKS, retries=2)
def count_inside(partitions: int) -> int:
    """Runs inside Databricks: the cluster's Spark session is the task's, as with DatabricksV2."""
    import random

    spark = flytekit.current_context().spark_session
    samples = 100_000 * partitions

    def inside(_: int) -> int:
        x, y = random.random(), random.random()
        return 1 if x * x + y * y <= 1 else 0

    return spark.sparkContext.parallelize(range(samples), partitions).map(inside).sum()


@task(task_config=DATABRICKS)
def sum_counts(counts: List[int]) -> int:
    """A second Databricks task of the same execution: a job of its own."""
    return sum(counts)


@task
def to_pi(inside: int, partitions: int, items: int) -> float:
    """An ordinary task: 4 x (points inside the circle / points drawn)."""
    return 4.0 * inside / (100_000 * partitions * items)


@workflow
def estimate_pi(partitions: int = 10) -> float:
    # Each map item is its own Databricks job (executionId <execution>/<node>/<index>).
    counts = map_task(count_inside)(partitions=[partitions] * 4)
    return to_pi(inside=sum_counts(counts=counts), partitions=partitions, items=4)
