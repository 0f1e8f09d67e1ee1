"""Exceptions with a cause and a fix; the CLI maps them to exit codes."""


class FlowError(Exception):
    """A failure of the flow itself (exit code 1)."""

    exit_code = 1


class UsageError(FlowError):
    """Bad input from the user: wrong option, file, config value (exit code 2).

    The message names the bad value and says how to fix it.
    """

    exit_code = 2


class ConfigError(UsageError):
    """A YAML config that does not validate."""


class DataError(UsageError):
    """A dataset that is missing, malformed, or holds NaN/Inf."""


class FitError(UsageError):
    """The model does not fit the board; the message carries the numbers and what to change."""


class ToolMissing(FlowError):
    """A required external tool (g++, vitis_hls, vivado, verilator, yosys) is not found."""


class ToolBroken(ToolMissing):
    """A tool that is found but does not run (its version query fails). A ToolMissing, so that an
    optional step skips it the same way; its message says it is broken, not absent."""


class QualityError(FlowError):
    """A result below its quality gate (e.g. the compressed model's accuracy collapsed); the message
    carries the numbers and the option that accepts them. The work done so far is kept."""

    keep_progress = True
