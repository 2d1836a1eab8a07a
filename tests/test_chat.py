"""The playground's engine and `peftstudio chat`: a run that learned a made-up signature."""
import json
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from peftstudio.engine.inference import ChatModel, Sampling, example_prompts, word_diff
from peftstudio.engine.planning.profiles import BUILTIN_PROFILES


def test_chat_compare_base_shows_the_learned_behaviour(signed_run):
    result = subprocess.run([sys.executable, "-m", "peftstudio", "chat", str(signed_run), "--prompt",
                             "What is 7 plus 7?", "--compare-base", "--json"], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert "Zorblax" in answer["tuned"] and "Zorblax" not in answer["base"]
    assert answer["scores"]["tuned"]["perplexity"] < answer["scores"]["base"]["perplexity"]
    assert any(d["op"] != "equal" for d in answer["diff"])


# **Feature: simplified-llm-optimization, Property 15: Inference comparison includes both outputs**
@settings(max_examples=5, deadline=None)  # each example generates twice with the real model
@given(st.sampled_from(["What is 3 plus 3?", "Say hello.", "Name a colour.", "What is 12 plus 12?", "Hi"]))
def test_every_comparison_returns_both_answers_and_scores(signed_run, prompt):
    result = ChatModel(signed_run).compare(prompt, Sampling(max_new_tokens=24))
    assert result["tuned"] and result["base"] and result["prompt"] == prompt
    for name in ("tuned", "base"):
        assert set(result["scores"][name]) == {"perplexity", "repetition", "prompt_overlap", "length"}


def test_streaming_and_stop(signed_run):
    import threading

    chat, pieces, stop = ChatModel(signed_run), [], threading.Event()

    def on_token(piece):
        pieces.append(piece)
        if len(pieces) == 3:
            stop.set()

    reply = chat.generate([{"role": "user", "content": "Tell me a long story about the sea."}],
                          Sampling(max_new_tokens=100), on_token=on_token, stop=stop, use_adapter=False)
    assert len(pieces) >= 3 and len(reply.split()) < 40  # stopped early; what was said is kept
    assert reply.startswith(pieces[0].strip()[:3])
    assert ChatModel(signed_run).model is chat.model  # the base is loaded once and shared


# **Feature: simplified-llm-optimization, Property 14: Use case generates relevant prompts**
@settings(max_examples=100, deadline=None)
@given(st.sampled_from([p.id for p in BUILTIN_PROFILES] + ["no-such-profile"]))
def test_every_use_case_offers_at_least_three_prompts(profile_id):
    prompts = example_prompts(profile_id)
    assert len(prompts) >= 3 and all(p["prompt"].strip() for p in prompts)


def test_prompts_from_the_runs_own_validation_split(signed_run):
    from_data = [p for p in example_prompts("chatbot", signed_run) if p["source"] == "your data"]
    assert from_data and all(p["prompt"].startswith("What is") for p in from_data)


def test_word_diff_marks_changes():
    ops = word_diff("the cat sat", "the dog sat down")
    assert [o["op"] for o in ops] == ["equal", "replace", "equal", "insert"]


def test_many_prompts_load_the_model_once_and_every_flag_holds(signed_run, tmp_path):
    """--prompts FILE: independent prompts, JSON lines out; standard input: one conversation, and there too
    --json and --compare-base are honoured (they were silently ignored)."""
    import json
    import subprocess
    import sys

    prompts = tmp_path / "prompts.txt"
    prompts.write_text("What is 2 plus 2?\n\nName a colour.\n", encoding="utf-8")
    base = [sys.executable, "-m", "peftstudio", "chat", str(signed_run), "--max-new-tokens", "12", "--json"]
    done = subprocess.run(base + ["--prompts", str(prompts), "--compare-base"], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["prompt"] for r in lines] == ["What is 2 plus 2?", "Name a colour."]
    assert all(r["tuned"] and r["base"] and set(r["scores"]) == {"tuned", "base"} for r in lines)
    done = subprocess.run(base + ["--compare-base"], input="Hello\nAnd again\n", capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    turns = [json.loads(line) for line in done.stdout.splitlines()]
    assert [t["prompt"] for t in turns] == ["Hello", "And again"] and all("base" in t for t in turns)
    missing = subprocess.run(base + ["--prompts", str(tmp_path / "none.txt")], capture_output=True, text=True,
                             timeout=600)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert json.loads(missing.stdout)["error"]["title"] == "The file given to --prompts cannot be used"
