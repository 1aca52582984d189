// Command-line argument parsers the harness's commands share.
import { InvalidArgumentError } from 'commander';

/** A whole number >= min, or commander's usage error naming the option. */
export function positiveInt(name: string, min = 1) {
  return (value: string) => {
    if (!/^\d+$/.test(value) || Number(value) < min) throw new InvalidArgumentError(`${name} must be a whole number >= ${min}`);
    return Number(value);
  };
}
