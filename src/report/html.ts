// A self-contained HTML page (inline CSS and inline SVG charts, no script and no network) for reports.
/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A rendered chart placed on a page: its id (the figure's id), caption and SVG document. */
export interface Figure { id: string; caption: string; svg: string }

const CSS = `body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}figure{margin:1.5em 0}figcaption{font-size:.9em;color:#555}
p.claim{background:#f6f6f6;padding:.6em;border-left:4px solid #888}code{font-size:.9em}`;

/** A figure element holding the chart's SVG inline (the XML prolog, if any, dropped). */
export function figureHtml(f: Figure): string {
  const svg = f.svg.replace(/^<\?xml[^>]*>\s*/, '');
  return `<figure id="${escapeHtml(f.id)}" class="chart">\n${svg}\n<figcaption>${escapeHtml(f.caption)}</figcaption>\n</figure>`;
}

/** A whole page: title and body HTML (already escaped where needed). */
export function pageHtml(title: string, body: string): string {
  return `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>${escapeHtml(title)}</title>\n` +
    `<style>${CSS}</style>\n</head>\n<body>\n<h1>${escapeHtml(title)}</h1>\n${body}\n</body>\n</html>\n`;
}
