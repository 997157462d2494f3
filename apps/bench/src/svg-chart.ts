// A small line-chart writer for the bench's SVG charts: panels stacked vertically, each with linear or log
// axes, ticks, grid lines, labelled series (solid or dashed, with or without markers) and a legend. The output
// depends only on the data (fixed layout, fixed number formatting), so the same results give the same file.

export interface Axis {
  label: string;
  log?: boolean;
  /** Tick label of a value. */
  format: (value: number) => string;
}

export interface Series {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
  color: string;
  dashed?: boolean;
  markers?: boolean;
}

export interface Panel {
  title: string;
  x: Axis;
  y: Axis;
  series: readonly Series[];
}

const WIDTH = 960;
const PANEL_HEIGHT = 330;
const MARGIN = { left: 78, right: 300, top: 34, bottom: 46 };
const TITLE_HEIGHT = 36;
const FONT = 'font-family="Helvetica, Arial, sans-serif"';

/** A whole SVG document: a title, then the panels one below the other. */
export function chartSvg(title: string, panels: readonly Panel[]): string {
  const height = TITLE_HEIGHT + panels.length * PANEL_HEIGHT;
  const body = panels.map((panel, i) => `<g transform="translate(0 ${TITLE_HEIGHT + i * PANEL_HEIGHT})">\n${panelSvg(panel)}\n</g>`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ${FONT}>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="17" font-weight="bold">${escape(title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

interface Scale {
  ticks: number[];
  /** Maps a value to [0, 1] along the axis. */
  at: (value: number) => number;
}

function panelSvg(panel: Panel): string {
  const points = panel.series.flatMap((s) => s.points);
  const xs = scale(points.map((p) => p[0]), panel.x.log ?? false);
  const ys = scale(points.map((p) => p[1]), panel.y.log ?? false);
  const w = WIDTH - MARGIN.left - MARGIN.right;
  const h = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (x: number) => MARGIN.left + xs.at(x) * w;
  const py = (y: number) => MARGIN.top + (1 - ys.at(y)) * h;
  const out: string[] = [
    `<text x="${MARGIN.left}" y="20" font-size="14" font-weight="bold">${escape(panel.title)}</text>`,
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${w}" height="${h}" fill="none" stroke="#444444"/>`,
  ];
  for (const t of xs.ticks) {
    const x = num(px(t));
    out.push(`<line x1="${x}" y1="${MARGIN.top}" x2="${x}" y2="${MARGIN.top + h}" stroke="#e4e4e4"/>`);
    out.push(`<line x1="${x}" y1="${MARGIN.top + h}" x2="${x}" y2="${MARGIN.top + h + 5}" stroke="#444444"/>`);
    out.push(`<text x="${x}" y="${MARGIN.top + h + 18}" text-anchor="middle" font-size="11">${escape(panel.x.format(t))}</text>`);
  }
  for (const t of ys.ticks) {
    const y = num(py(t));
    out.push(`<line x1="${MARGIN.left}" y1="${y}" x2="${MARGIN.left + w}" y2="${y}" stroke="#e4e4e4"/>`);
    out.push(`<line x1="${MARGIN.left - 5}" y1="${y}" x2="${MARGIN.left}" y2="${y}" stroke="#444444"/>`);
    out.push(`<text x="${MARGIN.left - 8}" y="${num(py(t) + 4)}" text-anchor="end" font-size="11">${escape(panel.y.format(t))}</text>`);
  }
  const xLabel = `${panel.x.label}${panel.x.log ? ' (log scale)' : ''}`;
  const yLabel = `${panel.y.label}${panel.y.log ? ' (log scale)' : ''}`;
  out.push(`<text x="${MARGIN.left + w / 2}" y="${PANEL_HEIGHT - 8}" text-anchor="middle" font-size="12">${escape(xLabel)}</text>`);
  const middle = MARGIN.top + h / 2;
  out.push(`<text x="16" y="${middle}" text-anchor="middle" font-size="12" transform="rotate(-90 16 ${middle})">${escape(yLabel)}</text>`);
  for (const s of panel.series) {
    const path = s.points.map(([x, y]) => `${num(px(x))},${num(py(y))}`).join(' ');
    const dash = s.dashed ? ' stroke-dasharray="7 4"' : '';
    out.push(`<polyline points="${path}" fill="none" stroke="${s.color}" stroke-width="1.6"${dash}/>`);
    if (s.markers) for (const [x, y] of s.points) out.push(`<circle cx="${num(px(x))}" cy="${num(py(y))}" r="3.2" fill="${s.color}"/>`);
  }
  out.push(legend(panel.series, MARGIN.left + w + 16, MARGIN.top));
  return out.join('\n');
}

function legend(series: readonly Series[], x: number, y: number): string {
  return series
    .map((s, i) => {
      const row = y + 8 + i * 20;
      const dash = s.dashed ? ' stroke-dasharray="7 4"' : '';
      return (
        `<line x1="${x}" y1="${row}" x2="${x + 26}" y2="${row}" stroke="${s.color}" stroke-width="2"${dash}/>` +
        (s.markers ? `<circle cx="${x + 13}" cy="${row}" r="3.2" fill="${s.color}"/>` : '') +
        `<text x="${x + 34}" y="${row + 4}" font-size="12">${escape(s.name)}</text>`
      );
    })
    .join('\n');
}

/** Linear axes get 4–8 ticks at 1, 2 or 5 times a power of ten; log axes one tick per decade (every other one past 8). */
function scale(values: readonly number[], log: boolean): Scale {
  const finite = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  if (finite.length === 0) throw new Error('a chart panel has no value to plot');
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  if (log) {
    const lo = Math.floor(Math.log10(min));
    const hi = Math.max(lo + 1, Math.ceil(Math.log10(max)));
    const every = hi - lo > 8 ? 2 : 1;
    const ticks: number[] = [];
    for (let d = lo; d <= hi; d += every) ticks.push(10 ** d);
    return { ticks, at: (v) => (Math.log10(v) - lo) / (hi - lo) };
  }
  const step = niceStep((max - Math.min(0, min)) / 6);
  const lo = Math.floor(Math.min(0, min) / step) * step;
  const hi = Math.max(lo + step, Math.ceil(max / step) * step);
  const ticks: number[] = [];
  for (let t = lo; t <= hi + step / 2; t += step) ticks.push(Number(t.toPrecision(12)));
  return { ticks, at: (v) => (v - lo) / (hi - lo) };
}

function niceStep(rough: number): number {
  const power = 10 ** Math.floor(Math.log10(rough));
  const fraction = rough / power;
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
}

/** Coordinates with one decimal: enough for a chart, and stable across runs of the same data. */
function num(value: number): string {
  return value.toFixed(1);
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
