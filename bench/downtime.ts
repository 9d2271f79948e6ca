/**
 * The downtime copy on the demo practice: export time and file size for one clinic day (goals: under
 * 3 s and 5 MB), and the time from typing the passphrase to the schedule on screen in Chromium (goal:
 * under 2 s, key derivation included). Baselines from the same run: reading the same charts from the
 * store without sealing them, the unsealed contents' size, and PBKDF2 alone in the same browser.
 *
 *   node --import tsx bench/downtime.ts [--quick]
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateDemoPractice } from '../src/demo/index.ts';
import { deriveDowntimeKey, exportDowntime } from '../src/downtime/index.ts';
import { readDowntimeContent } from '../src/downtime/downtimeContent.ts';
import { initStore } from '../src/store/index.ts';
import { launchChromium } from '../test/browser.ts';
import { flags, isMain, machine, printFigure, tempFolder, type Figure } from './common.ts';

const PASSPHRASE = 'harbor lantern quiet meadow';
const ZONE = 'UTC';

export async function runDowntime({ quick }: { quick: boolean }): Promise<Figure[]> {
  const runs = quick ? 3 : 7;
  const folder = tempFolder('chartvault-bench-downtime-');
  try {
    const { store } = initStore(join(folder.path, 'data'), join(folder.path, 'keys'), ZONE);
    const now = new Date();
    const resources = generateDemoPractice({
      today: now.toISOString().slice(0, 10),
      timeZone: ZONE,
      patients: 300,
      asOfTime: now.toISOString().slice(11, 16),
    });
    for (let i = 0; i < resources.length; i += 5000)
      await store.writeBatch(resources.slice(i, i + 5000).map((resource) => ({ kind: 'put', resource })));
    await store.optimize();
    console.log(`downtime: demo practice of ${resources.length} resources (300 patients), ${runs} runs each`);

    const key = deriveDowntimeKey(PASSPHRASE);
    const out = join(folder.path, 'downtime.html');
    const options = {
      store,
      timeZone: ZONE,
      key,
      out,
      days: 1,
      census: false,
      includeRestricted: false,
      staleAfterHours: 8,
      maxFileBytes: 25 * 1024 * 1024,
      exportedBy: 'benchmark',
    };
    const exportSeconds: number[] = [];
    const readSeconds: number[] = [];
    let report;
    let contentBytes = 0;
    for (let run = 0; run < runs; run++) {
      let started = performance.now();
      const { content } = await readDowntimeContent(store, {
        today: now.toISOString().slice(0, 10),
        timeZone: ZONE,
        days: 1,
        census: false,
        includeRestricted: false,
        exportedBy: 'benchmark',
        staleAfterHours: 8,
        asOf: now.toISOString(),
      });
      readSeconds.push((performance.now() - started) / 1000);
      contentBytes = Buffer.byteLength(JSON.stringify(content));
      started = performance.now();
      report = await exportDowntime(options);
      exportSeconds.push((performance.now() - started) / 1000);
    }
    await store.close();
    console.log(
      `  one clinic day: ${report!.appointments} appointments, ${report!.patients} charts, ${(report!.bytes / 1048576).toFixed(2)} MB`,
    );

    const browserTimes = await unlockTimes(out, runs);
    const exportMedian = median(exportSeconds);
    const figures: Figure[] = [
      {
        name: `export, one clinic day (${report!.patients} charts)`,
        value: exportMedian,
        unit: 's',
        goal: { value: 3, higherIsBetter: false },
      },
      {
        name: 'export, one clinic day',
        value: exportMedian,
        unit: 's',
        baseline: { name: 'reading the same charts', value: median(readSeconds) },
      },
      {
        name: 'downtime file size',
        value: report!.bytes / 1048576,
        unit: 'MB',
        goal: { value: 5, higherIsBetter: false },
      },
      {
        name: 'downtime file size',
        value: report!.bytes / 1048576,
        unit: 'MB',
        baseline: { name: 'the unsealed contents (JSON)', value: contentBytes / 1048576 },
      },
    ];
    if (browserTimes) {
      figures.push(
        {
          name: 'passphrase to schedule, Enter to visible',
          value: median(browserTimes.unlock),
          unit: 'ms',
          goal: { value: 2000, higherIsBetter: false },
        },
        {
          name: 'passphrase to schedule, in the page',
          value: median(browserTimes.inPage),
          unit: 'ms',
          baseline: { name: 'PBKDF2 alone in Chromium', value: median(browserTimes.pbkdf2) },
        },
      );
    }
    for (const figure of figures) printFigure(figure);
    return figures;
  } finally {
    folder.remove();
  }
}

/** Opens the file in Chromium `runs` times: passphrase typed to schedule visible, and PBKDF2 alone. */
async function unlockTimes(
  file: string,
  runs: number,
): Promise<{ unlock: number[]; inPage: number[]; pbkdf2: number[] } | undefined> {
  const browser = await launchChromium();
  if (typeof browser === 'string') {
    console.log(`  (no browser figures: ${browser})`);
    return undefined;
  }
  const unlock: number[] = [];
  const inPage: number[] = [];
  const pbkdf2: number[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      const page = await browser.newPage();
      await page.goto(pathToFileURL(file).href);
      await page.fill('input[type=password]', PASSPHRASE);
      const started = Date.now();
      await page.press('input[type=password]', 'Enter');
      await page.waitForSelector('.clinician');
      unlock.push(Date.now() - started);
      // The viewer's own marks: the same span without the time the test harness takes to see it.
      inPage.push(
        await page.evaluate(
          () =>
            performance.getEntriesByName('downtime-shown')[0].startTime -
            performance.getEntriesByName('downtime-unlock')[0].startTime,
        ),
      );
      pbkdf2.push(
        await page.evaluate(async (passphrase) => {
          const subtle = (globalThis as any).crypto.subtle;
          const begun = performance.now();
          const material = await subtle.importKey(
            'raw',
            new TextEncoder().encode(passphrase),
            'PBKDF2',
            false,
            ['deriveKey'],
          );
          await subtle.deriveKey(
            { name: 'PBKDF2', hash: 'SHA-256', salt: new Uint8Array(16), iterations: 600_000 },
            material,
            { name: 'AES-GCM', length: 256 },
            false,
            ['decrypt'],
          );
          return performance.now() - begun;
        }, PASSPHRASE),
      );
      await page.close();
    }
  } finally {
    await browser.close();
  }
  return { unlock, inPage, pbkdf2 };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

if (isMain(import.meta.url)) {
  console.log(machine());
  await runDowntime(flags());
}
