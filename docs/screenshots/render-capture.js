#!/usr/bin/env node
// Renders a tmux capture with its colours (`tmux capture-pane -e -p > capture.txt`) to a PNG,
// through Chromium (playwright-core): how docs/screenshots/terminal-client.png is made.
//   node docs/screenshots/render-capture.js capture.txt out.png [/usr/bin/chromium]
'use strict';
const fs = require('node:fs');
const { chromium } = require('playwright-core');

const COLOURS = {
  30: '#3b3b3b', 31: '#e06c75', 32: '#98c379', 33: '#e5c07b', 34: '#61afef', 35: '#c678dd', 36: '#56b6c2', 37: '#dcdfe4',
  90: '#7f848e', 91: '#ff7a85', 92: '#b5e890', 93: '#ffd68a', 94: '#7cc5ff', 95: '#e59cff', 96: '#7fdbe6', 97: '#ffffff',
};
const escapeHtml = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** ANSI SGR sequences to HTML spans; other sequences are dropped. */
function toHtml(text) {
  let out = '';
  let style = { bold: false, dim: false, colour: null };
  let open = false;
  const parts = text.split(/(\x1b\[[0-9;]*[A-Za-z])/);
  for (const part of parts) {
    const sgr = /^\x1b\[([0-9;]*)m$/.exec(part);
    if (sgr) {
      for (const code of (sgr[1] || '0').split(';').map(Number)) {
        if (code === 0 || code === 22 || code === 39) style = code === 0 ? { bold: false, dim: false, colour: null } : code === 39 ? { ...style, colour: null } : { ...style, bold: false, dim: false };
        else if (code === 1) style.bold = true;
        else if (code === 2) style.dim = true;
        else if (COLOURS[code]) style.colour = COLOURS[code];
      }
      if (open) out += '</span>';
      const css = [style.colour ? `color:${style.colour}` : '', style.bold ? 'font-weight:bold' : '', style.dim ? 'opacity:0.6' : ''].filter(Boolean).join(';');
      out += `<span style="${css}">`;
      open = true;
    } else if (!part.startsWith('\x1b')) {
      out += escapeHtml(part);
    }
  }
  return out + (open ? '</span>' : '');
}

async function main() {
  const [input, output, executablePath = '/usr/bin/chromium'] = process.argv.slice(2);
  const capture = fs.readFileSync(input, 'utf8').replace(/\n+$/, '');
  const html = `<!doctype html><meta charset="utf-8"><body style="margin:0;background:#1e2127">
<pre id="t" style="display:inline-block;margin:0;padding:12px 16px;font:14px/1.35 'DejaVu Sans Mono',monospace;color:#dcdfe4;background:#1e2127">${toHtml(capture)}</pre>`;
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ deviceScaleFactor: 1 });
    await page.setContent(html);
    await page.locator('#t').screenshot({ path: output });
  } finally {
    await browser.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
