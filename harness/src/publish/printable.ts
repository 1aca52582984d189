// Names from a results folder (run directories, scenarios) printed to the publisher's terminal:
// their control characters shown as \xNN, so no escape sequence in a name can drive the terminal.

export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
