// Command-line argument parsers the harness's commands share.
import { InvalidArgumentError } from 'commander';

/** A whole number >= min, or commander's usage error naming the option. */
export function positiveInt(name: string, min = 1) {
  return (value: string) => {
    if (!/^\d+$/.test(value) || Number(value) < min) throw new InvalidArgumentError(`${name} must be a whole number >= ${min}`);
    return Number(value);
  };
}

/** A parser that throws Error as commander's usage error (exit 2 with its message). */
export function usageErrors<T>(parse: (value: string) => T) {
  return (value: string): T => {
    try {
      return parse(value);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}
