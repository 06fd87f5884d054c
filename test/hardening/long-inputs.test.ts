/**
 * Long inputs: 2,000 image paths from a shell glob (a command line of ~150 KB, where
 * onnxruntime-node alone crashes over ~30 KB), 10,000 labels from a file, a list on stdin,
 * and a folder. The CLI moves its own command line out of the way before ORT starts.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLES_DIR } from '../../src/cli/paths.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'mmrt.js');
const env = { ...process.env, MMRT_FROM_SOURCE: '1' };
const run = promisify(execFile);
let dir: string;
const SAMPLES = ['03_red_circle.jpg', '01_blue_triangle.png', '00_red_star.png', '02_purple_square.png'];
const TRUTH = ['red circle', 'blue triangle', 'red star', 'purple square'];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mmrt-long-'));
  await mkdir(join(dir, 'photos'));
  // 2,000 files with long names (the command line is what matters), four sample images repeated.
  await Promise.all(
    Array.from({ length: 2000 }, (_, i) =>
      copyFile(
        join(SAMPLES_DIR, SAMPLES[i % 4]!),
        join(
          dir,
          'photos',
          `holiday-photo-number-${String(i).padStart(4, '0')}-of-the-long-summer.${SAMPLES[i % 4]!.split('.')[1]}`,
        ),
      ),
    ),
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('long inputs', () => {
  it('classifies 2,000 image paths given by a shell glob', async () => {
    const { stdout } = await run(
      'bash',
      [
        '-c',
        `node "${BIN}" classify photos/*.* --labels "red circle,blue triangle,red star,purple square" -k 1 --json`,
      ],
      { cwd: dir, env, maxBuffer: 256 << 20 },
    );
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { input: string; labels: Array<{ label: string }> });
    expect(lines).toHaveLength(2000);
    for (const [i, l] of lines.entries()) {
      expect(l.input).toContain(`number-${String(i).padStart(4, '0')}`);
      expect(l.labels[0]!.label).toBe(TRUTH[i % 4]);
    }
  }, 240_000);

  it('classifies against 10,000 labels from a file', async () => {
    const labels = Array.from({ length: 10_000 }, (_, i) => `a shape numbered ${i}`);
    labels[7777] = 'red circle';
    await writeFile(join(dir, 'labels.txt'), `${labels.join('\n')}\n`);
    const { stdout } = await run(
      'node',
      [
        BIN,
        'classify',
        join(SAMPLES_DIR, '03_red_circle.jpg'),
        '--labels-file',
        join(dir, 'labels.txt'),
        '-k',
        '1',
        '--json',
      ],
      { env, maxBuffer: 256 << 20 },
    );
    const line = JSON.parse(stdout) as { labels: Array<{ label: string }> };
    expect(line.labels).toHaveLength(10_000);
    expect(line.labels[0]!.label).toBe('red circle');
  }, 240_000);

  it('a 40,000-character question on the command line is a typed error, not a crash', async () => {
    const question = 'why is the shape red? '.repeat(1820); // ~40 KB of command line
    const r = await run(
      'node',
      [BIN, 'ask', join(SAMPLES_DIR, '03_red_circle.jpg'), question, '--threads', '1'],
      {
        env,
        maxBuffer: 64 << 20,
      },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code).toBe(1); // a segfault would be 139
    expect(r.stderr).toMatch(/\[CONTEXT_OVERFLOW\]/);
  }, 240_000);

  it('takes a folder, and a list on stdin', async () => {
    const folder = await run(
      'node',
      [BIN, 'classify', SAMPLES_DIR, '-l', 'red circle,blue triangle', '--json'],
      {
        env,
        maxBuffer: 256 << 20,
      },
    );
    expect(folder.stdout.trim().split('\n')).toHaveLength(12); // the sample images, not labels.json
    const child = spawn(
      'node',
      [BIN, 'classify', '-', '-l', 'red circle,blue triangle', '-k', '1', '--json'],
      { env },
    );
    child.stdin.end(
      `${join(SAMPLES_DIR, '03_red_circle.jpg')}\n${join(SAMPLES_DIR, '01_blue_triangle.png')}\n`,
    );
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(0);
    expect(
      out
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { labels: Array<{ label: string }> }).labels[0]!.label),
    ).toEqual(['red circle', 'blue triangle']);
  }, 240_000);
});
