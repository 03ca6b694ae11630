"""STAND-IN for flytekit (tests only): the task plugin registry and IgnoreOutputs."""

from typing import Any, Dict, Type


class IgnoreOutputs(Exception):
    """Raised by a task whose outputs someone else wrote."""


class TaskPlugins:
    _plugins: Dict[type, Any] = {}

    @classmethod
    def register_pythontask_plugin(cls, config_type: type, plugin: Type[Any]) -> None:
        cls._plugins[config_type] = plugin

    @classmethod
    def find_pythontask_plugin(cls, config_type: type) -> Type[Any]:
        return cls._plugins[config_type]
