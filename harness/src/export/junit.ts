// junit.xml: one test case per check, failures carrying the human message.
import { describeCheck, type Check } from '../checks.js';
import type { RunResult } from '../result.js';

const esc = (s: string) => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] as string);

export function junitXml(result: RunResult, checks: Check[]): string {
  const failures = checks.filter((c) => !c.pass && !c.advisory).length;
  const cases = checks
    .map((c) => {
      const name = esc(`${c.name}: step ${c.step} ${c.contender}${c.stream === undefined ? '' : ` stream ${c.stream}`}${c.repetition === undefined ? '' : ` repetition ${c.repetition}`} ${c.metric}`);
      const open = `    <testcase classname="mcr.${esc(result.scenario)}" name="${name}"`;
      if (c.advisory) return `${open}><system-out>${esc(describeCheck(c))}</system-out></testcase>`;
      return c.pass ? `${open}/>` : `${open}><failure message="${esc(describeCheck(c))}"/></testcase>`;
    })
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="mcr-gate" tests="${checks.length}" failures="${failures}">
  <testsuite name="${esc(result.scenario)} ${esc(result.runId)}" tests="${checks.length}" failures="${failures}">
${cases}
  </testsuite>
</testsuites>
`;
}
