/**
 * What planning does with component roles and config sections. What each component of a
 * family is (`ComponentSpec`) is declared by the family (`src/families/<name>`).
 */
import type { ComponentRole } from '../package/family-spec.js';

/** The MultimodalLoader sections (`vision_encoder: {...}, language_model: {...}`) plus the missing third. */
export const SECTION_ALIASES = ['vision_encoder', 'text_encoder', 'language_model'] as const;

/** Load order under progressive loading: what answers first loads first. */
export const ROLE_LOAD_ORDER: readonly ComponentRole[] = ['vision', 'combined', 'text', 'llm'];
