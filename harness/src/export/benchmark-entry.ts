// One entry of the benchmark export (github-action-benchmark's format): a named value with its unit.
export interface BenchmarkEntry { name: string; unit: string; value: number; extra: string }
