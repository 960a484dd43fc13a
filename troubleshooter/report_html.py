"""The incident report (`reportdoc.Report`) as one self-contained HTML file.

No script, no external resource (the Content-Security-Policy forbids both), so it opens offline
and can be mailed or attached as is. Readable on a phone (tables scroll inside their box, text
wraps) and in print (no colours that waste ink, no page break inside a table row).
"""

from __future__ import annotations

from html import escape

from troubleshooter.reportdoc import Block, Bullets, Facts, Para, Report, Section, Table

_CSS = """
:root { color-scheme: light; --fg: #1d2330; --muted: #5b6475; --line: #d8dce3;
        --bad: #b42318; --ok: #067647; --warn: #b54708; }
* { box-sizing: border-box; }
body { font: 16px/1.5 -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
       color: var(--fg); margin: 0 auto; padding: 1rem; max-width: 60rem; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; overflow-wrap: anywhere; }
h2 { font-size: 1.2rem; margin: 1.75rem 0 .5rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.25rem 0 .4rem; }
p, li, dd { overflow-wrap: anywhere; }
td, th { overflow-wrap: break-word; }
.status { display: inline-block; padding: .1rem .6rem; border-radius: 1rem; font-weight: 600;
          border: 1px solid currentColor; }
.status-problems { color: var(--bad); } .status-healthy { color: var(--ok); }
.status-incomplete { color: var(--warn); }
#diagnosis { border-left: 4px solid var(--bad); padding: .25rem 1rem; background: #fef3f2; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0; }
dt { font-weight: 600; color: var(--muted); }
dd { margin: 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; vertical-align: top; padding: .3rem .5rem;
         border-bottom: 1px solid var(--line); }
th { color: var(--muted); }
td:first-child { white-space: nowrap; }
/* A phone: each table row becomes a card of "label value" lines. */
@media (max-width: 40rem) {
  body { font-size: 15px; padding: .75rem; }
  dl { grid-template-columns: 1fr; } dt { margin-top: .4rem; }
  table, tbody, tr, td { display: block; width: 100%; }
  thead { display: none; }
  tr { border-bottom: 1px solid var(--line); padding: .35rem 0; }
  td { border: 0; padding: .05rem 0; white-space: normal; }
  td::before { content: attr(data-label) ": "; color: var(--muted); font-weight: 600; }
}
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  #diagnosis { background: none; }
  .scroll { overflow: visible; }
  tr, li { page-break-inside: avoid; break-inside: avoid; }
  h2, h3 { page-break-after: avoid; break-after: avoid; }
}
"""


def html(report: Report) -> str:
    body = [f"<h1>{escape(report.title)}</h1>",
            f'<p><span class="status status-{escape(report.status)}">'
            f"{escape(report.status)}</span></p>"]
    body += [_section(s) for s in report.sections]
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<meta http-equiv=\"Content-Security-Policy\" "
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        f"<title>{escape(report.title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body) + "\n</body>\n</html>\n"
    )


def _section(section: Section) -> str:
    anchor = f' id="{escape(section.anchor)}"' if section.anchor else ""
    tag = f"h{section.level}"
    inner = "\n".join(_block(b) for b in section.blocks)
    return f"<section{anchor}>\n<{tag}>{escape(section.title)}</{tag}>\n{inner}\n</section>"


def _block(block: Block) -> str:
    if isinstance(block, Para):
        text = escape(block.text)
        return f"<p><strong>{text}</strong></p>" if block.strong else f"<p>{text}</p>"
    if isinstance(block, Facts):
        return "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>"
                                for k, v in block.items) + "</dl>"
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in block.items) + "</ul>"
    return _table(block)


def _table(table: Table) -> str:
    head = "".join(f"<th scope=\"col\">{escape(h)}</th>" for h in table.headers)
    rows = "".join("<tr>" + "".join(f'<td data-label="{escape(h)}">{escape(c)}</td>'
                                    for h, c in zip(table.headers, row, strict=False)) + "</tr>"
                   for row in table.rows)
    return (f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table></div>")
