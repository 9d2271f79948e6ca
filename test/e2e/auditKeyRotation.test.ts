/**
 * `chartvault keys rotate-audit` through the command line: a new checkpoint signing key, the old one
 * kept as an earlier key valid up to the last checkpoint it signed, `audit verify` passing across the
 * rotation, a refusal while serve runs, and the old key unable to vouch for anything after the rotation.
 */
import assert from 'node:assert/strict';
import { chmodSync, cpSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadAuditSigningKey } from '../../src/audit/index.ts';
import { readEarlierAuditKeys } from '../../src/audit/signingKey.ts';
import { openStore, readSettings } from '../../src/store/index.ts';
import { addClient, chartvault, startServe, stopProcess } from '../cli.ts';
import { tempFolder } from '../testStore.ts';

const folder = tempFolder('chartvault-audit-key-');
const data = join(folder.path, 'data');
const keyDir = join(folder.path, 'keys');
let storeId = '';
let auditKeyFile = '';
/** The first rotation: the key it replaced, its file content, and the seq it vouches up to. */
let first = { oldKeyId: '', oldKeyText: '', until: 0 };
const patientFile = join(folder.path, 'patient.json');

/** `chartvault import` of a small Patient: an entry, and a checkpoint signed with the folder's key. */
function importPatient(id: string, dir = keyDir): void {
  writeFileSync(patientFile, JSON.stringify({ resourceType: 'Patient', id, name: [{ family: 'Okafor' }] }));
  const imported = chartvault('import', '--data', data, '--key-dir', dir, '--no-progress', patientFile);
  assert.equal(imported.status, 0, imported.stderr);
}

before(() => {
  const init = chartvault('init', '--data', data, '--key-dir', keyDir, '--yes');
  assert.equal(init.status, 0, init.stderr);
  storeId = readSettings(data).storeId;
  auditKeyFile = loadAuditSigningKey(keyDir, storeId)!.file;
  addClient(data, keyDir);
  importPatient('audit-key-1');
});

after(() => folder.remove());

const verify = (dir = keyDir) => chartvault('audit', 'verify', '--data', data, '--key-dir', dir);
const rotate = () => chartvault('keys', 'rotate-audit', '--data', data, '--key-dir', keyDir);

/** The audit entries with their seqs, oldest first. */
async function entries(): Promise<
  { seq: number; action: string; resource: { type: string }; outcome: string; detail: any }[]
> {
  const { store } = openStore(data, keyDir);
  try {
    const records = await store.auditEntriesAfter(0, 100_000);
    return records.map((record) => ({ seq: record.seq, ...JSON.parse(record.entry) }));
  } finally {
    await store.close();
  }
}

const checkpointLines = () =>
  readFileSync(join(data, 'audit-checkpoints.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { seq: number; key: string });

test('keys rotate-audit signs with a new key, keeps the old one as an earlier key, and audit verify passes', async () => {
  const old = loadAuditSigningKey(keyDir, storeId)!;
  const oldText = readFileSync(auditKeyFile, 'utf8');
  const headBefore = (await entries()).at(-1)!.seq;
  assert.ok(headBefore >= 2, 'the clients added made entries');
  assert.equal(verify().status, 0);

  const rotated = rotate();
  assert.equal(rotated.status, 0, rotated.stderr);
  const fresh = loadAuditSigningKey(keyDir, storeId)!;
  assert.notEqual(fresh.keyId, old.keyId);
  assert.notEqual(readFileSync(auditKeyFile, 'utf8'), oldText);
  assert.equal(statSync(auditKeyFile).mode & 0o777, 0o600);
  assert.match(rotated.stdout, new RegExp(`new key: ${fresh.keyId}`));
  assert.match(rotated.stdout, new RegExp(`Previous key: ${old.keyId}`));
  assert.match(
    rotated.stdout,
    new RegExp(
      `Checkpoints up to entry #${headBefore} stay verifiable with the old public key, kept in .*audit-earlier-keys\\.json`,
    ),
  );

  // The old key signed the head as it was before the rotation; the earlier key vouches up to there.
  const lines = checkpointLines();
  assert.ok(lines.some((line) => line.key === old.keyId && line.seq === headBefore));
  assert.deepEqual(readEarlierAuditKeys(data), [
    {
      keyId: old.keyId,
      publicKey: old.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex'),
      until: headBefore,
    },
  ]);
  assert.equal(statSync(join(data, 'audit-earlier-keys.json')).mode & 0o777, 0o600);

  // The rotation's entry, right after the old key's last checkpoint, covered by the new key.
  const entry = (await entries()).at(-1)!;
  assert.equal(entry.seq, headBefore + 1);
  assert.equal(entry.action, 'key-rotate');
  assert.equal(entry.resource.type, 'audit-signing-key');
  assert.equal(entry.outcome, 'success');
  assert.deepEqual(entry.detail, { keyId: fresh.keyId, previous: old.keyId, until: headBefore });
  assert.deepEqual(lines.at(-1), { ...lines.at(-1), key: fresh.keyId, seq: entry.seq });

  const verified = verify();
  assert.equal(verified.status, 0, verified.stderr);
  assert.match(
    verified.stdout,
    new RegExp(`Last checkpoint: entry #${entry.seq}, .* with key ${fresh.keyId}`),
  );
  first = { oldKeyId: old.keyId, oldKeyText: oldText, until: headBefore };
});

test('keys rotate-audit refuses while serve has the store open, and changes no key', async () => {
  const before = readFileSync(auditKeyFile, 'utf8');
  const earlierBefore = readEarlierAuditKeys(data);
  const served = await startServe(data, keyDir);
  try {
    const refused = rotate();
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /is in use \(is chartvault serve running\?\); stop it/);
  } finally {
    await stopProcess(served.process);
  }
  assert.equal(readFileSync(auditKeyFile, 'utf8'), before);
  assert.deepEqual(readEarlierAuditKeys(data), earlierBefore);
  const refusal = (await entries()).filter((e) => e.action === 'key-rotate').at(-1)!;
  assert.equal(refusal.outcome, 'failure');
  assert.equal(refusal.resource.type, 'audit-signing-key');
  const verified = verify();
  assert.equal(verified.status, 0, verified.stderr);
});

test('a second rotation keeps both earlier keys and the chain still verifies', async () => {
  const previous = loadAuditSigningKey(keyDir, storeId)!;
  const head = (await entries()).at(-1)!.seq;
  const rotated = rotate();
  assert.equal(rotated.status, 0, rotated.stderr);
  const earlier = readEarlierAuditKeys(data);
  assert.deepEqual(
    earlier.map((k) => [k.keyId, k.until]),
    [
      [first.oldKeyId, first.until],
      [previous.keyId, head],
    ],
  );
  const verified = verify();
  assert.equal(verified.status, 0, verified.stderr);
});

test('the old key cannot vouch for entries after the rotation', async () => {
  // Someone holding a copy of the old key folder makes an entry; the command signs its checkpoint with
  // the old key, past the seq that key vouches for.
  const stolen = join(folder.path, 'stolen-keys');
  cpSync(keyDir, stolen, { recursive: true });
  chmodSync(stolen, 0o700);
  writeFileSync(auditKeyFile.replace(keyDir, stolen), first.oldKeyText, { mode: 0o600 });
  assert.equal(loadAuditSigningKey(stolen, storeId)!.keyId, first.oldKeyId);
  importPatient('audit-key-2', stolen);
  const signed = checkpointLines().at(-1)!;
  assert.equal(signed.key, first.oldKeyId);
  assert.ok(signed.seq > first.until);

  const verified = verify();
  assert.equal(verified.status, 1);
  assert.match(
    verified.stderr,
    new RegExp(
      `signed by an earlier key.*\\(${first.oldKeyId}\\).*vouches only up to #${first.until}, but covers #${signed.seq}`,
    ),
  );
});
