/**
 * pipeline(): transformers.js's option names and device names mapped onto mmrt (or refused
 * with what is valid), progress_callback events, image-to-text, batched chats, and hub
 * packages named `Xenova/...` / `onnx-community/...` loading unchanged.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_CLIP_MODEL, SAMPLES_DIR } from '../../src/cli/paths.js';
import { isMmrtError } from '../../src/errors.js';
import { type ProgressInfo, env, pipeline } from '../../src/node/index.js';
import { type FakeHub, startFakeHub } from '../hub/fake-hub.js';
import { tmpDir } from '../loader/fixtures.js';

const RED_CIRCLE = join(SAMPLES_DIR, '03_red_circle.jpg');
const BLUE_TRIANGLE = join(SAMPLES_DIR, '01_blue_triangle.png');
const cpu = { device: 'cpu', session_options: { intraOpNumThreads: 1 } } as const;

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isMmrtError(e)) return e.code;
    throw e;
  }
  throw new Error('expected a typed error');
}

describe('options', () => {
  it('maps device names and refuses the ones without a provider, naming what is valid', async () => {
    expect(await code(pipeline('zero-shot-image-classification', 'shapes-clip', { device: 'dml' }))).toBe(
      'PROVIDER_UNKNOWN',
    );
    const bad = pipeline('zero-shot-image-classification', 'shapes-clip', { device: 'cpuu' as never });
    await expect(bad).rejects.toThrow(/did you mean "cpu"/);
    await expect(
      pipeline('zero-shot-image-classification', 'shapes-clip', { devise: 'cpu' } as never),
    ).rejects.toThrow(/unknown pipeline option "devise" \(did you mean "device"\?\)/);
    await expect(
      pipeline('zero-shot-image-classification', 'shapes-clip', { dtype: 'q2' as never }),
    ).rejects.toThrow(/dtype "q2"/);
    await expect(pipeline('text-generation' as never, 'shapes-clip')).rejects.toThrow(
      /no "text-generation" pipeline/,
    );
  });

  it('takes dtype as a string or per component, and reports progress as transformers.js does', async () => {
    const events: ProgressInfo[] = [];
    const c = await pipeline('zero-shot-image-classification', 'shapes-clip', {
      ...cpu,
      dtype: { text_model: 'fp32', vision_model: 'fp32' },
      progress_callback: (e) => events.push(e),
    });
    expect(c.model.loader.placement?.plan.components.map((x) => x.precision)).toEqual(['fp32', 'fp32']);
    const [top] = await c(RED_CIRCLE, ['red circle', 'blue triangle']);
    expect(top).toMatchObject({ label: 'red circle' });
    await c.dispose();
    expect(events).toContainEqual({
      status: 'ready',
      task: 'zero-shot-image-classification',
      model: 'shapes-clip',
    });
    // The towers load on first use (CLIP's default), so their events come with the first call.
    const files = new Set(events.flatMap((e) => ('file' in e ? [e.file] : [])));
    expect(files).toContain('onnx/text_model.onnx');
    expect(files).toContain('onnx/vision_model.onnx');
    for (const f of files) {
      const mine = events.filter((e) => 'file' in e && e.file === f).map((e) => e.status);
      expect(mine.slice(0, 2)).toEqual(['initiate', 'download']);
      expect(mine).toContain('progress');
      expect(mine.at(-1)).toBe('done');
    }
    expect(events.some((e) => e.status === 'progress_total')).toBe(true);
  });
});

describe('tasks', () => {
  const opened: Array<{ dispose(): Promise<void> }> = [];
  afterAll(async () => {
    for (const p of opened) await p.dispose();
  });

  it('image-to-text with a LLaVA-family model: [{ generated_text }], a list per image when batched', async () => {
    const captioner = await pipeline('image-to-text', 'shapes-vlm', cpu);
    opened.push(captioner);
    expect(await captioner(RED_CIRCLE, { max_new_tokens: 8 })).toEqual([{ generated_text: 'a red circle' }]);
    expect(await captioner([RED_CIRCLE, BLUE_TRIANGLE], { max_new_tokens: 8 })).toEqual([
      [{ generated_text: 'a red circle' }],
      [{ generated_text: 'a blue triangle' }],
    ]);
  });

  it('image-to-text with BLIP: its captions, with and without a prompt, one list per image', async () => {
    const captioner = await pipeline('image-to-text', 'shapes-blip', cpu);
    opened.push(captioner);
    expect(await captioner(RED_CIRCLE)).toEqual([{ generated_text: 'a red circle' }]);
    expect(await captioner([RED_CIRCLE, BLUE_TRIANGLE])).toEqual([
      [{ generated_text: 'a red circle' }],
      [{ generated_text: 'a blue triangle' }],
    ]);
    const [prompted] = (await captioner(RED_CIRCLE, { prompt: 'a picture of' })) as Array<{
      generated_text: string;
    }>;
    expect(prompted!.generated_text).toMatch(/^a picture of /);
  });

  it('image-to-text on a model that cannot caption is a typed error naming what is needed', async () => {
    const err = await pipeline('image-to-text', 'shapes-clip', cpu).catch((e: unknown) => e);
    expect(isMmrtError(err) && err.code).toBe('MODEL_UNSUPPORTED');
    expect((err as Error).message).toMatch(
      /image-to-text needs a captioning model \(BLIP\) or a LLaVA-family model/,
    );
  });

  it('image-text-to-text: a chat, a batch of chats, and (image, text)', async () => {
    const vlm = await pipeline('image-text-to-text', 'mmrt:shapes-vlm', cpu);
    opened.push(vlm);
    const chat = [
      {
        role: 'user' as const,
        content: [
          { type: 'image' as const, url: RED_CIRCLE },
          { type: 'text' as const, text: 'What shape is this?' },
        ],
      },
    ];
    const [one] = await vlm(chat, { max_new_tokens: 8 });
    expect(one!.generated_text).toEqual([...chat, { role: 'assistant', content: 'circle' }]);
    const batch = await vlm([chat, chat], { max_new_tokens: 8, return_full_text: false });
    expect(batch).toEqual([[{ generated_text: 'circle' }], [{ generated_text: 'circle' }]]);
    expect(await vlm(BLUE_TRIANGLE, 'What color is the shape?', { max_new_tokens: 8 })).toEqual([
      { input_text: 'What color is the shape?', generated_text: 'blue' },
    ]);
    await expect(vlm(chat, { max_new_token: 8 } as never)).rejects.toThrow(/did you mean "max_new_tokens"/);
  });
});

describe('hub packages load unchanged', () => {
  let hub: FakeHub;
  afterAll(() => hub?.close());

  it('Xenova/... and onnx-community/... ids through env.remoteHost into the Hugging Face cache', async () => {
    const files: Record<string, Buffer> = {};
    const walk = async (dir: string, prefix = ''): Promise<void> => {
      for (const e of await readdir(join(dir, prefix), { withFileTypes: true })) {
        const rel = prefix ? `${prefix}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(dir, rel);
        else files[rel] = await readFile(join(dir, rel));
      }
    };
    await walk(DEFAULT_CLIP_MODEL);
    // What Xenova's CLIP packages also carry beside the graphs: quantized variants and their config.
    files['onnx/text_model_quantized.onnx'] = files['onnx/text_model.onnx']!;
    files['onnx/vision_model_quantized.onnx'] = files['onnx/vision_model.onnx']!;
    files['quantize_config.json'] = Buffer.from('{"per_channel":false,"reduce_range":false}');
    hub = await startFakeHub({ repo: 'Xenova/shapes-clip', files });
    const saved = env.remoteHost;
    env.remoteHost = hub.endpoint;
    try {
      const cache_dir = await tmpDir('mmrt-pipeline-hub-');
      const c = await pipeline('zero-shot-image-classification', 'Xenova/shapes-clip', { ...cpu, cache_dir });
      expect(c.model.loader.package.location).toContain('Xenova/shapes-clip');
      expect((await c(RED_CIRCLE, ['red circle', 'blue star']))[0]!.label).toBe('red circle');
      await c.dispose();
      // Offline afterwards (local_files_only): from the cache, no request.
      const n = hub.log.length;
      const again = await pipeline('zero-shot-image-classification', 'Xenova/shapes-clip', {
        ...cpu,
        cache_dir,
        local_files_only: true,
      });
      expect((await again([RED_CIRCLE], ['red circle', 'blue star']))[0]![0]!.label).toBe('red circle');
      await again.dispose();
      expect(hub.log.length).toBe(n);
    } finally {
      env.remoteHost = saved;
    }
  });
});
