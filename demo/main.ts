/**
 * The demo page: the whole mmrt runtime in a dedicated worker, the tiny CLIP and VLM loaded
 * with a progress bar per component, a badge naming the provider that runs each component,
 * zero-shot classification of a dropped or chosen image and a streamed answer about it.
 * `?platform=wasm|webgpu|webnn|auto` (default auto) and `?candidates=webgpu,webnn,wasm` pick
 * where it runs.
 */
import type { LoadProgress } from '../src/loader/types.js';
import type { RemoteModel, RemoteModelInfo } from '../src/remote/index.js';
import type { PlatformName } from '../src/runtime/providers.js';
import { createMmrtWorker } from '../src/web/worker-client.js';

const COLORS = ['red', 'green', 'blue', 'yellow', 'purple', 'orange'];
const SHAPES = ['circle', 'square', 'triangle', 'star'];
const LABELS = COLORS.flatMap((c) => SHAPES.map((s) => `${c} ${s}`));
const SAMPLES = ['00_red_star.png', '03_red_circle.jpg', '05_yellow_triangle.png', '08_blue_star.png'];

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const platform = (params.get('platform') ?? 'auto') as PlatformName | 'auto';
const candidates = params.get('candidates')?.split(',') as PlatformName[] | undefined;

/** State the tests read (and a person can inspect in the console). */
const state: {
  ready: boolean;
  models: Record<string, RemoteModelInfo>;
  answers: number;
  /** Pieces the last answer arrived in (streamed: more than one). */
  deltas: number;
  error?: string;
} = { ready: false, models: {}, answers: 0, deltas: 0 };
(globalThis as { mmrtDemo?: typeof state }).mmrtDemo = state;

function showError(e: unknown): void {
  const el = $('error');
  el.hidden = false;
  el.textContent =
    e instanceof Error ? `${(e as { code?: string }).code ?? e.name}: ${e.message}` : String(e);
  state.error = el.textContent;
}

const bars = new Map<string, { bar: HTMLProgressElement; pct: HTMLElement; msg: HTMLElement }>();
function bar(key: string, title: string) {
  let b = bars.get(key);
  if (!b) {
    const row = document.createElement('div');
    row.className = 'bar';
    row.dataset.key = key;
    row.innerHTML =
      '<span></span><progress max="100" value="0"></progress><span class="pct">0%</span><span class="msg"></span>';
    row.firstElementChild!.textContent = title;
    $('bars').append(row);
    b = {
      bar: row.querySelector('progress')!,
      pct: row.querySelector('.pct')!,
      msg: row.querySelector('.msg')!,
    };
    bars.set(key, b);
  }
  return b;
}

function onProgress(model: string) {
  return (p: LoadProgress) => {
    const b = bar(`${model}/${p.component}`, `${model} · ${p.component}`);
    b.bar.value = p.percent;
    b.pct.textContent = `${Math.round(p.percent)}%`;
    b.msg.textContent = `${p.phase}: ${p.message}`;
  };
}

function badges(info: RemoteModelInfo): void {
  const holder = $('badges');
  holder.querySelector(`[data-model="${info.handle}"]`)?.remove();
  const group = document.createElement('div');
  group.dataset.model = info.handle;
  for (const c of info.components.filter((c) => c.created)) {
    const span = document.createElement('span');
    span.className = 'badge';
    span.dataset.component = c.name;
    span.dataset.provider = c.providers[0] ?? '';
    const b = document.createElement('b');
    b.className = c.providers[0] ?? '';
    b.textContent = c.providers.join(', ');
    span.append(`${info.family} · ${c.name} (${c.precision})`, b);
    group.append(span);
  }
  holder.append(group);
  if (info.fallbacks.length > 0) {
    const el = $('fallback');
    el.hidden = false;
    el.textContent += info.fallbacks
      .map(
        (f) => `${info.family}: ${f.from} could not run "${f.component}" (${f.reason}); moved to ${f.to}. `,
      )
      .join('');
  }
}

async function main(): Promise<void> {
  const runtime = await createMmrtWorker({
    worker: new URL('./mmrt-worker.js', import.meta.url),
    host: { ortPath: new URL('./ort/', location.href).href },
  });
  const caps = await runtime.detect();
  const web = caps.web!;
  const gpu = caps.gpus[0];
  $('env').textContent = [
    `WebGPU: ${web.webgpu ? `yes (${gpu?.vendor} ${gpu?.name}${gpu?.shaderF16 ? ', shader-f16' : ''})` : 'no'}`,
    `WebNN: ${web.webnn ? (web.webnnDevices ?? []).join('/') : 'no'}`,
    `WASM: SIMD ${web.wasmSimd ? 'yes' : 'no'}, threads ${web.crossOriginIsolated && web.wasmThreads ? 'yes' : 'no'}`,
  ].join(' · ');
  if (!web.webgpu) {
    const el = $('fallback');
    el.hidden = false;
    const reason = caps.providers.find((p) => p.name === 'webgpu')?.reason ?? 'no adapter';
    el.textContent = `WebGPU is not available here (${reason}); mmrt runs on ${web.webnn ? 'WebNN' : 'WebAssembly'} instead, slower but with the same answers. `;
  }
  const runtimeBar = bar('runtime', 'onnxruntime-web');
  const common = { platform, ...(candidates && { candidates }), preload: true } as const;
  const load = (name: string, model: string, kind: 'clip' | 'llava') =>
    runtime.load(
      { ...common, model, kind },
      {
        onProgress: onProgress(name),
        onRuntimeProgress: (file, loaded, total) => {
          runtimeBar.bar.value = total ? (100 * loaded) / total : 0;
          runtimeBar.pct.textContent = total ? `${Math.round((100 * loaded) / total)}%` : '';
          runtimeBar.msg.textContent = `${file}: ${(loaded / 1e6).toFixed(1)} MB`;
        },
      },
    );
  // One after the other: both share the worker's single WebAssembly instance anyway.
  const clip = await load('CLIP', './models/shapes-clip/', 'clip');
  const vlm = await load('VLM', './models/shapes-vlm/', 'llava');
  for (const m of [clip, vlm]) {
    state.models[m.info.family] = m.info;
    badges(m.info);
  }
  state.ready = true;
  document.body.dataset.ready = 'true';
  setUp(clip, vlm);
}

function setUp(clip: RemoteModel, vlm: RemoteModel): void {
  let busy: AbortController | undefined;
  const run = async (image: Blob, name: string) => {
    busy?.abort();
    const controller = new AbortController();
    busy = controller;
    const preview = $<HTMLImageElement>('preview');
    preview.src = URL.createObjectURL(image);
    preview.hidden = false;
    preview.alt = name;
    $('label').textContent = '…';
    $('answer').textContent = '';
    $('error').hidden = true;
    try {
      const t0 = performance.now();
      const [scores] = await clip.classify([image], LABELS, {
        template: 'a photo of a {}',
        signal: controller.signal,
      });
      const best = scores![0]!;
      $('label').textContent = best.label;
      $('score').textContent = `(${(100 * best.score).toFixed(1)}%)`;
      const t1 = performance.now();
      const stream = vlm.ask({ image, question: 'Describe the image.' }, { signal: controller.signal });
      state.deltas = 0;
      for await (const delta of stream) {
        $('answer').textContent += delta;
        state.deltas++;
      }
      const t2 = performance.now();
      $('timing').textContent =
        `classified in ${Math.round(t1 - t0)} ms, answered in ${Math.round(t2 - t1)} ms`;
      state.answers++;
      document.body.dataset.answers = String(state.answers);
      await Promise.all([clip.refresh(), vlm.refresh()]).then((infos) => infos.forEach(badges));
    } catch (e) {
      if (!controller.signal.aborted) showError(e);
    }
  };
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const file = e.dataTransfer?.files[0];
    if (file) void run(file, file.name);
  });
  $<HTMLInputElement>('file').addEventListener('change', (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (file) void run(file, file.name);
  });
  for (const s of SAMPLES) {
    const button = document.createElement('button');
    button.textContent = s.replace(/^\d+_|\.\w+$/g, '').replace('_', ' ');
    button.addEventListener('click', async () => void run(await (await fetch(`./samples/${s}`)).blob(), s));
    $('sample-list').append(button);
  }
}

main().catch(showError);
