"""What the Databricks run executes: the task's own ``pyflyte-execute`` command, image and Flyte variables.

The task pod runs ``pyflyte-execute --inputs <...> --output-prefix <...> ... -- task-module m task-name t`` with
every ``{{.input}}``-style placeholder already rendered by FlytePropeller. The run gets the same command as its
entrypoint parameters (the flytetools Databricks entrypoint takes ``pyflyte-execute`` or ``pyflyte-fast-execute``
as its first parameter), so Databricks runs the task's function on the same inputs and writes its outputs where
Flyte reads them. A fast-registered task's pod runs ``pyflyte-fast-execute ... -- pyflyte-execute ...``, which
starts ``pyflyte-execute`` with ``--dynamic-addl-distro D --dynamic-dest-dir R`` inserted before ``--resolver``;
that is turned back into the ``pyflyte-fast-execute`` command, so the run downloads the same code distribution.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

from .identity import (
    ARRAY_INDEX_NAME_VAR,
    ARRAY_INDEX_OFFSET_VAR,
    ATTEMPT_VAR,
    DOMAIN_VARS,
    EXECUTION_VARS,
    PROJECT_VARS,
    TASK_NAME_VARS,
)

#: Set in the run's environment; with it (or Databricks' own DATABRICKS_RUNTIME_VERSION) the task runs its function.
IN_RUN_VAR = "FLYTE_DATABRICKS_LAMBDA_RUN"
DATABRICKS_RUNTIME_VAR = "DATABRICKS_RUNTIME_VERSION"
#: Flyte's variables the task code inside the run reads as it would in a pod (flytekit's entrypoint, Spark setup).
PASSED_VARS = (
    *PROJECT_VARS,
    *DOMAIN_VARS,
    *EXECUTION_VARS,
    "FLYTE_INTERNAL_EXECUTION_WORKFLOW",
    "FLYTE_INTERNAL_EXECUTION_LAUNCHPLAN",
    "FLYTE_INTERNAL_TASK_PROJECT",
    "FLYTE_INTERNAL_TASK_DOMAIN",
    *TASK_NAME_VARS,
    "FLYTE_INTERNAL_TASK_VERSION",
    ATTEMPT_VAR,
    ARRAY_INDEX_NAME_VAR,
    ARRAY_INDEX_OFFSET_VAR,
)
EXECUTE_COMMANDS = ("pyflyte-execute", "pyflyte-map-execute")


def in_databricks_run(env: Mapping[str, str]) -> bool:
    """Whether this process is the task running inside the Databricks run (not the pod waiting for it)."""
    return env.get(IN_RUN_VAR) == "true" or bool(env.get(DATABRICKS_RUNTIME_VAR))


def rendered_args(argv: Sequence[str]) -> List[str]:
    """The container args for the run, from this process's ``sys.argv`` (``pyflyte-execute`` or
    ``pyflyte-map-execute`` and its rendered options); see the module's documentation."""
    if not argv:
        raise ValueError("no command line")
    command = os.path.basename(argv[0])
    if command not in EXECUTE_COMMANDS:
        raise ValueError(f"not started by {' or '.join(EXECUTE_COMMANDS)}: {command!r}")
    args = list(argv[1:])
    distro = _take_option(args, "--dynamic-addl-distro")
    dest_dir = _take_option(args, "--dynamic-dest-dir")
    inner = [command, *args]
    if not distro:
        return inner
    outer = ["pyflyte-fast-execute", "--additional-distribution", distro]
    if dest_dir:
        outer += ["--dest-dir", dest_dir]
    return [*outer, "--", *inner]


def _take_option(args: List[str], name: str) -> Optional[str]:
    """Removes ``name VALUE`` (before the ``--`` that starts the resolver args) from ``args``; returns VALUE."""
    end = args.index("--") if "--" in args else len(args)
    for i in range(end - 1):
        if args[i] == name:
            value = args[i + 1]
            del args[i : i + 2]
            return value
    return None


def option_value(args: Sequence[str], name: str) -> Optional[str]:
    """The value of option ``name`` in a command line, before any ``--``."""
    end = list(args).index("--") if "--" in args else len(args)
    for i in range(end - 1):
        if args[i] == name:
            return args[i + 1]
    return None


def run_env(env: Mapping[str, str], extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """The run's environment: Flyte's variables from ``env`` (and the map index variable they name), the task's
    own environment ``extra``, and the marker that makes the task run its function there."""
    passed = {name: env[name] for name in PASSED_VARS if env.get(name)}
    index_var = env.get(ARRAY_INDEX_NAME_VAR)
    if index_var and env.get(index_var):
        passed[index_var] = env[index_var]
    return {**passed, **(extra or {}), IN_RUN_VAR: "true"}


@dataclass
class Container:
    """The API's ``container``: the image the run's cluster uses, the entrypoint's parameters, extra environment."""

    args: List[str]
    image: Optional[str] = None
    env: Dict[str, str] = field(default_factory=dict)

    def to_request(self) -> Dict[str, Any]:
        """As POST /v1/jobs takes it."""
        body: Dict[str, Any] = {"args": list(self.args), "env": dict(self.env)}
        if self.image:
            body["image"] = self.image
        return body
