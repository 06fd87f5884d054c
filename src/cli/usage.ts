/**
 * Command-line conventions in one place: numeric options parsed and range-checked by
 * commander (a bad value is a usage error, exit 2, naming the option), output files whose
 * extension says their format, and errors printed as text or, with --json, as JSON.
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { InputError, type MmrtError, isMmrtError } from '../errors.js';

/** Exit status for a command line that cannot be run as written (as getopt-style tools use). */
export const USAGE_EXIT = 2;

/** A usage error of ours (a missing --labels, a wrong extension): exit 2, like commander's own. */
export function usageError(message: string, details: Record<string, unknown> = {}): InputError {
  return new InputError('INPUT_INVALID', message, { ...details, usage: true });
}

export function isUsageError(e: unknown): boolean {
  return isMmrtError(e) && e.details['usage'] === true;
}

/** An integer option within [min, max]: `-k abc`, `-k 0`, `-k -1` are refused by commander. */
export function intArg(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(
        `must be an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`}`,
      );
    }
    return n;
  };
}

/** A finite number option in a range; `exclusiveMin` for "> min". */
export function numberArg(min: number, max: number, exclusiveMin = false): (value: string) => number {
  return (value) => {
    const n = Number(value);
    const low = exclusiveMin ? n > min : n >= min;
    if (value.trim() === '' || !Number.isFinite(n) || !low || n > max) {
      throw new InvalidArgumentError(
        `must be a number ${exclusiveMin ? '>' : '>='} ${min}${Number.isFinite(max) ? ` and <= ${max}` : ''}`,
      );
    }
    return n;
  };
}

/** One of the listed words. */
export function choiceArg<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`must be one of ${choices.join(', ')}`);
    }
    return value as T;
  };
}

/** A repeatable comma-separated option (`-l a,b -l c`): every non-empty item, in order. */
export function commaList(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ];
}

/** An output file must say its format: `-o v.txt` is refused, not silently written as JSON. */
export function checkOutputExtension(flag: string, path: string, extensions: readonly string[]): void {
  if (!extensions.some((ext) => path.toLowerCase().endsWith(ext))) {
    throw usageError(
      `${flag} "${path}" must end in ${extensions.join(' or ')} (the extension says the format)`,
      {
        value: path,
        valid: extensions,
      },
    );
  }
  // Checked before any work: a missing folder should not cost a model load.
  const folder = dirname(resolve(path));
  if (!statSync(folder, { throwIfNoEntry: false })?.isDirectory()) {
    throw usageError(`${flag} ${path}: the folder ${folder} does not exist`, { value: path });
  }
}

/** An error as --json prints it: one object, on stdout, where the results would have gone. */
export function errorJson(e: MmrtError | { code: string; message: string }): string {
  const details = isMmrtError(e) ? e.details : undefined;
  return JSON.stringify({ error: { code: e.code, message: e.message, ...(details && { details }) } });
}
