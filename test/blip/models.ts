/** The shipped tiny BLIP family (tools/shapes/blip_build.py) and its PyTorch references. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MODELS } from '../shapes/reference.js';
import type { B64Tensor } from '../shapes/reference.js';

export const BLIP_DIR = join(MODELS, 'shapes-blip');
export const BLIP_VQA_DIR = join(MODELS, 'shapes-blip-vqa');
export const BLIP2_DIR = join(MODELS, 'shapes-blip2');
/** The captioning decoder exported without the cross-attention split (recomputed every step). */
export const PLAIN_DECODER = join(import.meta.dirname, 'fixtures', 'text_decoder_plain.onnx');

interface RefBase {
  pixel_values: Record<string, B64Tensor>;
  image_embeds: Record<string, B64Tensor>;
}
export interface CaptionRef extends RefBase {
  cases: Array<{
    image: string;
    prompt: string | null;
    decoder_input_ids: number[];
    first_logits: number[];
    generated_ids: number[];
    generated_text: string;
    caption: string;
  }>;
}
export interface VqaRef extends RefBase {
  cases: Array<{
    image: string;
    question: string;
    question_ids: number[];
    first_logits: number[];
    generated_ids: number[];
    generated_text: string;
  }>;
}
export interface Blip2Ref extends RefBase {
  language_model_inputs: Record<string, B64Tensor>;
  num_query_tokens: number;
  question_template: string;
  cases: Array<{
    image: string;
    prompt: string;
    input_ids: number[];
    first_logits: number[];
    generated_ids: number[];
    generated_text: string;
  }>;
}

export function reference<T>(dir: string): T {
  return JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as T;
}

/** Paths in reference.json are relative to the models folder. */
export const imagePath = (p: string) => join(dirname(BLIP_DIR), p);
