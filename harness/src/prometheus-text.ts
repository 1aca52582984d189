// Reading the Prometheus text format mcrd serves (`name{labels} value [timestamp]`, comments
// start with '#'): its samples, and a family's samples summed.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Every sample line of a text exposition; throws on a line that is neither a sample nor a comment. */
export function parseSamples(text: string): Sample[] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      // Greedy labels: a label value may hold '}'.
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)(?: -?\d+)?$/.exec(l);
      if (!m) throw new Error(`not a sample line: ${l}`);
      const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
      return { name: m[1], labels, value: Number(m[3]) };
    });
}

/** Sum of a family's samples whose labels include `where`; undefined when there is none. */
export function sumSamples(all: Sample[], name: string, where: Record<string, string> = {}): number | undefined {
  const hits = all.filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v));
  return hits.length ? hits.reduce((n, s) => n + s.value, 0) : undefined;
}

/** For each family name, the sum of its samples in `text` (0 when it has none). */
export function sumFamilies<K extends string>(text: string, families: Record<K, string>): Record<K, number> {
  const all = parseSamples(text);
  return Object.fromEntries(Object.entries(families).map(([key, name]) => [key, sumSamples(all, name as string) ?? 0])) as Record<K, number>;
}
