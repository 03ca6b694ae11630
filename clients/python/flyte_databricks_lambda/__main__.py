"""``python -m flyte_databricks_lambda run CONFIG.json -- COMMAND...``: one Flyte task attempt, without flytekit.

For a container task (or any process Flyte starts with its variables): runs the Databricks job CONFIG.json
describes (a JSON object of ``DatabricksLambda``'s fields: ``databricks_conf``, ``databricks_instance``, ``api_url``
...) with COMMAND (the rendered ``pyflyte-execute ...`` command) as the run's entrypoint parameters, with the
identity, retry and abort behaviour of :func:`flyte_databricks_lambda.run_job`. Progress goes to stderr, the final
job (SUCCEEDED) to stdout as one JSON line.

Exit status: 0 SUCCEEDED; 1 the job ended FAILED or ABORTED; 2 unusable configuration or a request the API refused
(400 naming the field, 403, 409); 3 the API stayed unavailable; 4 the job ended RETRYABLE_FAILED; 128 + the signal
number after SIGTERM/SIGINT (the job was asked to cancel). 3 and 4 are the recoverable ones.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Dict, List, Optional, Sequence

from .config import DatabricksLambda
from .container import Container, run_env
from .errors import (
    ApiError,
    ApiUnavailableError,
    ConfigError,
    JobFailedError,
    JobInterruptedError,
    JobRetryableError,
)
from .identity import identity_from_env
from .runner import log_to_stderr, run_job

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_RETRYABLE = 4


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m flyte_databricks_lambda", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run one task attempt's Databricks job and wait for it")
    run.add_argument("config", help="JSON file: DatabricksLambda's fields (DatabricksV2's names, plus api_url ...)")
    run.add_argument("--api-url", help="the API stage URL; default: the config's api_url, $FLYTE_DATABRICKS_API_URL")
    run.add_argument("--region", help="the API's region; default: from an execute-api URL, else AWS_REGION")
    run.add_argument("--image", help="the image the run's cluster uses (container.image)")
    run.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="extra run environment")
    run.add_argument("--poll-initial", type=float, help="first delay between polls, seconds (default 2)")
    run.add_argument("--poll-max", type=float, help="longest delay between polls, seconds (default 60)")
    run.add_argument("--abort-wait", type=float, help="after SIGTERM, seconds to wait for ABORTED (default 20)")
    parser.epilog = "After the options: -- and the run's entrypoint parameters (the rendered pyflyte-execute command)."
    return parser.parse_args(argv)


def _load_config(args: argparse.Namespace) -> DatabricksLambda:
    with open(args.config, encoding="utf-8") as file:
        values = json.load(file)
    if not isinstance(values, dict):
        raise ConfigError("the config file must hold a JSON object")
    config = DatabricksLambda.from_dict(values)
    overrides = {
        "api_url": args.api_url,
        "region": args.region,
        "container_image": args.image,
        "poll_initial_seconds": args.poll_initial,
        "poll_max_seconds": args.poll_max,
        "abort_wait_seconds": args.abort_wait,
    }
    for name, value in overrides.items():
        if value is not None:
            setattr(config, name, value)
    return config


def _extra_env(pairs: List[str]) -> Dict[str, str]:
    extra: Dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ConfigError(f"--env takes NAME=VALUE, got {pair!r}")
        extra[name] = value
    return extra


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The command line; returns the exit status."""
    words = list(sys.argv[1:] if argv is None else argv)
    # Everything after the first "--" is the run's command, whatever it looks like.
    split = words.index("--") if "--" in words else len(words)
    args = _parse(words[:split])
    command = words[split + 1 :]
    try:
        config = _load_config(args)
        identity = identity_from_env(os.environ)
        container = Container(args=command, image=config.container_image, env=run_env(os.environ, _extra_env(args.env)))
        result = run_job(config, container, identity)
    except JobInterruptedError as error:
        log_to_stderr(f"error: {error}")
        return 128 + error.signum
    except JobRetryableError as error:
        log_to_stderr(f"error (recoverable): {error}")
        return EXIT_RETRYABLE
    except JobFailedError as error:
        log_to_stderr(f"error: {error}")
        return EXIT_FAILED
    except ApiUnavailableError as error:
        log_to_stderr(f"error (recoverable): {error}")
        return EXIT_UNAVAILABLE
    except (ApiError, ConfigError, OSError, ValueError) as error:
        log_to_stderr(f"error: {error}")
        return EXIT_USAGE
    print(json.dumps(result.job), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
