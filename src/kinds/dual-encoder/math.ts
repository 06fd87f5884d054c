/** The shared embedding math (src/embeddings/math.ts), where the dual-encoder kind has always imported it. */
export * from '../../embeddings/math.js';
