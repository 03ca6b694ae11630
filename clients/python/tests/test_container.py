"""What the run executes: the pod's own rendered command, and Flyte's variables in the run's environment."""

import unittest

from _support import flyte_env

from flyte_databricks_lambda import Container, in_databricks_run, rendered_args, run_env
from flyte_databricks_lambda.container import option_value

EXECUTE = [
    "/usr/local/bin/pyflyte-execute",
    "--inputs", "s3://bucket/metadata/propeller/flytesnacks-development-f8a1/n0/data/inputs.pb",
    "--output-prefix", "s3://bucket/metadata/propeller/flytesnacks-development-f8a1/n0/data/0",
    "--raw-output-data-prefix", "s3://bucket/raw/ab/f8a1-n0-0",
    "--checkpoint-path", "s3://bucket/raw/ab/f8a1-n0-0/_flytecheckpoints",
    "--prev-checkpoint", '""',
    "--resolver", "flytekit.core.python_auto_container.default_task_resolver",
    "--", "task-module", "workflows.etl", "task-name", "spark_task",
]


class RenderedArgs(unittest.TestCase):
    def test_a_pyflyte_execute_pod_gives_its_own_command(self) -> None:
        self.assertEqual(rendered_args(EXECUTE), ["pyflyte-execute", *EXECUTE[1:]])

    def test_a_fast_registered_pod_gives_the_pyflyte_fast_execute_command_back(self) -> None:
        # pyflyte-fast-execute starts pyflyte-execute with the distribution inserted before --resolver.
        resolver = EXECUTE.index("--resolver")
        inner = [*EXECUTE[:resolver], "--dynamic-addl-distro", "s3://bucket/fast/abc.tar.gz",
                 "--dynamic-dest-dir", ".", *EXECUTE[resolver:]]
        self.assertEqual(
            rendered_args(inner),
            ["pyflyte-fast-execute", "--additional-distribution", "s3://bucket/fast/abc.tar.gz", "--dest-dir", ".",
             "--", "pyflyte-execute", *EXECUTE[1:]],
        )

    def test_resolver_args_are_never_touched(self) -> None:
        argv = ["pyflyte-execute", "--inputs", "i", "--", "task-module", "m", "--dynamic-addl-distro", "x"]
        self.assertEqual(rendered_args(argv), argv)

    def test_a_map_task_item_keeps_pyflyte_map_execute(self) -> None:
        argv = ["pyflyte-map-execute", "--inputs", "i", "--output-prefix", "o", "--resolver", "r", "--", "a"]
        self.assertEqual(rendered_args(argv), argv)

    def test_other_commands_are_refused(self) -> None:
        for argv in (["python", "script.py"], []):
            with self.assertRaises(ValueError):
                rendered_args(argv)

    def test_option_value_stops_at_the_resolver_args(self) -> None:
        self.assertEqual(option_value(EXECUTE, "--output-prefix"), EXECUTE[4])
        self.assertIsNone(option_value(["pyflyte-execute", "--", "--output-prefix", "x"], "--output-prefix"))


class RunEnvironment(unittest.TestCase):
    def test_flyte_variables_the_task_reads_the_marker_and_the_task_environment(self) -> None:
        pod = flyte_env(node="n2", attempt=1, BATCH_JOB_ARRAY_INDEX_VAR_NAME="FLYTE_K8S_ARRAY_INDEX",
                        FLYTE_K8S_ARRAY_INDEX="4", AWS_SECRET_ACCESS_KEY="never-passed", HOME="/root")
        env = run_env(pod, {"MY_SETTING": "1"})
        self.assertEqual(env["FLYTE_INTERNAL_EXECUTION_ID"], "f8a1b2c3d4e5f6a7b8c9")
        self.assertEqual(env["FLYTE_INTERNAL_TASK_NAME"], "workflows.etl.spark_task")
        self.assertEqual(env["FLYTE_ATTEMPT_NUMBER"], "1")
        self.assertEqual(env["FLYTE_K8S_ARRAY_INDEX"], "4")
        self.assertEqual(env["MY_SETTING"], "1")
        self.assertEqual(env["FLYTE_DATABRICKS_LAMBDA_RUN"], "true")
        self.assertNotIn("AWS_SECRET_ACCESS_KEY", env)
        self.assertNotIn("HOSTNAME", env)
        self.assertNotIn("HOME", env)

    def test_inside_the_run_or_not(self) -> None:
        self.assertTrue(in_databricks_run(run_env(flyte_env())))
        self.assertTrue(in_databricks_run({"DATABRICKS_RUNTIME_VERSION": "15.4"}))
        self.assertFalse(in_databricks_run(flyte_env()))

    def test_container_request(self) -> None:
        self.assertEqual(Container(args=["a"], image="img:1", env={"K": "V"}).to_request(),
                         {"args": ["a"], "env": {"K": "V"}, "image": "img:1"})
        self.assertEqual(Container(args=[]).to_request(), {"args": [], "env": {}})


if __name__ == "__main__":
    unittest.main()
