import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium; `.ci/run` installs it. No test downloads a browser. */
export const chromiumPath = '/usr/bin/chromium';

/** Folder of the committed screenshots that the README shows. */
export const screenshotFolder = new URL('../../docs/screenshots/', import.meta.url);

/**
 * Why browser tests cannot run here, or undefined when they can. Under CI=true a missing
 * browser or portal build is a failure rather than a skip.
 */
export function browserUnavailable(): string | undefined {
  const reason = !existsSync(chromiumPath)
    ? `${chromiumPath} is missing; install Debian's chromium package`
    : !existsSync(new URL('../../dist/portal/index.html', import.meta.url))
      ? 'the portal is not built; run npm run build'
      : undefined;
  if (reason && process.env.CI === 'true') {
    throw new Error(`Browser tests cannot run under CI=true: ${reason}`);
  }
  return reason;
}

export interface TestBrowser {
  browser: Browser;
  close(): Promise<void>;
}

/**
 * Starts headless Chromium with no background network traffic. Playwright gives every
 * launch a fresh, empty --user-data-dir of its own and deletes it on close.
 */
export async function launchChromium(): Promise<TestBrowser> {
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
    },
  };
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/**
 * Runs axe-core on the page and returns the serious and critical violations. The script is
 * evaluated through the DevTools protocol, which the page's content security policy allows.
 */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: any[] }> } }).axe;
    const result = await axe.run((globalThis as unknown as { document: unknown }).document, { resultTypes: ['violations'] });
    return result.violations.map((violation) => ({
      id: violation.id as string,
      impact: violation.impact as string | null,
      help: violation.help as string,
      targets: (violation.nodes as { target: string[] }[]).slice(0, 5).map((node) => node.target.join(' ')),
    }));
  });
  return violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
}

/** Saves a full-page screenshot as docs/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: new URL(`${name}.png`, screenshotFolder).pathname, fullPage: true, animations: 'disabled' });
}
