/**
 * A flame graph as one self-contained SVG, written by hand: no script, no fonts or styles
 * from elsewhere, so it shows the same in a browser, in an <img> on GitHub and in converters.
 * The root is at the top and each frame hangs under its caller (an "icicle" layout): Node's
 * require chains make stacks 100-170 frames deep, and this way the wide frames that matter are
 * next to the heading, with the thin towers of start-up trailing below. A frame's width is its
 * share of the busy samples; hovering it shows its function, file:line and shares.
 */
import { frameKind, frameLocation, frameName, ROOT, type CallFrame, type FrameKind } from './cpu-profile';
import { percent } from './profile-summary';
import type { FlameNode, ProfileShape } from './profile-tree';

export interface FlameGraphText {
  title: string;
  /** Lines under the title: the file, role and what was sampled. */
  lines: string[];
}

const WIDTH = 1200;
const SIDE = 10;
const ROW = 17;
const FRAME_HEIGHT = 16;
const FONT_SIZE = 11;
/** Monospace at 11 px is 0.6 em a character: labels are cut to what fits without measuring. */
const CHAR_WIDTH = FONT_SIZE * 0.6;
/** Narrower frames are not drawn: invisible, and they would make the file large. */
const MIN_FRAME_WIDTH = 0.3;
/** A frame is labelled if at least this many characters fit. */
const MIN_LABEL_CHARS = 3;

/** Hue ranges per kind of code; lightness and hue vary within by the name, so neighbours differ. */
const PALETTE: Record<FrameKind, { hue: [number, number]; saturation: number; legend: string }> = {
  app: { hue: [10, 45], saturation: 80, legend: 'application JS' },
  dependency: { hue: [85, 130], saturation: 50, legend: 'node_modules' },
  node: { hue: [195, 225], saturation: 55, legend: 'Node internals (node:)' },
  native: { hue: [265, 290], saturation: 40, legend: 'native (C++ bindings, builtins)' },
  vm: { hue: [0, 0], saturation: 0, legend: 'V8: (program), (garbage collector)' },
};

export function escapeXml(text: string): string {
  return (
    text
      // Control characters are not allowed in XML 1.0 at all, escaped or not.
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
  );
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return (h >>> 0) / 0xffffffff;
}

function frameColor(frame: CallFrame): string {
  const kind = frameKind(frame);
  const { hue, saturation } = PALETTE[kind];
  const t = hash(frameName(frame));
  if (kind === 'vm') return frame.functionName === ROOT ? 'hsl(0,0%,82%)' : `hsl(0,0%,${(62 + 12 * t).toFixed(0)}%)`;
  return `hsl(${(hue[0] + (hue[1] - hue[0]) * t).toFixed(0)},${saturation}%,${(60 + 12 * hash(frame.url + frame.functionName)).toFixed(0)}%)`;
}

function label(name: string, width: number): string {
  const fits = Math.floor((width - 6) / CHAR_WIDTH);
  if (fits < MIN_LABEL_CHARS) return '';
  return name.length <= fits ? name : `${name.slice(0, fits - 2)}..`;
}

interface Placed {
  node: FlameNode;
  x: number;
  width: number;
  depth: number;
}

/** Lays the tree out left to right, children inside their parent's span, skipping slivers. */
function place(root: FlameNode, plotWidth: number): Placed[] {
  const placed: Placed[] = [];
  const scale = root.total > 0 ? plotWidth / root.total : 0;
  const walk = (node: FlameNode, x: number, depth: number): void => {
    const width = node.total * scale;
    if (width < MIN_FRAME_WIDTH) return;
    placed.push({ node, x, width, depth });
    // Self samples are the gap at the right of the children; children start at the left edge.
    let childX = x;
    for (const child of node.children) {
      walk(child, childX, depth + 1);
      childX += child.total * scale;
    }
  };
  walk(root, SIDE, 0);
  return placed;
}

function tooltip(node: FlameNode, busy: number, cwd: string): string {
  if (node.frame.functionName === ROOT) return `all busy samples: ${node.total.toLocaleString('en-US')} (idle left out)`;
  const where = frameLocation(node.frame, cwd) || (frameKind(node.frame) === 'vm' ? 'V8' : 'native');
  return `${frameName(node.frame)} (${where}): ${percent(node.total, busy)} % of busy samples (${node.total.toLocaleString('en-US')}), self ${percent(node.self, busy)} %`;
}

/** The SVG document for a profile's busy call tree. */
export function renderFlameGraph(shape: ProfileShape, text: FlameGraphText, cwd = process.cwd()): string {
  const placed = place(shape.root, WIDTH - 2 * SIDE);
  const depth = placed.reduce((d, p) => Math.max(d, p.depth), 0);
  const headerHeight = 34 + 16 * text.lines.length + 24;
  const plotTop = headerHeight;
  const height = plotTop + (depth + 1) * ROW + 12;
  const busy = shape.root.total;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="monospace" font-size="${FONT_SIZE}">`);
  out.push(`<rect width="${WIDTH}" height="${height}" fill="#fdfdf8"/>`);
  out.push(`<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-family="sans-serif" font-size="16" font-weight="bold">${escapeXml(text.title)}</text>`);
  text.lines.forEach((line, i) => {
    out.push(`<text x="${WIDTH / 2}" y="${44 + 16 * i}" text-anchor="middle" font-family="sans-serif" font-size="12" fill="#333">${escapeXml(line)}</text>`);
  });
  let legendX = SIDE;
  const legendY = 34 + 16 * text.lines.length + 8;
  for (const kind of Object.keys(PALETTE) as FrameKind[]) {
    const sample = kind === 'vm' ? 'hsl(0,0%,68%)' : `hsl(${(PALETTE[kind].hue[0] + PALETTE[kind].hue[1]) / 2},${PALETTE[kind].saturation}%,66%)`;
    out.push(`<rect x="${legendX}" y="${legendY - 9}" width="10" height="10" fill="${sample}"/>`);
    out.push(`<text x="${legendX + 14}" y="${legendY}" font-family="sans-serif" fill="#333">${escapeXml(PALETTE[kind].legend)}</text>`);
    legendX += 14 + PALETTE[kind].legend.length * 5.7 + 20;
  }
  for (const p of placed) {
    const y = plotTop + p.depth * ROW;
    const name = p.node.frame.functionName === ROOT ? 'all' : frameName(p.node.frame);
    const shown = label(name, p.width);
    out.push(
      `<g><title>${escapeXml(tooltip(p.node, busy, cwd))}</title>` +
        `<rect x="${p.x.toFixed(2)}" y="${y}" width="${p.width.toFixed(2)}" height="${FRAME_HEIGHT}" rx="2" fill="${frameColor(p.node.frame)}"/>` +
        (shown ? `<text x="${(p.x + 3).toFixed(2)}" y="${y + 12}">${escapeXml(shown)}</text>` : '') +
        '</g>',
    );
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
