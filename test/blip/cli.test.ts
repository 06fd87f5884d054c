/**
 * The CLI end to end in child processes: `mmrt caption` (one image streamed, several batched,
 * --prompt, --json) and `mmrt ask` routed by model kind to BLIP VQA and BLIP-2, right on freshly
 * rendered images; bad input as typed errors with exit code 1.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { encode, heldOutSet, type RenderedShape } from '../../tools/shapes/render.js';
import { BLIP2_DIR, BLIP_DIR, BLIP_VQA_DIR } from './models.js';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'mmrt.js');
const env = { ...process.env, MMRT_FROM_SOURCE: '1' };
const mmrt = (...args: string[]) =>
  run('node', [BIN, ...args, '--threads', '1'], { env, maxBuffer: 16 << 20 });
const fails = (...args: string[]) =>
  mmrt(...args).then(
    () => undefined,
    (e) => e,
  );

let dir: string;
let files: string[];
// one image of every class, as PNG and JPEG
const fresh: RenderedShape[] = heldOutSet(777, 1);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mmrt-blip-cli-'));
  files = await Promise.all(
    fresh.map(async (im, i) => {
      const file = join(dir, `${i}.${i % 2 ? 'jpg' : 'png'}`);
      await writeFile(file, await encode(im, i % 2 ? 'jpeg' : 'png'));
      return file;
    }),
  );
});

describe('mmrt caption', () => {
  it('captions 24 fresh images, one JSON line each in input order, >= 95% naming colour and shape', async () => {
    const { stdout } = await mmrt('caption', ...files, '--model', BLIP_DIR, '--json');
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.image)).toEqual(files);
    const right = lines.filter((l, i) => {
      const words = l.caption.split(/\W+/);
      return words.includes(fresh[i]!.color) && words.includes(fresh[i]!.shape);
    }).length;
    console.info(`mmrt caption: ${right}/${files.length} name colour and shape`);
    expect(right / files.length).toBeGreaterThanOrEqual(0.95);
    expect(lines[0]).toMatchObject({ finish_reason: 'stop', imageFromCache: false });
    expect(lines[0].usage.completion_tokens).toBeGreaterThan(0);
  });

  it('streams one caption, continuing --prompt, with timings on stderr', async () => {
    const { stdout, stderr } = await mmrt(
      'caption',
      files[0]!,
      '--model',
      BLIP_DIR,
      '--prompt',
      'a picture of',
    );
    expect(stdout).toMatch(new RegExp(`^a picture of an? ${fresh[0]!.color} ${fresh[0]!.shape}\\n$`));
    expect(stderr).toMatch(/tokens, first after \d+ ms/);
  });

  it('captions with BLIP-2 too; a VQA model or a bad image is a typed error', async () => {
    const { stdout } = await mmrt('caption', files[2]!, '--model', BLIP2_DIR);
    expect(stdout).toContain(`${fresh[2]!.color} ${fresh[2]!.shape}`);
    const vqa = await fails('caption', files[2]!, '--model', BLIP_VQA_DIR);
    expect(vqa.code).toBe(1);
    expect(vqa.stderr).toMatch(/question-answering model.*\[TASK_UNSUPPORTED\]/);
    const bad = join(dir, 'not-an-image.png');
    await writeFile(bad, 'hello');
    const err = await fails('caption', files[0]!, bad, '--model', BLIP_DIR);
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/image 1 .*not-an-image\.png.*\[IMAGE_DECODE_FAILED\]/);
  });
});

describe('mmrt ask with BLIP VQA and BLIP-2', () => {
  it('answers colour and shape questions about fresh images through both (all right)', async () => {
    const asks = [3, 14].flatMap((i) => [
      { model: BLIP_VQA_DIR, file: files[i]!, q: 'What color is the shape?', want: fresh[i]!.color },
      { model: BLIP2_DIR, file: files[i]!, q: 'What shape is this?', want: fresh[i]!.shape },
    ]);
    const results = await Promise.all(
      asks.map((a) => mmrt('ask', a.file, a.q, '--model', a.model, '--json')),
    );
    const out = results.map((r) => JSON.parse(r.stdout));
    expect(out.map((o) => o.answer)).toEqual(asks.map((a) => a.want));
    expect(out[0]).toMatchObject({ finish_reason: 'stop', question: 'What color is the shape?' });
  });

  it('a question to a captioning model, or to CLIP, is a typed error', async () => {
    const cap = await fails('ask', files[0]!, 'What color is the shape?', '--model', BLIP_DIR);
    expect(cap.code).toBe(1);
    expect(cap.stderr).toMatch(/captioning model: it cannot answer questions.*\[TASK_UNSUPPORTED\]/);
    const clip = await fails(
      'ask',
      files[0]!,
      'What color is the shape?',
      '--model',
      join(BLIP_DIR, '..', 'shapes-clip'),
    );
    expect(clip.stderr).toMatch(
      /needs a model that answers questions about images.*is a clip model \[INPUT_INVALID\]/,
    );
  });
});
