"""The playground: chat with a fine-tuned run, streamed, side by side with the base model, and with an
exported GGUF file through llama.cpp (what Ollama and LM Studio will answer), tokens/s shown. An agent is offered
tools (ui/tools_panel.py): its calls show as cards, and a typed or mocked result continues the conversation;
reasoning (<think>) is folded under a link; JSON answers are checked against the run's schema."""
from __future__ import annotations

import html
import json
import threading
from pathlib import Path

from PySide6.QtCore import Qt, QThread, Signal
from PySide6.QtWidgets import (QCheckBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit,
                               QListWidget, QPushButton, QTextBrowser, QVBoxLayout, QWidget)

from peftstudio.engine.data import assistant_turn, native_messages, split_reasoning
from peftstudio.engine.evaluation import json_value, schema_problem
from peftstudio.engine.export import GGUFModel, exported_gguf_files, llama_cpp_available, timed_chat
from peftstudio.engine.inference import (ChatModel, Sampling, conversation_markdown, example_prompts, run_tools,
                                        scores_in_words, word_diff)
from peftstudio.ui.feedback_bar import FeedbackBar
from peftstudio.ui.sampling_form import SamplingForm
from peftstudio.ui.locales import STRINGS
from peftstudio.ui.tools_panel import ToolsPanel, call_card, result_line


class GenerationWorker(QThread):
    token = Signal(str, str)  # (which: "tuned" | "base" | "gguf", text piece)
    finished_answer = Signal(str, str)
    speed = Signal(str, float)  # (which, tokens per second)
    scored = Signal(object)  # {"tuned": scores, "base": scores or None}, computed here, off the UI thread
    failed = Signal(object)

    def __init__(self, chat: ChatModel, conversations: dict[str, list[dict]], sampling: Sampling, which: list[str],
                 gguf_path: Path | None = None, gguf_cache: dict | None = None, tools: list[dict] | None = None):
        super().__init__()
        self.tools = tools or None  # offered to every model as in training (data/tool_render.py)
        # each model answers its own conversation: the base never sees the fine-tuned model's earlier replies
        self.chat, self.conversations, self.sampling, self.which = chat, conversations, sampling, which
        self.gguf_path, self.gguf_cache = gguf_path, gguf_cache if gguf_cache is not None else {}
        self.stop_event = threading.Event()

    def run(self):
        try:
            replies = {}
            for which in self.which:
                if self.stop_event.is_set():
                    break
                if which == "gguf":
                    reply = self._gguf_answer()
                else:
                    reply = self.chat.generate(self.conversations[which], self.sampling,
                                               on_token=lambda piece, w=which: self.token.emit(w, piece),
                                               stop=self.stop_event, use_adapter=which == "tuned",
                                               tools=self.tools)
                replies[which] = reply
                self.finished_answer.emit(which, reply)
            if "tuned" in replies and not self.stop_event.is_set():
                self.scored.emit(self._scores(replies))
        except Exception as error:  # noqa: BLE001 - a PlainError from the engine
            self.failed.emit(error)

    def _scores(self, replies: dict) -> dict:
        prompt = next(m["content"] for m in reversed(self.conversations["tuned"]) if m["role"] == "user")
        messages = [{"role": "user", "content": prompt}]
        return {which: self.chat.scores(messages, prompt, replies[which], which == "tuned") if which in replies
                else None for which in ("tuned", "base")}

    def _gguf_answer(self) -> str:
        """The same conversation and sampling, answered by the exported file in llama.cpp."""
        model = self.gguf_cache.get(self.gguf_path)
        if model is None:
            self.gguf_cache.clear()
            model = self.gguf_cache[self.gguf_path] = GGUFModel.open(self.gguf_path)
        sampling = self.sampling
        system = [{"role": "system", "content": sampling.system_prompt}] if sampling.system_prompt else []
        messages = system + self.conversations["gguf"]
        extra = {}
        if self.tools:  # the OpenAI shape, which the file's own chat template renders (an agent's export)
            messages, extra = native_messages({"messages": messages}), {"tools": self.tools}
        result = timed_chat(model, messages, lambda piece: self.token.emit("gguf", piece),
                            stop=self.stop_event.is_set, **sampling.llama_cpp(), **extra)
        self.speed.emit("gguf", result["tokens_per_second"])
        return result["text"]


class PlaygroundWidget(QWidget):
    def __init__(self, run_dir: Path, parent=None):
        super().__init__(parent)
        self.setObjectName("playground")
        self.run_dir = Path(run_dir)
        self.setWindowTitle(f"Playground: {self.run_dir.name}")
        self.chat = ChatModel(self.run_dir)  # the base stays in memory for the next run's adapter
        self.history: list[dict] = []  # the fine-tuned model's conversation (what is saved and exported)
        self.side_histories: dict[str, list[dict]] = {"base": [], "gguf": []}  # the others' own conversations
        self.answers: dict[str, str] = {}
        self.worker = None
        self.gguf_path: Path | None = None
        self.gguf_cache: dict = {}  # the open llama.cpp model, kept between prompts
        layout = QHBoxLayout(self)
        side = QVBoxLayout()
        side.addWidget(QLabel("<b>Try these</b>"))
        self.examples = QListWidget()
        self.examples.setObjectName("playground.examples")
        self.examples.setWordWrap(True)
        profile = self._profile_id()
        for item in example_prompts(profile, self.run_dir):
            self.examples.addItem(f"[{item['source']}] {item['prompt']}")
        self.examples.itemClicked.connect(lambda it: self.input.setText(it.text().split("] ", 1)[1]))
        side.addWidget(self.examples, 1)
        self.sampling_form = SamplingForm(Sampling(system_prompt=self.chat.config.system_prompt or None))
        side.addWidget(self.sampling_form)
        self.tools_panel = ToolsPanel(run_tools(self.run_dir))
        self.tools_panel.result_ready.connect(self.continue_with_result)
        side.addWidget(self.tools_panel)
        self.pending_calls: list[dict] = []  # the fine-tuned model's calls still waiting for their results
        self.reasonings: list[str] = []  # each folded reasoning block, by its link's number
        layout.addLayout(side, 1)
        main = QVBoxLayout()
        panels = QHBoxLayout()
        self.transcript = QTextBrowser()
        self.transcript.setObjectName("playground.tuned")
        self.base_view = QTextBrowser()
        self.base_view.setObjectName("playground.base")
        self.gguf_view = QTextBrowser()
        self.gguf_view.setObjectName("playground.gguf")
        self.pane_columns = {}
        for view, title in ((self.transcript, STRINGS["playground.pane.tuned"]),
                            (self.base_view, STRINGS["playground.pane.base"]),
                            (self.gguf_view, STRINGS["playground.pane.gguf"])):
            column = QWidget()
            column_layout = QVBoxLayout(column)
            column_layout.setContentsMargins(0, 0, 0, 0)
            header = QLabel(f"<b>{title}</b>")
            header.setObjectName(f"{view.objectName()}.header")
            column_layout.addWidget(header)
            column_layout.addWidget(view, 1)
            panels.addWidget(column)
            self.pane_columns[view.objectName()] = column
        self.transcript.setOpenLinks(False)  # a reasoning link unfolds here, it goes nowhere
        self.transcript.anchorClicked.connect(self._toggle_reasoning)
        self.reasoning_view = QTextBrowser()
        self.reasoning_view.setObjectName("playground.reasoning")
        self.reasoning_view.setVisible(False)
        self.reasoning_view.setMaximumHeight(160)
        self._answer_start = 0  # where the fine-tuned model's answer begins in the transcript
        self.pane_columns["playground.base"].setVisible(False)
        self.pane_columns["playground.gguf"].setVisible(False)
        main.addLayout(panels, 1)
        main.addWidget(self.reasoning_view)
        self.json_check = QLabel()
        self.json_check.setObjectName("playground.json_check")
        self.json_check.setWordWrap(True)
        main.addWidget(self.json_check)
        self.scores = QLabel()
        self.scores.setObjectName("playground.scores")
        self.scores.setWordWrap(True)
        main.addWidget(self.scores)
        row = QHBoxLayout()
        self.input = QLineEdit()
        self.input.setObjectName("playground.input")
        self.input.setPlaceholderText("Ask your model something")
        self.input.returnPressed.connect(self.send)
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("playground.send")
        self.send_button.clicked.connect(self.send)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("playground.stop")
        self.stop_button.clicked.connect(self.stop)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear)
        self.compare = QCheckBox("Compare with the base model")
        self.compare.setObjectName("playground.compare")
        self.compare.toggled.connect(self.pane_columns["playground.base"].setVisible)
        for widget in (self.input, self.send_button, self.stop_button, self.clear_button, self.compare):
            row.addWidget(widget, 3 if widget is self.input else 0)
        main.addLayout(row)
        gguf_row = QHBoxLayout()
        self.gguf_check = QCheckBox(STRINGS["playground.gguf"])
        self.gguf_check.setObjectName("playground.gguf_check")
        self.gguf_check.setToolTip(STRINGS["playground.gguf_tip"])
        self.gguf_check.toggled.connect(self._gguf_toggled)
        self.gguf_file = QLabel()
        self.gguf_file.setObjectName("playground.gguf_file")
        self.gguf_file.setTextFormat(Qt.PlainText)  # a path the user chose
        choose = QPushButton(STRINGS["playground.gguf_choose"])
        choose.setObjectName("playground.gguf_choose")
        choose.clicked.connect(lambda: self.choose_gguf())
        gguf_row.addWidget(self.gguf_check)
        gguf_row.addWidget(self.gguf_file, 1)
        gguf_row.addWidget(choose)
        main.addLayout(gguf_row)
        if not llama_cpp_available():
            self.gguf_check.setEnabled(False)
            choose.setEnabled(False)
            self.gguf_file.setText(STRINGS["playground.gguf_missing"])
        else:
            exported = exported_gguf_files(self.run_dir)
            if exported:
                self.set_gguf(exported[0])
        self.feedback = FeedbackBar(self.run_dir, self.last_exchange)
        main.addWidget(self.feedback)
        saving = QHBoxLayout()
        for text, slot in (("Save conversation", self.save), ("Export JSON...", lambda: self.export("json")),
                           ("Export Markdown...", lambda: self.export("md"))):
            button = QPushButton(text)
            button.clicked.connect(slot)
            saving.addWidget(button)
        saving.addStretch()
        self.export_button = QPushButton(STRINGS["playground.export"])
        self.export_button.setObjectName("playground.export_model")
        self.export_button.clicked.connect(self.open_export)
        saving.addWidget(self.export_button)
        main.addLayout(saving)
        layout.addLayout(main, 3)

    def set_gguf(self, path: Path) -> None:
        self.gguf_path = Path(path)
        self.gguf_file.setText(str(self.gguf_path))

    def choose_gguf(self, path: str | None = None) -> None:
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, STRINGS["playground.gguf_choose"], str(Path.home()),
                                                  "GGUF files (*.gguf)")
        if path:
            self.set_gguf(Path(path))
            self.gguf_check.setChecked(True)

    def _gguf_toggled(self, on: bool) -> None:
        if on and self.gguf_path is None:
            self.gguf_check.setChecked(False)
            self.scores.setText(html.escape(STRINGS["playground.gguf_none"]))
            return
        self.pane_columns["playground.gguf"].setVisible(on)

    def open_export(self):
        from peftstudio.ui.export_dialog import ExportDialog  # lazy: off the start-up path (bench/startup.py)

        self.export_dialog = ExportDialog(self.run_dir, self)
        self.export_dialog.show()
        return self.export_dialog

    def _profile_id(self) -> str:
        return self.chat.info.get("profile_id") or "chatbot"

    def sampling(self) -> Sampling:
        return self.sampling_form.value()

    def send(self) -> None:
        text = self.input.text().strip()
        if not text or self._busy():
            return
        if self.tools_panel.tools() is None:
            self.scores.setText(html.escape("The tools are not a list of functions: correct them or empty the box."))
            return
        self.input.clear()
        self.tools_panel.clear_pending()
        self.pending_calls = []
        self.history.append({"role": "user", "content": text})
        for side in self.side_histories.values():
            side.append({"role": "user", "content": text})
        said = f"<p><b>You:</b> {html.escape(text)}</p>"
        which = ["tuned", "base"] if self.compare.isChecked() else ["tuned"]
        if self.gguf_check.isChecked() and self.gguf_path is not None:
            which.append("gguf")
        self._start(which, said)

    def continue_with_result(self, text: str) -> None:
        """The result of the model's pending call: into each conversation that made a call, then they go on."""
        if not self.pending_calls or self._busy():
            return
        call = self.pending_calls.pop(0)
        self.history.append({"role": "tool", "tool_call_id": call["id"], "name": call["name"], "content": text})
        if self.pending_calls:  # the turn made several calls: the next one waits for its own result
            self.transcript.append(result_line(text))
            self.tools_panel.await_result(self.pending_calls[0])
            return
        which = ["tuned"]
        for side, conversation in self.side_histories.items():
            calls = (conversation[-1].get("tool_calls") or []) if conversation else []
            if calls:  # that model called a tool too: it hears the same result for its own call
                conversation += [{"role": "tool", "tool_call_id": c["id"], "name": c["name"], "content": text}
                                 for c in calls]
                which.append(side)
        self._start(which, result_line(text))

    def _busy(self) -> bool:
        return self.worker is not None and self.worker.isRunning()

    def _start(self, which: list[str], said: str) -> None:
        self.answers = {"tuned": "", "base": "", "gguf": ""}
        self.scores.setText(STRINGS["playground.answering"])  # the previous answer's scores go at once
        self.json_check.clear()
        self.transcript.append(f"{said}<p><b>Fine-tuned:</b> ")
        cursor = self.transcript.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        self._answer_start = cursor.position()
        if "base" in which:
            self.base_view.append(f"{said}<p><b>Base:</b> ")
        if "gguf" in which:
            self.gguf_view.append(f"{said}<p><b>{html.escape(self.gguf_path.name)} (llama.cpp):</b> ")
        conversations = {"tuned": list(self.history), "base": list(self.side_histories["base"]),
                         "gguf": list(self.side_histories["gguf"])}
        self.worker = GenerationWorker(self.chat, conversations, self.sampling(), which, self.gguf_path,
                                       self.gguf_cache, tools=self.tools_panel.tools())
        self.worker.token.connect(self._token)
        self.worker.speed.connect(self._speed)
        self.worker.scored.connect(self._show_scores)
        self.worker.finished_answer.connect(self._answer)
        self.worker.failed.connect(
            lambda error: self.scores.setText(f"<span style='color:#b00020'>{html.escape(str(error))}</span>"))
        self.worker.start()

    def _token(self, which: str, piece: str) -> None:
        self.answers[which] += piece
        view = {"tuned": self.transcript, "base": self.base_view, "gguf": self.gguf_view}[which]
        cursor = view.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        cursor.insertText(piece)

    def _answer(self, which: str, reply: str) -> None:
        self.answers[which] = reply
        conversation = self.history if which == "tuned" else self.side_histories[which]
        turn = assistant_turn(reply, len(conversation))  # with its calls, when it made any
        conversation.append(turn)
        if which == "tuned":
            self._show_answer(turn)
            self._check_json(turn["content"])
            if turn.get("tool_calls"):
                self.pending_calls = list(turn["tool_calls"])
                self.tools_panel.await_result(self.pending_calls[0])
            self.scores.setText(STRINGS["playground.scoring"])
        self.feedback.refresh(bool(self.answers.get("tuned")), bool(self.answers.get("base")))

    def _show_answer(self, turn: dict) -> None:
        """The streamed answer again, with its reasoning folded under a link and its calls as a card."""
        reasoning, words = split_reasoning(turn["content"])
        calls = turn.get("tool_calls")
        if reasoning is None and not calls:
            return  # plain text, already shown as it streamed
        shown = ""
        if reasoning is not None:
            self.reasonings.append(reasoning)
            shown += (f"<a href='reasoning:{len(self.reasonings) - 1}'>&#9656; Reasoning "
                      f"({len(reasoning.split())} words): show</a><br>")
        shown += call_card(calls, words) if calls else html.escape(words)
        cursor = self.transcript.textCursor()
        cursor.setPosition(self._answer_start)
        cursor.movePosition(cursor.MoveOperation.End, cursor.MoveMode.KeepAnchor)
        cursor.insertHtml(shown)

    def _toggle_reasoning(self, url) -> None:
        index = int(url.toString().rpartition(":")[2] or 0)
        text = self.reasonings[index] if 0 <= index < len(self.reasonings) else ""
        showing = self.reasoning_view.isVisible() and self.reasoning_view.toPlainText() == text
        self.reasoning_view.setPlainText(text)
        self.reasoning_view.setVisible(not showing)

    def _check_json(self, text: str) -> None:
        """For JSON answers: is the answer JSON, and does it follow the run's schema?"""
        schema = self.chat.config.answer_schema_dict()
        if self._profile_id() != "json-answers" and schema is None:
            return
        if not json_value(text)[0]:
            self.json_check.setText("<span style='color:#b00020'>Not valid JSON.</span>")
        elif schema is None:
            self.json_check.setText("Valid JSON.")
        else:
            problem = schema_problem(text, schema)
            self.json_check.setText("Valid JSON that follows your schema." if problem is None else
                                    "<span style='color:#b00020'>Valid JSON, but it does not follow your schema: "
                                    f"{html.escape(problem)}</span>")

    def _speed(self, which: str, tokens_per_second: float) -> None:
        cursor = self.gguf_view.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        cursor.insertText(f"  [{tokens_per_second:.1f} tokens/s]")

    def _show_scores(self, scores: dict) -> None:
        """The scores in plain words, and the fine-tuned answer again with what differs from the base marked."""
        lines = [html.escape(line) for line in scores_in_words(scores["tuned"], scores.get("base"))]
        if scores.get("base") is not None:
            marked = " ".join(f"<span style='background:#b7ebc6;font-weight:600'>{html.escape(d['tuned'])}</span>"
                              if d["op"] != "equal" else html.escape(d["tuned"])
                              for d in word_diff(self.answers["base"], self.answers["tuned"]))
            lines.append(f"<b>What the fine-tuned answer says differently</b> (marked): {marked}")
        self.scores.setText("<br>".join(lines))

    def last_exchange(self) -> tuple[list[dict], dict[str, str]] | None:
        """The conversation before the last answer, and the answers to it (for the feedback row)."""
        if len(self.history) < 2 or self.history[-1]["role"] != "assistant":
            return None
        return self.history[:-1], dict(self.answers)

    def stop(self) -> None:
        if self.worker is not None and self.worker.isRunning():
            self.worker.stop_event.set()
            self.scores.setText(STRINGS["playground.stopped"])

    def clear(self) -> None:
        self.stop()
        self.history, self.answers = [], {}
        self.side_histories = {"base": [], "gguf": []}
        self.pending_calls, self.reasonings = [], []
        self.tools_panel.clear_pending()
        self.reasoning_view.setVisible(False)
        self.json_check.clear()
        self.transcript.clear()
        self.base_view.clear()
        self.gguf_view.clear()
        self.scores.clear()

    def save(self) -> int:
        from peftstudio.engine.inference import save_conversation  # lazy: off the start-up path (bench/startup.py)
        from peftstudio.engine.history import default_store  # lazy: off the start-up path (bench/startup.py)

        title = self.history[0]["content"][:60] if self.history else "conversation"
        conversation_id = save_conversation(default_store(), self.run_dir.name, title, self.history)
        self.scores.setText(html.escape(STRINGS["playground.saved"].format(id=conversation_id, title=title)))
        return conversation_id

    def export(self, kind: str, path: str | None = None) -> None:
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export conversation", f"conversation.{kind}")
        if not path:
            return
        title = f"Conversation with {self.run_dir.name}"
        text = json.dumps({"title": title, "messages": self.history}, indent=2) if kind == "json" \
            else conversation_markdown(title, self.history)
        Path(path).write_text(text, encoding="utf-8")
