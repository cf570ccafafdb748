/**
 * Writes the README's Temporal UI screenshots (docs/screenshots/*.png) by the same walk the browser test makes
 * (scripts/screenshots-walk.ts) over a throwaway stand (scripts/screenshots-stand.ts): npx tsx scripts/screenshots.ts
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { PROJECT_ROOT } from '../lab/paths.js';
import { startUiStand } from './screenshots-stand.js';
import { afterSignIn, beforeSignIn, launchChromium, pointUiAtCodec, signIn, waitingRun } from './screenshots-walk.js';

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const shots = path.join(PROJECT_ROOT, 'docs', 'screenshots');
  mkdirSync(shots, { recursive: true });
  const stand = await startUiStand(console.log);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const before = await beforeSignIn(page, stand, shots);
    console.log(`before sign-in: decode calls ${before.decodeStatuses.join(',')}; banner ${before.bannerShown}`);
    await signIn(page, stand, shots);
    await pointUiAtCodec(page, stand, shots);
    const decoded = await afterSignIn(page, stand, shots);
    console.log(`after sign-in: decode calls ${decoded.decodeStatuses.join(',')}; banner ${decoded.bannerShown}`);
    await waitingRun(page, stand, shots);
    console.log(`wrote ${shots}`);
  } finally {
    await browser.close();
    await stand.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
