import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { jsonFiles, readJson, sharedDataOrSkip, unpackShared } from '../../test/sharedData.ts';
import { createTempStore, tempFolder } from '../../test/testStore.ts';
import { importPaths } from './importer.ts';
import { writeFileSync } from 'node:fs';

interface Entry {
  resource: { resourceType: string; identifier?: { system?: string; value?: string }[] };
}

/** What the Synthea files say should be stored, counted straight from the JSON. */
function expectedCounts(files: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  const shared = new Map<string, Set<string>>();
  for (const file of files) {
    for (const { resource } of readJson<{ entry: Entry[] }>(file).entry) {
      const type = resource.resourceType;
      const identifier = resource.identifier?.[0];
      if (
        ['Organization', 'Practitioner', 'Location', 'PractitionerRole'].includes(type) &&
        identifier?.value
      ) {
        // The same practitioner or organization appears in many bundles: one record per identifier.
        if (!shared.has(type)) shared.set(type, new Set());
        shared.get(type)!.add(`${identifier.system}|${identifier.value}`);
      } else {
        counts[type] = (counts[type] ?? 0) + 1;
      }
    }
  }
  for (const [type, ids] of shared) counts[type] = (counts[type] ?? 0) + ids.size;
  return counts;
}

test('the 100 Synthea bundles import with no rejection, counts match the files, re-import adds nothing', async (t) => {
  if (!sharedDataOrSkip(t, 'synthea-r4-dev-100.tar.gz')) return;
  const dir = unpackShared('synthea-r4-dev-100.tar.gz');
  const files = jsonFiles(dir);
  const expected = expectedCounts(files);
  const temp = createTempStore();
  try {
    const report = await importPaths(temp.store, [dir]);
    assert.deepEqual(report.rejected, []);
    const entries = files.reduce((n, f) => n + readJson<{ entry: unknown[] }>(f).entry.length, 0);
    t.diagnostic(
      `${entries} entries in ${files.length} files imported in ${report.seconds.toFixed(1)} s (${Math.round(entries / report.seconds)}/s)`,
    );
    assert.deepEqual(await temp.store.countByType(), expected);

    const again = await importPaths(temp.store, [dir]);
    assert.deepEqual(again.rejected, []);
    for (const [type, c] of Object.entries(again.byType)) {
      assert.equal(c.created + c.updated, 0, `${type}: re-import must not create or change anything`);
    }
    assert.deepEqual(await temp.store.countByType(), expected);
  } finally {
    await temp.cleanup();
  }
});

test('the HL7 R4 examples import; the ones that cannot be stored are listed with the reason', async (t) => {
  if (!sharedDataOrSkip(t, 'hl7.fhir.r4.examples-4.0.1.tgz')) return;
  const dir = join(unpackShared('hl7.fhir.r4.examples-4.0.1.tgz'), 'package');
  const temp = createTempStore();
  try {
    const report = await importPaths(temp.store, [dir]);
    const stored = Object.values(await temp.store.countByType()).reduce((a, b) => a + b, 0);
    t.diagnostic(
      `${stored} resources stored from ${report.files} files; ${report.rejected.length} rejected:`,
    );
    for (const r of report.rejected) t.diagnostic(`  ${r.source}: ${r.reason.slice(0, 300)}`);
    assert.ok(stored > 1000, `stored ${stored}`);
    // Each rejection names its file and a reason; package.json-like files are not resources.
    for (const r of report.rejected) assert.ok(r.source && r.reason.length > 5);
    assert.ok(report.rejected.length < 60, `${report.rejected.length} rejected`);
  } finally {
    await temp.cleanup();
  }
});

test('a transaction Bundle with one invalid entry is rejected whole: nothing of it is stored', async () => {
  const folder = tempFolder();
  const temp = createTempStore();
  try {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:0b3c9e54-1111-4a2b-9c3d-000000000001',
          resource: { resourceType: 'Patient', name: [{ family: 'Half' }] },
          request: { method: 'POST', url: 'Patient' },
        },
        {
          resource: { resourceType: 'Observation', status: 'final' },
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    };
    writeFileSync(join(folder.path, 'half.json'), JSON.stringify(bundle));
    const report = await importPaths(temp.store, [folder.path]);
    assert.equal(report.rejected.length, 1);
    assert.match(report.rejected[0]!.reason, /entry 1 \(Observation\)/);
    assert.match(report.rejected[0]!.reason, /Observation\.code/);
    assert.deepEqual(await temp.store.countByType(), {});
    assert.ok(readFileSync(join(folder.path, 'half.json')).length > 0);
  } finally {
    folder.remove();
    await temp.cleanup();
  }
});

test('the Bulk NDJSON export imports; its conditional references resolve to the stored practitioners', async (t) => {
  if (!sharedDataOrSkip(t, 'bulk-ndjson-10-patients.tar.gz')) return;
  const dir = join(unpackShared('bulk-ndjson-10-patients.tar.gz'), 'bulk-ndjson-10-patients');
  const expected: Record<string, number> = {};
  const npiToId = new Map<string, string>();
  for (const file of readdirSync(dir).filter((f) => /^[A-Z]\w+\.\d+\.ndjson$/.test(f))) {
    for (const line of readFileSync(join(dir, file), 'utf8')
      .split('\n')
      .filter((l) => l.trim())) {
      const resource = JSON.parse(line);
      expected[resource.resourceType] = (expected[resource.resourceType] ?? 0) + 1;
      if (resource.resourceType === 'Practitioner') npiToId.set(resource.identifier[0].value, resource.id);
    }
  }
  const temp = createTempStore();
  try {
    const report = await importPaths(temp.store, [dir]);
    const realRejections = report.rejected.filter((r) => !r.source.startsWith('log.ndjson'));
    assert.deepEqual(realRejections, []);
    assert.equal(report.unresolvedReferences, 0);
    assert.deepEqual(await temp.store.countByType(), expected);
    // An encounter's `Practitioner?identifier=...|NPI` now points at the practitioner with that NPI.
    const line = readFileSync(join(dir, 'Encounter.000.ndjson'), 'utf8').split('\n')[0]!;
    const source = JSON.parse(line);
    const npi = /us-npi\|(\d+)/.exec(source.participant[0].individual.reference)![1]!;
    const stored = await temp.store.read('Encounter', source.id);
    assert.equal((stored as any).participant[0].individual.reference, `Practitioner/${npiToId.get(npi)}`);
  } finally {
    await temp.cleanup();
  }
});
