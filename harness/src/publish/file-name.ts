// A scenario's trend page name: safe as one path component and in a URL, and one per scenario.
import { createHash } from 'node:crypto';

/** Kept short of the 255-byte file name limit with room for the hash and .html. */
const MAX_STEM = 80;

/** "multi-stream" -> "multi-stream.html"; a name that had to be changed (or cut) gets a hash of the original, so two scenarios never share a page. */
export function trendFileName(name: unknown): string {
  // result.json is data from test machines: its scenario may not even be a string.
  const scenario = String(name);
  const stem = scenario.replace(/[^A-Za-z0-9_-]/g, '_');
  if (stem === scenario && stem.length > 0 && stem.length <= MAX_STEM) return `${stem}.html`;
  const hash = createHash('sha256').update(scenario).digest('hex').slice(0, 10);
  return `${stem.slice(0, MAX_STEM)}-${hash}.html`;
}
