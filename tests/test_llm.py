import asyncio
import json
import pickle
from pathlib import Path

import pytest

from polyphrase.cache import ResponseCache
from polyphrase.errors import ContextLengthError, OutputTruncatedError
from polyphrase.llm import Endpoint, LLMClient
from polyphrase.schemas.facts import FactList
from tests.fake_openai import Reply

MESSAGES = [{"role": "user", "content": "Rewrite: the sky is blue."}]
FACTS = json.dumps({"facts": [{"subject": "sky", "relation": "is", "object": "blue"}]})


def _client(server, cache=None) -> LLMClient:
    return LLMClient(Endpoint(server.base_url, "fake-model", max_retries=3, timeout_s=5), cache)


def _complete(client: LLMClient):
    return asyncio.run(client.complete(MESSAGES, prompt_version="v1", temperature=0.5, max_tokens=50))


def test_rate_limit_retried_after_wait(fake_llm):
    statuses = [429, 429, 200]
    server = fake_llm(lambda request: Reply(content="Blue sky.", status=statuses.pop(0), headers={"Retry-After": "0"}))
    result = _complete(_client(server))
    assert result.text == "Blue sky."
    assert len(server.requests) == 3


def test_server_error_retried(fake_llm):
    statuses = [500, 200]
    server = fake_llm(lambda request: Reply(content="Blue sky.", status=statuses.pop(0)))
    assert _complete(_client(server)).text == "Blue sky."
    assert len(server.requests) == 2


def test_context_error_not_retried(fake_llm):
    server = fake_llm(lambda request: Reply(status=400, error_message="the request exceeds the available context size"))
    with pytest.raises(ContextLengthError):
        _complete(_client(server))
    assert len(server.requests) == 1


def test_truncated_text_marked(fake_llm):
    server = fake_llm(lambda request: Reply(content="Blue", finish_reason="length"))
    assert _complete(_client(server)).truncated


def test_truncated_structured_output_raises(fake_llm):
    server = fake_llm(lambda request: Reply(content='{"facts": [{"subject": "sky"', finish_reason="length"))
    with pytest.raises(OutputTruncatedError):
        asyncio.run(_client(server).extract(MESSAGES, FactList, prompt_version="v1", max_tokens=20))


def test_invalid_structured_output_reasked(fake_llm):
    replies = ['{"facts": "oops"}', FACTS]
    server = fake_llm(lambda request: Reply(content=replies.pop(0)))
    result = asyncio.run(_client(server).extract(MESSAGES, FactList, prompt_version="v1", max_tokens=200))
    assert result.value.facts[0].object == "blue"
    assert len(server.requests) == 2


def test_cache_hit_makes_no_call(fake_llm, tmp_path: Path):
    server = fake_llm(lambda request: Reply(content="Blue sky.", prompt_tokens=7, completion_tokens=3))
    cache = ResponseCache(tmp_path)
    first = _complete(_client(server, cache))
    second = _complete(_client(server, cache))
    assert first.usage.calls == 1
    assert first.usage.completion_tokens == 3
    assert second.text == "Blue sky."
    assert second.usage.cache_hits == 1
    assert len(server.requests) == 1


def test_cache_key_changes_with_prompt_version(fake_llm, tmp_path: Path):
    server = fake_llm(lambda request: Reply(content="Blue sky."))
    client = _client(server, ResponseCache(tmp_path))
    asyncio.run(client.complete(MESSAGES, prompt_version="v1", temperature=0.5, max_tokens=50))
    asyncio.run(client.complete(MESSAGES, prompt_version="v2", temperature=0.5, max_tokens=50))
    assert len(server.requests) == 2


def test_sampling_parameters_sent(fake_llm):
    server = fake_llm(lambda request: Reply(content="Blue sky."))
    asyncio.run(_client(server).complete(MESSAGES, prompt_version="v1", temperature=0.5, max_tokens=50, seed=7))
    request = server.requests[0]
    assert request["temperature"] == 0.5
    assert request.get("max_tokens", request.get("max_completion_tokens")) == 50
    assert request["seed"] == 7
    assert request["model"] == "fake-model"


def test_template_syntax_sent_verbatim(fake_llm):
    # Sources may contain Jinja, Liquid or Handlebars markup, which must reach the model as written.
    content = "Template: {{ max_facts }} and {% if site %}{{ site.title }}{% endif %} and {{ unclosed"
    server = fake_llm(lambda request: Reply(content=FACTS))
    messages = [{"role": "user", "content": content}]
    result = asyncio.run(
        _client(server).extract(messages, FactList, prompt_version="v1", max_tokens=50, context={"max_facts": 3})
    )
    assert result.value.facts[0].subject == "sky"
    assert server.requests[0]["messages"][0]["content"] == content


def test_context_limits_validation(fake_llm):
    many = json.dumps({"facts": [{"subject": f"s{index}", "relation": "is", "object": "o"} for index in range(5)]})
    server = fake_llm(lambda request: Reply(content=many))
    client = _client(server)
    limited = asyncio.run(client.extract(MESSAGES, FactList, prompt_version="v1", max_tokens=50, context={"max_facts": 2}))
    unlimited = asyncio.run(client.extract(MESSAGES, FactList, prompt_version="v1", max_tokens=50))
    assert [fact.subject for fact in limited.value.facts] == ["s0", "s1"]
    assert len(unlimited.value.facts) == 5


def test_rewrite_sampling_sent_on_text_calls_only(fake_llm):
    server = fake_llm(lambda request: Reply(content=FACTS))
    client = LLMClient(Endpoint(server.base_url, "fake-model", rewrite_sampling={"dry_multiplier": 0.8}))
    asyncio.run(client.complete(MESSAGES, prompt_version="v1", temperature=0.5, max_tokens=50))
    asyncio.run(client.extract(MESSAGES, FactList, prompt_version="v1", max_tokens=50))
    text_request, structured_request = server.requests
    assert text_request["dry_multiplier"] == 0.8
    assert "dry_multiplier" not in structured_request


def test_structured_value_is_plain_model(fake_llm):
    server = fake_llm(lambda request: Reply(content=FACTS))
    result = asyncio.run(
        _client(server).extract(MESSAGES, FactList, prompt_version="v1", max_tokens=50, context={"max_facts": 3, "tags": ["a"]})
    )
    assert type(result.value) is FactList
    assert pickle.loads(pickle.dumps(result.value)) == result.value
