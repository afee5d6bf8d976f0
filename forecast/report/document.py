"""The report as a list of blocks, rendered twice: Markdown (figures referenced as
``figures/NAME.png``) and a self-contained HTML page (inline CSS, figures embedded as
base64 PNG data URIs, no script, no external request, readable on a phone). Text may use
``**bold**``."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Doc:
    """Blocks rendered to Markdown and to HTML. Text may use ``**bold**``."""

    blocks: list = field(default_factory=list)
    sections: int = 0

    def heading(self, level: int, text: str, anchor: str = "") -> None:
        """A heading; level-2 headings (the sections) are numbered 1, 2, … in order."""
        if level == 2:
            self.sections += 1
            text = f"{self.sections}. {text}"
        self.blocks.append(("heading", level, text, anchor))

    def para(self, text: str, cls: str = "") -> None:
        self.blocks.append(("para", text, cls))

    def bullets(self, items: list[str]) -> None:
        if items:
            self.blocks.append(("bullets", list(items)))

    def table(self, header: list[str], rows: list[list[str]], align: str = "",
              caption: str = "", wrap: bool = False) -> None:
        """A table; ``wrap`` lets long cells wrap (key/value tables) instead of scrolling."""
        if rows:
            align = (align or "l" + "r" * (len(header) - 1)).ljust(len(header), "r")
            self.blocks.append(("table", list(header), [list(r) for r in rows], align, caption,
                                wrap))

    def figure(self, name: str | None, caption: str) -> None:
        if name:
            self.blocks.append(("figure", name, caption))


def _inline_html(text: str) -> str:
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(str(text)))


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(doc: Doc) -> str:
    out: list[str] = []
    for block in doc.blocks:
        kind = block[0]
        if kind == "heading":
            out.append(f"{'#' * block[1]} {block[2]}")
        elif kind == "para":
            text = block[1]
            out.append(f"> {text}" if block[2] in ("verdict", "banner") else text)
        elif kind == "bullets":
            out.append("\n".join(f"- {item}" for item in block[1]))
        elif kind == "table":
            header, rows, align, caption, _ = block[1:]
            lines = []
            if caption:
                lines.append(f"*{caption}*")
                lines.append("")
            lines.append("| " + " | ".join(_md_cell(h) for h in header) + " |")
            lines.append("|" + "|".join("---:" if a == "r" else ":---" for a in align) + "|")
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
            out.append("\n".join(lines))
        elif kind == "figure":
            out.append(f"![{block[2]}](figures/{block[1]})\n\n*{block[2]}*")
    return "\n\n".join(out) + "\n"


CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
 line-height:1.5;color:#1d2430;background:#fff;margin:0 auto;padding:1rem;max-width:62rem;
 overflow-wrap:break-word}
h1{font-size:1.6rem;line-height:1.25;margin:.5rem 0 1rem}
h2{font-size:1.3rem;margin-top:2.2rem;border-bottom:1px solid #d5dbe3;padding-bottom:.2rem}
h3{font-size:1.08rem;margin-top:1.5rem}
p,li{max-width:48rem}
.banner{background:#fdecea;border:2px solid #b3261e;color:#7a1712;padding:.6rem .8rem;
 font-weight:600;border-radius:4px}
.verdict{background:#eef4fd;border-left:5px solid #2458b3;padding:.7rem 1rem;border-radius:3px}
.verdict p{margin:0}
.note{color:#4a5566;font-size:.92rem}
.table-wrap{overflow-x:auto;-webkit-overflow-scrolling:touch;margin:.8rem 0 1.2rem;
 max-width:100%;border:1px solid #e3e7ed;border-radius:3px}
table{border-collapse:collapse;font-size:.88rem;font-variant-numeric:tabular-nums}
p.caption{font-style:italic;color:#4a5566;font-size:.88rem;margin:1rem 0 -.4rem}
th,td{padding:.3rem .55rem;border-bottom:1px solid #e3e7ed;white-space:nowrap;vertical-align:top}
th{background:#f4f6f9;font-weight:600}
table.wrap td{white-space:normal;overflow-wrap:anywhere;min-width:7rem}
td.l,th.l{text-align:left}td.r,th.r{text-align:right}
tbody tr:nth-child(even){background:#fafbfc}
figure{margin:1rem 0 1.6rem}
img{max-width:100%;height:auto;display:block}
figcaption{font-size:.88rem;color:#4a5566;margin-top:.3rem}
nav ul{padding-left:1.2rem}
"""


def render_html(doc: Doc, figures: Path, title: str) -> str:
    body: list[str] = []
    for block in doc.blocks:
        kind = block[0]
        if kind == "heading":
            level, text, anchor = block[1:]
            ident = f' id="{html.escape(anchor)}"' if anchor else ""
            body.append(f"<h{level}{ident}>{_inline_html(text)}</h{level}>")
        elif kind == "para":
            text, cls = block[1:]
            if cls == "verdict":
                body.append(f'<div class="verdict" id="verdict-text"><p>{_inline_html(text)}'
                            "</p></div>")
            else:
                attr = f' class="{cls}"' if cls else ""
                body.append(f"<p{attr}>{_inline_html(text)}</p>")
        elif kind == "bullets":
            items = "".join(f"<li>{_inline_html(item)}</li>" for item in block[1])
            body.append(f"<ul>{items}</ul>")
        elif kind == "table":
            header, rows, align, caption, wrap = block[1:]
            cap = f'<p class="caption">{_inline_html(caption)}</p>' if caption else ""
            head = "".join(f'<th class="{a}" scope="col">{_inline_html(h)}</th>'
                           for h, a in zip(header, align, strict=True))
            lines = "".join(
                "<tr>" + "".join(f'<td class="{a}">{_inline_html(c)}</td>'
                                 for c, a in zip(row, align, strict=True)) + "</tr>"
                for row in rows)
            table = '<table class="wrap">' if wrap else "<table>"
            body.append(f'{cap}<div class="table-wrap">{table}<thead><tr>{head}</tr></thead>'
                        f"<tbody>{lines}</tbody></table></div>")
        elif kind == "figure":
            name, caption = block[1:]
            data = base64.b64encode((figures / name).read_bytes()).decode("ascii")
            body.append(f'<figure><img src="data:image/png;base64,{data}" '
                        f'alt="{html.escape(caption)}"><figcaption>{_inline_html(caption)}'
                        "</figcaption></figure>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")
