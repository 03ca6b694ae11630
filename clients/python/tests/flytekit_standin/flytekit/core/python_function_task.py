"""STAND-IN for flytekit (tests only): a function task that calls its function."""

import inspect
from types import SimpleNamespace
from typing import Any, Callable, Dict, Generic, Optional, TypeVar

T = TypeVar("T")


class PythonFunctionTask(Generic[T]):
    def __init__(
        self,
        task_config: T,
        task_function: Callable[..., Any],
        task_type: str = "python-task",
        environment: Optional[Dict[str, str]] = None,
        **kwargs: Any,
    ) -> None:
        self.task_config = task_config
        self.task_function = task_function
        self.task_type = task_type
        self.environment = environment or {}
        self.kwargs = kwargs
        returns = inspect.signature(task_function).return_annotation
        outputs = {} if returns in (None, inspect.Signature.empty) else {"o0": returns}
        self.python_interface = SimpleNamespace(outputs=outputs)

    def execute(self, **kwargs: Any) -> Any:
        return self.task_function(**kwargs)

    def get_image(self, settings: Any) -> str:
        raise AssertionError("the stand-in has no images")
