/**
 * The CLIP commands end to end in child processes (`node bin/mmrt.js`, from the sources) on
 * the shipped tiny CLIP: `classify` on freshly rendered images, `embed` as JSON lines and as
 * .npy, `index` + `search`, and bad input (a corrupt file, unreadable URLs, no labels) as
 * typed messages with a non-zero exit code.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLASSES, encode, heldOutSet } from '../../tools/shapes/render.js';
import { type ImageServer, startImageServer } from '../helpers/http.js';

const execFileP = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'mmrt.js');
const env = { ...process.env, MMRT_FROM_SOURCE: '1' };
const LABELS = CLASSES.map(([c, s]) => `${c} ${s}`);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; a non-zero exit is a result here, not an exception. */
async function mmrt(...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await execFileP('node', [BIN, ...args], { env, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof err.code !== 'number') throw e;
    return { code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

const jsonLines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
/** Lines the CLI itself printed as errors (warnings and native libraries' noise aside). */
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => /^mmrt: (?!warning:)/.test(l));

let dir: string;
let files: Array<{ path: string; label: string }>;
let corrupt: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mmrt-clip-cli-'));
  // 48 images never seen in training: every class twice, mixed sizes and backgrounds.
  const images = heldOutSet(6067, 2);
  files = await Promise.all(
    images.map(async (im, i) => {
      const format = i % 2 === 0 ? 'png' : 'jpeg';
      const path = join(
        dir,
        `${String(i).padStart(2, '0')}-${im.color}-${im.shape}.${format === 'png' ? 'png' : 'jpg'}`,
      );
      await writeFile(path, await encode(im, format));
      return { path, label: `${im.color} ${im.shape}` };
    }),
  );
  corrupt = join(dir, 'corrupt.png');
  await writeFile(corrupt, Buffer.from('\x89PNG\r\n\x1a\n this is not really a png'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('mmrt classify', () => {
  it('classifies >= 95% of freshly rendered PNG and JPEG images, one JSON line per input, labels best first', async () => {
    // The 24 labels as two comma-separated lists given to a repeated --labels (and -l).
    const r = await mmrt(
      'classify',
      ...files.map((f) => f.path),
      '--labels',
      LABELS.slice(0, 12).join(','),
      '-l',
      LABELS.slice(12).join(', '),
      '--top-k',
      '24',
      '--json',
    );
    expect(errorLines(r.stderr)).toEqual([]);
    expect(r.code).toBe(0);
    // Scores use the learned logit scale (read from model.onnx), not the init-value fallback.
    expect(r.stderr).not.toMatch(/logit_scale_init_value/);
    const lines = jsonLines(r.stdout);
    expect(lines.map((l) => l.input)).toEqual(files.map((f) => f.path));
    let correct = 0;
    for (const [i, line] of lines.entries()) {
      expect(Object.keys(line).sort()).toEqual(['input', 'labels']);
      const labels = line.labels as Array<{ label: string; score: number }>;
      expect(labels.map((l) => l.label).sort()).toEqual([...LABELS].sort());
      for (const l of labels) expect(Object.keys(l).sort()).toEqual(['label', 'score']);
      for (let k = 1; k < labels.length; k++)
        expect(labels[k - 1]!.score).toBeGreaterThanOrEqual(labels[k]!.score);
      expect(labels.reduce((s, l) => s + l.score, 0)).toBeCloseTo(1, 5);
      if (labels[0]!.label === files[i]!.label) correct++;
    }
    expect(correct / files.length).toBeGreaterThanOrEqual(0.95);
  });

  it('an empty --labels is a typed error and a non-zero exit, with nothing on stdout', async () => {
    const r = await mmrt('classify', files[0]!.path, '--labels', '');
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(errorLines(r.stderr).join('\n')).toMatch(/label.*\[INPUT_INVALID\]/);
    // Checked before any model is opened: a folder that does not exist is not even looked at.
    const early = await mmrt(
      'classify',
      files[0]!.path,
      '--labels',
      ' , ',
      '--model',
      join(dir, 'no-such-model'),
    );
    expect(errorLines(early.stderr).join('\n')).toMatch(/label.*\[INPUT_INVALID\]/);
  });

  it('--precision takes every precision the config takes (int4 too), and names the valid ones otherwise', async () => {
    const ok = await mmrt(
      'classify',
      files[0]!.path,
      '--labels',
      'red star,blue circle',
      '--precision',
      'int4',
      '--json',
    );
    expect(ok.code).toBe(0);
    // The tiny model ships q4 files (mmrt quantize): int4 runs them, with no substitution.
    expect(ok.stderr).not.toMatch(/has no int4 variant/);
    expect(jsonLines(ok.stdout)).toHaveLength(1);
    const bad = await mmrt('classify', files[0]!.path, '--labels', 'red star', '--precision', 'int3');
    expect(bad.code).not.toBe(0);
    expect(errorLines(bad.stderr).join('\n')).toMatch(
      /--precision "int3".*valid: fp32, fp16, int8, int4.*\[CONFIG_INVALID_VALUE\]/,
    );
  });

  it('a corrupt file in a batch: an error line naming it, the other images still classified, exit code 1', async () => {
    const [a, b] = [files[0]!, files[1]!];
    const r = await mmrt('classify', a.path, corrupt, b.path, '--labels', LABELS.join(','), '--json');
    expect(r.code).toBe(1);
    const lines = jsonLines(r.stdout);
    expect(lines.map((l) => l.input)).toEqual([a.path, corrupt, b.path]);
    expect(lines[1]).toMatchObject({ input: corrupt, error: { code: 'IMAGE_DECODE_FAILED' } });
    expect((lines[1]!.error as { message: string }).message).toContain(corrupt);
    expect((lines[0]!.labels as Array<{ label: string }>)[0]!.label).toBe(a.label);
    expect((lines[2]!.labels as Array<{ label: string }>)[0]!.label).toBe(b.label);
  });

  describe('unreadable URLs', () => {
    let server: ImageServer;
    beforeAll(async () => {
      server = await startImageServer();
    });
    afterAll(async () => {
      await server?.close();
    });

    it('a 404 and a refused connection each give a typed message naming the URL, and exit code 1', async () => {
      const missing = `${server.base}/missing.png`;
      const refused = `http://127.0.0.1:${server.closedPort}/x.png`;
      const r = await mmrt('classify', files[2]!.path, missing, refused, '--labels', LABELS.join(','));
      expect(r.code).toBe(1);
      const errors = errorLines(r.stderr);
      expect(errors).toHaveLength(2);
      expect(errors[0]).toContain(`mmrt: ${missing}:`);
      expect(errors[0]).toMatch(/404.*\[INPUT_FETCH_FAILED\]$/);
      expect(errors[1]).toContain(`mmrt: ${refused}:`);
      expect(errors[1]).toMatch(/\[INPUT_FETCH_FAILED\]$/);
      // The readable image is still classified on stdout.
      expect(r.stdout.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toContain(`${files[2]!.path}: ${files[2]!.label}`);
    });
  });
});

describe('mmrt embed', () => {
  it('--json writes {"input","embedding"} per input per line, unit-norm; -o .npy writes the same matrix as a loadable .npy', async () => {
    const inputs = files.slice(0, 3).map((f) => f.path);
    const npyPath = join(dir, 'embeddings.npy');
    const [json, npy] = await Promise.all([
      mmrt('embed', ...inputs, '--json'),
      mmrt('embed', ...inputs, '-o', npyPath),
    ]);
    expect(json.code).toBe(0);
    const lines = jsonLines(json.stdout);
    expect(lines.map((l) => l.input)).toEqual(inputs);
    const vectors = lines.map((l) => {
      expect(Object.keys(l).sort()).toEqual(['embedding', 'input']);
      return l.embedding as number[];
    });
    for (const v of vectors) {
      expect(v).toHaveLength(64);
      expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    }

    // NumPy format 1.0: magic, version, little-endian header length, a padded dict literal.
    expect(npy.code).toBe(0);
    const bytes = await readFile(npyPath);
    expect([...bytes.subarray(0, 8)]).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const headerLen = bytes.readUInt16LE(8);
    expect((10 + headerLen) % 64).toBe(0);
    const header = bytes.subarray(10, 10 + headerLen).toString('latin1');
    expect(header.endsWith('\n')).toBe(true);
    expect(header).toMatch(/'descr': '<f4'/);
    expect(header).toMatch(/'fortran_order': False/);
    expect(header).toMatch(/'shape': \(3, 64\)/);
    const body = bytes.subarray(10 + headerLen);
    expect(body.length).toBe(3 * 64 * 4);
    const matrix = new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.length));
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 64; j++) expect(Math.abs(matrix[i * 64 + j]! - vectors[i]![j]!)).toBeLessThan(1e-6);
    }
  });

  it('without --json prints a short line per input for people, and says how to get the vectors', async () => {
    const r = await mmrt('embed', files[0]!.path, files[1]!.path);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      new RegExp(`^${files[0]!.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: 64-d \\[-?\\d\\.\\d{4}, `),
    );
    expect(r.stderr).toContain('--json');
  });

  it('a corrupt file among the inputs is a typed error naming it, with exit code 1 (as JSON with --json)', async () => {
    const r = await mmrt('embed', files[0]!.path, corrupt);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const [line] = errorLines(r.stderr);
    expect(line).toContain(`image 1 (${corrupt})`);
    expect(line).toMatch(/\[IMAGE_DECODE_FAILED\]$/);
    const json = await mmrt('embed', files[0]!.path, corrupt, '--json');
    expect(json.code).toBe(1);
    const { error } = JSON.parse(json.stdout) as { error: { code: string; message: string } };
    expect(error.code).toBe('IMAGE_DECODE_FAILED');
    expect(error.message).toContain(`image 1 (${corrupt})`);
  });
});

describe('mmrt index + search', () => {
  it('finds images of the queried class first in an index built by `mmrt index`', async () => {
    const indexPath = join(dir, 'shapes.idx');
    const built = await mmrt('index', ...files.map((f) => f.path), '-o', indexPath);
    expect(errorLines(built.stderr)).toEqual([]);
    expect(built.code).toBe(0);
    expect(built.stderr).toContain(`${files.length} images, 64-d`);

    const r = await mmrt('search', '-i', indexPath, '-q', 'a photo of a red star', '-k', '3', '--json');
    expect(r.code).toBe(0);
    const hits = jsonLines(r.stdout) as Array<{ input: string; score: number }>;
    expect(hits).toHaveLength(3);
    for (let k = 1; k < hits.length; k++) expect(hits[k - 1]!.score).toBeGreaterThanOrEqual(hits[k]!.score);
    // Two red stars are indexed; both rank above everything else.
    const redStars = files.filter((f) => f.label === 'red star').map((f) => f.path);
    expect(redStars).toHaveLength(2);
    expect(
      hits
        .slice(0, 2)
        .map((h) => h.input)
        .sort(),
    ).toEqual(redStars.sort());
  });
});
