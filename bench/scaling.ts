import { Resvg } from '@resvg/resvg-js';
import type { Throughput } from './end-to-end';

/**
 * How throughput scales with concurrency, for both pipelines: commands/s and latency at each level, and the plot
 * the docs show (an SVG drawn here, rasterized to PNG by resvg).
 */

export const SCALING_LEVELS = [1, 4, 8, 16] as const;

export interface ScalingPoint {
  readonly concurrency: number;
  readonly secure: Throughput;
  readonly baseline: Throughput;
}

/** Commands run at one concurrency: at least two per user, so each user's first command is not all there is. */
export function commandsAt(concurrency: number, perUser: number): number {
  return concurrency * perUser;
}

/** The curve as the report gives it: per level, commands/s and p50/p99 for both, and their ratio. */
export function scalingRows(points: readonly ScalingPoint[]) {
  return points.map((p) => ({
    concurrency: p.concurrency,
    secureCommandsPerSec: p.secure.commandsPerSec,
    baselineCommandsPerSec: p.baseline.commandsPerSec,
    throughputRatio: p.secure.commandsPerSec > 0 ? p.baseline.commandsPerSec / p.secure.commandsPerSec : Number.NaN,
    secureP50Ms: p.secure.latency.p50,
    secureP99Ms: p.secure.latency.p99,
    baselineP50Ms: p.baseline.latency.p50,
    baselineP99Ms: p.baseline.latency.p99,
  }));
}

const W = 720;
const H = 420;
const M = { left: 70, right: 170, top: 40, bottom: 60 };

/** Two panels' worth in one: commands/s against concurrency, one line per pipeline, with the values marked. */
export function scalingChartSvg(points: readonly ScalingPoint[], title: string): string {
  const xs = points.map((p) => p.concurrency);
  const series = [
    { name: 'plain pipeline', color: '#8a8f98', values: points.map((p) => p.baseline.commandsPerSec) },
    { name: 'AgentSec (secure)', color: '#0b4f8a', values: points.map((p) => p.secure.commandsPerSec) },
  ];
  const maxY = Math.max(1, ...series.flatMap((s) => s.values.filter(Number.isFinite))) * 1.15;
  // Concurrency doubles between levels: a log2 axis spaces them evenly.
  const lx = (c: number) => Math.log2(c);
  const [x0, x1] = [lx(Math.min(...xs)), lx(Math.max(...xs))];
  const px = (c: number) => M.left + ((lx(c) - x0) / Math.max(x1 - x0, 1)) * (W - M.left - M.right);
  const py = (v: number) => H - M.bottom - (v / maxY) * (H - M.top - M.bottom);
  const esc = (t: string) => t.replace(/[&<>]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[ch]!);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, sans-serif" font-size="13">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${M.left}" y="24" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (maxY / 4) * i;
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${py(v)}" y2="${py(v)}" stroke="#e3e6ea"/>`);
    parts.push(`<text x="${M.left - 8}" y="${py(v) + 4}" text-anchor="end">${v.toFixed(1)}</text>`);
  }
  for (const c of xs) parts.push(`<text x="${px(c)}" y="${H - M.bottom + 20}" text-anchor="middle">${c}</text>`);
  parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" stroke="#333"/>`);
  parts.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" stroke="#333"/>`);
  parts.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 18}" text-anchor="middle">concurrent users (closed loop)</text>`);
  parts.push(`<text transform="translate(18 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">commands per second</text>`);
  series.forEach((s, k) => {
    const pts = xs.map((c, i) => [px(c), py(s.values[i])] as const).filter(([, y]) => Number.isFinite(y));
    parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2.5" points="${pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}"/>`);
    pts.forEach(([x, y], i) => {
      parts.push(`<circle cx="${x}" cy="${y}" r="4" fill="${s.color}"/>`);
      // The higher line's value goes above its point, the lower line's below, so close values never overlap.
      const higher = series.every((o) => o === s || !(o.values[i] > s.values[i]));
      // The last point's value ends at its point, clear of the legend to its right.
      const anchor = i === pts.length - 1 ? `x="${x - 6}" text-anchor="end"` : `x="${x + 6}"`;
      parts.push(`<text ${anchor} y="${higher ? y - 8 : y + 18}" fill="${s.color}" font-size="11">${s.values[i].toFixed(2)}</text>`);
    });
    const ly = M.top + 20 + k * 22;
    parts.push(`<line x1="${W - M.right + 16}" x2="${W - M.right + 40}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2.5"/>`);
    parts.push(`<text x="${W - M.right + 46}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** The SVG as a PNG (resvg, the system's fonts). */
export function svgToPng(svg: string): Buffer {
  return Buffer.from(new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng());
}
