/**
 * A person's walk through the Temporal UI in headless Chromium (Debian's package, scripts/chromium-toolchain.sh,
 * driven by playwright-core): a finished run before signing in to the codec (ciphertext, the UI's banner, 401s that
 * name the sign-in page), the sign-in page, the UI's codec settings as the sign-in page tells them, the same run
 * decoded, and a run waiting for approval. Each stage returns what it saw; with `shots` it also writes the README's
 * screenshots there. The browser test asserts on what it saw.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PROJECT_ROOT } from '../lab/paths.js';
import { STAND_TOKENS, type UiStand } from './screenshots-stand.js';

/** Chromium from Debian's package, installed on first use; fails naming it when it cannot be had. */
export function chromiumPath(): string {
  try {
    return execFileSync('bash', [path.join(PROJECT_ROOT, 'scripts', 'chromium-toolchain.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
  } catch (err) {
    throw new Error(`chromium: Debian's chromium package is missing and could not be installed (${String(err)})`);
  }
}

export async function launchChromium(): Promise<Browser> {
  // --no-sandbox: Chromium refuses its sandbox as root, which is how the lab runs.
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox'] });
}

export interface Seen {
  /** HTTP statuses of the page's /codec/decode calls. */
  decodeStatuses: number[];
  /** The detail of the first refused decode call. */
  refusal?: string;
  bannerShown: boolean;
  /** The text of the Input panel. */
  input: string;
}

const workflowUrl = (stand: UiStand, id: string) => `${stand.uiUrl}/namespaces/default/workflows/${id}`;

async function openRun(page: Page, stand: UiStand, id: string): Promise<Seen> {
  const decodeStatuses: number[] = [];
  let refusal: string | undefined;
  const onResponse = async (r: import('playwright-core').Response) => {
    if (!r.url().includes('/codec/decode')) return;
    decodeStatuses.push(r.status());
    if (r.status() !== 200 && refusal === undefined) refusal = ((await r.json()) as { detail?: string }).detail;
  };
  // Each refusal's body is read after its response event: awaited below, so no refusal is missed by returning early.
  const reading: Promise<void>[] = [];
  page.on('response', (r) => void reading.push(onResponse(r).catch(() => undefined)));
  // Not 'networkidle': the page of a running run long-polls its history, so its network is never idle.
  await page.goto(workflowUrl(stand, id), { waitUntil: 'load', timeout: 120_000 });
  const input = page
    .locator('h3, p, div')
    .filter({ hasText: /^Input$/ })
    .first()
    .locator('xpath=..');
  await input.waitFor({ timeout: 60_000 });
  // Decoded payloads replace the encoded ones when the codec answers: give a page whose calls succeed time to. A
  // panel not drawn yet (no JSON in it) is not decoded either.
  for (let i = 0; i < 100 && decodeStatuses.every((s) => s === 200); i++) {
    const text = await input.innerText();
    if (text.includes('{') && !/"payloads"|binary\/encrypted|^\s*"[A-Za-z0-9+/=]{40,}/m.test(text)) break;
    await page.waitForTimeout(200);
  }
  page.removeAllListeners('response');
  await Promise.all(reading);
  // The banner above the run (the top bar's codec icon has the same words as its label).
  const banner = page.locator('#content').getByText('Codec Server could not connect', { exact: true });
  return { decodeStatuses, refusal, bannerShown: await banner.isVisible(), input: await input.innerText() };
}

export async function beforeSignIn(page: Page, stand: UiStand, shots?: string): Promise<Seen> {
  const seen = await openRun(page, stand, stand.finishedId);
  if (shots) await page.screenshot({ path: path.join(shots, 'before-sign-in.png') });
  return seen;
}

/** Signs in at the API's page as a person would: the form, the viewer token, the page that says what is next. */
export async function signIn(page: Page, stand: UiStand, shots?: string): Promise<string> {
  await page.goto(`${stand.apiUrl}/codec/login`);
  await page.getByLabel('API token').fill(STAND_TOKENS.viewer);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#signed-in').waitFor();
  if (shots) await page.screenshot({ path: path.join(shots, 'sign-in.png') });
  return page.locator('body').innerText();
}

/** The UI's codec settings, as the sign-in page says: the browser's own, the endpoint, credentials included. */
export async function pointUiAtCodec(page: Page, stand: UiStand, shots?: string): Promise<void> {
  await page.goto(workflowUrl(stand, stand.finishedId), { waitUntil: 'load', timeout: 120_000 });
  await page.locator('[data-testid^="data-encoder-status"]').first().click();
  await page.getByText('Use my browser setting and ignore Cluster-level setting').click();
  await page.getByPlaceholder('Paste your endpoint here').fill(`${stand.apiUrl}/codec`);
  await page.getByText('Include cross-origin credentials', { exact: true }).click();
  if (shots) await page.screenshot({ path: path.join(shots, 'codec-settings.png') });
  await page.getByRole('button', { name: 'Apply' }).click();
}

export async function afterSignIn(page: Page, stand: UiStand, shots?: string): Promise<Seen> {
  const seen = await openRun(page, stand, stand.finishedId);
  if (shots) await page.screenshot({ path: path.join(shots, 'decoded-run.png') });
  return seen;
}

/** The approval timer's summary (workflows/steps.ts), as the Timeline shows it. */
export const WAIT_SUMMARY = /waiting for an AD operator/;

/** The waiting run: its page text once loaded (Timeline) and its User Metadata tab. */
export async function waitingRun(page: Page, stand: UiStand, shots?: string) {
  await openRun(page, stand, stand.waitingId);
  // The timer's summary is drawn once the history has loaded; the test says what it saw if it never is.
  await page
    .getByText(WAIT_SUMMARY)
    .first()
    .waitFor({ timeout: 60_000 })
    .catch(() => undefined);
  const timeline = await page.locator('body').innerText();
  if (shots) await page.screenshot({ path: path.join(shots, 'waiting-run.png') });
  await page
    .getByRole('link', { name: 'User Metadata' })
    .or(page.getByRole('tab', { name: 'User Metadata' }))
    .click();
  await page
    .getByText(/awaitAdApproval|waiting/)
    .first()
    .waitFor({ timeout: 30_000 })
    .catch(() => undefined);
  return { timeline, metadata: await page.locator('body').innerText() };
}
