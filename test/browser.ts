/** Headless Chromium for end-to-end tests: Debian's chromium driven by playwright-core. */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Launches Chromium, or returns why it cannot (the test then skips, and CI with REQUIRE_SHARED_DATA=1 fails). */
export async function launchChromium(): Promise<Browser | string> {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install -y chromium)`;
  return chromium.launch({
    executablePath: CHROMIUM,
    // The machine has no outside network: Chromium's own background traffic is turned off.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** Where tests keep screenshots and PDFs for a person to look at (not committed). */
export function artifactFolder(name: string): string {
  const folder = join(process.cwd(), 'test-artifacts', name);
  mkdirSync(folder, { recursive: true });
  return folder;
}
