"""STAND-IN for flytekit (tests only): the exception that makes a task failure recoverable."""


class FlyteRecoverableException(Exception):
    pass
