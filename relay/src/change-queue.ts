// One writer for mcrd's state. Rule changes and other jobs (link events, shutdown) run one at a
// time in arrival order; rule changes that queued up behind a running job are committed together
// (group commit): one table swap, one round trip to the workers and one state-file write for all,
// each still accepted or refused on its own. That is what makes pipelined single adds fast.
import type { RuleTable } from './rules.js';

export interface ChangeJob {
  /** Applies the change to `table`, or throws before touching it. Returns the caller's result. */
  mutate(table: RuleTable): unknown;
  /** Called once the change is in force (workers, state file), e.g. to log it. */
  announce?(result: unknown): void;
  resolve(result: unknown): void;
  reject(err: Error): void;
}

interface TaskJob {
  run(): Promise<unknown>;
  resolve(result: unknown): void;
  reject(err: Error): void;
}

type Job = ({ kind: 'change' } & ChangeJob) | ({ kind: 'task' } & TaskJob);

export class ChangeQueue {
  private readonly jobs: Job[] = [];
  private draining = false;

  /** commit() gets every change queued since the last one; it must settle each job. */
  constructor(private readonly commit: (batch: ChangeJob[]) => Promise<void>) {}

  change<T>(mutate: (table: RuleTable) => T, announce?: (result: T) => void): Promise<T> {
    return new Promise<T>((resolve, reject) =>
      this.push({ kind: 'change', mutate, announce: announce as ((r: unknown) => void) | undefined, resolve: resolve as (r: unknown) => void, reject }),
    );
  }

  task<T>(run: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => this.push({ kind: 'task', run, resolve: resolve as (r: unknown) => void, reject }));
  }

  private push(job: Job): void {
    this.jobs.push(job);
    if (!this.draining) void this.drain();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    // Let the requests that arrived in the same read queue up before the first commit.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.jobs.length) {
      const first = this.jobs[0];
      if (first.kind === 'task') {
        this.jobs.shift();
        try {
          first.resolve(await first.run());
        } catch (err) {
          first.reject(err as Error);
        }
        continue;
      }
      let n = 1;
      while (n < this.jobs.length && this.jobs[n].kind === 'change') n++;
      const batch = this.jobs.splice(0, n) as ChangeJob[];
      try {
        await this.commit(batch);
      } catch (err) {
        for (const job of batch) job.reject(err as Error); // settled jobs ignore a second settle
      }
    }
    this.draining = false;
  }
}
