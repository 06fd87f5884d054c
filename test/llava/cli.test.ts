/**
 * The CLI end to end in child processes: `mmrt ask` (streamed and --json), `mmrt chat` driven
 * through stdin (streaming, /image, /reset, /exit), and a bad image as a typed error.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { encode, renderShape } from '../../tools/shapes/render.js';
import { VLM_DIR } from './model.js';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'mmrt.js');
const env = { ...process.env, MMRT_FROM_SOURCE: '1' };
let dir: string;
let redCircle: string;
let blueSquare: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mmrt-cli-'));
  redCircle = join(dir, 'red-circle.png');
  blueSquare = join(dir, 'blue-square.jpg');
  await writeFile(redCircle, await encode(renderShape(31, 120, 90, 'red', 'circle')));
  await writeFile(blueSquare, await encode(renderShape(32, 80, 80, 'blue', 'square'), 'jpeg'));
});

describe('mmrt ask / chat', () => {
  it('ask --json answers a colour question with counts and timings', async () => {
    const { stdout } = await run(
      'node',
      [BIN, 'ask', redCircle, 'What color is the shape?', '--model', VLM_DIR, '--json', '--threads', '1'],
      { env },
    );
    const out = JSON.parse(stdout);
    expect(out.answer.toLowerCase()).toContain('red');
    // OpenAI's names: finish_reason "stop" (end of sequence), usage in prompt/completion tokens.
    expect(out.usage.completion_tokens).toBeGreaterThan(0);
    expect(out.usage.total_tokens).toBe(out.usage.prompt_tokens + out.usage.completion_tokens);
    expect(out.timings.timeToFirstTokenMs).toBeGreaterThan(0);
    expect(out.finish_reason).toBe('stop');
  });

  it('chat streams answers over several turns from stdin, with /image, /reset and /exit', async () => {
    const child = spawn('node', [BIN, 'chat', '--image', blueSquare, '--model', VLM_DIR, '--threads', '1'], {
      env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.stdin.write('What color is the shape?\nWhat shape is this?\n/reset\n');
    child.stdin.write(`/image ${redCircle}\nWhat color is the shape?\n/exit\nnot read\n`);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toMatch(/mmrt: /);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]!.toLowerCase()).toContain('blue');
    expect(lines[1]!.toLowerCase()).toContain('square');
    expect(lines[2]!.toLowerCase()).toContain('red');
  });

  it('a file that is not an image fails with a typed message and exit code 1', async () => {
    const bad = join(dir, 'not-an-image.png');
    await writeFile(bad, 'hello');
    const err = await run('node', [BIN, 'ask', bad, 'What color is the shape?', '--model', VLM_DIR], {
      env,
    }).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/\[IMAGE_DECODE_FAILED\]/);
  });
});
