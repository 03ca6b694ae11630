"""DatabricksLambda.to_task: the API's `task`, as flytekit serializes a DatabricksV2 task's `custom`."""

import dataclasses
import json
import unittest
from typing import Any, Dict, Optional

from flyte_databricks_lambda import ConfigError, DatabricksLambda

CLASSIC = {
    "run_name": "etl",
    "new_cluster": {"spark_version": "15.4.x-scala2.12", "node_type_id": "m5.xlarge", "num_workers": 2},
}


class ToTask(unittest.TestCase):
    def test_classic_new_cluster_with_spark_conf_and_instance(self) -> None:
        config = DatabricksLambda(
            databricks_conf=CLASSIC,
            databricks_instance="dbc-123.cloud.databricks.com",
            spark_conf={"spark.sql.shuffle.partitions": "8"},
        )
        self.assertEqual(
            config.to_task(),
            {
                "sparkConf": {"spark.sql.shuffle.partitions": "8"},
                "databricksConf": CLASSIC,
                "databricksInstance": "dbc-123.cloud.databricks.com",
            },
        )

    def test_classic_existing_cluster(self) -> None:
        conf = {"run_name": "etl", "existing_cluster_id": "0101-123456-abcdefgh"}
        self.assertEqual(DatabricksLambda(databricks_conf=conf).to_task(), {"databricksConf": conf})

    def test_serverless_preconfigured_environment_with_credential_provider(self) -> None:
        conf = {"run_name": "etl", "environment_key": "my-env"}
        task = DatabricksLambda(databricks_conf=conf, databricks_service_credential_provider="flyte-s3").to_task()
        self.assertEqual(task, {"databricksConf": conf, "databricksServiceCredentialProvider": "flyte-s3"})

    def test_serverless_inline_environments(self) -> None:
        conf = {
            "run_name": "etl",
            "environment_key": "default",
            "environments": [
                {"environment_key": "default", "spec": {"client": "1", "dependencies": ["pandas==2.0.0"]}}
            ],
        }
        self.assertEqual(DatabricksLambda(databricks_conf=conf).to_task(), {"databricksConf": conf})

    def test_notebook_mode(self) -> None:
        config = DatabricksLambda(
            databricks_conf=CLASSIC,
            notebook_path="/Users/someone@example.com/etl",
            notebook_base_parameters={"date": "2026-01-01"},
        )
        self.assertTrue(config.is_notebook())
        self.assertEqual(
            config.to_task(),
            {
                "databricksConf": CLASSIC,
                "notebookPath": "/Users/someone@example.com/etl",
                "notebookBaseParameters": {"date": "2026-01-01"},
            },
        )

    def test_every_auth_setting_under_its_custom_key(self) -> None:
        task = DatabricksLambda(
            databricks_conf=CLASSIC,
            databricks_token_secret="team-a-token",
            databricks_auth_type="oidc_federation",
            databricks_client_id="11111111-2222-3333-4444-555555555555",
            databricks_oauth_secret="team-a-oauth",
            databricks_oidc_token_file="/var/run/secrets/databricks/token",
            databricks_oidc_audience="databricks",
        ).to_task()
        self.assertEqual(
            {k: v for k, v in task.items() if k != "databricksConf"},
            {
                "databricksTokenSecret": "team-a-token",
                "databricksAuthType": "oidc_federation",
                "databricksClientId": "11111111-2222-3333-4444-555555555555",
                "databricksOauthSecret": "team-a-oauth",
                "databricksOidcTokenFile": "/var/run/secrets/databricks/token",
                "databricksOidcAudience": "databricks",
            },
        )

    def test_spark_proto_fields_only_when_given(self) -> None:
        task = DatabricksLambda(
            databricks_conf=CLASSIC,
            hadoop_conf={"fs.s3a.aws.credentials.provider": "x"},
            executor_path="/usr/bin/python3",
            applications_path="local:///usr/local/bin/entrypoint.py",
        ).to_task()
        self.assertEqual(task["hadoopConf"], {"fs.s3a.aws.credentials.provider": "x"})
        self.assertEqual(task["executorPath"], "/usr/bin/python3")
        self.assertEqual(task["mainApplicationFile"], "local:///usr/local/bin/entrypoint.py")

    def test_unset_and_empty_values_are_left_out_but_databricks_conf_is_always_there(self) -> None:
        # MessageToDict omits empty proto3 fields; the databricksConf Struct is always set, {} when None.
        task = DatabricksLambda(spark_conf={}, databricks_instance="", notebook_base_parameters={}).to_task()
        self.assertEqual(task, {"databricksConf": {}})

    def test_the_package_settings_are_never_sent(self) -> None:
        task = DatabricksLambda(
            databricks_conf=CLASSIC, api_url="https://x.execute-api.us-east-1.amazonaws.com/prod", region="us-east-1",
            container_image="img:1", abort_wait_seconds=5, poll_initial_seconds=1, poll_max_seconds=2,
        ).to_task()
        self.assertEqual(task, {"databricksConf": CLASSIC})

    def test_the_task_is_a_copy(self) -> None:
        conf = json.loads(json.dumps(CLASSIC))
        task = DatabricksLambda(databricks_conf=conf).to_task()
        task["databricksConf"]["new_cluster"]["num_workers"] = 99
        self.assertEqual(conf["new_cluster"]["num_workers"], 2)

    def test_driver_and_executor_pods_are_not_sent_and_are_reported(self) -> None:
        config = DatabricksLambda(databricks_conf=CLASSIC, driver_pod=object())
        self.assertNotIn("driverPod", config.to_task())
        self.assertEqual(list(config.ignored_fields()), ["driver_pod"])

    def test_refuses_what_the_api_would_refuse_later_or_cannot_send(self) -> None:
        with self.assertRaisesRegex(ConfigError, "databricks_auth_type must be one of pat, oauth_m2m, oidc_federation"):
            DatabricksLambda(databricks_conf=CLASSIC, databricks_auth_type="PAT").to_task()
        with self.assertRaisesRegex(ConfigError, "databricks_conf must be a dict"):
            DatabricksLambda(databricks_conf="{}").to_task()  # type: ignore[arg-type]
        with self.assertRaisesRegex(ConfigError, "not JSON"):
            DatabricksLambda(databricks_conf={"timeout_seconds": float("nan")}).to_task()
        with self.assertRaisesRegex(ConfigError, "not JSON"):
            DatabricksLambda(databricks_conf={"run_name": object()}).to_task()


@dataclasses.dataclass
class DatabricksV2Like:
    """STAND-IN for flytekitplugins-spark's DatabricksV2 (its field names; the real class needs flytekit)."""

    spark_conf: Optional[Dict[str, str]] = None
    hadoop_conf: Optional[Dict[str, str]] = None
    executor_path: Optional[str] = None
    applications_path: Optional[str] = None
    driver_pod: Any = None
    executor_pod: Any = None
    databricks_conf: Optional[Dict[str, Any]] = None
    databricks_instance: Optional[str] = None
    databricks_service_credential_provider: Optional[str] = None
    databricks_token_secret: Optional[str] = None
    notebook_path: Optional[str] = None
    notebook_base_parameters: Optional[Dict[str, str]] = None


class Conversions(unittest.TestCase):
    def test_from_databricks_v2_keeps_every_field_and_adds_the_settings(self) -> None:
        v2 = DatabricksV2Like(databricks_conf=CLASSIC, databricks_instance="dbc-1.cloud.databricks.com",
                              databricks_token_secret="t", spark_conf={"a": "b"})
        config = DatabricksLambda.from_databricks_v2(v2, api_url="https://api.example.com/prod")
        self.assertEqual(config.api_url, "https://api.example.com/prod")
        self.assertEqual(
            config.to_task(),
            {"sparkConf": {"a": "b"}, "databricksConf": CLASSIC, "databricksInstance": "dbc-1.cloud.databricks.com",
             "databricksTokenSecret": "t"},
        )
        with self.assertRaisesRegex(ConfigError, "unknown settings: api"):
            DatabricksLambda.from_databricks_v2(v2, api="x")

    def test_from_dict_takes_the_field_names_and_refuses_others(self) -> None:
        self.assertEqual(DatabricksLambda.from_dict({"databricks_conf": CLASSIC}).databricks_conf, CLASSIC)
        with self.assertRaisesRegex(ConfigError, "unknown fields: databricksConf"):
            DatabricksLambda.from_dict({"databricksConf": CLASSIC})

    def test_api_url_from_the_config_else_the_environment(self) -> None:
        self.assertEqual(DatabricksLambda(api_url="https://a/p").resolved_api_url({}), "https://a/p")
        from_env = DatabricksLambda().resolved_api_url({"FLYTE_DATABRICKS_API_URL": "https://b/p"})
        self.assertEqual(from_env, "https://b/p")
        with self.assertRaisesRegex(ConfigError, "FLYTE_DATABRICKS_API_URL"):
            DatabricksLambda().resolved_api_url({})


if __name__ == "__main__":
    unittest.main()
