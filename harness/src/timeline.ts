// A contender's resources and the sink's counts sampled while a long step runs (soak): what a
// leak or a slow loss looks like over time, and what the soak verdict reads.
import type { RunningContender } from './contenders/types.js';
import type { SinkProgress } from './sink.js';

export interface TimelineSample {
  /** Seconds since the generator started. */
  t: number;
  /** The contender's processes (absent where not attributable). */
  rssBytes?: number;
  fds?: number;
  /** CPU seconds used since the generator started. */
  cpuSeconds?: number;
  /** The sink's latest counts, all streams: packets known to exist so far, and distinct ones received. */
  expected?: number;
  unique?: number;
}

export interface Timeline {
  /** Feed the sink's progress lines here. */
  onProgress(progress: SinkProgress): void;
  /** Stops sampling; the samples taken. */
  stop(): TimelineSample[];
}

export function startTimeline(running: RunningContender, everySeconds: number): Timeline {
  const started = Date.now();
  const cpuAtStart = running.cpuSeconds();
  const samples: TimelineSample[] = [];
  let progress: SinkProgress | undefined;
  const sample = () => {
    const r = running.resources?.() ?? null;
    const cpu = running.cpuSeconds();
    samples.push({
      t: Math.round((Date.now() - started) / 100) / 10,
      ...(r ? { rssBytes: r.rssBytes, fds: r.fds } : {}),
      ...(cpu !== null && cpuAtStart !== null ? { cpuSeconds: Math.round((cpu - cpuAtStart) * 1000) / 1000 } : {}),
      ...(progress ? { expected: progress.expected, unique: progress.unique } : {}),
    });
  };
  const timer = setInterval(sample, everySeconds * 1000);
  return {
    onProgress: (p) => {
      progress = p;
    },
    stop() {
      clearInterval(timer);
      sample();
      return samples;
    },
  };
}
