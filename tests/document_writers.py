"""Documents written by the tests, each with a known fact under a known heading (PDF, Word, Markdown, HTML)."""
from __future__ import annotations

from pathlib import Path

FACTS = {
    "pdf": ("Reactor manual", "Operating temperature", "The Zorblax reactor runs at exactly 451 kelvin during normal "
            "operation."),
    "docx": ("Town history", "The bridge", "The Quimby bridge over the river Lune was opened in the year 1887."),
    "md": ("Tea guide", "Brewing", "Tovarin tea is brewed for exactly seven minutes in water at 85 degrees."),
    "html": ("Garden notes", "Watering", "The moonvine is watered every third evening with rainwater only."),
}
FILLER = ("This section gives more background for readers who want it. It repeats the context in other words, so "
          "that the passage is long enough to ask about, and it mentions nothing else of note.")


def write_pdf(path: Path) -> Path:
    from fpdf import FPDF

    title, heading, fact = FACTS["pdf"]
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=16)
    pdf.multi_cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=13)
    pdf.multi_cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, f"{fact} {FILLER}", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def write_docx(path: Path) -> Path:
    import docx

    title, heading, fact = FACTS["docx"]
    document = docx.Document()
    document.add_heading(title, level=1)
    document.add_heading(heading, level=2)
    document.add_paragraph(f"{fact} {FILLER}")
    document.add_paragraph("It carries carts and walkers", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    for (r, c), text in {(0, 0): "Year", (0, 1): "Event", (1, 0): "1887", (1, 1): "Opened"}.items():
        table.cell(r, c).text = text
    document.save(str(path))
    return path


def write_markdown(path: Path) -> Path:
    title, heading, fact = FACTS["md"]
    path.write_text(f"# {title}\n\nAn introduction to the tea and where it grows, with more words here.\n\n"
                    f"## {heading}\n\n{fact} {FILLER}\n\n- Use a clay pot\n- Never stir\n", encoding="utf-8")
    return path


def write_html(path: Path) -> Path:
    title, heading, fact = FACTS["html"]
    path.write_text(f"<html><head><style>p {{color: red}}</style><script>var x = 1;</script></head><body>"
                    f"<nav>Home | About</nav><h1>{title}</h1><h2>{heading}</h2><p>{fact} {FILLER}</p>"
                    "<ul><li>Morning light</li><li>Loose soil</li></ul></body></html>", encoding="utf-8")
    return path


def write_all(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return {"pdf": write_pdf(folder / "reactor.pdf"), "docx": write_docx(folder / "history.docx"),
            "md": write_markdown(folder / "tea.md"), "html": write_html(folder / "garden.html")}
