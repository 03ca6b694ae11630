"""Which job a Flyte task's attempt runs: the namespace and executionId it sends, from the variables Flyte sets.

Read from the task pod's environment (FlytePropeller sets them; flytekit's entrypoint reads the same names, and the
short ``_F_*`` forms some Flyte deployments use instead):

==================================================  ===================================================================
``FLYTE_INTERNAL_EXECUTION_PROJECT`` (``_F_PRJ``)   project; namespace = ``<project>-<domain>``. Missing: ConfigError.
``FLYTE_INTERNAL_EXECUTION_DOMAIN`` (``_F_DM``)     domain. Missing: ConfigError.
``FLYTE_INTERNAL_EXECUTION_ID`` (``_F_NM``)         the execution's name. Missing: ConfigError (not run by Flyte).
``FLYTE_ATTEMPT_NUMBER``                            the node's retry attempt, 0 first. Missing: 0, with a warning (a
                                                    retry then re-attaches to the first job, never runs again).
``BATCH_JOB_ARRAY_INDEX_VAR_NAME``                  set in a map task's items: names the variable holding the item's
 (+ ``BATCH_JOB_ARRAY_INDEX_OFFSET``)               index (``FLYTE_K8S_ARRAY_INDEX``); index = offset + its value, as
                                                    flytekit computes it. Named variable missing: ConfigError.
==================================================  ===================================================================

Flyte sets no variable holding the node id, so it is found, first match wins, in:

1. ``FLYTE_DATABRICKS_NODE_ID``: set it yourself to name the task (e.g. from a pod template) if the rest fail;
2. ``HOSTNAME``: the pod name FlytePropeller generates, ``<execution>-<node>-<attempt>``, when it has that form
   (a long name is hashed by propeller and is then skipped);
3. ``FLYTE_EXECUTION_URL``: ``.../executions/<execution>/nodeId/<node>/nodes``, set when propeller knows the console
   URL (some older propeller versions appended ``-<attempt>`` to the node there, so each attempt then looks like a
   node of its own and a system retry starts a second run: give those ``FLYTE_DATABRICKS_NODE_ID``);
4. ``FLYTE_INTERNAL_TASK_NAME`` (``_F_TK_NM``): the task's name, with a warning: two nodes running the same task in one
   execution then share a job (a 409 when their inputs differ).
None of them: ConfigError.

The executionId is ``<execution>/<node>``, ``/<map index>`` for a map task's item, and ``/attempt-<n>`` for a job a
later attempt ``n`` had to submit because the earlier one ended FAILED, RETRYABLE_FAILED or ABORTED
(see :func:`plan_attempt`). The API derives the job id from (namespace, executionId).
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from typing import List, Mapping, Optional, Tuple

from .errors import ConfigError

PROJECT_VARS = ("FLYTE_INTERNAL_EXECUTION_PROJECT", "_F_PRJ")
DOMAIN_VARS = ("FLYTE_INTERNAL_EXECUTION_DOMAIN", "_F_DM")
EXECUTION_VARS = ("FLYTE_INTERNAL_EXECUTION_ID", "_F_NM")
TASK_NAME_VARS = ("FLYTE_INTERNAL_TASK_NAME", "_F_TK_NM")
ATTEMPT_VAR = "FLYTE_ATTEMPT_NUMBER"
NODE_ID_VAR = "FLYTE_DATABRICKS_NODE_ID"
HOSTNAME_VAR = "HOSTNAME"
EXECUTION_URL_VAR = "FLYTE_EXECUTION_URL"
ARRAY_INDEX_NAME_VAR = "BATCH_JOB_ARRAY_INDEX_VAR_NAME"
ARRAY_INDEX_OFFSET_VAR = "BATCH_JOB_ARRAY_INDEX_OFFSET"

_EXECUTION_URL_NODE = re.compile(r"/nodeId/([^/?#]+)/nodes")
#: Phases after which the job will not change.
TERMINAL_PHASES = frozenset({"SUCCEEDED", "FAILED", "RETRYABLE_FAILED", "ABORTED"})


def _first(env: Mapping[str, str], names: Tuple[str, ...]) -> Optional[str]:
    """The first of ``names`` set to a non-empty value, as flytekit's entrypoint reads them."""
    for name in names:
        value = env.get(name)
        if value:
            return value
    return None


@dataclass(frozen=True)
class FlyteIdentity:
    """Who this attempt is: ``namespace``, the Flyte execution and node, the map item, the attempt number."""

    namespace: str
    execution: str
    node: str
    #: Which variable gave the node id.
    node_source: str
    map_index: Optional[int]
    attempt: int
    warnings: Tuple[str, ...] = field(default=())

    @property
    def base_execution_id(self) -> str:
        """The executionId of the first job this task submits: ``<execution>/<node>[/<map index>]``."""
        base = f"{self.execution}/{self.node}"
        return base if self.map_index is None else f"{base}/{self.map_index}"

    def execution_id(self, generation: int) -> str:
        """The executionId of the job submitted by attempt ``generation`` (0: the base one)."""
        return self.base_execution_id if generation == 0 else f"{self.base_execution_id}/attempt-{generation}"


def identity_from_env(env: Mapping[str, str]) -> FlyteIdentity:
    """The identity of the task attempt running with environment ``env``; ConfigError when it cannot be told."""
    warnings: List[str] = []
    project = _first(env, PROJECT_VARS)
    domain = _first(env, DOMAIN_VARS)
    execution = _first(env, EXECUTION_VARS)
    found = ((PROJECT_VARS, project), (DOMAIN_VARS, domain), (EXECUTION_VARS, execution))
    missing = [names[0] for names, value in found if not value]
    if missing:
        raise ConfigError(f"not running as a Flyte task: {', '.join(missing)} not set")
    assert project and domain and execution

    attempt_text = env.get(ATTEMPT_VAR)
    if attempt_text is None or attempt_text == "":
        attempt = 0
        warnings.append(f"{ATTEMPT_VAR} is not set: taken as attempt 0, so a retry re-attaches to the first job")
    else:
        try:
            attempt = int(attempt_text)
        except ValueError:
            raise ConfigError(f"{ATTEMPT_VAR} is not a number: {attempt_text!r}") from None
        if attempt < 0:
            raise ConfigError(f"{ATTEMPT_VAR} is negative: {attempt_text!r}")

    node, source = _node_id(env, execution, attempt, warnings)
    return FlyteIdentity(
        namespace=f"{project}-{domain}".lower(),
        execution=execution,
        node=node,
        node_source=source,
        map_index=_map_index(env),
        attempt=attempt,
        warnings=tuple(warnings),
    )


def _node_id(env: Mapping[str, str], execution: str, attempt: int, warnings: List[str]) -> Tuple[str, str]:
    """The node id and the variable it came from (see the module's documentation for the order)."""
    explicit = env.get(NODE_ID_VAR)
    if explicit:
        return explicit, NODE_ID_VAR
    hostname = env.get(HOSTNAME_VAR) or ""
    prefix, suffix = f"{execution}-", f"-{attempt}"
    if hostname.startswith(prefix) and hostname.endswith(suffix) and len(hostname) > len(prefix) + len(suffix):
        return hostname[len(prefix) : -len(suffix)], HOSTNAME_VAR
    match = _EXECUTION_URL_NODE.search(env.get(EXECUTION_URL_VAR) or "")
    if match:
        return urllib.parse.unquote(match.group(1)), EXECUTION_URL_VAR
    task_name = _first(env, TASK_NAME_VARS)
    if task_name:
        warnings.append(
            f"no node id ({NODE_ID_VAR}, a {HOSTNAME_VAR} of the form <execution>-<node>-<attempt>, "
            f"{EXECUTION_URL_VAR}): using the task name, so two nodes running this task in one execution share a job"
        )
        return task_name, TASK_NAME_VARS[0]
    raise ConfigError(
        f"cannot tell which node of the execution this is: set {NODE_ID_VAR} (none of {HOSTNAME_VAR}, "
        f"{EXECUTION_URL_VAR}, {TASK_NAME_VARS[0]} gave a node id)"
    )


def _map_index(env: Mapping[str, str]) -> Optional[int]:
    """A map task item's index (offset + the value of the variable BATCH_JOB_ARRAY_INDEX_VAR_NAME names), else None."""
    name = env.get(ARRAY_INDEX_NAME_VAR)
    if not name:
        return None
    raw = env.get(name)
    try:
        index = int(raw) if raw is not None else None
        offset = int(env.get(ARRAY_INDEX_OFFSET_VAR) or 0)
    except ValueError:
        raise ConfigError(f"map task index is not a number: {name}={raw!r}") from None
    if index is None:
        raise ConfigError(f"{ARRAY_INDEX_NAME_VAR} names {name}, which is not set: cannot tell which map item this is")
    return offset + index


@dataclass(frozen=True)
class Plan:
    """What an attempt does: ``attach`` to the job of ``generation``, or ``submit`` a job for it."""

    action: str
    generation: int


def plan_attempt(attempt: int, newest: Optional[Tuple[int, str]]) -> Plan:
    """Decides for attempt ``attempt``, given the newest existing job among generations 0..attempt as
    (generation, phase), or None when there is none.

    - no job yet: submit (generation = this attempt);
    - a job still going, or SUCCEEDED: attach. A Flyte retry after the pod was lost (a system retry) finds the run
      still alive and waits for it instead of starting a second one;
    - a job that ended FAILED, RETRYABLE_FAILED or ABORTED in an earlier attempt: submit a new one, so the retry
      runs the work again; the same attempt started twice attaches (and reports the same end).
    """
    if newest is None:
        return Plan("submit", attempt)
    generation, phase = newest
    if phase not in TERMINAL_PHASES or phase == "SUCCEEDED" or generation >= attempt:
        return Plan("attach", generation)
    return Plan("submit", attempt)
