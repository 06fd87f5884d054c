/**
 * Command-line conventions: a command line that cannot run as written exits 2 and names the
 * offending option; every numeric option is range-checked; --json makes errors JSON too; an
 * output file's extension must say its format; -k means "top k" everywhere.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLES_DIR } from '../../src/cli/paths.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'mmrt.js');
const IMAGE = join(SAMPLES_DIR, '03_red_circle.jpg');

async function mmrt(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)('node', [BIN, ...args], {
      env: { ...process.env, MMRT_FROM_SOURCE: '1' },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof err.code !== 'number') throw e;
    return { code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mmrt-cli-conv-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('usage errors exit 2 and say what was wrong', () => {
  it.each([
    [['classify', IMAGE, '--labl', 'red'], /unknown option '--labl'[\s\S]*Did you mean --labels\?/],
    [
      ['classify', IMAGE, '-l', 'red', '-k', 'abc'],
      /'-k, --top-k <n>' argument 'abc' is invalid\. must be an integer >= 1/,
    ],
    [['classify', IMAGE, '-l', 'red', '-k', '0'], /argument '0' is invalid/],
    [['classify', IMAGE, '-l', 'red', '-k', '-1'], /argument '-1' is invalid/],
    [['classify', IMAGE, '-l', 'red', '--batch-size', '0'], /--batch-size <n>' argument '0' is invalid/],
    [['classify', IMAGE, '-l', 'red', '--resample', 'bogus'], /must be one of exact, fast/],
    [['search', '-i', 'x.idx', '-q', 'red', '-k', '-1'], /argument '-1' is invalid/],
    [['ask', IMAGE, 'hi', '--threads', '0'], /--threads <n>' argument '0' is invalid/],
    [['ask', IMAGE, 'hi', '--top-p', '1.5'], /--top-p <p>' argument '1.5' is invalid/],
    [['ask', IMAGE, 'hi', '-n', 'many'], /--max-new-tokens <n>' argument 'many' is invalid/],
    [
      ['classify', IMAGE],
      /classify needs labels: --labels "cat,dog" or --labels-file labels\.txt \[INPUT_INVALID\]/,
    ],
    [['embed', IMAGE, '-o', 'v.txt'], /--out "v\.txt" must end in \.npy or \.json/],
    [['index', IMAGE, '-o', 'photos.json'], /--out "photos\.json" must end in \.idx/],
    [['embed', IMAGE, '-o', '/nonexistent/dir/x.npy'], /the folder \/nonexistent\/dir does not exist/],
    [['caption', IMAGE, '--batch-size', '0'], /--batch-size <n>' argument '0' is invalid/],
    [['serve'], /serve needs at least one --model/],
    [['serve', '--modle', 'x'], /unknown option '--modle'[\s\S]*Did you mean --model\?/],
    [
      ['serve', '-m', 'x', '--port', 'abc'],
      /'-p, --port <n>' argument 'abc' is invalid\. must be an integer from 0 to 65535/,
    ],
    [['serve', '-m', 'x', '--session-threads', 'gpu'], /must be one of main, worker/],
    [
      ['quantize', 'models/shapes-clip', '--precision', 'fp12'],
      /'--precision <list>' argument 'fp12' is invalid/,
    ],
    [['quantize', 'models/shapes-clip', '--block-size', '3'], /'--block-size <n>' argument '3' is invalid/],
    [['quantize', 'models/shapes-clip', '--external-data', 'maybe'], /must be one of auto, always, never/],
  ])('mmrt %j', async (args, message) => {
    const r = await mmrt(...args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });

  it('--json turns errors into one JSON object on stdout', async () => {
    const usage = await mmrt('classify', IMAGE, '-l', 'red', '--json', '--labl', 'x');
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stdout).error).toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(/--labl/),
    });
    const missing = await mmrt('search', '--index', join(dir, 'none.idx'), '-q', 'red', '--json');
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout).error).toMatchObject({ code: 'INPUT_NOT_FOUND' });
    expect(missing.stderr).not.toMatch(/ENOENT|at .*\.ts/);
  });

  it('takes labels from a file, one per line', async () => {
    const file = join(dir, 'labels.txt');
    await writeFile(file, 'blue star\n\n  red circle  \ngreen square\n');
    const r = await mmrt('classify', IMAGE, '--labels-file', file, '-k', '1', '--json');
    expect(r.code).toBe(0);
    const line = JSON.parse(r.stdout) as { labels: Array<{ label: string }> };
    expect(line.labels.map((l) => l.label).sort()).toEqual(['blue star', 'green square', 'red circle']);
    expect(line.labels[0]!.label).toBe('red circle');
  });
});
