// A report renders in a real browser: headless Chromium (Debian's package) draws the charts.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PNG } from 'pngjs';
import { CHROMIUM_FLAGS, findChromium } from './chromium.js';
import { afterAll, describe, expect, it } from 'vitest';
import { renderReport } from '../../harness/src/report/render.js';
import type { RunResult } from '../../harness/src/result.js';
import { sampleResult } from '../unit/sample-result.js';

const run = promisify(execFile);


const chromium = findChromium();
if (!chromium) console.warn("SKIPPED report in browser: chromium not found (apt-get install chromium)");


describe.skipIf(!chromium)('report in headless Chromium', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mcr-report-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('draws every chart with marks, and the screenshot is not blank', async () => {
    const runDir = path.join(dir, 'run');
    const result: RunResult = sampleResult();
    (await import('node:fs')).mkdirSync(runDir, { recursive: true });
    await renderReport(runDir, result);
    const page = `file://${path.join(runDir, 'report.html')}`;
    const profile = path.join(dir, 'profile');
    const { stdout: dom } = await run(chromium!, [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, '--dump-dom', page], { timeout: 60_000, maxBuffer: 64 << 20 });
    const figures = dom.match(/<figure id="chart-[a-z-]+">/g) ?? [];
    expect(figures.length).toBeGreaterThanOrEqual(4);
    // vega draws lines as <path class="..."> inside mark-line groups with a non-empty d attribute.
    expect(dom).toMatch(/class="mark-line[^"]*"[^>]*>.*?<path[^>]* d="M[0-9]/s);
    expect(dom).toMatch(/class="mark-rect[^"]*"/);

    const shot = path.join(dir, 'shot.png');
    await run(chromium!, [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, '--window-size=1200,1600', `--screenshot=${shot}`, page], { timeout: 60_000 });
    const png = PNG.sync.read(readFileSync(shot));
    const colors = new Set<number>();
    let nonWhite = 0;
    for (let i = 0; i < png.data.length; i += 4) {
      const [r, g, b] = [png.data[i], png.data[i + 1], png.data[i + 2]];
      if (r < 250 || g < 250 || b < 250) nonWhite++;
      colors.add((r << 16) | (g << 8) | b);
    }
    expect(nonWhite / (png.width * png.height)).toBeGreaterThan(0.01);
    expect(colors.size).toBeGreaterThan(20); // text, axes and coloured series, not a blank page
  }, 120_000);
});
