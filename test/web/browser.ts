/**
 * Debian's Chromium driven by playwright-core for the browser tests: one launch per flag set,
 * headless, with the flags DESIGN.md names (WebGPU on SwiftShader, WebNN behind its feature).
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = process.env.MMRT_CHROMIUM ?? '/usr/bin/chromium';
export const BASE_FLAGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
export const WEBGPU_FLAGS = [
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--enable-unsafe-swiftshader',
];
export const WEBNN_FLAGS = ['--enable-features=WebMachineLearningNeuralNetwork'];

export const haveChromium = existsSync(CHROMIUM);

export function launch(flags: readonly string[]): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...BASE_FLAGS, ...flags] });
}
