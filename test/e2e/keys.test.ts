/**
 * Key rotation through the command line: a new TLS certificate, and the database re-encrypted under a
 * new data key, with the old key shut out, the data intact, and every interrupted state recoverable.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeSelfSignedCertificate } from '../../src/x509/serverCertificate.ts';
import { openStore, readSettings } from '../../src/store/index.ts';
import { databasePath } from '../../src/store/dataDirectory.ts';
import { keyFilePath, pendingDataKeyFilePath } from '../../src/store/keyStore.ts';
import { openConnection } from '../../src/store/sqlite/connection.ts';
import { addClient, chartvault, clientToken, startServe, demoPractice, stopProcess } from '../cli.ts';
import { pinnedGet } from '../httpsClient.ts';
import { tempFolder } from '../testStore.ts';

const folder = tempFolder('chartvault-keys-');
const data = join(folder.path, 'data');
const keyDir = join(folder.path, 'keys');
const downtimeFolder = join(folder.path, 'front-desk');
const passphraseFile = join(folder.path, 'passphrase.txt');
const certFile = join(data, 'tls-certificate.pem');
const children: ChildProcess[] = [];
let keyFile = '';

before(() => {
  const demo = demoPractice(data, keyDir, 12, '--time-zone', 'UTC');
  assert.equal(demo.status, 0, demo.stderr);
  keyFile = keyFilePath(keyDir, readSettings(data).storeId);
  mkdirSync(downtimeFolder);
  writeFileSync(passphraseFile, 'copper kettle winter garden\n', { mode: 0o600 });
  const setup = chartvault(
    'downtime',
    'setup',
    '--data',
    data,
    '--key-dir',
    keyDir,
    '--passphrase-file',
    passphraseFile,
    '--location',
    downtimeFolder,
  );
  assert.equal(setup.status, 0, setup.stderr);
});

after(async () => {
  await Promise.all(children.map(stopProcess));
  folder.remove();
});

const fingerprintOfFile = () => new X509Certificate(readFileSync(certFile)).fingerprint256;
const currentKey = () => Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'hex');

/**
 * A digest of every row of every table but the audit trail's (which grows with each command, and which
 * `audit verify` checks): equal before and after means the data came through intact.
 */
function digestOfDatabase(key: Buffer): { digest: string; versions: number } {
  const db = openConnection(databasePath(data), key, { create: false });
  try {
    const hash = createHash('sha256');
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'audit%' ORDER BY name")
      .pluck()
      .all() as string[];
    for (const table of tables) {
      // Some tables have no rowid: each row's digest, sorted, stands for the table whatever the read order.
      const rows: string[] = [];
      for (const row of db.prepare(`SELECT * FROM "${table}"`).raw().iterate() as Iterable<unknown[]>) {
        const rowHash = createHash('sha256');
        for (const value of row)
          rowHash.update(Buffer.isBuffer(value) ? value : `${typeof value}:${String(value)}\u0000`);
        rows.push(rowHash.digest('hex'));
      }
      hash.update(`table ${table} ${rows.sort().join(',')}\n`);
    }
    const versions = db.prepare('SELECT count(*) FROM resource_version').pluck().get() as number;
    return { digest: hash.digest('hex'), versions };
  } finally {
    db.close();
  }
}

/** The key-rotation entries of the audit trail, oldest first. */
async function rotationEntries(): Promise<{ resource: { type: string }; outcome: string; detail: any }[]> {
  const { store } = openStore(data, keyDir);
  try {
    const records = await store.auditEntriesAfter(0, 100_000);
    return records.map((record) => JSON.parse(record.entry)).filter((entry) => entry.action === 'key-rotate');
  } finally {
    await store.close();
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode === null) {
    child.kill();
    await once(child, 'exit');
  }
}

test('keys rotate-tls makes a new certificate, prints its fingerprint, and serve presents it after a restart', async () => {
  const before = fingerprintOfFile();
  const rotated = chartvault('keys', 'rotate-tls', '--data', data, '--key-dir', keyDir);
  assert.equal(rotated.status, 0, rotated.stderr);
  const after = fingerprintOfFile();
  assert.notEqual(after, before);
  assert.match(rotated.stdout, new RegExp(`SHA-256 fingerprint: ${after}`));
  assert.match(rotated.stdout, new RegExp(`Previous fingerprint: ${before}`));
  assert.match(rotated.stdout, /Restart chartvault serve/);
  const entry = (await rotationEntries()).at(-1)!;
  assert.equal(entry.resource.type, 'tls-certificate');
  assert.equal(entry.outcome, 'success');
  assert.deepEqual(entry.detail, { fingerprint: after, previous: before, source: 'self-signed' });
  const served = await startServe(data, keyDir, { tls: true });
  children.push(served.process);
  const response = await pinnedGet(`${served.base}/metadata`, readFileSync(certFile, 'utf8'));
  assert.equal(response.peerFingerprint, after);
  await stop(served.process);
});

test('keys rotate-tls installs a given certificate and key, and refuses a key that is not its own', async () => {
  const given = await makeSelfSignedCertificate({ dns: ['chart.example.test'], ips: ['127.0.0.1'] });
  const stranger = await makeSelfSignedCertificate();
  writeFileSync(join(folder.path, 'real.crt'), given.cert);
  writeFileSync(join(folder.path, 'real.key'), given.key, { mode: 0o600 });
  writeFileSync(join(folder.path, 'stranger.key'), stranger.key, { mode: 0o600 });
  const rotateTlsTo = (keyFile: string) =>
    chartvault(
      'keys',
      'rotate-tls',
      '--data',
      data,
      '--key-dir',
      keyDir,
      '--tls-cert',
      join(folder.path, 'real.crt'),
      '--tls-key',
      join(folder.path, keyFile),
    );
  const before = fingerprintOfFile();
  const wrong = rotateTlsTo('stranger.key');
  assert.equal(wrong.status, 1);
  assert.match(wrong.stderr, /does not belong to the certificate/);
  assert.equal(fingerprintOfFile(), before, 'nothing replaced');
  const installed = rotateTlsTo('real.key');
  assert.equal(installed.status, 0, installed.stderr);
  assert.equal(fingerprintOfFile(), new X509Certificate(given.cert).fingerprint256);
  // Back to a self-signed one for this machine, for the tests that follow.
  assert.equal(chartvault('keys', 'rotate-tls', '--data', data, '--key-dir', keyDir).status, 0);
});

test('keys rotate-store refuses while serve has the store open, and changes nothing', async () => {
  const served = await startServe(data, keyDir);
  children.push(served.process);
  const keyBefore = readFileSync(keyFile, 'utf8');
  const started = Date.now();
  const refused = chartvault('keys', 'rotate-store', '--data', data, '--key-dir', keyDir);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /is in use \(is chartvault serve running\?\); stop it/);
  assert.ok(Date.now() - started < 5000, 'answers at once rather than waiting for the lock');
  assert.equal(readFileSync(keyFile, 'utf8'), keyBefore);
  assert.equal(existsSync(pendingDataKeyFilePath(keyDir, readSettings(data).storeId)), false);
  assert.equal((await fetch(`${served.base}/metadata`)).status, 200, 'serve carries on');
  const entry = (await rotationEntries()).at(-1)!;
  assert.equal(entry.resource.type, 'data-key');
  assert.equal(entry.outcome, 'failure');
  assert.match(entry.detail.error, /in use/);
  await stop(served.process);
});

test('keys rotate-store re-encrypts under a new key: the old key no longer opens the store, the new one does, the data is intact', async () => {
  const oldKey = currentKey();
  const before = digestOfDatabase(oldKey);
  assert.ok(before.versions > 100, `${before.versions} versions`);
  const rotated = chartvault('keys', 'rotate-store', '--data', data, '--key-dir', keyDir);
  assert.equal(rotated.status, 0, rotated.stderr);
  assert.match(rotated.stdout, /Re-encrypted the store .* under a new data key/);
  assert.match(rotated.stdout, /The old key no longer opens the store/);
  const newKey = currentKey();
  assert.notDeepEqual(newKey, oldKey);
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  assert.equal(existsSync(pendingDataKeyFilePath(keyDir, readSettings(data).storeId)), false);
  assert.throws(() => openConnection(databasePath(data), oldKey, { create: false }), /does not open/);
  assert.deepEqual(digestOfDatabase(newKey), before);
  // The downtime key, wrapped under the data key, followed it: a scheduled-style export still works.
  const exported = chartvault('downtime', 'export', '--data', data, '--key-dir', keyDir);
  assert.equal(exported.status, 0, exported.stderr);
  const entry = (await rotationEntries()).at(-1)!;
  assert.equal(entry.resource.type, 'data-key');
  assert.equal(entry.outcome, 'success');
});

test('a rotation cut short after the rekey is finished by the next serve', async () => {
  const { storeId } = readSettings(data);
  const client = addClient(data, keyDir);
  const oldKey = currentKey();
  const before = digestOfDatabase(oldKey);
  // The state a crash between the rekey and the rename leaves: the database under the pending key.
  const newKey = randomBytes(32);
  writeFileSync(pendingDataKeyFilePath(keyDir, storeId), newKey.toString('hex') + '\n', { mode: 0o600 });
  const db = openConnection(databasePath(data), oldKey, { create: false });
  db.pragma('journal_mode = DELETE');
  db.pragma(`rekey="x'${newKey.toString('hex')}'"`);
  db.close();
  assert.throws(() => openConnection(databasePath(data), oldKey, { create: false }), /does not open/);

  const served = await startServe(data, keyDir);
  children.push(served.process);
  assert.match(served.output, /Finished an interrupted data key rotation/);
  assert.deepEqual(currentKey(), newKey);
  assert.equal(existsSync(pendingDataKeyFilePath(keyDir, storeId)), false);
  const auth = await clientToken(served.base, client);
  const patients = (await (
    await fetch(`${served.base}/Patient?_summary=count`, { headers: auth })
  ).json()) as { total: number };
  assert.equal(patients.total, 12);
  await stop(served.process);
  assert.deepEqual(digestOfDatabase(newKey), before);
  assert.equal(chartvault('downtime', 'export', '--data', data, '--key-dir', keyDir).status, 0);
  assert.ok((await rotationEntries()).some((entry) => entry.detail.recovery === 'finished'));
});

test('a rotation cut short before the rekey is undone, and the next rotation goes through', () => {
  const { storeId } = readSettings(data);
  const oldKey = currentKey();
  const before = digestOfDatabase(oldKey);
  writeFileSync(pendingDataKeyFilePath(keyDir, storeId), randomBytes(32).toString('hex') + '\n', {
    mode: 0o600,
  });
  const rotated = chartvault('keys', 'rotate-store', '--data', data, '--key-dir', keyDir);
  assert.equal(rotated.status, 0, rotated.stderr);
  assert.match(rotated.stdout, /interrupted before re-encrypting the store; the store keeps its key/);
  assert.match(rotated.stdout, /Re-encrypted the store/);
  assert.notDeepEqual(currentKey(), oldKey);
  assert.deepEqual(digestOfDatabase(currentKey()), before);
});

test('keys rotate-store refuses a key given in the environment, naming what to do', () => {
  process.env.CHARTVAULT_DATA_KEY = currentKey().toString('hex');
  try {
    const refused = chartvault('keys', 'rotate-store', '--data', data, '--key-dir', keyDir);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /comes from \$CHARTVAULT_DATA_KEY.*Unset CHARTVAULT_DATA_KEY/);
  } finally {
    delete process.env.CHARTVAULT_DATA_KEY;
  }
});

test('after every rotation the audit chain still verifies, with each rotation in it', async () => {
  const verified = chartvault('audit', 'verify', '--data', data, '--key-dir', keyDir);
  assert.equal(verified.status, 0, verified.stdout + verified.stderr);
  const kinds = (await rotationEntries()).map((entry) => `${entry.resource.type} ${entry.outcome}`);
  assert.ok(kinds.filter((kind) => kind === 'tls-certificate success').length >= 3, kinds.join(', '));
  assert.ok(kinds.filter((kind) => kind === 'data-key success').length >= 3, kinds.join(', '));
});
