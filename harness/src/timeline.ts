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
  /** The contender's own counters (the relay: from its Prometheus endpoint), scraped at t. */
  counters?: Record<string, number>;
}

export interface Timeline {
  /** Feed the sink's progress lines here. */
  onProgress(progress: SinkProgress): void;
  /** Stops sampling; the samples taken, once the scrapes under way are in. */
  stop(): Promise<TimelineSample[]>;
}

export function startTimeline(running: RunningContender, everySeconds: number): Timeline {
  const started = Date.now();
  const cpuAtStart = running.cpuSeconds();
  const samples: TimelineSample[] = [];
  let progress: SinkProgress | undefined;
  // One scrape at a time: a sample whose scrape would overlap the last one goes without counters.
  let scraping: Promise<void> | undefined;
  const scrape = (into: TimelineSample) => {
    if (!running.counters || scraping) return;
    scraping = running
      .counters()
      .then((c) => void (into.counters = c), () => undefined)
      .finally(() => (scraping = undefined));
  };
  const sample = () => {
    const r = running.resources?.() ?? null;
    const cpu = running.cpuSeconds();
    const s: TimelineSample = {
      t: Math.round((Date.now() - started) / 100) / 10,
      ...(r ? { rssBytes: r.rssBytes, fds: r.fds } : {}),
      ...(cpu !== null && cpuAtStart !== null ? { cpuSeconds: Math.round((cpu - cpuAtStart) * 1000) / 1000 } : {}),
      ...(progress ? { expected: progress.expected, unique: progress.unique } : {}),
    };
    samples.push(s);
    scrape(s);
  };
  const timer = setInterval(sample, everySeconds * 1000);
  return {
    onProgress: (p) => {
      progress = p;
    },
    async stop() {
      clearInterval(timer);
      await scraping;
      sample();
      await scraping;
      return samples;
    },
  };
}
