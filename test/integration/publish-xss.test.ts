// A published site is safe whatever the results folder holds: result.json with script in every
// string field (and in numbers the code accepts as strings), a report.html, SVGs and a junit.xml
// carrying script, and run directories whose names are markup or a javascript: URL. The site is
// published and every page a browser would run (.html, .svg, .xml) is opened in headless Chromium.
// A payload that runs marks the document (data-xss) and calls a local beacon server; the test
// asserts neither happened, that no page holds a raw <script or on...= handler, and that every
// link stays inside the site. Last, a result.json with a field of the wrong type must cost its
// own run, not the whole publish.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withCsp } from '../../harness/src/publish/csp.js';
import { RESULT_SCHEMA, type RunResult } from '../../harness/src/result.js';
import { projectRoot } from '../../relay/src/api.js';
import { sampleResult } from '../unit/sample-result.js';
import { CHROMIUM_FLAGS, findChromium } from './chromium.js';

const run = promisify(execFile);
const CLI = path.join(projectRoot, 'dist', 'harness', 'src', 'cli', 'publish-results.js');

const chromium = findChromium();
if (!chromium) console.warn('SKIPPED published site against script injection: chromium not found (apt-get install chromium)');

const tmp = mkdtempSync(path.join(os.tmpdir(), 'mcr-publish-xss-'));
const hits: string[] = [];
const beacon = http.createServer((req, res) => {
  hits.push(req.url ?? '');
  res.end();
});
let base = '';
beforeAll(async () => {
  await new Promise<void>((resolve) => beacon.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(beacon.address() as AddressInfo).port}`;
});
afterAll(() => {
  beacon.close();
  rmSync(tmp, { recursive: true, force: true });
});

// The marker is built at run time ('data-x' + 'ss'), so the escaped payload's text never contains it.
const mark = (tag: string) => `document.documentElement.setAttribute('data-x'+'ss','${tag}')`;

/** Script in every context a value may land in: text, a quoted attribute (either quote), an element. */
function payload(tag: string): string {
  return `"'><script>${mark(tag)};fetch('${base}/script/${tag}')</script><img src="${base}/img/${tag}" onerror="${mark(tag)}">`;
}

/** Every string in value replaced by a payload naming its path, except the keys in keep. */
function poison(value: unknown, where: string, keep: Set<string>): unknown {
  if (typeof value === 'string') return payload(where);
  if (Array.isArray(value)) return value.map((v, i) => poison(v, `${where}.${i}`, keep));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, keep.has(k) ? v : poison(v, `${where}.${k}`, keep)]));
  }
  return value;
}

const SCRIPTED_HTML = () => `<!doctype html><html><head><title>r</title><script>${mark('copied-html')};fetch('${base}/copied-html')</script></head><body><img src="${base}/copied-html-img" onerror="${mark('copied-html-img')}"></body></html>`;
const SCRIPTED_SVG = (tag: string) => `<svg xmlns="http://www.w3.org/2000/svg" onload="${mark(`${tag}-onload`)}"><script>${mark(tag)};fetch('${base}/${tag}')</script><image href="${base}/${tag}-image"/></svg>`;
const SCRIPTED_XML = () => `<?xml version="1.0"?><testsuites xmlns:h="http://www.w3.org/1999/xhtml"><h:script>${mark('junit')};fetch('${base}/junit')</h:script></testsuites>`;

/** A run as a test machine might leave it: the result, plus a report, charts and gate files of its own making. */
function writeRun(results: string, dir: string, result: unknown, extra: Record<string, string> = {}): void {
  const at = path.join(results, dir);
  mkdirSync(at, { recursive: true });
  writeFileSync(path.join(at, 'result.json'), JSON.stringify(result, null, 2));
  const files: Record<string, string> = {
    'report.html': SCRIPTED_HTML(),
    'report.md': `# r\n\n${payload('report-md')}\n`,
    'loss.svg': SCRIPTED_SVG('copied-chart-svg'),
    'extra.svg': SCRIPTED_SVG('copied-extra-svg'),
    'junit.xml': SCRIPTED_XML(),
    ...extra,
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(at, name), text);
}

/** Every file under dir, relative to it. */
function walk(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(dir, path.join(rel, d.name)) : [path.join(rel, d.name)]));
}

/**
 * The href and src attributes of a serialized DOM's elements. Serialized, text holds no raw '<'
 * and attribute values no raw '"', so a tag is '<name' followed by name="value" pairs.
 */
function links(dom: string): string[] {
  const tags = dom.matchAll(/<[A-Za-z][\w:-]*((?:\s+[^\s"'>\/=]+(?:="[^"]*")?)*)\s*\/?>/g);
  return [...tags].flatMap((t) => [...t[1].matchAll(/\s(?:xlink:)?(?:href|src)="([^"]*)"/g)].map((a) => a[1].replace(/&quot;/g, '"').replace(/&amp;/g, '&')));
}

async function dumpDom(file: string, profile: string): Promise<string> {
  const { stdout } = await run(chromium!, [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, '--virtual-time-budget=2000', '--dump-dom', pathToFileURL(file).href], { timeout: 60_000, maxBuffer: 64 << 20 });
  return stdout;
}

describe.skipIf(!chromium)('a published site runs no script from the results it was built from', () => {
  it('result.json with script in every string, scripted report.html/.svg/junit.xml, hostile directory names', async () => {
    const results = path.join(tmp, 'results');
    const sample = sampleResult({ latencyUs: 40 }) as unknown as Record<string, unknown>;
    const fixed = { schema: RESULT_SCHEMA, schemaVersion: sample.schemaVersion };

    // Every string, every one: the renderer sees no contender, chart or topology it knows.
    const everything = { ...(poison(sample, 'all', new Set()) as object), ...fixed };
    writeRun(results, `x"><img src=x onerror=${mark('dir')}>\x1b]0;terminal title\x07`, everything);

    // Every string but the few that pick a code path (contender, chart names...), so the relay's
    // rows, the charts and the calibration line are drawn; numbers read as text are strings here.
    const keep = new Set(['contender', 'series', 'status', 'sinkJoined', 'charts', 'topology', 'fanout', 'startedAt', 'finishedAt']);
    const paths = poison(sample, 'some', keep) as RunResult;
    const numbersAsText = paths as unknown as {
      calibration: Record<string, unknown>;
      steps: { runs: { aggregate?: Record<string, unknown> }[] }[];
    };
    // Keys are strings too: a parameter and a tool named as script.
    paths.parameters = { ...paths.parameters, [payload('parameter-key')]: payload('parameter-value') };
    paths.environment.tools = { ...paths.environment.tools, [payload('tool-key')]: null };
    numbersAsText.calibration.ratePps = payload('calibration-ratePps');
    numbersAsText.calibration.size = payload('calibration-size');
    for (const step of numbersAsText.steps) for (const r of step.runs) if (r.aggregate) r.aggregate.duplicates = payload('aggregate-duplicates');
    const benchmark = [{ name: payload('benchmark-name'), unit: payload('benchmark-unit'), value: 1 }];
    writeRun(results, `javascript:${mark('href')}`, { ...paths, ...fixed }, {
      'benchmark.json': JSON.stringify(benchmark),
      'gate.json': JSON.stringify({ verdict: payload('gate-verdict'), checks: [] }),
    });

    // A result the renderer cannot draw (a number that is null): its report is a page saying so.
    const broken = { ...(structuredClone(paths) as object), ...fixed, calibration: { size: 1, ratePps: null, streams: 1, threads: 1 } };
    writeRun(results, `broken-"'><i onmouseover=${mark('broken-dir')}>`, broken);

    const site = path.join(tmp, 'site');
    const out = await execa(process.execPath, [CLI, site, '--from', results], { reject: false, cwd: projectRoot });
    expect(out.exitCode, out.stderr).toBe(0);
    // The directory's name is printed, its escape sequence shown, not sent to the terminal.
    expect(out.stderr).toContain('\\x1b]0;terminal title\\x07');
    expect(out.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);

    const files = walk(site);
    const pages = files.filter((f) => /\.(html?|svg|xml|xhtml)$/i.test(f));
    expect(pages).toContain('index.html');
    expect(pages.filter((f) => f.startsWith('trends/')).length).toBeGreaterThanOrEqual(1);
    expect(pages.filter((f) => f.endsWith('/report.html')).length).toBe(3);
    expect(out.stderr).toMatch(/broken-.*no report: its result\.json could not be rendered/);
    // GitHub Pages serves the site as it is, not through Jekyll (which would render report.md).
    expect(files).toContain('.nojekyll');

    const profile = path.join(tmp, 'profile');
    const escaped: string[] = [];
    const shown = new Map<string, string>();
    for (const page of pages) {
      const file = path.join(site, page);
      const source = readFileSync(file, 'utf8');
      shown.set(page, source);
      // Escaped, a payload is text: no element of it survives (the site's own pages use none of these).
      const element = /<(?:[a-z]+:)?(script|img|image|iframe|object|embed|foreignObject)[\s/>]/i.exec(source);
      if (element) escaped.push(`${page}: a <${element[1]}> element in the file`);
      const dom = await dumpDom(file, profile);
      const ran = /data-xss="([^"]*)"/.exec(dom);
      if (ran) escaped.push(`${page}: script ran (${ran[1]})`);
      // Every link and source stays a file inside the site: no javascript:, no http:.
      for (const link of links(dom)) {
        const url = new URL(link, pathToFileURL(file));
        if (url.protocol !== 'file:' || !decodeURIComponent(url.pathname).startsWith(`${site}/`)) escaped.push(`${page}: link ${link}`);
      }
    }
    expect(escaped).toEqual([]);
    expect(hits).toEqual([]);

    // Not safe by leaving things out: the payloads are on the pages, as text.
    const tagsOn = (page: string) => new Set([...(shown.get(page) ?? '').matchAll(/ss&#39;,&#39;([\w.-]+)&#39;\)/g)].map((m) => m[1]));
    expect([...tagsOn('index.html')]).toEqual(expect.arrayContaining(['all.verdict', 'some.verdict', 'aggregate-duplicates', 'all.scenario', 'some.scenario']));
    const someTrend = pages.find((p) => p.startsWith('trends/') && tagsOn(p).has('some.verdict'));
    expect(someTrend, 'the trend page of the run with its chart names kept').toBeDefined();
    expect([...tagsOn(someTrend!)]).toEqual(expect.arrayContaining(['some.command']));
    expect(shown.get(someTrend!)).toContain('benchmark-name');
    const someReport = pages.find((p) => p.startsWith('runs/javascript') && p.endsWith('/report.html'))!;
    expect([...tagsOn(someReport)]).toEqual(expect.arrayContaining(['some.verdict', 'calibration-ratePps', 'calibration-size', 'some.command', 'parameter-key', 'tool-key']));
    expect(shown.get(someReport)).toContain('<figure id="chart-loss">');
    const brokenReport = pages.find((p) => p.startsWith('runs/broken-') && p.endsWith('/report.html'))!;
    expect(shown.get(brokenReport)).toContain('could not be rendered');
    expect(shown.get(brokenReport)).toContain('broken-&quot;&#39;&gt;&lt;i onmouseover=');
    // The run's own report.html, charts and junit.xml were not published: the site's are rendered.
    for (const page of pages) expect(shown.get(page), page).not.toContain('copied-');
    expect(pages.filter((p) => p.endsWith('junit.xml'))).toEqual([]);
  }, 300_000);

  it('the Content-Security-Policy alone stops script and loads, should a value ever go in unescaped', async () => {
    const injected = `<!doctype html><html><head><meta charset="utf-8"><title>t</title></head><body>${payload('csp')}<svg onload="${mark('csp-svg')}"></svg><iframe src="${base}/csp-frame"></iframe></body></html>`;
    const profile = path.join(tmp, 'profile-csp');
    const ran = async (name: string, html: string) => {
      const file = path.join(tmp, name);
      writeFileSync(file, html);
      return /data-xss="([^"]*)"/.exec(await dumpDom(file, profile))?.[1];
    };
    const before = hits.length;
    // The same page without the policy runs its script: the check can fail.
    expect(await ran('bare.html', injected)).toBeDefined();
    expect(hits.length).toBeGreaterThan(before);
    hits.length = 0;
    expect(await ran('guarded.html', withCsp(injected))).toBeUndefined();
    expect(hits).toEqual([]);
  }, 120_000);
});

describe('a result.json with a field of the wrong type', () => {
  it('is skipped with the reason; the other runs are published', async () => {
    const results = path.join(tmp, 'wrong-types');
    const good = sampleResult();
    writeRun(results, 'good', good);
    const wrong: Record<string, (r: Record<string, unknown>) => void> = {
      'started-at': (r) => (r.startedAt = 5),
      steps: (r) => (r.steps = {}),
      environment: (r) => (r.environment = null),
      aggregate: (r) => ((r.steps as { runs: { aggregate: unknown }[] }[])[0].runs[0].aggregate = 'x'),
    };
    for (const [dir, spoil] of Object.entries(wrong)) {
      const r = structuredClone(good) as unknown as Record<string, unknown>;
      spoil(r);
      writeRun(results, dir, r);
    }
    const site = path.join(tmp, 'wrong-types-site');
    const out = await execa(process.execPath, [CLI, site, '--from', results], { reject: false, cwd: projectRoot });
    // Before: exit 2 with a TypeError, e.g. "result.startedAt.replace is not a function".
    expect(out.exitCode, out.stderr).toBe(0);
    for (const dir of Object.keys(wrong)) expect(out.stderr).toMatch(new RegExp(`skipping ${dir}: result\\.json: `));
    expect(out.stderr).toContain('publishing 1 run of 1 scenario');
    expect(readdirSync(path.join(site, 'runs'))).toEqual(['good']);
  }, 60_000);
});
