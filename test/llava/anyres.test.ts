/**
 * LLaVA-Next any-resolution geometry against values computed by hand from Hugging Face
 * Python's code (image_processing_llava_next.py, processing_llava_next.py,
 * modeling_llava_next.py); no llava-next fixture model is used here.
 */
import { describe, expect, it } from 'vitest';
import {
  anyresFeatureCount,
  anyresTiles,
  gridShape,
  packAnyresFeatures,
  patchOutputSize,
  type Resolution,
  selectBestResolution,
  unpadRegion,
} from '../../src/kinds/vision-language/anyres.js';

// llava-hf/llava-v1.6-* image_grid_pinpoints
const V16: Resolution[] = [
  [336, 672],
  [672, 336],
  [672, 672],
  [1008, 336],
  [336, 1008],
];

describe('LLaVA-Next geometry (hand-computed from HF Python)', () => {
  it('select_best_resolution keeps the most pixels, then wastes the least', () => {
    // 480x640 (h x w): [672,672] keeps all 307200 pixels; the wide ones keep 150528
    expect(selectBestResolution(480, 640, V16)).toEqual([672, 672]);
    // a tall strip: 1000x300 fits [1008,336] at scale 1.008 -> keeps everything, wastes least
    expect(selectBestResolution(1000, 300, V16)).toEqual([1008, 336]);
    // a tiny image: every candidate keeps all 100 pixels, the smallest wastes least ([336,672] first)
    expect(selectBestResolution(10, 10, V16)).toEqual([336, 672]);
  });

  it('get_patch_output_size keeps the aspect with ceil on the short side', () => {
    expect(patchOutputSize(480, 640, [672, 672])).toEqual([504, 672]);
    expect(patchOutputSize(1000, 300, [1008, 336])).toEqual([1008, 303]); // ceil(300 * 1.008) = 303
    expect(patchOutputSize(500, 316, [672, 336])).toEqual([532, 336]); // ceil(500 * 336/316) = 532
  });

  it('grid shape and unpad region', () => {
    expect(gridShape(480, 640, V16, 336)).toEqual([2, 2]);
    // 48x48 feature grid of a 480x640 image: int(round(480 * 48/640, 7)) = 36 rows survive, 6 cut each side
    expect(unpadRegion(480, 640, [48, 48])).toEqual({ top: 6, bottom: 42, left: 0, right: 48 });
    // 500x316 on a 48x24 grid: int(round(500 * 24/316, 7)) = 37 -> pad (48-37)//2 = 5
    expect(unpadRegion(500, 316, [48, 24])).toEqual({ top: 5, bottom: 43, left: 0, right: 24 });
    // taller than the grid: columns are cut
    expect(unpadRegion(1000, 300, [72, 24])).toEqual({ top: 0, bottom: 72, left: 1, right: 23 });
  });

  it('image token counts match HF Python processors', () => {
    // transformers tests/models/llava_next/test_processor_llava_next.py::test_image_token_filling:
    // a 500x316 image, pinpoints [[672, 336]], 336 tiles, patch 14, "default" -> 1526
    expect(anyresFeatureCount(500, 316, [[672, 336]], [336, 336], 14, 1, 'default')).toBe(1526);
    // 480x640 with llava-v1.6 pinpoints: 36*48 unpadded + 36 newlines + 576 base = 2340
    expect(anyresFeatureCount(480, 640, V16, [336, 336], 14, 1, 'default')).toBe(2340);
    // "full" keeps the CLS token of the base image
    expect(anyresFeatureCount(480, 640, V16, [336, 336], 14, 1, 'full')).toBe(2341);
  });

  it('the model-side packing produces exactly the processor-side count, over many sizes', () => {
    const pins: Resolution[] = [
      [32, 64],
      [64, 32],
      [64, 64],
      [96, 32],
      [32, 96],
    ];
    const tile = 32;
    const patch = 8;
    const hidden = 2;
    const side = tile / patch;
    for (let h = 7; h < 200; h += 13) {
      for (let w = 5; w < 200; w += 17) {
        const [gh, gw] = gridShape(h, w, pins, tile);
        const tiles = 1 + gh * gw;
        const feats = new Float32Array(tiles * side * side * hidden);
        const { count } = packAnyresFeatures(
          feats,
          tiles,
          hidden,
          h,
          w,
          pins,
          tile,
          patch,
          Float32Array.of(9, 9),
        );
        expect(count, `${h}x${w}`).toBe(anyresFeatureCount(h, w, pins, [tile, tile], patch, 1, 'default'));
      }
    }
  });

  it('packs features as HF: base first, then unpadded grid rows each ended by image_newline', () => {
    // 2 tiles side by side (grid 1x2), 2x2 patches per tile, hidden 1; an image 10 high x 40 wide
    const pins: Resolution[] = [[16, 32]];
    const tile = 16;
    const patch = 8;
    // features: value = tile*100 + patch index
    const feats = Float32Array.from({ length: 3 * 4 }, (_, i) => Math.floor(i / 4) * 100 + (i % 4));
    const { features, count } = packAnyresFeatures(
      feats,
      3,
      1,
      10,
      40,
      pins,
      tile,
      patch,
      Float32Array.of(-1),
    );
    // grid 2 rows x 4 cols; aspect 4 > 2 -> new_height = int(round(10 * 4/40, 7)) = 1, pad (2-1)//2 = 0: both rows stay
    expect(count).toBe(4 + 2 * 5);
    expect(Array.from(features)).toEqual([0, 1, 2, 3, 100, 101, 200, 201, -1, 102, 103, 202, 203, -1]);
  });

  it('cuts the image into base + row-major tiles after a centred black pad', () => {
    const w = 40;
    const h = 10;
    const data = new Uint8Array(w * h * 3).fill(200);
    const tiles = anyresTiles({ data, width: w, height: h }, [[32, 64]], 32, 32, 'bicubic');
    expect(tiles).toHaveLength(3);
    for (const t of tiles) expect([t.width, t.height]).toEqual([32, 32]);
    // 40x10 -> 64x16 inside 64x32: 8 black rows on top, 8 at the bottom of each tile
    const px = (t: number, x: number, y: number) => tiles[t]!.data[(y * 32 + x) * 3]!;
    expect(px(1, 5, 0)).toBe(0);
    expect(px(1, 5, 7)).toBe(0);
    expect(px(1, 5, 8)).toBe(200);
    expect(px(2, 5, 23)).toBe(200);
    expect(px(2, 5, 24)).toBe(0);
    // the base image is the whole picture squashed to the tile size: no padding
    expect(px(0, 5, 0)).toBe(200);
  });
});
