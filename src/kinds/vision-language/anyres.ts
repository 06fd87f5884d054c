/**
 * LLaVA-Next "any resolution", restated from Hugging Face Python (image_processing_llava_next
 * and modeling_llava_next) so token counts and feature layout match it exactly:
 * - select_best_resolution: the grid pinpoint that keeps the most of the image's pixels,
 *   then wastes the least;
 * - the image is resized to fit that resolution (aspect kept, ceil on the short side), padded
 *   centered with black, and cut into tiles of the vision tower's size, row-major; a base
 *   image (the whole picture squashed to one tile) goes first;
 * - pack_image_features: tile features are laid out as one big feature grid, the padding
 *   rows/columns are cut off again (unpad_image), an image_newline vector ends each row, and
 *   the base image's features come first.
 */
import type { RgbImage } from '../../host/host.js';
import { type ResampleFilter, resizeRgb } from '../../media/resample.js';

export type Resolution = readonly [height: number, width: number];

/** Python's int(round(x, 7)) for positive x: round to 7 decimals (ties to even), truncate. */
function intRound7(x: number): number {
  const scaled = x * 1e7;
  const floor = Math.floor(scaled);
  const diff = scaled - floor;
  let r = diff > 0.5 ? floor + 1 : diff < 0.5 ? floor : floor % 2 === 0 ? floor : floor + 1;
  r /= 1e7;
  return Math.trunc(r);
}

export function selectBestResolution(
  height: number,
  width: number,
  pinpoints: readonly Resolution[],
): Resolution {
  let best: Resolution = pinpoints[0]!;
  let maxEffective = 0;
  let minWasted = Number.POSITIVE_INFINITY;
  for (const [h, w] of pinpoints) {
    const scale = Math.min(w / width, h / height);
    const dw = Math.trunc(width * scale);
    const dh = Math.trunc(height * scale);
    const effective = Math.min(dw * dh, width * height);
    const wasted = w * h - effective;
    if (effective > maxEffective || (effective === maxEffective && wasted < minWasted)) {
      maxEffective = effective;
      minWasted = wasted;
      best = [h, w];
    }
  }
  return best;
}

/** get_patch_output_size: the size the image is resized to inside the chosen resolution. */
export function patchOutputSize(height: number, width: number, target: Resolution): Resolution {
  const [th, tw] = target;
  const scaleW = tw / width;
  const scaleH = th / height;
  if (scaleW < scaleH) return [Math.min(Math.ceil(height * scaleW), th), tw];
  return [th, Math.min(Math.ceil(width * scaleH), tw)];
}

/** get_anyres_image_grid_shape: tiles down and across. */
export function gridShape(
  height: number,
  width: number,
  pinpoints: readonly Resolution[],
  tile: number,
): Resolution {
  const [h, w] = selectBestResolution(height, width, pinpoints);
  return [Math.floor(h / tile), Math.floor(w / tile)];
}

/**
 * unpad_image on a feature grid of `current` = [rows, cols]: which rows/cols survive.
 * Returns [top, bottom) x [left, right).
 */
export function unpadRegion(
  origHeight: number,
  origWidth: number,
  current: Resolution,
): { top: number; bottom: number; left: number; right: number } {
  const [ch, cw] = current;
  const origAspect = origWidth / origHeight;
  const curAspect = cw / ch;
  if (origAspect > curAspect) {
    const newHeight = intRound7(origHeight * (cw / origWidth));
    const pad = Math.floor((ch - newHeight) / 2);
    return { top: pad, bottom: ch - pad, left: 0, right: cw };
  }
  const newWidth = intRound7(origWidth * (ch / origHeight));
  const pad = Math.floor((cw - newWidth) / 2);
  return { top: 0, bottom: ch, left: pad, right: cw - pad };
}

/**
 * LlavaNextProcessor._get_number_of_features, minus one for the 'default' strategy as the
 * processor does. `tile` is the processed tile size (crop size), `patch` the ViT patch.
 */
export function anyresFeatureCount(
  origHeight: number,
  origWidth: number,
  pinpoints: readonly Resolution[],
  tile: Resolution,
  patch: number,
  numAdditional: number,
  strategy: 'default' | 'full',
): number {
  const [bh, bw] = selectBestResolution(origHeight, origWidth, pinpoints);
  const scaleH = Math.floor(bh / tile[0]);
  const scaleW = Math.floor(bw / tile[1]);
  const ph = Math.floor(tile[0] / patch);
  const pw = Math.floor(tile[1] / patch);
  const r = unpadRegion(origHeight, origWidth, [ph * scaleH, pw * scaleW]);
  const rows = r.bottom - r.top;
  const cols = r.right - r.left;
  const unpadded = rows * cols;
  const newline = rows;
  const base = ph * pw + numAdditional;
  const n = unpadded + newline + base;
  return strategy === 'default' ? n - 1 : n;
}

/** _pad_for_patching: centre on a black canvas of `target`; the odd pixel goes bottom/right. */
function padTo(image: RgbImage, target: Resolution): RgbImage {
  const [th, tw] = target;
  const top = Math.floor((th - image.height) / 2);
  const left = Math.floor((tw - image.width) / 2);
  const out = new Uint8Array(th * tw * 3);
  for (let y = 0; y < image.height; y++) {
    out.set(image.data.subarray(y * image.width * 3, (y + 1) * image.width * 3), ((y + top) * tw + left) * 3);
  }
  return { data: out, width: tw, height: th };
}

function cropTile(image: RgbImage, top: number, left: number, size: number): RgbImage {
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    const src = ((top + y) * image.width + left) * 3;
    out.set(image.data.subarray(src, src + size * 3), y * size * 3);
  }
  return { data: out, width: size, height: size };
}

/**
 * get_image_patches: [base image, tile 0, tile 1, ...] as 8-bit RGB, each `tileSize` square
 * (the caller then runs the usual resize/crop/normalize on each, which leaves them in size).
 * `baseSize` is the square the whole image is squashed to (size.shortest_edge).
 */
export function anyresTiles(
  image: RgbImage,
  pinpoints: readonly Resolution[],
  tileSize: number,
  baseSize: number,
  resample: ResampleFilter,
): RgbImage[] {
  const best = selectBestResolution(image.height, image.width, pinpoints);
  const [nh, nw] = patchOutputSize(image.height, image.width, best);
  const resized = resizeRgb(image, nw, nh, resample);
  const padded = padTo(resized, best);
  const tiles: RgbImage[] = [];
  for (let y = 0; y < best[0]; y += tileSize) {
    for (let x = 0; x < best[1]; x += tileSize) tiles.push(cropTile(padded, y, x, tileSize));
  }
  const base = resizeRgb(image, baseSize, baseSize, resample);
  return [base, ...tiles];
}

/**
 * pack_image_features for one image: `tiles` holds the features of [base, tile 0, ...]
 * ([numTiles, perTile, hidden], CLS already dropped or kept by the encoder), laid out as HF
 * does; `newline` is the learned image_newline vector (absent: no newline features).
 */
export function packAnyresFeatures(
  tiles: Float32Array,
  numTiles: number,
  hidden: number,
  origHeight: number,
  origWidth: number,
  pinpoints: readonly Resolution[],
  visionImageSize: number,
  patch: number,
  newline: Float32Array | undefined,
): { features: Float32Array; count: number } {
  const perTile = tiles.length / (numTiles * hidden);
  const side = Math.floor(visionImageSize / patch);
  if (numTiles === 1) {
    const count = perTile + (newline ? 1 : 0);
    const out = new Float32Array(count * hidden);
    out.set(tiles.subarray(0, perTile * hidden));
    if (newline) out.set(newline, perTile * hidden);
    return { features: out, count };
  }
  if (perTile !== side * side) {
    throw new RangeError(
      `each tile has ${perTile} features; any-resolution packing needs ${side}x${side} (strategy "default")`,
    );
  }
  const [gh, gw] = gridShape(origHeight, origWidth, pinpoints, visionImageSize);
  if (gh * gw !== numTiles - 1)
    throw new RangeError(`expected ${gh}x${gw} tiles plus the base image, got ${numTiles}`);
  const rows = gh * side;
  const cols = gw * side;
  const r = unpadRegion(origHeight, origWidth, [rows, cols]);
  const keptRows = r.bottom - r.top;
  const keptCols = r.right - r.left;
  const count = perTile + keptRows * (keptCols + (newline ? 1 : 0));
  const out = new Float32Array(count * hidden);
  out.set(tiles.subarray(0, perTile * hidden));
  let o = perTile * hidden;
  for (let y = r.top; y < r.bottom; y++) {
    const ty = Math.floor(y / side);
    const py = y % side;
    for (let x = r.left; x < r.right; x++) {
      const tx = Math.floor(x / side);
      const px = x % side;
      const tile = 1 + ty * gw + tx;
      const src = (tile * perTile + py * side + px) * hidden;
      out.set(tiles.subarray(src, src + hidden), o);
      o += hidden;
    }
    if (newline) {
      out.set(newline, o);
      o += hidden;
    }
  }
  return { features: out, count };
}
