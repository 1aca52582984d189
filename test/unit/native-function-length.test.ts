// The instrument's native code (harness/native) keeps its functions short: arguments, set-up, the
// loop and the report each in functions of their own, none over 80 lines. Read from the sources
// with a brace matcher (comments and string literals taken out first).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../relay/src/api.js';

const MAX_LINES = 80;
const DIR = path.join(projectRoot, 'harness', 'native');

/** The text with comments, string and character literals (raw strings too) and preprocessor lines blanked, newlines kept. */
function codeOnly(text: string): string {
  const blank = (s: string) => s.replace(/[^\n]/g, ' ');
  return text.replace(/R"\(([\s\S]*?)\)"|\/\*[\s\S]*?\*\/|\/\/[^\n]*|"(\\.|[^"\\\n])*"|'(\\.|[^'\\\n])*'|^[ \t]*#[^\n]*/gm, blank);
}

/** Each function body: where its head starts and how many lines from there to its closing brace. */
function functionLengths(text: string): { line: number; lines: number; head: string }[] {
  const code = codeOnly(text);
  const out: { line: number; lines: number; head: string }[] = [];
  const open: { head: string; line: number; fn: boolean }[] = [];
  let headStart = 0;
  let parens = 0; // a ';' inside a for's parentheses does not end the head
  const lineAt = (i: number) => code.slice(0, i).split('\n').length;
  for (let i = 0; i < code.length; i++) {
    const c = code[i];
    if (c === '(') parens++;
    if (c === ')') parens--;
    if (c === ';' && parens === 0) headStart = i + 1;
    if (c === '{') {
      const head = code.slice(headStart, i).trim();
      const control = /^(if|else|for|while|do|switch|catch|try)\b/.test(head);
      const fn = !control && /\)\s*(const\s*)?(override\s*)?(noexcept\s*)?$|\)\s*:\s*[\s\S]*\)\s*$/.test(head) && !/=\s*\[/.test(head);
      open.push({ head, line: lineAt(headStart + (code.slice(headStart, i).length - code.slice(headStart, i).trimStart().length)), fn });
      headStart = i + 1;
    } else if (c === '}') {
      const block = open.pop();
      if (block?.fn) out.push({ line: block.line, lines: lineAt(i) - block.line + 1, head: block.head.split('\n')[0] });
      headStart = i + 1;
    }
  }
  return out;
}

describe('harness/native function length', () => {
  it('measures a function from its head to its closing brace', () => {
    const sample = '#define X 1\nint f(int a) {\n  for (int i = 0; i < a; ++i) {\n    a--;\n  }\n  return 0;\n}\nstruct S {\n  S() : x(1) {}\n  int x;\n};\n';
    expect(functionLengths(sample).map((f) => [f.head, f.lines])).toEqual([
      ['int f(int a)', 6],
      ['S() : x(1)', 1],
    ]);
  });

  it(`has no function over ${MAX_LINES} lines`, () => {
    const files = readdirSync(DIR).filter((f) => /\.(cc|h)$/.test(f));
    expect(files.length).toBeGreaterThan(3);
    const long = files.flatMap((f) =>
      functionLengths(readFileSync(path.join(DIR, f), 'utf8'))
        .filter((fn) => fn.lines > MAX_LINES)
        .map((fn) => `harness/native/${f}:${fn.line} ${fn.head} (${fn.lines} lines)`),
    );
    expect(long).toEqual([]);
  });
});
