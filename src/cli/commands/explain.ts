import type { Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { FAMILY_NAMES } from '../../families/registry.js';
import { createPlacement } from '../../node/index.js';
import { CONFIG_KEYS, CONFIG_KEY_NAMES, COMPONENT_KEYS, valueTypeText } from '../../platform/config-keys.js';
import { table } from '../format.js';
import { type PlatformCliOptions, addPlatformOptions, readPlatformOptions } from '../platform-options.js';

function keysText(): string {
  const rows = [['key', 'snake_case', 'values', 'platforms', 'maps to']];
  for (const k of CONFIG_KEY_NAMES) {
    const s = CONFIG_KEYS[k];
    const platforms = s.platforms.length >= 9 ? 'all' : s.platforms.join(',');
    rows.push([
      k,
      s.origin === 'brief' ? s.snake : `(mmrt) ${s.snake}`,
      valueTypeText(s.type),
      platforms,
      s.mapsTo,
    ]);
  }
  for (const [k, s] of Object.entries(COMPONENT_KEYS)) {
    rows.push([`<component>.${k}`, s.snake, valueTypeText(s.type), 'all', s.mapsTo]);
  }
  return table(rows);
}

export function registerExplain(program: Command): void {
  const cmd = program
    .command('explain')
    .description(
      'plan a model for a platform and say what will run where: files, precisions, providers, threads, memory, and where each setting came from',
    )
    .option('--model <ref>', 'model folder or hub id (org/name)')
    .option(
      '--model-type <type>',
      `multimodal (from config.json) or a family: ${FAMILY_NAMES.join(', ')}`,
      'multimodal',
    )
    .option('--json', 'print the plan as JSON')
    .option('--keys', 'list every config key, its values and what it maps to');
  addPlatformOptions(cmd).action(
    async (
      opts: PlatformCliOptions & { model?: string; modelType: string; json?: boolean; keys?: boolean },
    ) => {
      if (opts.keys) {
        process.stdout.write(`${keysText()}\n`);
        return;
      }
      if (!opts.model) {
        throw new ConfigError('CONFIG_INVALID_VALUE', 'explain needs --model <folder or org/name>', {
          value: undefined,
        });
      }
      const placement = await createPlacement({
        model: opts.model,
        modelType: opts.modelType,
        ...readPlatformOptions(opts),
      });
      process.stdout.write(
        opts.json ? `${JSON.stringify(placement.explainJson(), null, 2)}\n` : `${placement.explain()}\n`,
      );
    },
  );
}
