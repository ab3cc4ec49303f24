"""Cached, concurrency-bounded calls to an OpenAI-compatible endpoint.

Free text (rewrites) goes through langchain-openai, so LangSmith traces it when
tracing is on. Structured output (fact extraction and comparison) goes through
instructor over the OpenAI SDK. Both share one endpoint description, one disk
cache and one transport retry policy: the OpenAI SDK retries 429 (honouring
Retry-After), 5xx, timeouts and dropped connections with exponential backoff,
so those faults never spend a verification attempt.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import json
import logging
from dataclasses import dataclass, field
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import instructor
import openai
from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException
from langchain_openai import ChatOpenAI
from openai.types.chat import ChatCompletion
from pydantic import BaseModel

from polyphrase.cache import ResponseCache, cache_key
from polyphrase.errors import ContextLengthError, EndpointError, OutputTruncatedError, StructuredOutputError

logger = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)
SendT = TypeVar("SendT", bound=Callable[..., Awaitable[Any]])

# Substrings that llama.cpp, vLLM and OpenAI put in a context-overflow error.
_CONTEXT_ERROR_MARKERS = ("context length", "context size", "context_length", "maximum context", "too many tokens")


@dataclass(frozen=True)
class Endpoint:
    """An OpenAI-compatible chat completions endpoint and the model to call on it."""

    base_url: str
    model: str
    api_key: str = "not-needed"
    timeout_s: float = 600.0
    max_retries: int = 6
    rewrite_sampling: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    """Extra request fields for free-text (rewrite) calls only, such as a server's own sampler settings."""


@dataclass
class Usage:
    """Token and call counts of one or more LLM calls."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    cache_hits: int = 0

    def add(self, other: "Usage") -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.calls += other.calls
        self.cache_hits += other.cache_hits

    def as_dict(self, role: str) -> dict[str, int]:
        """Return the counters keyed `<role>_<counter>`, the form the graph state sums."""
        return {
            f"{role}_prompt_tokens": self.prompt_tokens,
            f"{role}_completion_tokens": self.completion_tokens,
            f"{role}_calls": self.calls,
            f"{role}_cache_hits": self.cache_hits,
        }


@dataclass
class TextResult:
    """A free-text completion with its usage; `truncated` is set when max_tokens cut it off."""

    text: str
    usage: Usage
    truncated: bool = False


@dataclass
class StructuredResult:
    """A validated structured output with its usage."""

    value: Any
    usage: Usage = field(default_factory=Usage)


def _is_context_error(error: openai.BadRequestError) -> bool:
    message = str(error).lower()
    return any(marker in message for marker in _CONTEXT_ERROR_MARKERS)


class LLMClient:
    """One endpoint, used for both free text and structured output, behind a disk cache."""

    def __init__(
        self,
        endpoint: Endpoint,
        cache: ResponseCache | None = None,
        *,
        max_concurrency: int = 8,
        structured_mode: instructor.Mode = instructor.Mode.JSON_SCHEMA,
    ) -> None:
        self.endpoint = endpoint
        self.cache = cache
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._structured_mode = structured_mode
        self._openai = openai.AsyncOpenAI(
            base_url=endpoint.base_url,
            api_key=endpoint.api_key,
            timeout=endpoint.timeout_s,
            max_retries=endpoint.max_retries,
        )
        # instructor prepares the request, validates the reply and re-asks. The
        # request itself goes out through `_send_structured`, which skips the SDK's
        # per-call rewriting of the request body.
        self._instructor = instructor.AsyncInstructor(
            client=self._openai,
            create=instructor.patch(create=self._send_structured, mode=structured_mode),
            mode=structured_mode,
            provider=instructor.Provider.OPENAI,
        )
        # Sampling parameters are passed per call, so one chat model serves every rewrite.
        self._chat = ChatOpenAI(
            model=endpoint.model,
            base_url=endpoint.base_url,
            api_key=endpoint.api_key,
            timeout=endpoint.timeout_s,
            max_retries=endpoint.max_retries,
        )

    def fingerprint(self) -> dict[str, str]:
        """Return the model, structured-output mode and rewrite sampling, which decide this client's responses, for a cache key."""
        return {"model": self.endpoint.model, "mode": self._structured_mode.value, "sampling": self.endpoint.rewrite_sampling}

    async def complete(
        self,
        messages: list[dict[str, str]],
        *,
        prompt_version: str,
        temperature: float,
        max_tokens: int,
        seed: int | None = None,
    ) -> TextResult:
        """Return the model's reply to `messages`, from the cache when the same call was made before."""
        key = cache_key(
            kind="text",
            model=self.endpoint.model,
            messages=messages,
            temperature=temperature,
            max_tokens=max_tokens,
            seed=seed,
            prompt_version=prompt_version,
            sampling=self.endpoint.rewrite_sampling or None,
        )
        cached = self.cache.get(key) if self.cache else None
        if cached is not None:
            return TextResult(text=cached["text"], usage=Usage(cache_hits=1), truncated=cached["truncated"])

        try:
            async with self._semaphore:
                reply = await self._chat.ainvoke(
                    [(m["role"], m["content"]) for m in messages],
                    temperature=temperature,
                    max_tokens=max_tokens,
                    seed=seed,
                    extra_body=self.endpoint.rewrite_sampling or None,
                )
        except openai.BadRequestError as error:
            raise _classify_bad_request(error) from error
        except openai.APIError as error:
            raise EndpointError(f"LLM call to {self.endpoint.base_url} failed: {error}") from error

        token_usage = reply.usage_metadata or {}
        usage = Usage(
            prompt_tokens=token_usage.get("input_tokens", 0),
            completion_tokens=token_usage.get("output_tokens", 0),
            calls=1,
        )
        truncated = reply.response_metadata.get("finish_reason") == "length"
        text = reply.content if isinstance(reply.content, str) else str(reply.content)
        if self.cache:
            self.cache.set(key, {"text": text, "truncated": truncated})
        return TextResult(text=text, usage=usage, truncated=truncated)

    async def extract(
        self,
        messages: list[dict[str, str]],
        response_model: type[ModelT],
        *,
        prompt_version: str,
        max_tokens: int,
        context: dict[str, Any] | None = None,
        max_reasks: int = 2,
    ) -> StructuredResult:
        """Return a validated `response_model` for `messages`, re-asking with the validation error when invalid.

        Raises OutputTruncatedError when the output hit `max_tokens`, because
        a cut-off answer needs a larger budget, not a re-ask.
        """
        key = cache_key(
            kind="structured",
            model=self.endpoint.model,
            messages=messages,
            schema=_schema_json(response_model),
            mode=self._structured_mode.value,
            max_tokens=max_tokens,
            context=context,
            prompt_version=prompt_version,
        )
        cached = self.cache.get(key) if self.cache else None
        if cached is not None:
            value = response_model.model_validate(cached["value"], context=context)
            return StructuredResult(value=value, usage=Usage(cache_hits=1))

        try:
            async with self._semaphore:
                value, completion = await self._instructor.create_with_completion(
                    model=self.endpoint.model,
                    messages=messages,
                    response_model=_prepared(response_model, context),
                    max_retries=max_reasks,
                    temperature=0.0,
                    max_tokens=max_tokens,
                )
        except IncompleteOutputException as error:
            raise OutputTruncatedError(
                f"structured output of {response_model.__name__} was cut off at max_tokens={max_tokens}"
            ) from error
        except InstructorRetryException as error:
            if isinstance(error.__cause__, IncompleteOutputException) or "length" in str(error).lower():
                raise OutputTruncatedError(
                    f"structured output of {response_model.__name__} was cut off at max_tokens={max_tokens}"
                ) from error
            raise StructuredOutputError(
                f"no valid {response_model.__name__} after {max_reasks} re-asks: {error}"
            ) from error
        except openai.BadRequestError as error:
            raise _classify_bad_request(error) from error
        except openai.APIError as error:
            raise EndpointError(f"LLM call to {self.endpoint.base_url} failed: {error}") from error

        # The value is an instance of the prepared class, built at run time, which pickles and
        # checkpoints badly, so the caller gets the plain response model with the same fields.
        value = response_model.model_construct(
            _fields_set=value.model_fields_set, **{name: getattr(value, name) for name in response_model.model_fields}
        )
        usage = Usage(calls=1)
        if completion is not None and getattr(completion, "usage", None) is not None:
            usage.prompt_tokens = completion.usage.prompt_tokens or 0
            usage.completion_tokens = completion.usage.completion_tokens or 0
        if self.cache:
            self.cache.set(key, {"value": value.model_dump(mode="json")})
        return StructuredResult(value=value, usage=usage)

    async def _send_structured(self, **body: Any) -> ChatCompletion:
        """Send one chat completion request body as it is and return the parsed reply.

        The body is already plain JSON, so it goes to `post` directly instead of
        through `chat.completions.create`, which walks every nested field of the
        messages and the schema on each call. Retries are the SDK's either way.
        """
        if _tracing_enabled():
            return await _traced_post(self._openai, body)
        return await self._openai.post("/chat/completions", body=body, cast_to=ChatCompletion)

    async def aclose(self) -> None:
        await self._openai.close()


_PREPARED: dict[tuple[type[BaseModel], str], type[BaseModel]] = {}


def _prepared(response_model: type[ModelT], context: dict[str, Any] | None) -> type[ModelT]:
    """Return instructor's wrapper class for `response_model` that validates with `context`, built once per pair."""
    key = (response_model, json.dumps(context, sort_keys=True, default=repr))
    if key not in _PREPARED:
        _PREPARED[key] = _build_prepared(response_model, context or None)
    return _PREPARED[key]  # type: ignore[return-value]


def _build_prepared(response_model: type[ModelT], bound_context: dict[str, Any] | None) -> type[ModelT]:
    """Build the wrapper class of `response_model` that validates with `bound_context`.

    instructor renders every message as a Jinja template when it is given a
    context, which would change or reject a source that contains `{{` or `{%`.
    So the validation context is bound to the class here and instructor gets
    none. The JSON schema is built once too: instructor otherwise builds a new
    wrapper class and schema on every call.
    """
    wrapper = instructor.openai_schema(response_model)
    schema = wrapper.model_json_schema()

    class Prepared(wrapper):  # type: ignore[misc, valid-type]
        @classmethod
        def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
            if args or kwargs:
                return super().model_json_schema(*args, **kwargs)
            return copy.deepcopy(schema)

        @classmethod
        def model_validate_json(cls, json_data: Any, *, context: Any = None, **kwargs: Any) -> Any:
            return super().model_validate_json(json_data, context=context or bound_context, **kwargs)

        @classmethod
        def model_validate(cls, obj: Any, *, context: Any = None, **kwargs: Any) -> Any:
            return super().model_validate(obj, context=context or bound_context, **kwargs)

    Prepared.__name__ = Prepared.__qualname__ = response_model.__name__
    Prepared.__doc__ = response_model.__doc__
    return Prepared


@functools.cache
def _schema_json(response_model: type[BaseModel]) -> str:
    """Return the model's JSON schema as canonical text, built once per model for the cache key."""
    return json.dumps(response_model.model_json_schema(), sort_keys=True)


def _classify_bad_request(error: openai.BadRequestError) -> EndpointError:
    if _is_context_error(error):
        return ContextLengthError(f"request exceeds the model's context window: {error}")
    return EndpointError(f"LLM endpoint rejected the request: {error}")


try:
    from langsmith import traceable
    from langsmith.utils import tracing_is_enabled as _tracing_enabled
except ImportError:  # langsmith ships with langchain-core, but stay usable without it

    def _tracing_enabled() -> bool:
        return False

    def traceable(**_: Any) -> Callable[[SendT], SendT]:
        return lambda function: function


@traceable(run_type="llm", name="structured_output")
async def _traced_post(client: openai.AsyncOpenAI, body: dict[str, Any]) -> ChatCompletion:
    """Send a structured-output request as a LangSmith LLM run; only called while tracing is enabled."""
    return await client.post("/chat/completions", body=body, cast_to=ChatCompletion)
