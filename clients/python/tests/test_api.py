"""The API client's pure parts: the region of an execute-api URL, the URLs it accepts, the poll delays."""

import random
import unittest

from flyte_databricks_lambda import Backoff, ConfigError
from flyte_databricks_lambda.api import check_api_url, parse_region


class Urls(unittest.TestCase):
    def test_region_from_execute_api_urls_only(self) -> None:
        self.assertEqual(parse_region("https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod"), "eu-west-1")
        self.assertEqual(
            parse_region("https://a1b2c3d4e5-vpce-0123456789abcdef0.execute-api.us-gov-west-1.amazonaws.com/prod/"),
            "us-gov-west-1",
        )
        self.assertIsNone(parse_region("https://jobs.example.com/v1"))
        self.assertIsNone(parse_region("http://127.0.0.1:3000/prod"))

    def test_https_or_loopback_http_only(self) -> None:
        self.assertEqual(check_api_url("https://api.example.com/prod/"), "https://api.example.com/prod")
        self.assertEqual(check_api_url("http://127.0.0.1:1/local"), "http://127.0.0.1:1/local")
        self.assertEqual(check_api_url("http://[::1]:1/x"), "http://[::1]:1/x")
        for url in ("http://10.0.0.1/x", "ftp://127.0.0.1/x", "https://u:p@h/x", "https://h/x?q=1", "https:///x"):
            with self.assertRaises(ConfigError, msg=url):
                check_api_url(url)


class Backoffs(unittest.TestCase):
    def test_delays_grow_by_half_to_the_cap(self) -> None:
        delays = Backoff(jitter=0).delays(random.Random(1))
        self.assertEqual([round(next(delays), 3) for _ in range(12)],
                         [2, 3, 4.5, 6.75, 10.125, 15.188, 22.781, 34.172, 51.258, 60, 60, 60])

    def test_jitter_spreads_them(self) -> None:
        delays = Backoff().delays(random.Random(1))
        values = [next(delays) for _ in range(40)]
        self.assertTrue(1.6 <= values[0] <= 2.4)
        self.assertLessEqual(max(values), 72)
        self.assertGreater(len(set(values[20:])), 1)

    def test_invalid_backoffs_are_refused(self) -> None:
        for bad in (dict(initial=0), dict(initial=5, maximum=1), dict(multiplier=0.5), dict(jitter=1)):
            with self.assertRaises(ConfigError, msg=str(bad)):
                Backoff(**bad)


if __name__ == "__main__":
    unittest.main()
