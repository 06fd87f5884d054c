/**
 * Model references: what a user types to name a model (`./models/clip`, `org/name`,
 * `org/name@v1`) and the hub URLs and repo paths derived from it. Host-free: no `node:*`,
 * no DOM, so the browser adapter parses references the same way the Node one does.
 *
 * Every string here ends up in a URL or a cache path, so validation is strict: a reference
 * that could climb out of the cache (`..`, absolute paths, backslashes) never gets that far.
 */
import { ModelPackageError } from '../errors.js';

export type ModelReference =
  | { readonly kind: 'local'; readonly path: string }
  | { readonly kind: 'hub'; readonly repo: string; readonly revision: string }
  | { readonly kind: 'shipped'; readonly name: ShippedModel };

/** The tiny shapes-world models every mmrt package carries, named `mmrt:<name>`. */
export const SHIPPED_MODELS = [
  'shapes-clip',
  'shapes-vlm',
  'shapes-llava-next',
  'shapes-blip',
  'shapes-blip-vqa',
  'shapes-blip2',
  'shapes-xclip',
] as const;
export type ShippedModel = (typeof SHIPPED_MODELS)[number];
const SHIPPED_PREFIX = 'mmrt:';

/** `mmrt:shapes-clip` -> `shapes-clip`; anything else after `mmrt:` is a typed error listing the models. */
export function parseShippedModel(ref: string): ShippedModel {
  const name = ref.slice(SHIPPED_PREFIX.length);
  if ((SHIPPED_MODELS as readonly string[]).includes(name)) return name as ShippedModel;
  throw invalid(
    `"${ref}" names no model mmrt ships`,
    ref,
    SHIPPED_MODELS.map((m) => `${SHIPPED_PREFIX}${m}`).join(', '),
    'Shipped models are the tiny shapes-world models; for others pass a folder or a hub id "org/name".',
  );
}

export const DEFAULT_REVISION = 'main';

/** Hugging Face caps each part of `org/name` at 96 characters. */
const MAX_REPO_PART = 96;
/** Git puts no hard limit on ref names; 255 keeps a revision usable as one file-name segment. */
const MAX_REVISION = 255;
const REPO_PART = /^[A-Za-z0-9._-]+$/;
const COMMIT = /^[0-9a-f]{40}$/;

function invalid(message: string, value: unknown, valid: string, hint: string): ModelPackageError {
  return new ModelPackageError('MODEL_ID_INVALID', message, { value, valid, hint });
}

/**
 * Local when it looks like a path a hub id can never be: absolute, explicitly relative,
 * home-relative, a Windows drive or UNC path, or any backslash.
 */
function looksLocal(ref: string): boolean {
  return (
    ref.startsWith('/') ||
    ref === '.' ||
    ref === '..' ||
    ref.startsWith('./') ||
    ref.startsWith('../') ||
    ref.startsWith('~') ||
    /^[A-Za-z]:([\\/]|$)/.test(ref) ||
    ref.includes('\\')
  );
}

/**
 * `org/name`, `org/name@rev` -> hub; `mmrt:shapes-clip` -> a shipped model; paths -> local. A string with two or more `/` is a
 * relative folder (a hub id has exactly one). A bare `name` with no `/` is a relative folder
 * too: the hub's legacy un-namespaced ids are not supported, and guessing would make
 * `clip-tiny` mean a download when the user meant the folder beside them.
 */
export function parseModelReference(ref: string, options: { revision?: string } = {}): ModelReference {
  if (typeof ref !== 'string' || ref.trim() === '') {
    throw invalid(
      'A model reference must be a non-empty string',
      ref,
      'a local folder path or a hub id "org/name"',
      'Pass a folder such as "./models/clip" or a hub id such as "org/name".',
    );
  }
  if (looksLocal(ref)) return { kind: 'local', path: ref };
  if (ref.startsWith(SHIPPED_PREFIX)) return { kind: 'shipped', name: parseShippedModel(ref) };
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(ref)) {
    throw invalid(
      `Model reference "${ref}" is a URL; mmrt takes a hub id or a local folder`,
      ref,
      'a local folder path or a hub id "org/name"',
      'For a Hugging Face repo URL pass just "org/name" (and set MMRT_HUB_ENDPOINT for another hub).',
    );
  }
  const at = ref.indexOf('@');
  const id = at === -1 ? ref : ref.slice(0, at);
  const slashes = id.split('/').length - 1;
  if (slashes !== 1) return { kind: 'local', path: ref };

  const inline = at === -1 ? undefined : ref.slice(at + 1);
  if (inline !== undefined && options.revision !== undefined && inline !== options.revision) {
    throw invalid(
      `Model reference "${ref}" names revision "${inline}" but the revision option says "${options.revision}"`,
      ref,
      'one revision, either in the reference or in the option',
      'Drop one of the two revisions.',
    );
  }
  const repo = validateRepoId(id);
  const revision = validateRevision(inline ?? options.revision ?? DEFAULT_REVISION);
  return { kind: 'hub', repo, revision };
}

/** `org/name`, each part 1-96 of `[A-Za-z0-9._-]`, as the hub accepts them. Returns the id. */
export function validateRepoId(id: string): string {
  const valid = 'org/name, each part 1-96 characters of A-Z a-z 0-9 . _ -, no ".." or "--"';
  const parts = id.split('/');
  const bad = (why: string) =>
    invalid(
      `Hub id "${id}" is not valid: ${why}`,
      id,
      valid,
      'Check the id on the hub, or prefix a local folder with "./".',
    );
  if (parts.length !== 2) throw bad('a hub id is exactly "org/name"');
  for (const part of parts) {
    if (part.length === 0) throw bad('empty org or name');
    if (part.length > MAX_REPO_PART) throw bad(`"${part.slice(0, 20)}..." is longer than ${MAX_REPO_PART}`);
    if (!REPO_PART.test(part)) throw bad(`"${part}" has characters other than A-Z a-z 0-9 . _ -`);
    // The hub forbids these, and `.`/`..` parts would be path segments in the cache.
    if (part.includes('..') || part.includes('--')) throw bad(`"${part}" contains ".." or "--"`);
    if (/^[.-]|[.-]$/.test(part)) throw bad(`"${part}" starts or ends with "." or "-"`);
  }
  if (parts[1]!.endsWith('.git')) throw bad('a name cannot end with ".git"');
  return id;
}

/**
 * A branch or tag name (git's ref-name rules, which also keep it a safe URL/cache segment
 * once encoded) or a 40-hex commit.
 */
export function validateRevision(revision: string): string {
  const valid = 'a branch or tag name (e.g. "main", "v1.0", "refs/pr/1") or a 40-hex commit';
  const bad = (why: string) =>
    invalid(
      `Revision "${revision}" is not valid: ${why}`,
      revision,
      valid,
      'Use a branch, tag or commit hash.',
    );
  if (typeof revision !== 'string' || revision.length === 0) throw bad('empty revision');
  if (COMMIT.test(revision)) return revision;
  if (revision.length > MAX_REVISION) throw bad(`longer than ${MAX_REVISION} characters`);
  if (revision.startsWith('/') || revision.endsWith('/')) throw bad('leading or trailing "/"');
  if (revision.includes('..')) throw bad('contains ".."');
  if (revision.includes('//')) throw bad('contains "//"');
  if (revision.includes('@{') || revision === '@') throw bad('"@{" or "@" alone');
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(revision))
    throw bad('contains a space, control character or one of ~^:?*[\\');
  for (const seg of revision.split('/')) {
    if (seg.startsWith('.')) throw bad(`segment "${seg}" starts with "."`);
    if (seg.endsWith('.lock') || seg.endsWith('.')) throw bad(`segment "${seg}" ends with ".lock" or "."`);
  }
  return revision;
}

/**
 * A file path inside a repo: posix, relative, no `..`/`.` or empty segments, no backslashes.
 * Everything that becomes a cache path goes through here first.
 */
export function validateRepoFilePath(path: string): string {
  const valid = 'a relative posix path inside the repo, e.g. "onnx/model.onnx"';
  const bad = (why: string) =>
    invalid(
      `File path "${path}" is not valid: ${why}`,
      path,
      valid,
      'Name files relative to the model folder with "/" separators.',
    );
  if (typeof path !== 'string' || path.length === 0) throw bad('empty path');
  if (path.includes('\\')) throw bad('contains a backslash');
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) throw bad('absolute path');
  if (/[\x00-\x1f\x7f]/.test(path)) throw bad('contains a control character');
  for (const seg of path.split('/')) {
    if (seg === '') throw bad('empty segment');
    if (seg === '.' || seg === '..') throw bad(`"${seg}" segment`);
  }
  return path;
}

/**
 * `${endpoint}/{repo}/resolve/{revision}/{path}`. The revision is encoded as ONE segment
 * (`refs/pr/1` -> `refs%2Fpr%2F1`, as the hub expects); path segments are encoded one by one.
 */
export function hubFileUrl(endpoint: string, repo: string, revision: string, path: string): string {
  validateRepoId(repo);
  validateRevision(revision);
  validateRepoFilePath(path);
  const file = path.split('/').map(encodeURIComponent).join('/');
  return `${trimEndpoint(endpoint)}/${repo}/resolve/${encodeURIComponent(revision)}/${file}`;
}

/** `${endpoint}/api/models/{repo}/revision/{revision}`: the repo's file listing at a revision. */
export function hubListingUrl(endpoint: string, repo: string, revision: string): string {
  validateRepoId(repo);
  validateRevision(revision);
  return `${trimEndpoint(endpoint)}/api/models/${repo}/revision/${encodeURIComponent(revision)}`;
}

function trimEndpoint(endpoint: string): string {
  return endpoint.replace(/\/+$/, '');
}
