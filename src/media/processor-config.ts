/**
 * Reads a Hugging Face `preprocessor_config.json` into the few values the image pipeline
 * uses, validated. Missing values take the defaults of the Python class named in
 * `image_processor_type` (that is what Python does with the same file); for a class mmrt
 * does not know, nothing is guessed: every value the enabled steps need must be present.
 */
import { ConfigError } from '../errors.js';
import type { ResizeSpec } from './geometry.js';
import { type ResampleFilter, resampleFilter } from './resample.js';

export type Triple = readonly [number, number, number];

export interface ImageProcessorConfig {
  /** `image_processor_type` (or `feature_extractor_type`), for messages. */
  readonly type: string;
  /** Absent when `do_resize` is false. */
  readonly resize?: ResizeSpec;
  readonly resample: ResampleFilter;
  /** Absent when `do_center_crop` is false. */
  readonly crop?: { readonly width: number; readonly height: number };
  /** Absent when `do_rescale` is false. */
  readonly rescaleFactor?: number;
  /** Both absent when `do_normalize` is false. */
  readonly mean?: Triple;
  readonly std?: Triple;
  /** Informational: decoded images are always RGB already (see src/media/pixels.ts). */
  readonly convertRgb: boolean;
}

const OPENAI_CLIP_MEAN: Triple = [0.48145466, 0.4578275, 0.40821073];
const OPENAI_CLIP_STD: Triple = [0.26862954, 0.26130258, 0.27577711];
const HALF: Triple = [0.5, 0.5, 0.5];

interface Defaults {
  do_resize: boolean;
  size: unknown;
  /** How a bare integer `size` is read (get_size_dict's default_to_square). */
  intSizeIsSquare: boolean;
  resample: number;
  do_center_crop: boolean;
  crop_size: unknown;
  do_rescale: boolean;
  rescale_factor: number;
  do_normalize: boolean;
  image_mean: Triple;
  image_std: Triple;
  do_convert_rgb: boolean;
}

const CLIP: Defaults = {
  do_resize: true,
  size: { shortest_edge: 224 },
  intSizeIsSquare: false,
  resample: 3,
  do_center_crop: true,
  crop_size: { height: 224, width: 224 },
  do_rescale: true,
  rescale_factor: 1 / 255,
  do_normalize: true,
  image_mean: OPENAI_CLIP_MEAN,
  image_std: OPENAI_CLIP_STD,
  do_convert_rgb: true,
};

const SIGLIP: Defaults = {
  ...CLIP,
  size: { height: 224, width: 224 },
  intSizeIsSquare: true,
  resample: 3, // SiglipImageProcessor defaults to BICUBIC
  do_center_crop: false,
  image_mean: HALF,
  image_std: HALF,
};

const BLIP: Defaults = {
  ...CLIP,
  size: { height: 384, width: 384 },
  intSizeIsSquare: true,
  do_center_crop: false,
};

// VideoMAEImageProcessor (X-CLIP's): shortest edge 224, bilinear, IMAGENET_STANDARD mean/std
// (0.5); X-CLIP's packages write ImageNet's 0.485/0.229 means and stds into the file instead.
const VIDEOMAE: Defaults = {
  ...CLIP,
  resample: 2,
  image_mean: HALF,
  image_std: HALF,
};

/** Python constructor defaults of the processor classes mmrt's families use. */
const KNOWN: Readonly<Record<string, Defaults>> = {
  CLIPImageProcessor: CLIP,
  CLIPImageProcessorFast: CLIP,
  CLIPFeatureExtractor: CLIP,
  SiglipImageProcessor: SIGLIP,
  SiglipImageProcessorFast: SIGLIP,
  BlipImageProcessor: BLIP,
  BlipImageProcessorFast: BLIP,
  VideoMAEImageProcessor: VIDEOMAE,
  VideoMAEFeatureExtractor: VIDEOMAE,
};
export const KNOWN_IMAGE_PROCESSORS: readonly string[] = Object.keys(KNOWN);

function invalid(key: string, value: unknown, valid: string, where: string): never {
  throw new ConfigError(
    'CONFIG_INVALID_VALUE',
    `preprocessor config${where}: invalid "${key}": ${JSON.stringify(value)}`,
    {
      key,
      value,
      valid,
    },
  );
}

function missing(key: string, type: string, where: string): never {
  throw new ConfigError(
    'CONFIG_INVALID_VALUE',
    `preprocessor config${where}: "${key}" is required for ${type}`,
    {
      key,
      valid: `a value for "${key}"`,
      hint: `mmrt only fills defaults for ${KNOWN_IMAGE_PROCESSORS.join(', ')}; write "${key}" into the config.`,
    },
  );
}

/** A model input side over this is not an image model's: refused as a config error, not a decode error. */
export const MAX_INPUT_SIDE = 8192;
const isPosInt = (v: unknown): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= MAX_INPUT_SIDE;

function readSize(key: string, v: unknown, intIsSquare: boolean, where: string): ResizeSpec {
  if (isPosInt(v)) return intIsSquare ? { height: v, width: v } : { shortestEdge: v };
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    // CLIP checks "shortest_edge" first and ignores any other key when it is there.
    if (o['shortest_edge'] !== undefined && o['shortest_edge'] !== null) {
      if (isPosInt(o['shortest_edge'])) return { shortestEdge: o['shortest_edge'] };
    } else if (isPosInt(o['height']) && isPosInt(o['width'])) {
      return { height: o['height'], width: o['width'] };
    }
  }
  return invalid(
    key,
    v,
    `{"shortest_edge": N} or {"height": H, "width": W} with integers from 1 to ${MAX_INPUT_SIDE}, or N`,
    where,
  );
}

function readTriple(key: string, v: unknown, where: string, nonZero: boolean): Triple {
  const ok = (x: unknown): x is number =>
    typeof x === 'number' && Number.isFinite(x) && (!nonZero || x !== 0);
  if (ok(v)) return [v, v, v];
  if (Array.isArray(v) && v.length === 3 && v.every(ok)) return [v[0]!, v[1]!, v[2]!];
  return invalid(key, v, `a finite number or 3 finite numbers${nonZero ? ', none zero' : ''}`, where);
}

/** Parses and validates a preprocessor_config.json object. `source` names the file in errors. */
export function parseImageProcessorConfig(json: unknown, source?: string): ImageProcessorConfig {
  const where = source ? ` (${source})` : '';
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new ConfigError('CONFIG_INVALID_VALUE', `preprocessor config${where} must be a JSON object`, {
      value: json,
      valid: 'an object as in preprocessor_config.json',
    });
  }
  const c = json as Record<string, unknown>;
  const typeValue = c['image_processor_type'] ?? c['feature_extractor_type'];
  const type = typeof typeValue === 'string' ? typeValue : 'an unnamed image processor';
  const defaults = typeof typeValue === 'string' ? KNOWN[typeValue] : undefined;
  const has = (k: string) => c[k] !== undefined && c[k] !== null;

  const flag = (key: keyof Defaults, implied: boolean): boolean => {
    const v = c[key];
    if (v === undefined || v === null) return defaults ? (defaults[key] as boolean) : implied;
    if (typeof v !== 'boolean') invalid(key, v, 'true or false', where);
    return v;
  };
  const value = (key: keyof Defaults): unknown => {
    if (has(key)) return c[key];
    if (defaults) return defaults[key];
    return missing(key, type, where);
  };

  const doResize = flag('do_resize', has('size'));
  const doCrop = flag('do_center_crop', has('crop_size'));
  const doRescale = flag('do_rescale', has('rescale_factor'));
  const doNormalize = flag('do_normalize', has('image_mean') && has('image_std'));
  const intIsSquare = defaults ? defaults.intSizeIsSquare : true; // BaseImageProcessor's get_size_dict default

  const resize = doResize ? readSize('size', value('size'), intIsSquare, where) : undefined;
  const resample = doResize ? resampleFilter(value('resample')) : 'bilinear';
  let crop: ImageProcessorConfig['crop'];
  if (doCrop) {
    const spec = readSize('crop_size', value('crop_size'), true, where);
    if ('shortestEdge' in spec) invalid('crop_size', c['crop_size'], '{"height": H, "width": W} or N', where);
    crop = { width: spec.width, height: spec.height };
  }
  let rescaleFactor: number | undefined;
  if (doRescale) {
    const f = value('rescale_factor');
    if (typeof f !== 'number' || !Number.isFinite(f) || f <= 0)
      invalid('rescale_factor', f, 'a positive number', where);
    rescaleFactor = f;
  }
  const mean = doNormalize ? readTriple('image_mean', value('image_mean'), where, false) : undefined;
  const std = doNormalize ? readTriple('image_std', value('image_std'), where, true) : undefined;
  const convertRgb = flag('do_convert_rgb', true);

  return {
    type,
    ...(resize ? { resize } : {}),
    resample,
    ...(crop ? { crop } : {}),
    ...(rescaleFactor !== undefined ? { rescaleFactor } : {}),
    ...(mean && std ? { mean, std } : {}),
    convertRgb,
  };
}
