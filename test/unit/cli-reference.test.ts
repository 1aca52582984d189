// docs/reference.md documents every option the command-line tools offer: each flag their --help
// lists appears there, so the two cannot drift apart unnoticed.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../relay/src/api.js';

const reference = readFileSync(path.join(projectRoot, 'docs', 'reference.md'), 'utf8');
const TOOLS = ['dist/scenarios/cli.js', 'dist/relay/src/cli/mcrd.js', 'dist/relay/src/cli/mcrctl.js', 'dist/harness/src/cli/gate.js', 'dist/harness/src/cli/hosts.js check'];

/** The long flags an option list of commander's --help names (its own --help and --version aside). */
function flagsOf(tool: string): string[] {
  const [file, ...sub] = tool.split(' ');
  const help = execFileSync(process.execPath, [path.join(projectRoot, file), ...sub, '--help'], { encoding: 'utf8' });
  const flags = [...help.matchAll(/^\s+(?:-\w, )?(--[a-z0-9-]+)/gm)].map((m) => m[1]);
  return [...new Set(flags)].filter((f) => f !== '--help' && f !== '--version');
}

describe('docs/reference.md', () => {
  it.each(TOOLS)("names every flag of %s's --help", (tool) => {
    const flags = flagsOf(tool);
    expect(flags.length).toBeGreaterThan(1);
    const missing = flags.filter((f) => !new RegExp(`${f}(?![a-z0-9-])`).test(reference));
    expect(missing).toEqual([]);
  });
});
