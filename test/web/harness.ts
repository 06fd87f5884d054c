/** The browser tests' page: `mmrt/web` on `window.mmrt`, loaded straight from the source. */
import * as mmrt from '../../src/web/index.js';

(globalThis as { mmrt?: typeof mmrt }).mmrt = mmrt;
document.body.dataset.ready = 'true';
