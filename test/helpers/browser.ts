import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';
import puppeteer, { type Browser as FirefoxBrowser } from 'puppeteer-core';

/** Debian's Chromium; `.ci/run` installs it. No test downloads a browser. */
export const chromiumPath = '/usr/bin/chromium';

/** Debian's Firefox ESR, which `.ci/run` installs. */
export const firefoxPath = '/usr/bin/firefox-esr';

/** Folder of the committed screenshots that the README shows. */
export const screenshotFolder = new URL('../../docs/screenshots/', import.meta.url);

/**
 * Why browser tests cannot run here, or undefined when they can. Under CI=true a missing
 * browser or portal build is a failure rather than a skip.
 */
export function browserUnavailable(browser: 'chromium' | 'firefox' = 'chromium'): string | undefined {
  const [path, debianPackage] = browser === 'firefox' ? [firefoxPath, 'firefox-esr'] : [chromiumPath, 'chromium'];
  const reason = !existsSync(path)
    ? `${path} is missing; install Debian's ${debianPackage} package`
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

/**
 * Preferences that turn off the connections Firefox makes by itself: updates, telemetry,
 * studies, remote settings, safe browsing lists, captive portal or connectivity checks, push,
 * prefetching or DNS over HTTPS. DNS is off, so a host name never resolves and only IP
 * literals such as 127.0.0.1 can be reached.
 */
export const quietFirefoxPrefs: Record<string, string | number | boolean> = {
  'app.update.auto': false,
  'app.update.disabledForTesting': true,
  'app.update.staging.enabled': false,
  'app.normandy.enabled': false,
  'app.normandy.api_url': '',
  'app.shield.optoutstudies.enabled': false,
  'messaging-system.rsexperimentloader.enabled': false,
  'browser.discovery.enabled': false,
  'browser.newtabpage.enabled': false,
  'browser.newtabpage.activity-stream.feeds.system.topstories': false,
  'browser.newtabpage.activity-stream.feeds.topsites': false,
  'browser.newtabpage.activity-stream.telemetry': false,
  'browser.ping-centre.telemetry': false,
  'browser.region.network.url': '',
  'browser.region.update.enabled': false,
  'browser.search.update': false,
  'browser.safebrowsing.blockedURIs.enabled': false,
  'browser.safebrowsing.downloads.enabled': false,
  'browser.safebrowsing.downloads.remote.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'browser.safebrowsing.provider.google.updateURL': '',
  'browser.safebrowsing.provider.google4.updateURL': '',
  'browser.safebrowsing.provider.mozilla.updateURL': '',
  'browser.topsites.contile.enabled': false,
  'captivedetect.canonicalURL': '',
  'datareporting.healthreport.uploadEnabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'datareporting.usage.uploadEnabled': false,
  'dom.push.enabled': false,
  'dom.push.connection.enabled': false,
  'dom.push.serverURL': '',
  'extensions.blocklist.enabled': false,
  'extensions.getAddons.cache.enabled': false,
  'extensions.systemAddon.update.enabled': false,
  'extensions.update.enabled': false,
  'geo.provider.network.url': '',
  'media.gmp-manager.updateEnabled': false,
  'media.gmp-gmpopenh264.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'network.dns.disabled': true,
  'network.dns.disablePrefetch': true,
  'network.predictor.enabled': false,
  'network.prefetch-next': false,
  'network.proxy.type': 0,
  'network.trr.mode': 5,
  'security.OCSP.enabled': 0,
  'security.remote_settings.crlite_filters.enabled': false,
  'security.remote_settings.intermediates.enabled': false,
  'services.settings.server': '',
  'toolkit.telemetry.enabled': false,
  'toolkit.telemetry.server': '',
  'toolkit.telemetry.unified': false,
  'toolkit.telemetry.archive.enabled': false,
  'toolkit.coverage.endpoint.base': '',
};

/**
 * Starts headless Firefox through WebDriver BiDi with the preferences above. puppeteer-core
 * makes a fresh profile in the system's temporary folder for every launch and deletes it on close.
 */
export async function launchFirefox(): Promise<FirefoxBrowser> {
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: firefoxPath,
    headless: true,
    extraPrefsFirefox: quietFirefoxPrefs,
  });
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
