// The project's import rules, read from the sources: the relay shows the rest of the project one
// face (relay/src/api.ts, plus its CLI entry points), and no module imports itself back through
// others (a circle, type-only ones included, makes load order and layering matter).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../relay/src/api.js';

/**
 * The layers above the relay and the tests that drive it as its users do: everything they import
 * of relay/ comes through the api. (A unit test of one relay module imports that module: test/unit.)
 */
const OUTSIDE_RELAY = ['harness', 'netns', 'scenarios', 'test/integration'];
const SOURCE_DIRS = ['relay/src', ...OUTSIDE_RELAY];
const RELAY_FACE = /^relay\/src\/(api|cli\/[\w-]+)\.ts$/;

function sources(dir: string): string[] {
  return readdirSync(path.join(projectRoot, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.posix.join(dir, e.name);
    if (e.isDirectory()) return sources(rel);
    return e.name.endsWith('.ts') ? [rel] : [];
  });
}

/** The project files a module imports (static, dynamic and type-only), as paths from the root. */
function imports(file: string): string[] {
  const text = readFileSync(path.join(projectRoot, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]);
  return specifiers.map((s) => path.posix.normalize(path.posix.join(path.posix.dirname(file), s)).replace(/\.js$/, '.ts'));
}

const graph = new Map(SOURCE_DIRS.flatMap(sources).map((f) => [f, imports(f)] as const));

describe('import graph', () => {
  it('finds the modules it checks', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get('harness/src/contenders/relay.ts')).toContain('relay/src/api.ts');
    expect(graph.get('test/integration/lifecycle.test.ts')).toContain('relay/src/api.ts');
  });

  it('nothing outside relay/ imports a relay module other than its api (relay/src/api.ts) and CLI entry points', () => {
    const reaching = [...graph].flatMap(([file, deps]) =>
      OUTSIDE_RELAY.some((d) => file.startsWith(`${d}/`)) ? deps.filter((d) => d.startsWith('relay/') && !RELAY_FACE.test(d)).map((d) => `${file} -> ${d}`) : [],
    );
    expect(reaching).toEqual([]);
  });

  it('netns, the floor below the relay, imports nothing of it', () => {
    const reaching = [...graph].flatMap(([file, deps]) => (file.startsWith('netns/') ? deps.filter((d) => d.startsWith('relay/')).map((d) => `${file} -> ${d}`) : []));
    expect(reaching).toEqual([]);
  });

  it('has no import circles', () => {
    const circles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, trail: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        circles.push([...trail.slice(trail.indexOf(file)), file].join(' -> '));
        return;
      }
      state.set(file, 'open');
      for (const dep of graph.get(file) ?? []) if (graph.has(dep)) visit(dep, [...trail, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    expect(circles).toEqual([]);
  });
});
