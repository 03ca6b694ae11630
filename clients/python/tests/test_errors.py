"""Errors Flyte understands: RETRYABLE_FAILED recoverable, FAILED and API refusals not, with the reason."""

import unittest

from _support import run_with_standin

from flyte_databricks_lambda import (
    ApiError,
    ApiUnavailableError,
    JobAbortedError,
    JobFailedError,
    JobRetryableError,
    is_recoverable,
)
from flyte_databricks_lambda.errors import api_error, error_for_job

JOB = {"jobId": "fdl-0a", "phase": "FAILED", "message": "Workload failed, see run output for details",
       "runPageUrl": "https://dbc-1.cloud.databricks.com/?o=1#job/2/run/3"}


class JobErrors(unittest.TestCase):
    def test_failed_is_not_recoverable_and_carries_the_state_message_and_run_page(self) -> None:
        error = error_for_job(JOB)
        self.assertIs(type(error), JobFailedError)
        self.assertFalse(is_recoverable(error))
        self.assertEqual(
            str(error),
            "Databricks job fdl-0a ended FAILED: Workload failed, see run output for details "
            "(run: https://dbc-1.cloud.databricks.com/?o=1#job/2/run/3)",
        )
        self.assertEqual((error.phase, error.message), ("FAILED", JOB["message"]))

    def test_retryable_failed_is_recoverable(self) -> None:
        error = error_for_job({**JOB, "phase": "RETRYABLE_FAILED", "message": "Run INTERNAL_ERROR", "runPageUrl": None})
        self.assertIsInstance(error, JobRetryableError)
        self.assertIsInstance(error, JobFailedError)
        self.assertTrue(is_recoverable(error))
        self.assertEqual(str(error), "Databricks job fdl-0a ended RETRYABLE_FAILED: Run INTERNAL_ERROR")

    def test_aborted_is_not_recoverable(self) -> None:
        error = error_for_job({**JOB, "phase": "ABORTED"})
        self.assertIsInstance(error, JobAbortedError)
        self.assertFalse(is_recoverable(error))


class ApiErrors(unittest.TestCase):
    def test_a_refused_request_names_the_field_and_is_not_recoverable(self) -> None:
        error = api_error("POST", "/v1/jobs", 400, "ValidationError", "No compute configuration", "task.databricksConf")
        self.assertIs(type(error), ApiError)
        self.assertFalse(is_recoverable(error))
        self.assertEqual(
            str(error),
            "POST /v1/jobs answered 400: ValidationError: No compute configuration (field task.databricksConf)",
        )
        for status in (403, 404, 409, 413):
            self.assertFalse(is_recoverable(api_error("POST", "/v1/jobs", status, "X", "m")), status)

    def test_throttling_5xx_and_no_answer_are_recoverable(self) -> None:
        for status in (429, 500, 502, 503, 504, None):
            error = api_error("GET", "/v1/jobs/fdl-0a", status, "", "busy")
            self.assertIsInstance(error, ApiUnavailableError, status)
            self.assertTrue(is_recoverable(error), status)


class WithFlytekit(unittest.TestCase):
    def test_recoverable_errors_are_flytekits_recoverable_exception(self) -> None:
        # The labelled flytekit stand-in provides FlyteRecoverableException; flytekit's entrypoint checks isinstance.
        ran = run_with_standin(
            "from flytekit.exceptions.user import FlyteRecoverableException as R\n"
            "from flyte_databricks_lambda.errors import error_for_job, api_error\n"
            "job = {'jobId': 'j', 'phase': 'RETRYABLE_FAILED', 'message': 'm'}\n"
            "print(isinstance(error_for_job(job), R), isinstance(error_for_job({**job, 'phase': 'FAILED'}), R),\n"
            "      isinstance(api_error('GET', '/', 503, '', 'm'), R),\n"
            "      isinstance(api_error('GET', '/', 400, '', 'm'), R))\n"
        )
        self.assertEqual(ran.returncode, 0, ran.stderr)
        self.assertEqual(ran.stdout.split(), ["True", "False", "True", "False"])


if __name__ == "__main__":
    unittest.main()
