// Where a long run is: one status line, redrawn on a terminal, printed per event otherwise.

export class Progress {
  private readonly started = Date.now();
  private readonly tty = process.stderr.isTTY === true;
  private done = 0;
  private lastLine = '';

  constructor(private readonly total: number, private readonly quiet = false) {}

  private elapsed(): number {
    return (Date.now() - this.started) / 1000;
  }

  /** Announces the unit of work about to start. */
  update(what: string): void {
    if (this.quiet) return;
    const elapsed = this.elapsed();
    const eta = this.done > 0 ? ` eta ~${Math.round((elapsed / this.done) * (this.total - this.done))}s` : '';
    const line = `[${this.done + 1}/${this.total}] ${what}  elapsed ${Math.round(elapsed)}s${eta}`;
    if (this.tty) process.stderr.write(`\r\x1b[2K${line}`);
    else process.stderr.write(`${line}\n`);
    this.lastLine = line;
  }

  /** Marks the current unit done. */
  tick(): void {
    this.done++;
  }

  /** Prints a message without garbling the status line. */
  note(message: string): void {
    if (this.quiet) return;
    if (this.tty) process.stderr.write(`\r\x1b[2K${message}\n${this.lastLine}`);
    else process.stderr.write(`${message}\n`);
  }

  finish(): void {
    if (this.quiet) return;
    if (this.tty) process.stderr.write('\r\x1b[2K');
    process.stderr.write(`finished ${this.done}/${this.total} in ${Math.round(this.elapsed())}s\n`);
  }
}
