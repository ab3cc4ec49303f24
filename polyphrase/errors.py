"""The polyphrase error tree: every error the package raises on purpose."""

from __future__ import annotations


class PolyphraseError(Exception):
    """Base class for errors that the CLI turns into a message and an exit code."""

    exit_code = 1


class ConfigError(PolyphraseError):
    """An option or environment value is missing or invalid."""

    exit_code = 2


class InputError(PolyphraseError):
    """An input file or record cannot be read as a document."""

    exit_code = 3

    def __init__(self, path: str, reason: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {reason}")


class EndpointError(PolyphraseError):
    """The LLM endpoint failed after the transport retries ran out."""

    exit_code = 4


class ContextLengthError(EndpointError):
    """A request was longer than the model's context window."""


class OutputTruncatedError(EndpointError):
    """The model stopped at the max-tokens limit before its output was complete."""


class StructuredOutputError(EndpointError):
    """The model's structured output stayed invalid after every re-ask."""


class EmbeddedServerError(PolyphraseError):
    """The embedded llama.cpp server could not be prepared or started."""

    exit_code = 5


class PromptError(PolyphraseError):
    """A prompt file is missing, malformed, or rendered without a required variable."""

    exit_code = 2
