"""The source contract pages (pipelines/contract/pages.py) as HTML: the few Markdown forms they use
(titles, paragraphs, lists, tables, bold, code, links between pages), everything else escaped."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

INLINE = (
    (re.compile(r"`([^`]+)`"), r"<code>\1</code>"),
    (re.compile(r"\*\*([^*]+)\*\*"), r"<strong>\1</strong>"),
    (re.compile(r"\[([^\]]+)\]\(([a-z_]+)\.md\)"), r'<a href="/sources/\2">\1</a>'),
)


def inline(text: str) -> str:
    html = str(escape(text))
    for pattern, replacement in INLINE:
        html = pattern.sub(replacement, html)
    return html


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def to_html(markdown: str) -> Markup:
    out: list[str] = []
    lines = markdown.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            index += 1
            continue
        heading = re.match(r"(#{1,4}) (.*)", line)
        if heading:
            level = len(heading.group(1)) + 1  # the page's own title sits under the portal's h1
            out.append(f"<h{level}>{inline(heading.group(2))}</h{level}>")
            index += 1
        elif line.startswith("|"):
            rows = []
            while index < len(lines) and lines[index].startswith("|"):
                rows.append(lines[index])
                index += 1
            head, body = _cells(rows[0]), [_cells(r) for r in rows[2:]]
            out.append("<table><thead><tr>" + "".join(f"<th>{inline(c)}</th>" for c in head) + "</tr></thead><tbody>")
            out += ["<tr>" + "".join(f"<td>{inline(c)}</td>" for c in row) + "</tr>" for row in body]
            out.append("</tbody></table>")
        elif line.startswith("- "):
            items = []
            while index < len(lines) and lines[index].startswith("- "):
                items.append(f"<li>{inline(lines[index][2:])}</li>")
                index += 1
            out.append("<ul>" + "".join(items) + "</ul>")
        else:
            paragraph = []
            while index < len(lines) and lines[index].strip() and not re.match(r"#|\||- ", lines[index]):
                paragraph.append(lines[index].strip())
                index += 1
            out.append(f"<p>{inline(' '.join(paragraph))}</p>")
    return Markup("\n".join(out))
