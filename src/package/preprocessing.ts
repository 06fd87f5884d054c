/**
 * A package's tokenizer and image processor, read the one way every model kind reads them:
 * errors name the file they come from, and the processor resizes exactly like Pillow unless
 * the caller asked for 'fast'.
 */
import { InputError } from '../errors.js';
import { ImageProcessor, type ResampleMode } from '../media/processor.js';
import { TextTokenizer } from '../text/tokenizer.js';
import type { ModelPackage } from './describe.js';

export function packageTokenizer(
  pkg: ModelPackage,
  options: { readonly padSide: 'left' | 'right'; readonly maxPositions?: number | undefined },
): TextTokenizer {
  if (!pkg.tokenizer) throw new InputError('INPUT_INVALID', `${pkg.location} has no tokenizer`);
  return TextTokenizer.fromJson(pkg.tokenizer.tokenizerJson, pkg.tokenizer.tokenizerConfig, {
    ...(options.maxPositions && { maxPositions: options.maxPositions }),
    source: `${pkg.location}/tokenizer.json`,
    padSide: options.padSide,
  });
}

export function packageImageProcessor(
  pkg: ModelPackage,
  resampleMode: ResampleMode = 'exact',
): ImageProcessor {
  return ImageProcessor.fromConfig(pkg.preprocessorConfig, {
    source: `${pkg.location}/preprocessor_config.json`,
    resampleMode,
  });
}
