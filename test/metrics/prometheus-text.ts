/**
 * A strict parser of the Prometheus text exposition format (0.0.4), for tests: every line must
 * be a HELP, a TYPE or a sample of a declared family; names, labels, escapes and values are
 * checked; histograms must have cumulative buckets ending in +Inf equal to their _count.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
  /** Sum of the samples named `name` whose labels include `labels`. */
  sum(name: string, labels?: Record<string, string>): number;
}

/** The sum of `name`'s samples in a Warden's /metrics, read through the app as Prometheus reads it. */
export async function scrapeSum(
  app: { inject(options: { url: string }): Promise<{ statusCode: number; body: string }> },
  name: string,
  labels?: Record<string, string>,
): Promise<number> {
  const response = await app.inject({ url: "/metrics" });
  if (response.statusCode !== 200) throw new Error(`/metrics answered ${response.statusCode}`);
  return parsePrometheusText(response.body).sum(name, labels);
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function parseValue(text: string, line: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value "${text}" in: ${line}`);
  return Number(text);
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    if (eq < 0) throw new Error(`bad labels in: ${line}`);
    const name = text.slice(i, eq);
    if (!LABEL.test(name) || name in labels) throw new Error(`bad label name "${name}" in: ${line}`);
    if (text[eq + 1] !== '"') throw new Error(`unquoted label value in: ${line}`);
    let value = "";
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === "\\") {
        const next = text[++j];
        if (next === "n") value += "\n";
        else if (next === "\\" || next === '"') value += next;
        else throw new Error(`bad escape in: ${line}`);
      } else if (text[j] === "\n") throw new Error(`raw newline in: ${line}`);
      else value += text[j];
    }
    if (text[j] !== '"') throw new Error(`unterminated label value in: ${line}`);
    labels[name] = value;
    i = j + 1;
    if (i < text.length) {
      if (text[i] !== ",") throw new Error(`expected , between labels in: ${line}`);
      i++;
    }
  }
  return labels;
}

function familyOf(name: string, types: Map<string, string>): string | undefined {
  if (types.has(name)) return name;
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    const base = name.endsWith(suffix) ? name.slice(0, -suffix.length) : undefined;
    if (base && (types.get(base) === "histogram" || types.get(base) === "summary")) return base;
  }
  return undefined;
}

export function parsePrometheusText(text: string): Exposition {
  if (!text.endsWith("\n")) throw new Error("the exposition must end with a newline");
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  const seen = new Set<string>();
  for (const line of text.slice(0, -1).split("\n")) {
    if (line === "") continue;
    if (line.startsWith("#")) {
      const match = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      if (!match) {
        if (/^# (HELP|TYPE)/.test(line)) throw new Error(`bad comment: ${line}`);
        continue;
      }
      const [, kind, name, rest] = match;
      if (!NAME.test(name!)) throw new Error(`bad metric name: ${line}`);
      if (kind === "TYPE") {
        if (!TYPES.has(rest!) || types.has(name!)) throw new Error(`bad or repeated TYPE: ${line}`);
        types.set(name!, rest!);
      } else {
        if (helps.has(name!)) throw new Error(`repeated HELP: ${line}`);
        helps.add(name!);
      }
      continue;
    }
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    if (!match) throw new Error(`bad sample line: ${line}`);
    const [, name, labelText, valueText] = match;
    if (!familyOf(name!, types)) throw new Error(`sample of an undeclared family: ${line}`);
    const labels = labelText ? parseLabels(labelText, line) : {};
    const key = `${name}{${Object.entries(labels)
      .sort()
      .map(([k, v]) => `${k}=${v}`)
      .join(",")}}`;
    if (seen.has(key)) throw new Error(`duplicate sample: ${line}`);
    seen.add(key);
    samples.push({ name: name!, labels, value: parseValue(valueText!, line) });
  }
  checkHistograms(types, samples);
  return {
    types,
    samples,
    sum: (name, labels = {}) =>
      samples
        .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((total, s) => total + s.value, 0),
  };
}

function checkHistograms(types: Map<string, string>, samples: Sample[]): void {
  for (const [family, type] of types) {
    if (type !== "histogram") continue;
    const series = new Map<string, { buckets: Array<[number, number]>; count?: number }>();
    const keyOf = (labels: Record<string, string>) =>
      JSON.stringify(
        Object.entries(labels)
          .filter(([k]) => k !== "le")
          .sort(),
      );
    for (const s of samples) {
      if (s.name === `${family}_bucket`) {
        if (s.labels.le === undefined) throw new Error(`${family}_bucket without le`);
        const entry = series.get(keyOf(s.labels)) ?? { buckets: [] };
        entry.buckets.push([parseValue(s.labels.le, s.name), s.value]);
        series.set(keyOf(s.labels), entry);
      } else if (s.name === `${family}_count`) {
        const entry = series.get(keyOf(s.labels)) ?? { buckets: [] };
        entry.count = s.value;
        series.set(keyOf(s.labels), entry);
      }
    }
    for (const [key, { buckets, count }] of series) {
      const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
      if (sorted.at(-1)?.[0] !== Infinity) throw new Error(`${family}${key}: no +Inf bucket`);
      for (let i = 1; i < sorted.length; i++)
        if (sorted[i]![1] < sorted[i - 1]![1]) throw new Error(`${family}${key}: buckets not cumulative`);
      if (sorted.at(-1)![1] !== count) throw new Error(`${family}${key}: +Inf bucket differs from _count`);
    }
  }
}
