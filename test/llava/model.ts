/** The VLM the LLaVA tests run on: the shipped tiny shapes VLM (override with MMRT_TEST_VLM). */
import { DEFAULT_VLM_MODEL } from '../../src/cli/paths.js';

export const VLM_DIR = process.env.MMRT_TEST_VLM ?? DEFAULT_VLM_MODEL;
