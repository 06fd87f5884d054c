/**
 * `--platform` and `--config` as every command that runs a model reads them: one parser, one
 * set of errors. `--config` takes JSON (camelCase or snake_case keys) or `@file.json`;
 * the keys themselves are checked by the planner.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ConfigError, closest } from '../errors.js';
import type { ConfigInput } from '../platform/config-keys.js';
import { REQUESTABLE_PRECISIONS } from '../platform/precision-map.js';
import { PLATFORMS, type PlatformName, isPlatformName } from '../runtime/providers.js';

export const PLATFORM_CHOICES: readonly string[] = ['auto', ...PLATFORMS];

export interface PlatformCliOptions {
  platform?: string;
  config?: string;
  candidates?: string;
}

/** Adds `--platform`, `--config` and `--candidates` to a command. */
export function addPlatformOptions(cmd: Command): Command {
  return cmd
    .option('--platform <name>', `where to run: ${PLATFORM_CHOICES.join(', ')}`, 'auto')
    .option(
      '--config <json>',
      'platform config as JSON (e.g. \'{"precision":"int8","batch_size":4}\') or @file.json',
    )
    .option(
      '--candidates <list>',
      "with --platform auto: try exactly these platforms in order (e.g. 'cuda,cpu')",
    );
}

export function parsePlatformOption(value: string | undefined): PlatformName | 'auto' {
  const v = (value ?? 'auto').trim().toLowerCase();
  if (v === 'auto' || isPlatformName(v)) return v;
  const guess = closest(v, PLATFORM_CHOICES);
  throw new ConfigError(
    'CONFIG_INVALID_VALUE',
    `--platform "${value}" is not a platform${guess ? ` (did you mean "${guess}"?)` : ''}; valid: ${PLATFORM_CHOICES.join(', ')}`,
    { value, valid: PLATFORM_CHOICES },
  );
}

export function parseCandidatesOption(value: string | undefined): PlatformName[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const p = parsePlatformOption(s);
      if (p === 'auto')
        throw new ConfigError('CONFIG_INVALID_VALUE', '--candidates lists platforms, not "auto"', { value });
      return p;
    });
}

/** The config object, or undefined when none was given. Throws ConfigError for bad JSON. */
export function parseConfigOption(value: string | undefined): Record<string, unknown> | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  let text = value;
  if (value.startsWith('@')) {
    try {
      text = readFileSync(value.slice(1), 'utf8');
    } catch (e) {
      throw new ConfigError(
        'CONFIG_INVALID_VALUE',
        `--config ${value}: cannot read ${value.slice(1)}: ${(e as Error).message}`,
        {
          value,
        },
      );
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(
      'CONFIG_INVALID_VALUE',
      `--config is not valid JSON (${(e as Error).message}); write it like '{"precision":"fp16","batch_size":8}'`,
      { value, valid: 'a JSON object or @file.json' },
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError('CONFIG_INVALID_VALUE', '--config must be a JSON object', {
      value,
      valid: 'a JSON object',
    });
  }
  return parsed as Record<string, unknown>;
}

/** All three at once, as `createPlatform` takes them. */
export function readPlatformOptions(opts: PlatformCliOptions): {
  platform: PlatformName | 'auto';
  /** JSON as written: the planner checks every key and value. */
  config?: ConfigInput;
  candidates?: PlatformName[];
} {
  const config = parseConfigOption(opts.config);
  const candidates = parseCandidatesOption(opts.candidates);
  return {
    platform: parsePlatformOption(opts.platform),
    ...(config && { config: config as ConfigInput }),
    ...(candidates && { candidates }),
  };
}

/** `--precision`: any precision the config's `precision` key takes (general words or file variants). */
export function checkPrecisionOption(value: string | undefined): void {
  if (value === undefined || (REQUESTABLE_PRECISIONS as readonly string[]).includes(value)) return;
  const guess = closest(value, REQUESTABLE_PRECISIONS);
  throw new ConfigError(
    'CONFIG_INVALID_VALUE',
    `--precision "${value}" is not a precision${guess ? ` (did you mean "${guess}"?)` : ''}; valid: ${REQUESTABLE_PRECISIONS.join(', ')}`,
    { value, valid: REQUESTABLE_PRECISIONS },
  );
}
