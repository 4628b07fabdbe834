"""The runbooks (docs/alerts.md, shipped in the package as runbooks.md) as one HTML page, which
the relay serves at /runbooks/docs/alerts.md: every alert's runbook link then stays inside the
stack, under the same external URL as Grafana, Prometheus and Alertmanager, instead of arriving
in Slack as plain text.

Only the Markdown this file uses is understood: ATX headings (with GitHub's anchors), fenced
code, pipe tables, bullet and numbered lists, paragraphs, and inline code, bold, italics and
links. Everything is escaped first, so nothing in the file can inject markup.
"""
from __future__ import annotations

import html
import re
from functools import cache
from importlib import resources

PATH = "docs/alerts.md"  # what the alert rules' runbook_url annotations name
_INLINE = re.compile(r"`([^`]+)`|\*\*(.+?)\*\*|\[([^\]]+)\]\(([^)\s]+)\)")
_LIST_ITEM = re.compile(r"^\s*(?:[*-]|\d+\.)\s+")
STYLE = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;line-height:1.45}"
         "pre{background:#f4f4f4;padding:.8em;overflow-x:auto}code{background:#f4f4f4}"
         "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;vertical-align:top}")


def anchor(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def inline(text: str) -> str:
    out, last = [], 0
    for match in _INLINE.finditer(text):
        out.append(html.escape(text[last:match.start()]))
        code, bold, label, target = match.groups()
        if code is not None:
            out.append(f"<code>{html.escape(code)}</code>")
        elif bold is not None:
            out.append(f"<strong>{inline(bold)}</strong>")
        else:  # links within the page stay anchors; other files of docs/ are shown as text
            href = target if target.startswith(("#", "https://", "http://")) else None
            out.append(f'<a href="{html.escape(href)}">{inline(label)}</a>' if href else inline(label))
        last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def render(markdown: str, title: str = "Polo alerts and runbooks") -> str:
    body: list[str] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip().startswith("```")), len(lines))
            body.append("<pre><code>" + html.escape("\n".join(lines[i + 1:end])) + "</code></pre>")
            i = end + 1
        elif heading := re.match(r"^(#{1,6})\s+(.*)$", line):
            level, text = len(heading.group(1)), heading.group(2)
            body.append(f'<h{level} id="{anchor(text)}">{inline(text)}</h{level}>')
            i += 1
        elif stripped.startswith("|"):
            rows: list[str] = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                    tag = "th" if not rows else "td"
                    rows.append("<tr>" + "".join(f"<{tag}>{inline(c)}</{tag}>" for c in cells) + "</tr>")
                i += 1
            body.append("<table>" + "".join(rows) + "</table>")
        elif _LIST_ITEM.match(line):
            items: list[str] = []
            while i < len(lines) and lines[i].strip():
                if _LIST_ITEM.match(lines[i]):
                    items.append(_LIST_ITEM.sub("", lines[i]))
                else:  # a continuation line of the item above
                    items[-1] += " " + lines[i].strip()
                i += 1
            tag = "ol" if re.match(r"^\s*\d+\.", line) else "ul"
            body.append(f"<{tag}>" + "".join(f"<li>{inline(item)}</li>" for item in items) + f"</{tag}>")
        elif stripped:
            paragraph = []
            while i < len(lines) and lines[i].strip() and not re.match(r"^(#|```|\|)", lines[i].strip()) \
                    and not _LIST_ITEM.match(lines[i]):
                paragraph.append(lines[i].strip())
                i += 1
            body.append(f"<p>{inline(' '.join(paragraph))}</p>")
        else:
            i += 1
    return (f'<!doctype html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style></head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n")


@cache
def page() -> bytes:
    """The shipped runbooks, rendered once."""
    return render((resources.files("polo.slack") / "runbooks.md").read_text(encoding="utf-8")).encode()
