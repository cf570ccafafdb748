/**
 * The Temporal UI in a real browser (headless Chromium from Debian's package) against its own dev server with the
 * UI, the API with the codec, and the product's workflows over activity doubles: a finished run is ciphertext and
 * the UI's decode calls are told where to sign in (401, never 429) until the person signs in; after the sign-in
 * page's steps the same page shows the decoded input; a run waiting for approval shows that it waits. The same walk
 * writes the README's screenshots (npx tsx scripts/screenshots.ts).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Browser, Page } from 'playwright-core';
import { startUiStand, type UiStand } from '../../scripts/screenshots-stand.js';
import {
  afterSignIn,
  beforeSignIn,
  launchChromium,
  pointUiAtCodec,
  signIn,
  waitingRun,
} from '../../scripts/screenshots-walk.js';

Runtime.install({ logger: new DefaultLogger('WARN') });

let stand: UiStand;
let browser: Browser;
let page: Page;

before(async () => {
  stand = await startUiStand();
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
});
after(async () => {
  await browser?.close();
  await stand?.close();
});

test('before sign-in: ciphertext, the banner, and decode calls answered 401 naming the sign-in page, none 429', async () => {
  const seen = await beforeSignIn(page, stand);
  assert.ok(seen.decodeStatuses.length > 0, 'the page called the codec');
  assert.deepEqual([...new Set(seen.decodeStatuses)], [401], `statuses: ${seen.decodeStatuses.join(',')}`);
  assert.match(seen.refusal ?? '', new RegExp(`sign in at ${stand.apiUrl}/codec/login`));
  assert.ok(seen.bannerShown, 'the UI says the codec could not connect');
  assert.doesNotMatch(seen.input, /contoso\.com|webapp01/, 'the input is not readable before sign-in');
});

test('after the sign-in page and the codec settings it names, the finished run shows its decoded input', async () => {
  const next = await signIn(page, stand);
  assert.match(next, /Include cross-origin credentials/);
  assert.match(next, new RegExp(`${stand.apiUrl}/codec`));
  await pointUiAtCodec(page, stand);
  const seen = await afterSignIn(page, stand);
  assert.ok(seen.decodeStatuses.length > 0 && seen.decodeStatuses.every((s) => s === 200), `${seen.decodeStatuses}`);
  assert.ok(!seen.bannerShown, 'no codec banner once signed in');
  // The request as it was posted (the panel shows its first lines).
  assert.match(seen.input, new RegExp(`"controllerAddress": "${stand.finishedRequest.domain.controllerAddress}"`));
  assert.match(seen.input, new RegExp(`"name": "${stand.finishedRequest.gmsa.name}"`));
});

test('a run waiting for approval shows that it waits', async () => {
  const { timeline, metadata } = await waitingRun(page, stand);
  assert.match(timeline, /RUNNING/);
  assert.match(`${timeline}\n${metadata}`, /waiting for an AD operator|awaitAdApproval\s+waiting/);
});
