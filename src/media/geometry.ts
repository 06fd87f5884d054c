/**
 * The size arithmetic and the crop of Hugging Face's image_transforms, restated: where a
 * Python `int()` truncates or `//` floors (toward minus infinity, unlike a JS cast), the
 * result is visible as a one-pixel shift, so each step mirrors the Python expression.
 */
import type { RgbImage } from '../host/host.js';

/** What a preprocessor_config.json `size` resolves to. */
export type ResizeSpec =
  | { readonly shortestEdge: number }
  | { readonly height: number; readonly width: number };

/**
 * get_resize_output_image_size: `{shortestEdge}` scales the short side to N and the long
 * side to int(N * long / short) (default_to_square=False); `{height, width}` is used as is.
 */
export function resizeOutputSize(
  width: number,
  height: number,
  spec: ResizeSpec,
): { width: number; height: number } {
  if ('shortestEdge' in spec) {
    const n = spec.shortestEdge;
    const [short, long] = width <= height ? [width, height] : [height, width];
    // Python: int(requested_new_short * long / short) — float division, then truncation.
    const newLong = Math.trunc((n * long) / short);
    return width <= height ? { width: n, height: newLong } : { width: newLong, height: n };
  }
  return { width: spec.width, height: spec.height };
}

/**
 * image_transforms.center_crop on 8-bit RGB. Python takes offsets floor((orig - crop) / 2)
 * and, when the image is smaller than the crop on an axis, first centres it on a zero
 * canvas at ceil((crop - orig) / 2). Both cases reduce to: output pixel i holds source
 * pixel i + floor((orig - crop) / 2), or 0 (black, before rescale/normalize) outside it.
 */
export function centerCrop(image: RgbImage, cropWidth: number, cropHeight: number): RgbImage {
  const { width: ow, height: oh } = image;
  if (cropWidth === ow && cropHeight === oh) return image;
  const top = Math.floor((oh - cropHeight) / 2);
  const left = Math.floor((ow - cropWidth) / 2);
  const xStart = Math.max(0, -left);
  const xEnd = Math.min(cropWidth, ow - left);
  const out = new Uint8Array(cropWidth * cropHeight * 3);
  if (xEnd <= xStart) return { data: out, width: cropWidth, height: cropHeight };
  for (let y = 0; y < cropHeight; y++) {
    const sy = top + y;
    if (sy < 0 || sy >= oh) continue;
    const src = (sy * ow + left + xStart) * 3;
    out.set(image.data.subarray(src, src + (xEnd - xStart) * 3), (y * cropWidth + xStart) * 3);
  }
  return { data: out, width: cropWidth, height: cropHeight };
}
