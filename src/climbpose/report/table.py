"""A titled grid of numbers written as Markdown, CSV and LaTeX: the form of every result table.

Columns can be grouped under spanning headers (`groups`), rows into titled sections (`sections`):
Markdown gives each section a heading and its own header row, CSV a leading "section" column,
LaTeX a section line between rules.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence, Union

from climbpose.core.io import write_text

__all__ = ["Cell", "Table"]

Cell = Union[float, str, None]


@dataclass
class Table:
    """A titled grid. `groups` spans columns with a header above `columns` (LaTeX, CSV names);
    `sections` splits the rows, in order, into titled runs of rows (label, number of rows)."""

    name: str
    title: str
    columns: list[str]
    rows: list[str]
    values: list[list[Cell]]
    groups: list[tuple[str, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    digits: dict[str, int] = field(default_factory=dict)  # per row; default 1 (percentages)
    sections: list[tuple[str, int]] = field(default_factory=list)
    intro: list[str] = field(default_factory=list)  # sentences a reader needs first: what the rows and numbers are

    def __post_init__(self) -> None:
        if self.sections and sum(span for _, span in self.sections) != len(self.rows):
            raise ValueError(f"table {self.name}: sections cover {sum(s for _, s in self.sections)} rows of {len(self.rows)}")

    def text(self, row: int, col: int) -> str:
        value = self.values[row][col]
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return ""
        if isinstance(value, str):
            return value
        return f"{value:.{self.digits.get(self.rows[row], 1)}f}"

    def column_names(self) -> list[str]:
        """Flat column names: the group label joined to the column label."""
        names, groups = [], [label for label, span in self.groups for _ in range(span)]
        for i, column in enumerate(self.columns):
            names.append(f"{groups[i]} {column}".strip() if i < len(groups) else column)
        return names

    def row_sections(self) -> list[tuple[str, range]]:
        """(section label, row indices) in order; one unlabelled section when there are none."""
        if not self.sections:
            return [("", range(len(self.rows)))]
        out, start = [], 0
        for label, span in self.sections:
            out.append((label, range(start, start + span)))
            start += span
        return out

    def _cells(self, row: int) -> list[str]:
        return [self.text(row, c) for c in range(len(self.columns))]

    def to_markdown(self) -> str:
        lines = [f"**{self.title}**", ""] + ([" ".join(self.intro), ""] if self.intro else [])
        lines += [f"> {note}" for note in self.notes] + ([""] if self.notes else [])
        header = ["| | " + " | ".join(self.column_names()) + " |", "|---|" + "---:|" * len(self.columns)]
        for i, (label, rows) in enumerate(self.row_sections()):
            if label:
                lines += ([""] if i else []) + [f"### {label}", ""]
            lines += header + [f"| {self.rows[r]} | " + " | ".join(self._cells(r)) + " |" for r in rows]
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        """CSV with the title and notes as leading '# ' lines (pandas: read_csv(..., comment='#'))."""
        out = io.StringIO()
        for line in [self.title, *self.intro, *self.notes]:
            out.write(f"# {line}\n")
        writer = csv.writer(out, lineterminator="\n")
        lead = ["section"] if self.sections else []
        writer.writerow([*lead, "row", *self.column_names()])
        for label, rows in self.row_sections():
            for r in rows:
                writer.writerow([*([label] if self.sections else []), self.rows[r], *self._cells(r)])
        return out.getvalue()

    def to_latex(self) -> str:
        """A booktabs table (needs \\usepackage{booktabs})."""
        n = len(self.columns)
        lines = [f"% {self.title}", *(f"% {line}" for line in [*self.intro, *self.notes]),
                 r"\begin{table}[ht]", r"\centering", f"\\caption{{{_tex(self.title)}}}",
                 f"\\begin{{tabular}}{{l{'r' * n}}}", r"\toprule"]
        if self.groups:
            lines.append(" & " + " & ".join(f"\\multicolumn{{{span}}}{{c}}{{{_tex(label)}}}" for label, span in self.groups) + r" \\")
            start, rules = 2, []
            for _, span in self.groups:
                rules.append(f"\\cmidrule(lr){{{start}-{start + span - 1}}}")
                start += span
            lines.append(" ".join(rules))
        lines.append(" & " + " & ".join(_tex(c) for c in self.columns) + r" \\")
        for label, rows in self.row_sections():
            lines.append(r"\midrule")
            if label:
                lines.append(f"\\multicolumn{{{n + 1}}}{{l}}{{\\textit{{{_tex(label)}}}}} \\\\")
            lines += [_tex(self.rows[r]) + " & " + " & ".join(_tex(text) for text in self._cells(r)) + r" \\" for r in rows]
        lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
        return "\n".join(lines) + "\n"

    def write(self, directory: str | Path, formats: Sequence[str] = ("md", "csv", "tex")) -> list[Path]:
        paths = []
        for ext in formats:
            path = Path(directory) / f"{self.name}.{ext}"
            write_text(path, {"md": self.to_markdown, "csv": self.to_csv, "tex": self.to_latex}[ext]())
            paths.append(path)
        return paths


def _tex(text: str) -> str:
    for char, escaped in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#"), ("$", r"\$")):
        text = text.replace(char, escaped)
    return text
