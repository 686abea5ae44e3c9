import type { Operation, Row } from "./report.js";

interface Series {
  label: string;
  points: Array<{ connections: number; perSecond: number }>;
}

const COLORS = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#9467bd",
  "#ff7f0e",
  "#8c564b",
  "#e377c2",
  "#17becf",
  "#bcbd22",
  "#7f7f7f",
  "#000000",
  "#aec7e8",
];
const LEGEND_LINE = 15;
const PANEL = { width: 440, height: 300, left: 64, right: 16, top: 36, bottom: 44 };

/** One line per server, operation, engine and worker count, from every row that has a result. */
function seriesOf(rows: Row[], operations: Operation[]): Series[] {
  const byKey = new Map<string, Series>();
  for (const row of rows) {
    if (!row.result || !operations.includes(row.operation)) continue;
    // The floors' scenarios say "(floor)" themselves.
    const label = `${row.server === "better-auth" ? "better-auth " : ""}${row.scenario}, ${row.engine}, ${row.workers}w`;
    const series = byKey.get(label) ?? { label, points: [] };
    series.points.push({ connections: row.connections, perSecond: row.result.okPerSecond });
    byKey.set(label, series);
  }
  for (const s of byKey.values()) s.points.sort((a, b) => a.connections - b.connections);
  return [...byKey.values()];
}

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A "nice" upper bound for the axis: 1, 2 or 5 times a power of ten. */
function niceMax(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * power).find((m) => m >= value)!;
}

function panel(title: string, series: Series[], offsetX: number): string {
  const { width, height, left, right, top, bottom } = PANEL;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const all = series.flatMap((s) => s.points);
  if (all.length === 0)
    return `<text x="${offsetX + width / 2}" y="${height / 2}" text-anchor="middle">${escape(title)}: no data</text>`;
  const xs = [...new Set(all.map((p) => p.connections))].sort((a, b) => a - b);
  const logMin = Math.log2(xs[0]!);
  const logSpan = Math.max(1, Math.log2(xs[xs.length - 1]!) - logMin);
  const yMax = niceMax(Math.max(...all.map((p) => p.perSecond)));
  const x = (c: number) => offsetX + left + (xs.length === 1 ? plotW / 2 : ((Math.log2(c) - logMin) / logSpan) * plotW);
  const y = (v: number) => top + plotH - (v / yMax) * plotH;

  const parts: string[] = [
    `<text x="${offsetX + left + plotW / 2}" y="20" text-anchor="middle" font-weight="bold">${escape(title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const v = (yMax * i) / 5;
    parts.push(`<line x1="${offsetX + left}" x2="${offsetX + left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    parts.push(`<text x="${offsetX + left - 6}" y="${y(v) + 4}" text-anchor="end">${Number(v.toPrecision(3))}</text>`);
  }
  for (const c of xs) parts.push(`<text x="${x(c)}" y="${top + plotH + 16}" text-anchor="middle">${c}</text>`);
  parts.push(
    `<text x="${offsetX + left + plotW / 2}" y="${height - 8}" text-anchor="middle">connections (log scale)</text>`,
  );
  parts.push(
    `<text transform="translate(${offsetX + 14} ${top + plotH / 2}) rotate(-90)" text-anchor="middle">requests/s</text>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const path = s.points.map((p) => `${x(p.connections).toFixed(1)},${y(p.perSecond).toFixed(1)}`).join(" ");
    // better-auth dashed, Warden solid.
    const dash = s.label.startsWith("better-auth") ? ` stroke-dasharray="5 3"` : "";
    if (s.points.length > 1)
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${path}"/>`);
    for (const p of s.points)
      parts.push(
        `<circle cx="${x(p.connections).toFixed(1)}" cy="${y(p.perSecond).toFixed(1)}" r="3" fill="${color}"/>`,
      );
    const legendY = height + i * LEGEND_LINE;
    parts.push(`<rect x="${offsetX + left}" y="${legendY}" width="10" height="10" fill="${color}"/>`);
    parts.push(`<text x="${offsetX + left + 14}" y="${legendY + 9}">${escape(s.label)}</text>`);
  });
  return parts.join("\n");
}

/** Throughput against concurrency: login on the left, refresh and GET /api/v1/me on the right. */
export function renderChart(rows: Row[], caption: string): string {
  const width = PANEL.width * 2;
  const login = seriesOf(rows, ["login"]);
  const tokens = seriesOf(rows, ["refresh", "me"]);
  const height = PANEL.height + Math.max(login.length, tokens.length) * LEGEND_LINE + 28;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    panel("Login (argon2id)", login, 0),
    panel("Refresh and GET /api/v1/me", tokens, PANEL.width),
    `<text x="${width / 2}" y="${height - 6}" text-anchor="middle" fill="#555">${escape(caption)}</text>`,
    `</svg>`,
  ].join("\n");
}
