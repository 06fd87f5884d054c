/** `mmrt explain` and `mmrt doctor --matrix` as a user runs them. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigOption, parsePlatformOption } from '../../src/cli/platform-options.js';
import { writeProbePackage } from './fixtures.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
let dir: string;
let llava: string;

async function mmrt(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', [join(root, 'bin/mmrt.js'), ...args], {
      env: { ...process.env, MMRT_FROM_SOURCE: '1' },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mmrt-cli-'));
  llava = await writeProbePackage(join(dir, 'vlm'), 'llava', ['fp32', 'fp16', 'q8', 'q4']);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('platform CLI options', () => {
  it('parses --platform and --config the same way for every command', () => {
    expect(parsePlatformOption('CUDA')).toBe('cuda');
    expect(parsePlatformOption(undefined)).toBe('auto');
    expect(() => parsePlatformOption('cdua')).toThrow(
      /--platform "cdua" is not a platform \(did you mean "cuda"\?\)/,
    );
    expect(parseConfigOption('{"batch_size":2}')).toEqual({ batch_size: 2 });
    expect(() => parseConfigOption('{batch_size:2}')).toThrow(/--config is not valid JSON/);
    expect(() => parseConfigOption('[1]')).toThrow(/must be a JSON object/);
  });
});

describe('mmrt explain', () => {
  it('prints the plan with components, files, providers and sources', async () => {
    const r = await mmrt(
      'explain',
      '--model',
      llava,
      '--platform',
      'cpu',
      '--config',
      '{"llm_precision":"int4","kv_cache_max_length":256}',
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Plan for ${llava}`);
    expect(r.stdout).toMatch(
      /decoder_model_merged +onnx\/decoder_model_merged_q4\.onnx +q4 +int4 \(user: llm_precision\)/,
    );
    expect(r.stdout).toMatch(
      /vision_encoder +onnx\/vision_encoder\.onnx +fp32 +fp32 \(default:cpu: precision\)/,
    );
    expect(r.stdout).toMatch(/kvCacheMaxLength +256 +user +kv_cache_max_length/);
    expect(r.stdout).toContain('vision_encoder: cpu; graphOptimizationLevel=all');
    const j = await mmrt('explain', '--model', llava, '--platform', 'cpu', '--json');
    expect(JSON.parse(j.stdout)).toMatchObject({
      platform: 'cpu',
      generation: { kvCache: true, maxLength: 1024 },
    });
  });

  it('exits 1 with a typed message for bad keys and unsupported platforms', async () => {
    const bad = await mmrt('explain', '--model', llava, '--config', '{"kv_cache_max_lenght":256}');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /unknown config key "kv_cache_max_lenght" \(did you mean "kv_cache_max_length"\?\).*\[CONFIG_UNKNOWN_KEY\]/,
    );
    const webnn = await mmrt('explain', '--model', llava, '--platform', 'webnn');
    expect(webnn.code).toBe(1);
    expect(webnn.stderr).toMatch(/llava models cannot run on webnn.*\[PLATFORM_UNSUPPORTED\]/);
  });

  it('lists every config key with --keys', async () => {
    const r = await mmrt('explain', '--keys');
    expect(r.stdout).toMatch(
      /useMpsGraph +use_mps_graph +true or false +mps +CoreML EP ModelFormat=MLProgram/,
    );
    expect(r.stdout).toContain('<component>.loadStrategy');
  });
});

describe('mmrt doctor --matrix', () => {
  it("prints the brief's table beside what this machine can run", async () => {
    const r = await mmrt('doctor', '--matrix');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /model +cuda +rocm +mps +openvino +qualcomm +webnn +webgpu +cpu\* +wasm +runs here/,
    );
    expect(r.stdout).toMatch(
      /LLaVA +High +Limited +Medium +Limited +Limited +None +Limited +Limited +Limited +cpu \(Limited\)/,
    );
    expect(r.stdout).toMatch(/usable here +no +no +no +no +no +no +no +yes +no/);
  });
});
