"""Which job each Flyte task attempt runs: namespace and executionId from Flyte's variables, and the retry plan."""

import unittest

from _support import flyte_env

from flyte_databricks_lambda import ConfigError, Plan, identity_from_env, job_id_for, plan_attempt

EXECUTION = "f8a1b2c3d4e5f6a7b8c9"


class Identity(unittest.TestCase):
    def test_namespace_and_execution_id_of_a_task(self) -> None:
        identity = identity_from_env(flyte_env(node="n0", attempt=0, project="FlyteSnacks"))
        self.assertEqual(identity.namespace, "flytesnacks-development")
        self.assertEqual((identity.execution, identity.node, identity.node_source), (EXECUTION, "n0", "HOSTNAME"))
        self.assertEqual(identity.execution_id(0), f"{EXECUTION}/n0")
        self.assertIsNone(identity.map_index)
        self.assertEqual(identity.warnings, ())

    def test_two_tasks_of_one_execution_are_two_jobs(self) -> None:
        first = identity_from_env(flyte_env(node="n0"))
        second = identity_from_env(flyte_env(node="n1"))
        self.assertNotEqual(first.execution_id(0), second.execution_id(0))
        self.assertNotEqual(
            job_id_for(first.namespace, first.execution_id(0)), job_id_for(second.namespace, second.execution_id(0))
        )

    def test_the_items_of_a_map_task_are_one_job_each(self) -> None:
        # Propeller names the index variable; flytekit adds BATCH_JOB_ARRAY_INDEX_OFFSET to its value.
        items = [
            identity_from_env(flyte_env(node="n2", BATCH_JOB_ARRAY_INDEX_VAR_NAME="FLYTE_K8S_ARRAY_INDEX",
                                        FLYTE_K8S_ARRAY_INDEX=str(i)))
            for i in range(3)
        ]
        self.assertEqual([i.execution_id(0) for i in items], [f"{EXECUTION}/n2/{i}" for i in range(3)])
        with_offset = identity_from_env(
            flyte_env(node="n2", BATCH_JOB_ARRAY_INDEX_VAR_NAME="AWS_BATCH_JOB_ARRAY_INDEX",
                      AWS_BATCH_JOB_ARRAY_INDEX="1", BATCH_JOB_ARRAY_INDEX_OFFSET="10")
        )
        self.assertEqual(with_offset.map_index, 11)

    def test_a_map_item_whose_index_variable_is_missing_is_refused(self) -> None:
        with self.assertRaisesRegex(ConfigError, "names FLYTE_K8S_ARRAY_INDEX, which is not set"):
            identity_from_env(flyte_env(BATCH_JOB_ARRAY_INDEX_VAR_NAME="FLYTE_K8S_ARRAY_INDEX"))
        with self.assertRaisesRegex(ConfigError, "not a number"):
            identity_from_env(flyte_env(BATCH_JOB_ARRAY_INDEX_VAR_NAME="I", I="x"))

    def test_every_attempt_of_a_task_has_the_same_base_and_its_own_retry_id(self) -> None:
        attempts = [identity_from_env(flyte_env(node="n0", attempt=a)) for a in range(3)]
        self.assertEqual({a.base_execution_id for a in attempts}, {f"{EXECUTION}/n0"})
        self.assertEqual([a.attempt for a in attempts], [0, 1, 2])
        self.assertEqual(attempts[2].execution_id(0), f"{EXECUTION}/n0")
        self.assertEqual(attempts[2].execution_id(2), f"{EXECUTION}/n0/attempt-2")

    def test_node_id_sources_in_order(self) -> None:
        base = flyte_env(node=None)
        url = f"https://flyte.example.com/console/projects/p/domains/d/executions/{EXECUTION}/nodeId/n3-0-n1/nodes"
        explicit = identity_from_env({**base, "FLYTE_DATABRICKS_NODE_ID": "etl", "HOSTNAME": f"{EXECUTION}-n0-0"})
        self.assertEqual((explicit.node, explicit.node_source), ("etl", "FLYTE_DATABRICKS_NODE_ID"))
        # A hashed pod name (propeller shortens long ones) does not have the form; the console URL is next.
        from_url = identity_from_env({**base, "HOSTNAME": "fh4a8qz9x0", "FLYTE_EXECUTION_URL": url})
        self.assertEqual((from_url.node, from_url.node_source), ("n3-0-n1", "FLYTE_EXECUTION_URL"))
        # A pod name of another attempt is not this one's.
        stale = identity_from_env({**base, "HOSTNAME": f"{EXECUTION}-n0-1", "FLYTE_EXECUTION_URL": url})
        self.assertEqual(stale.node_source, "FLYTE_EXECUTION_URL")
        nested = identity_from_env({**base, "HOSTNAME": f"{EXECUTION}-n3-0-n1-0"})
        self.assertEqual(nested.node, "n3-0-n1")

    def test_the_task_name_is_the_last_resort_with_a_warning(self) -> None:
        identity = identity_from_env(flyte_env(node=None))
        self.assertEqual(identity.node, "workflows.etl.spark_task")
        self.assertEqual(identity.node_source, "FLYTE_INTERNAL_TASK_NAME")
        self.assertEqual(len(identity.warnings), 1)
        self.assertIn("share a job", identity.warnings[0])

    def test_no_node_id_at_all_is_refused(self) -> None:
        env = flyte_env(node=None)
        del env["FLYTE_INTERNAL_TASK_NAME"]
        with self.assertRaisesRegex(ConfigError, "set FLYTE_DATABRICKS_NODE_ID"):
            identity_from_env(env)

    def test_missing_execution_variables_mean_not_a_flyte_task(self) -> None:
        names = ("FLYTE_INTERNAL_EXECUTION_PROJECT", "FLYTE_INTERNAL_EXECUTION_DOMAIN", "FLYTE_INTERNAL_EXECUTION_ID")
        for name in names:
            env = flyte_env()
            del env[name]
            with self.assertRaisesRegex(ConfigError, f"not running as a Flyte task: {name} not set"):
                identity_from_env(env)

    def test_the_short_variable_names_some_deployments_use(self) -> None:
        env = {"_F_PRJ": "p", "_F_DM": "d", "_F_NM": "e1", "FLYTE_ATTEMPT_NUMBER": "0", "HOSTNAME": "e1-n0-0"}
        identity = identity_from_env(env)
        self.assertEqual((identity.namespace, identity.execution_id(0)), ("p-d", "e1/n0"))

    def test_attempt_number_missing_is_the_first_with_a_warning_and_invalid_is_refused(self) -> None:
        identity = identity_from_env(flyte_env(attempt=None))
        self.assertEqual(identity.attempt, 0)
        self.assertIn("re-attaches", identity.warnings[0])
        for bad in ("x", "-1"):
            with self.assertRaises(ConfigError):
                identity_from_env(flyte_env(node="n0", FLYTE_ATTEMPT_NUMBER=bad))


class PlanAttempt(unittest.TestCase):
    def test_no_job_yet_is_submitted_under_this_attempt(self) -> None:
        self.assertEqual(plan_attempt(0, None), Plan("submit", 0))
        self.assertEqual(plan_attempt(2, None), Plan("submit", 2))

    def test_a_live_or_succeeded_job_is_attached_to(self) -> None:
        # A system retry (the pod was lost while the run lives) finds the run and waits for it: one run.
        for phase in ("QUEUED", "WAITING_FOR_RESOURCES", "INITIALIZING", "RUNNING", "SUCCEEDED", "SOMETHING_NEW"):
            self.assertEqual(plan_attempt(1, (0, phase)), Plan("attach", 0), phase)

    def test_a_job_an_earlier_attempt_saw_fail_is_followed_by_a_new_one(self) -> None:
        for phase in ("FAILED", "RETRYABLE_FAILED", "ABORTED"):
            self.assertEqual(plan_attempt(1, (0, phase)), Plan("submit", 1), phase)
            self.assertEqual(plan_attempt(3, (1, phase)), Plan("submit", 3), phase)

    def test_the_same_attempt_started_again_reports_its_own_job(self) -> None:
        self.assertEqual(plan_attempt(1, (1, "FAILED")), Plan("attach", 1))


class JobIds(unittest.TestCase):
    def test_the_api_recipe(self) -> None:
        # Values from shared/jobs/job-id.ts (jobIdFor), the API's own derivation.
        self.assertEqual(job_id_for("a", "b"), "fdl-59b271ae1bbcb1d31d41929817f4b16fb439eb4f")
        self.assertEqual(
            job_id_for("flytesnacks-development", f"{EXECUTION}/n0"), "fdl-fca665c56dc537b8e5160fce84210a07532abf5d"
        )


if __name__ == "__main__":
    unittest.main()
