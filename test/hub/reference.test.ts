import { describe, expect, it } from 'vitest';
import { ModelPackageError } from '../../src/errors.js';
import { checksumFromEtag } from '../../src/hub/checksum.js';
import {
  hubFileUrl,
  hubListingUrl,
  parseModelReference,
  validateRepoFilePath,
  validateRevision,
} from '../../src/hub/reference.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ModelPackageError);
    const err = e as ModelPackageError;
    expect(err.details.value).toBeDefined();
    expect(err.details.valid).toBeDefined();
    expect(err.details.hint).toBeDefined();
    return err.code;
  }
  return undefined;
}

describe('parseModelReference', () => {
  it('reads hub ids with default, inline and option revisions', () => {
    expect(parseModelReference('org/name')).toEqual({ kind: 'hub', repo: 'org/name', revision: 'main' });
    expect(parseModelReference('Xenova/clip-vit-base-patch32@v1.0')).toEqual({
      kind: 'hub',
      repo: 'Xenova/clip-vit-base-patch32',
      revision: 'v1.0',
    });
    expect(parseModelReference('org/name', { revision: 'refs/pr/1' })).toEqual({
      kind: 'hub',
      repo: 'org/name',
      revision: 'refs/pr/1',
    });
    const sha = 'a'.repeat(40);
    expect(parseModelReference(`org/name@${sha}`, { revision: sha })).toMatchObject({ revision: sha });
  });

  it('reads paths as local', () => {
    for (const p of [
      '/abs/model',
      './m',
      '../m',
      '~/models/m',
      '~',
      'C:\\models\\m',
      'C:/m',
      'a\\b',
      'models/clip/v1',
      'clip-tiny',
      '.',
    ]) {
      expect(parseModelReference(p)).toEqual({ kind: 'local', path: p });
    }
  });

  it('rejects bad hub ids and revisions with MODEL_ID_INVALID', () => {
    const bad = [
      'org/na me',
      'org/..',
      'org/name@',
      'org/name@../x',
      'org/name@/main',
      'org/name@a..b',
      'org/name.git',
      'org/-name',
      'or--g/name',
      `org/${'n'.repeat(97)}`,
      'https://huggingface.co/org/name',
      '',
    ];
    for (const ref of bad) {
      expect(
        codeOf(() => parseModelReference(ref)),
        ref,
      ).toBe('MODEL_ID_INVALID');
    }
    expect(parseModelReference(`org/${'n'.repeat(96)}`).kind).toBe('hub');
    expect(codeOf(() => parseModelReference('org/name@v1', { revision: 'v2' }))).toBe('MODEL_ID_INVALID');
  });

  it('validates revisions like git refs', () => {
    for (const ok of ['main', 'v1.0', 'refs/pr/1', 'feature/x-y', 'a'.repeat(40)])
      expect(validateRevision(ok)).toBe(ok);
    for (const bad of [
      '',
      '/main',
      'main/',
      'a..b',
      'a//b',
      'a b',
      'x.lock',
      '.hidden',
      'a/.b',
      'a~1',
      'a:b',
      'a\\b',
      '@',
    ])
      expect(
        codeOf(() => validateRevision(bad)),
        bad,
      ).toBe('MODEL_ID_INVALID');
  });
});

describe('validateRepoFilePath', () => {
  it('accepts repo-relative posix paths', () => {
    for (const ok of ['config.json', 'onnx/model.onnx', 'a b/c%d.txt', '.gitattributes'])
      expect(validateRepoFilePath(ok)).toBe(ok);
  });
  it('rejects escapes and odd shapes', () => {
    for (const bad of [
      '',
      '../x',
      'a/../../x',
      '/etc/passwd',
      'C:/x',
      'a\\b',
      '..\\x',
      'a//b',
      'a/',
      './a',
      'a/./b',
      'a\0b',
    ])
      expect(
        codeOf(() => validateRepoFilePath(bad)),
        JSON.stringify(bad),
      ).toBe('MODEL_ID_INVALID');
  });
});

describe('hub URLs', () => {
  it('encodes the revision as one segment and each path segment', () => {
    expect(hubFileUrl('https://hub.example/', 'org/name', 'refs/pr/1', 'onnx/my model#1.onnx')).toBe(
      'https://hub.example/org/name/resolve/refs%2Fpr%2F1/onnx/my%20model%231.onnx',
    );
    expect(hubFileUrl('https://hub.example', 'org/name', 'main', 'config.json')).toBe(
      'https://hub.example/org/name/resolve/main/config.json',
    );
    expect(hubListingUrl('https://hub.example', 'org/name', 'v1')).toBe(
      'https://hub.example/api/models/org/name/revision/v1',
    );
    expect(codeOf(() => hubFileUrl('https://hub.example', 'org/name', 'main', '../secret'))).toBe(
      'MODEL_ID_INVALID',
    );
  });
});

describe('checksumFromEtag', () => {
  it('recognises sha256 and git sha1, ignores other tags', () => {
    const s256 = 'ab'.repeat(32);
    const s1 = 'cd'.repeat(20);
    expect(checksumFromEtag(`"${s256}"`)).toEqual({ algorithm: 'sha256', hex: s256 });
    expect(checksumFromEtag(`W/"${s1.toUpperCase()}"`)).toEqual({ algorithm: 'git-sha1', hex: s1 });
    expect(checksumFromEtag('"d41d8cd98f00b204e9800998ecf8427e-1"')).toBeUndefined();
    expect(checksumFromEtag(null)).toBeUndefined();
  });
});
