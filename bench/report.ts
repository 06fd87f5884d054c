/**
 * Regenerates the README's performance section and the charts from bench/results/latest.json,
 * without measuring anything: `npm run bench -- report`.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeReport } from './suite/report.js';

await writeReport(resolve(fileURLToPath(import.meta.url), '..', '..'));
