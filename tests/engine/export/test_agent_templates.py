"""An agent's export asks for tools as it was taught: the GGUF's Jinja chat template renders OpenAI-shaped
conversations with tools into exactly the training text, and the Modelfile's TEMPLATE, run by Go's own
text/template over Ollama's types, into the same layout (JSON spaced the Go way)."""
from __future__ import annotations

import copy

import pytest

from ollama_render import build_renderer, canonical_json, ollama_messages, render
from peftstudio.engine.data.schema import guess_schema, normalize_row
from peftstudio.engine.data.tool_render import native_messages, template_inputs
from peftstudio.engine.export import ollama
from peftstudio.engine.export.chat_format import probe_chat_format, stop_strings
from peftstudio.engine.export.tool_check import template_matches_training
from peftstudio.engine.export.tool_templates import agent_templates
from tool_datasets import TOOLS, tool_rows

# a template that refuses every role but system, user and assistant (as Gemma's and Mistral's do)
STRICT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}{% if m.role not in ['system', 'user', 'assistant'] %}"
    "{{ raise_exception('Only system, user and assistant roles are supported') }}{% endif %}"
    "<|{{ m.role }}|>\n{{ m.content }}<|end|>\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}")


def examples() -> list[dict]:
    """Tool conversations of every kind: a call and its result, no call, a call with words before it, two calls
    in one turn, and the run's own system prompt in front of the tool list."""
    rows = [normalize_row(r, guess_schema([r])) for r in tool_rows(12, seed=3)]
    with_words = copy.deepcopy(next(r for r in rows if r["messages"][1].get("tool_calls")))
    with_words["messages"][1]["content"] = "Let me look that up."
    two = copy.deepcopy(with_words)
    two["messages"][1]["tool_calls"].append({"id": "call_2", "name": "set_timer", "arguments": {"minutes": 5}})
    two["messages"].insert(3, {"role": "tool", "tool_call_id": "call_2", "content": "started"})
    system = copy.deepcopy(rows[0])
    system["messages"].insert(0, {"role": "system", "content": "You are a travel helper."})
    return rows + [with_words, two, system]


@pytest.fixture(scope="module")
def tokenizers(demo_folder):
    from transformers import AutoTokenizer

    demo = AutoTokenizer.from_pretrained(demo_folder)
    strict = AutoTokenizer.from_pretrained(demo_folder)
    strict.chat_template = STRICT_TEMPLATE
    return {"demo": demo, "strict": strict}


@pytest.fixture(scope="module")
def go_renderer(tmp_path_factory):
    return build_renderer(tmp_path_factory.mktemp("go"))


@pytest.mark.parametrize("which", ["demo", "strict"])
def test_the_gguf_template_renders_tools_exactly_as_training_did(tokenizers, which):
    tokenizer = tokenizers[which]
    agent = agent_templates(tokenizer)
    assert not agent.native and agent.jinja
    cases = examples()
    assert template_matches_training(tokenizer, agent.jinja, cases) == (len(cases), len(cases))
    for example in cases:  # and the prompt a user's app sends, up to the model's first answer
        first = next(i for i, m in enumerate(example["messages"]) if m["role"] == "assistant")
        asked = dict(example, messages=example["messages"][:first])
        messages, extra = template_inputs(tokenizer, asked)
        trained = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **extra)
        exported = tokenizer.apply_chat_template(native_messages(asked), tools=TOOLS, chat_template=agent.jinja,
                                                 tokenize=False, add_generation_prompt=True)
        assert exported == trained


def test_without_tools_the_gguf_template_is_the_models_own(tokenizers):
    tokenizer = tokenizers["demo"]
    agent = agent_templates(tokenizer)
    plain = [[{"role": "user", "content": "Hi"}],
             [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"},
              {"role": "assistant", "content": "4"}, {"role": "user", "content": "And 3+3?"}]]
    for messages in plain:
        for generation in (False, True):
            assert tokenizer.apply_chat_template(messages, chat_template=agent.jinja, tokenize=False,
                                                 add_generation_prompt=generation) == \
                tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation)


@pytest.mark.parametrize("which", ["demo", "strict"])
def test_the_ollama_template_renders_the_same_layout_in_go(tokenizers, go_renderer, which):
    tokenizer = tokenizers[which]
    agent = agent_templates(tokenizer)
    assert agent.go and "{{ if .ToolCalls }}<tool_call>" in agent.go  # where Ollama finds a call's tag
    for example in examples():
        messages, extra = template_inputs(tokenizer, example)
        trained = tokenizer.apply_chat_template(messages, tokenize=False, **extra)
        # Ollama's API ends a conversation with the model's turn to speak: the training text minus its last
        # end-of-turn equals the template's rendering of the whole conversation
        chat = probe_chat_format(tokenizer)
        assert trained.endswith(chat.assistant_suffix)
        in_ollama = render(go_renderer, agent.go, ollama_messages(example), TOOLS)
        assert canonical_json(in_ollama) == canonical_json(trained[: len(trained) - len(chat.assistant_suffix)])
        first = next(i for i, m in enumerate(example["messages"]) if m["role"] == "assistant")
        asked = dict(example, messages=example["messages"][:first])
        messages, extra = template_inputs(tokenizer, asked)
        prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **extra)
        assert canonical_json(render(go_renderer, agent.go, ollama_messages(asked), TOOLS)) == canonical_json(prompt)


def test_the_ollama_template_without_tools_is_the_plain_chat(tokenizers, go_renderer):
    tokenizer = tokenizers["demo"]
    agent = agent_templates(tokenizer)
    messages = [{"role": "user", "content": "Hi"}]
    assert render(go_renderer, agent.go, messages, None) == \
        tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def test_the_agents_modelfile_carries_the_tools_template_and_no_default_system_line(tokenizers):
    tokenizer = tokenizers["demo"]
    agent = agent_templates(tokenizer)
    chat = probe_chat_format(tokenizer)
    package = ollama.build_package("agent", "agent-q4_k_m.gguf", chat, stop_strings(tokenizer, chat), None, None,
                                   agent=agent)
    parsed = ollama.parse_modelfile(package.modelfile())
    assert parsed["template"] == agent.go and "system" not in parsed
    assert "`tools`" in package.instructions()
    own = ollama.build_package("agent", "agent-q4_k_m.gguf", chat, [], "You are a travel helper.", None,
                               agent=agent)
    assert ollama.parse_modelfile(own.modelfile())["system"] == "You are a travel helper."


def test_a_template_with_tools_of_its_own_is_kept(tokenizers):
    tokenizer = copy.copy(tokenizers["demo"])
    tokenizer.chat_template = ("{% if tools %}TOOLS{% endif %}{% for m in messages %}<{{ m.role }}>{{ m.content }}"
                               "{% endfor %}")
    agent = agent_templates(tokenizer)
    assert agent.native and agent.jinja is None and agent.go is None
    package = ollama.build_package("agent", "a.gguf", probe_chat_format(tokenizer), [], None, None, agent=agent)
    assert "template" not in ollama.parse_modelfile(package.modelfile())  # Ollama's own for the family
