import { execFile } from 'node:child_process';

/** Whether a command is on PATH (as root's PATH sees it). */
export function commandExists(name: string): Promise<boolean> {
  return new Promise((resolve) => execFile('sh', ['-c', `command -v ${name}`], (err) => resolve(!err)));
}
