/**
 * A bar chart as a standalone SVG (no dependency, readable on GitHub): one panel per metric,
 * one bar per contender at its median, a whisker from min to max, the value printed beside it.
 */

export interface Bar {
  readonly label: string;
  readonly side: 'mmrt' | 'peer' | 'anchor';
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export interface Panel {
  readonly title: string;
  readonly unit: string;
  readonly better: 'lower' | 'higher';
  readonly bars: readonly Bar[];
}

const COLOURS = { mmrt: '#2563eb', peer: '#f59e0b', anchor: '#10b981' } as const;
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function fmt(v: number): string {
  if (!Number.isFinite(v)) return '-';
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function barChart(title: string, subtitle: string, panels: readonly Panel[]): string {
  const width = 760;
  const labelW = 270;
  const valueW = 120;
  const barH = 22;
  const gap = 8;
  const plotW = width - labelW - valueW - 20;
  let y = 56;
  const parts: string[] = [];
  for (const p of panels) {
    parts.push(
      `<text x="12" y="${y + 14}" font-weight="600">${esc(p.title)} (${esc(p.unit)}, ${p.better} is better)</text>`,
    );
    y += 24;
    const top = Math.max(...p.bars.map((b) => (Number.isFinite(b.max) ? b.max : b.median)), 1e-9);
    for (const b of p.bars) {
      const w = (v: number) => Math.max(0, (v / top) * plotW);
      const x0 = labelW;
      parts.push(
        `<text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${esc(b.label)}</text>`,
        `<rect x="${x0}" y="${y}" width="${w(b.median).toFixed(1)}" height="${barH}" fill="${COLOURS[b.side]}" rx="2"/>`,
      );
      if (Number.isFinite(b.min) && Number.isFinite(b.max) && b.max > b.min) {
        const cy = y + barH / 2;
        parts.push(
          `<line x1="${(x0 + w(b.min)).toFixed(1)}" x2="${(x0 + w(b.max)).toFixed(1)}" y1="${cy}" y2="${cy}" stroke="#111" stroke-width="1.5"/>`,
          `<line x1="${(x0 + w(b.min)).toFixed(1)}" x2="${(x0 + w(b.min)).toFixed(1)}" y1="${cy - 5}" y2="${cy + 5}" stroke="#111"/>`,
          `<line x1="${(x0 + w(b.max)).toFixed(1)}" x2="${(x0 + w(b.max)).toFixed(1)}" y1="${cy - 5}" y2="${cy + 5}" stroke="#111"/>`,
        );
      }
      parts.push(
        `<text x="${x0 + plotW + 8}" y="${y + 15}">${fmt(b.median)} <tspan fill="#666">[${fmt(b.min)}–${fmt(b.max)}]</tspan></text>`,
      );
      y += barH + gap;
    }
    y += 10;
  }
  const height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="13">`,
    `<title>${esc(title)}</title>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="12" y="22" font-size="16" font-weight="700">${esc(title)}</text>`,
    `<text x="12" y="42" fill="#555">${esc(subtitle)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
