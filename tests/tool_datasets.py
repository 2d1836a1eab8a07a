"""A generated tool-calling dataset (test helper): three tools, rows that call one of them with argument values
drawn from a list, and rows that need no call. The held-back rows use argument values the training rows never
have, so a model that learned to copy the value from the question scores and one that memorised does not.
Written in the OpenAI, ShareGPT or Hermes layout."""
from __future__ import annotations

import json
import random

WEATHER = {"name": "get_weather", "description": "The weather now in a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
TIMER = {"name": "set_timer", "description": "Start a timer.",
         "parameters": {"type": "object", "properties": {"minutes": {"type": "integer"}}, "required": ["minutes"]}}
CONVERT = {"name": "convert_currency", "description": "Convert euros to another currency.",
           "parameters": {"type": "object", "properties": {"amount": {"type": "number"}, "to": {"type": "string"}},
                          "required": ["amount", "to"]}}
TOOLS = [{"type": "function", "function": f} for f in (WEATHER, TIMER, CONVERT)]

TRAIN_CITIES = ["Paris", "Rome", "Berlin", "Madrid", "Vienna", "Lisbon", "Dublin", "Prague", "Warsaw", "Athens"]
HELD_CITIES = ["Oslo", "Zurich", "Helsinki", "Brussels"]
TRAIN_MINUTES, HELD_MINUTES = [3, 5, 7, 10, 12, 15, 20, 25, 30, 45], [8, 18, 40, 50]
TRAIN_CURRENCIES, HELD_CURRENCIES = ["USD", "GBP", "JPY", "CHF", "SEK"], ["CAD", "NOK"]
TRAIN_AMOUNTS, HELD_AMOUNTS = [10, 20, 50, 100, 250], [30, 75]
CHATS = [("Hello!", "Hello! How can I help?"), ("Thank you.", "You are welcome."), ("Who are you?", "An assistant."),
         ("Tell me a joke.", "Why did the bit flip? It was bored."), ("Good night.", "Good night!")]


def _case(rng: random.Random, held: bool) -> tuple[str, dict | None, str, str]:
    """(question, call or None, tool result, final answer)."""
    kind = rng.choice(["weather", "timer", "convert", "chat"])
    if kind == "weather":
        city = rng.choice(HELD_CITIES if held else TRAIN_CITIES)
        return (rng.choice([f"What is the weather in {city}?", f"How is the weather in {city} now?"]),
                {"name": "get_weather", "arguments": {"city": city}}, "18C, sunny", f"It is 18C and sunny in {city}.")
    if kind == "timer":
        minutes = rng.choice(HELD_MINUTES if held else TRAIN_MINUTES)
        return (rng.choice([f"Set a timer for {minutes} minutes.", f"Start a {minutes} minute timer."]),
                {"name": "set_timer", "arguments": {"minutes": minutes}}, "started", f"Timer set: {minutes} minutes.")
    if kind == "convert":
        amount = rng.choice(HELD_AMOUNTS if held else TRAIN_AMOUNTS)
        to = rng.choice(HELD_CURRENCIES if held else TRAIN_CURRENCIES)
        return (f"Convert {amount} euros to {to}.", {"name": "convert_currency",
                                                     "arguments": {"amount": amount, "to": to}},
                "about the same", f"{amount} euros is about the same in {to}.")
    question, answer = rng.choice(CHATS)
    return question, None, "", answer


def openai_row(question, call, result, answer) -> dict:
    messages = [{"role": "user", "content": question}]
    if call is not None:
        messages += [{"role": "assistant", "content": "", "tool_calls": [
                         {"id": "call_1", "type": "function",
                          "function": {"name": call["name"], "arguments": json.dumps(call["arguments"])}}]},
                     {"role": "tool", "tool_call_id": "call_1", "content": result}]
    messages.append({"role": "assistant", "content": answer})
    return {"tools": TOOLS, "messages": messages}


def sharegpt_row(question, call, result, answer) -> dict:
    turns = [{"from": "human", "value": question}]
    if call is not None:
        turns += [{"from": "function_call", "value": json.dumps(call)}, {"from": "observation", "value": result}]
    turns.append({"from": "gpt", "value": answer})
    return {"tools": json.dumps([t["function"] for t in TOOLS]), "conversations": turns}


def hermes_row(question, call, result, answer) -> dict:
    system = "You are a helpful assistant.\n<tools>\n" + "\n".join(json.dumps(t["function"]) for t in TOOLS) + \
             "\n</tools>"
    messages = [{"role": "system", "content": system}, {"role": "user", "content": question}]
    if call is not None:
        messages += [{"role": "assistant", "content": f"<tool_call>\n{json.dumps(call)}\n</tool_call>"},
                     {"role": "tool", "content": f"<tool_response>\n{result}\n</tool_response>"}]
    messages.append({"role": "assistant", "content": answer})
    return {"messages": messages}


LAYOUTS = {"openai": openai_row, "sharegpt": sharegpt_row, "hermes": hermes_row}


def tool_rows(count: int, held: bool = False, layout: str = "openai", seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    return [LAYOUTS[layout](*_case(rng, held)) for _ in range(count)]


def write_rows(path, rows: list[dict]):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path
