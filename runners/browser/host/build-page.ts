/** `npm run build:page`: writes dist/browser/page.js (the browser runner's page bundle). */
import { buildPageBundle, describeBundle } from './bundle.js';

const out = await buildPageBundle();
process.stdout.write(`page bundle: ${describeBundle(out)}\n`);
