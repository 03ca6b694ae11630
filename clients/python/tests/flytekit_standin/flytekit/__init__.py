"""STAND-IN for flytekit (tests only; see ../README.md): the names flyte_databricks_lambda imports, nothing more."""

from types import SimpleNamespace
from typing import Any, Callable, List, Optional

from .extend import TaskPlugins

#: Every Deck made, as (name, html), for tests to read.
DECKS: List[Any] = []


class Deck:
    """Records its name and HTML (flytekit renders decks in the UI)."""

    def __init__(self, name: str, html: str = "") -> None:
        DECKS.append((name, html))


class FlyteContextManager:
    """A context without serialization settings or file access (what the tests exercise needs neither)."""

    @staticmethod
    def current_context() -> Any:
        return SimpleNamespace(serialization_settings=None, file_access=None)


def task(_fn: Optional[Callable[..., Any]] = None, *, task_config: Any = None, **kwargs: Any) -> Any:
    """Like flytekit's ``@task``: the plugin registered for the config's type wraps the function."""

    def wrap(fn: Callable[..., Any]) -> Any:
        return TaskPlugins.find_pythontask_plugin(type(task_config))(task_config, fn, **kwargs)

    return wrap(_fn) if _fn is not None else wrap
