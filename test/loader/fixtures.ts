/**
 * Temporary model packages made of real (tiny) ONNX graphs, and a host wrapper that records
 * every session the loader creates, so tests can prove none is left alive.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { describePackage } from '../../src/families/registry.js';
import type { Host, OrtModule } from '../../src/host/host.js';
import { LocalModelFiles } from '../../src/node/files.js';
import { type NodeHostOptions, nodeHost } from '../../src/node/host.js';
import { ort } from '../../src/node/ort.js';
import { workerOrt } from '../../src/node/worker-ort.js';
import type { ModelPackage } from '../../src/package/describe.js';
import { decoderModel, embedModel, textModel, visionModel } from './onnx-build.js';

export const tmpDirs: string[] = [];

export async function tmpDir(prefix = 'mmrt-loader-'): Promise<string> {
  const d = await mkdtemp(join(os.tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
}

export async function cleanupTmp(): Promise<void> {
  await Promise.all(tmpDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

const TOKENIZER = { model: { type: 'WordLevel', vocab: {} }, added_tokens: [] };

export interface PackageOptions {
  /** Replace a component's graph with these bytes (e.g. garbage, to corrupt it). */
  readonly override?: Record<string, Uint8Array>;
  /** Vision encoder size: more layers take longer to create. */
  readonly visionLayers?: number;
  readonly visionHidden?: number;
  readonly textHidden?: number;
}

/** Files of a two-tower CLIP package (`text_model` + `vision_model`). */
export function clipFiles(opts: PackageOptions = {}): Record<string, Uint8Array | string> {
  return {
    'config.json': JSON.stringify({ model_type: 'clip', vision_config: { image_size: 8 }, text_config: {} }),
    'preprocessor_config.json': JSON.stringify({ crop_size: { height: 8, width: 8 }, do_center_crop: true }),
    'tokenizer.json': JSON.stringify(TOKENIZER),
    'tokenizer_config.json': '{}',
    'onnx/vision_model.onnx':
      opts.override?.vision_model ??
      visionModel({ layers: opts.visionLayers ?? 2, hidden: opts.visionHidden ?? 16 }),
    'onnx/text_model.onnx': opts.override?.text_model ?? textModel({ hidden: opts.textHidden ?? 16 }),
  };
}

/** Files of a LLaVA-layout VLM (`vision_encoder`, `embed_tokens`, `decoder_model_merged`). */
export function vlmFiles(opts: PackageOptions = {}): Record<string, Uint8Array | string> {
  return {
    'config.json': JSON.stringify({
      model_type: 'llava',
      image_token_index: 31,
      vision_config: { image_size: 8 },
      text_config: {
        model_type: 'llama',
        num_hidden_layers: 1,
        num_attention_heads: 2,
        num_key_value_heads: 2,
        hidden_size: 8,
      },
    }),
    'preprocessor_config.json': JSON.stringify({ crop_size: { height: 8, width: 8 }, do_center_crop: true }),
    'tokenizer.json': JSON.stringify(TOKENIZER),
    'tokenizer_config.json': '{}',
    'onnx/vision_encoder.onnx':
      opts.override?.vision_encoder ??
      visionModel({ layers: opts.visionLayers ?? 2, hidden: opts.visionHidden ?? 8 }),
    'onnx/embed_tokens.onnx': opts.override?.embed_tokens ?? embedModel({ hidden: 8 }),
    'onnx/decoder_model_merged.onnx': opts.override?.decoder_model_merged ?? decoderModel(),
  };
}

export async function writePackage(
  files: Record<string, Uint8Array | string>,
  dir?: string,
): Promise<string> {
  const root = dir ?? (await tmpDir());
  for (const [path, data] of Object.entries(files)) {
    const abs = join(root, ...path.split('/'));
    await mkdir(join(abs, '..'), { recursive: true });
    await writeFile(abs, data);
  }
  return root;
}

export async function openPackage(dir: string): Promise<ModelPackage> {
  return describePackage(await LocalModelFiles.open(dir));
}

export interface TrackedHost extends Host {
  /** Component names in the order their sessions were asked of ONNX Runtime. */
  readonly createCalls: string[];
  /** Components whose ORT session exists and was not released. */
  alive(): string[];
  /** How many ORT sessions were created in all. */
  count(): number;
}

/**
 * The real Node host over an ONNX Runtime whose `InferenceSession.create` is watched: every
 * raw session is recorded with its release, including those created and released inside
 * `createSession` after an abort.
 */
export function trackedHost(
  opts: NodeHostOptions & { onCreate?: (model: string | Uint8Array) => void } = {},
): TrackedHost {
  const base: OrtModule = opts.ort ?? (opts.sessionThreads === 'worker' ? workerOrt() : ort);
  const raw: Array<{ name: string; released: boolean }> = [];
  const createCalls: string[] = [];
  const watched: OrtModule = {
    ...base,
    InferenceSession: {
      async create(model, options) {
        const name = typeof model === 'string' ? model : `${model.byteLength} bytes`;
        opts.onCreate?.(model);
        const s = await base.InferenceSession.create(model, options);
        const rec = { name, released: false };
        raw.push(rec);
        const release = s.release.bind(s);
        s.release = async () => {
          rec.released = true;
          await release();
        };
        return s;
      },
    },
  };
  const host = nodeHost({ ...opts, ort: watched });
  return {
    ...host,
    createCalls,
    alive: () => raw.filter((r) => !r.released).map((r) => r.name),
    count: () => raw.length,
    async createSession(spec, context) {
      createCalls.push(spec.name);
      return host.createSession!(spec, context);
    },
  };
}
