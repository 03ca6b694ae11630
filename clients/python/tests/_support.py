"""Helpers for the tests: Flyte pod environments, and subprocesses that see the flytekit stand-in."""

import os
import subprocess
import sys
from typing import Dict, Optional

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STANDIN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "flytekit_standin")


def flyte_env(
    execution: str = "f8a1b2c3d4e5f6a7b8c9",
    node: Optional[str] = "n0",
    attempt: Optional[int] = 0,
    project: str = "flytesnacks",
    domain: str = "development",
    **extra: str,
) -> Dict[str, str]:
    """The variables FlytePropeller sets in a task pod (HOSTNAME is the pod name, <execution>-<node>-<attempt>)."""
    env = {
        "FLYTE_INTERNAL_EXECUTION_PROJECT": project,
        "FLYTE_INTERNAL_EXECUTION_DOMAIN": domain,
        "FLYTE_INTERNAL_EXECUTION_ID": execution,
        "FLYTE_INTERNAL_TASK_PROJECT": project,
        "FLYTE_INTERNAL_TASK_DOMAIN": domain,
        "FLYTE_INTERNAL_TASK_NAME": "workflows.etl.spark_task",
        "FLYTE_INTERNAL_TASK_VERSION": "v1",
    }
    if attempt is not None:
        env["FLYTE_ATTEMPT_NUMBER"] = str(attempt)
    if node is not None:
        env["HOSTNAME"] = f"{execution}-{node}-{attempt or 0}"
    env.update(extra)
    return env


def run_with_standin(code: str, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    """Runs ``code`` in a fresh interpreter that imports the flytekit stand-in as ``flytekit``."""
    path = os.pathsep.join(p for p in (STANDIN_DIR, PACKAGE_DIR, os.environ.get("PYTHONPATH")) if p)
    return subprocess.run(
        [sys.executable, "-c", code],
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )
