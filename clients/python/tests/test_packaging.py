"""The package as pip builds it: a standard setuptools build, botocore its only runtime dependency."""

import os
import re
import unittest

from _support import PACKAGE_DIR

import flyte_databricks_lambda

REPO = os.path.dirname(os.path.dirname(PACKAGE_DIR))


def _pyproject() -> str:
    with open(os.path.join(PACKAGE_DIR, "pyproject.toml"), encoding="utf-8") as file:
        return file.read()


class Packaging(unittest.TestCase):
    def test_standard_setuptools_build(self) -> None:
        self.assertIn('build-backend = "setuptools.build_meta"', _pyproject())
        self.assertIn('requires = ["setuptools>=61"]', _pyproject())

    def test_botocore_is_the_only_dependency_and_flytekit_optional(self) -> None:
        text = _pyproject()
        self.assertEqual(re.findall(r"^dependencies = (.*)$", text, re.M), ['["botocore>=1.29"]'])
        self.assertIn('flytekit = ["flytekit>=1.15.1,<2"]', text)

    def test_version_and_license(self) -> None:
        text = _pyproject()
        self.assertIn(f'version = "{flyte_databricks_lambda.__version__}"', text)
        self.assertIn('license = { text = "Apache-2.0" }', text)

    def test_the_workflow_example_compiles(self) -> None:
        folder = os.path.join(REPO, "examples", "flyte")
        sources = [name for name in os.listdir(folder) if name.endswith(".py")]
        self.assertTrue(sources)
        for name in sources:
            with open(os.path.join(folder, name), encoding="utf-8") as file:
                compile(file.read(), name, "exec")


if __name__ == "__main__":
    unittest.main()
