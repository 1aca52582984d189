// Reading the Prometheus text format mcrd serves: a family's samples summed over their labels.
// (Exposition format: `name{labels} value [timestamp]`, comments start with '#'.)

/** For each family name, the sum of its samples in `text` (0 when it has none). */
export function sumFamilies<K extends string>(text: string, families: Record<K, string>): Record<K, number> {
  const wanted = new Map(Object.entries(families).map(([key, name]) => [name as string, key as K]));
  const sums = Object.fromEntries(Object.keys(families).map((k) => [k, 0])) as Record<K, number>;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const name = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(line)?.[0];
    const key = name === undefined ? undefined : wanted.get(name);
    if (key === undefined) continue;
    // The value follows the closing brace of the labels (which may hold spaces), or the name.
    const rest = line.slice(line.lastIndexOf('}') + 1 || name!.length).trim().split(/\s+/)[0];
    const value = Number(rest);
    if (Number.isFinite(value)) sums[key] += value;
  }
  return sums;
}
