/**
 * TLS by default, as an operator meets it: init makes a certificate, serve speaks only HTTPS with it,
 * every response carries the security headers, and plain HTTP is for loopback alone. Real processes,
 * real TLS; the client trusts the store's certificate and nothing else.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeSelfSignedCertificate } from '../../src/x509/serverCertificate.ts';
import { readSettings } from '../../src/store/index.ts';
import { tlsKeyFilePath } from '../../src/store/keyStore.ts';
import { chartvault, CLI, startServe, stopProcess } from '../cli.ts';
import { pinnedGet } from '../httpsClient.ts';
import { tempFolder } from '../testStore.ts';

const folder = tempFolder('chartvault-tls-');
const data = join(folder.path, 'data');
const keyDir = join(folder.path, 'keys');
const certFile = join(data, 'tls-certificate.pem');
const children: ChildProcess[] = [];
let initOutput = '';
let base = '';
let serveOutput = '';

before(async () => {
  const init = chartvault('init', '--data', data, '--key-dir', keyDir, '--yes');
  assert.equal(init.status, 0, init.stderr);
  initOutput = init.stdout;
  const served = await startServe(data, keyDir, { tls: true });
  children.push(served.process);
  ({ base, output: serveOutput } = served);
});

after(async () => {
  await Promise.all(children.map(stopProcess));
  folder.remove();
});

const ca = () => readFileSync(certFile, 'utf8');
const fingerprintIn = (text: string) => /fingerprint: ([0-9A-F:]{95})/.exec(text)?.[1];

test('init makes an ECDSA P-256 certificate for localhost, the loopback addresses and this host, valid about a year', () => {
  const certificate = new X509Certificate(ca());
  assert.equal(certificate.publicKey.asymmetricKeyType, 'ec');
  assert.equal(certificate.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const names = certificate.subjectAltName!.split(', ');
  assert.ok(names.includes('DNS:localhost'), certificate.subjectAltName);
  assert.ok(names.includes('IP Address:127.0.0.1'), certificate.subjectAltName);
  assert.ok(names.includes('IP Address:0:0:0:0:0:0:0:1'), certificate.subjectAltName);
  assert.ok(names.includes(`DNS:${hostname().toLowerCase()}`), certificate.subjectAltName);
  assert.equal(certificate.checkHost('localhost'), 'localhost');
  assert.equal(certificate.checkIP('::1'), '::1');
  const days = (Date.parse(certificate.validTo) - Date.now()) / 86_400_000;
  assert.ok(days > 364 && days < 366, `valid for ${days} days`);
  assert.equal(fingerprintIn(initOutput), certificate.fingerprint256, 'init prints the fingerprint');
});

test('the private key is owner-only in the key folder, not in the data directory', () => {
  const keyFile = tlsKeyFilePath(keyDir, readSettings(data).storeId);
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  assert.match(readFileSync(keyFile, 'utf8'), /-----BEGIN PRIVATE KEY-----/);
  for (const name of ['tls-certificate.pem', 'chartvault.json'])
    assert.doesNotMatch(readFileSync(join(data, name), 'utf8'), /PRIVATE KEY/);
});

test('serve prints the https address first, then the fingerprint of the certificate it presents', async () => {
  const lines = serveOutput.split('\n');
  assert.match(lines[0]!, /^listening on https:\/\/127\.0\.0\.1:\d+$/);
  const response = await pinnedGet(`${base}/metadata`, ca());
  assert.equal(response.peerFingerprint, fingerprintIn(lines[1]!));
  assert.equal(response.peerFingerprint, new X509Certificate(ca()).fingerprint256);
});

test('/fhir/metadata answers over HTTPS to a client that trusts only this certificate, by IP and by name', async () => {
  for (const url of [`${base}/metadata`, `${base.replace('127.0.0.1', 'localhost')}/metadata`]) {
    const response = await pinnedGet(url, ca());
    assert.equal(response.status, 200);
    assert.equal(JSON.parse(response.body).resourceType, 'CapabilityStatement');
    assert.match(response.protocol, /^TLSv1\.[23]$/);
  }
});

test('a client that does not trust the certificate is refused (the check is real)', async () => {
  await assert.rejects(pinnedGet(`${base}/metadata`, undefined), /self-signed certificate/);
  const other = await makeSelfSignedCertificate();
  await assert.rejects(pinnedGet(`${base}/metadata`, other.cert), /self-signed certificate|unable to verify/);
});

test('plain HTTP on the HTTPS port gets no answer', async () => {
  await assert.rejects(fetch(`${base.replace('https:', 'http:')}/metadata`));
});

test('TLS 1.1 is refused by the server', async () => {
  await assert.rejects(
    pinnedGet(`${base}/metadata`, ca(), {
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    }),
    /alert protocol version/,
  );
});

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

test('every response carries the security headers, HSTS included over TLS: a success, a FHIR error, an unknown path', async () => {
  for (const path of [
    '/fhir/metadata',
    '/fhir/Patient/no-such-id',
    '/elsewhere',
    '/fhir/Patient?_format=xml',
  ]) {
    const response = await pinnedGet(`${base.replace(/\/fhir$/, '')}${path}`, ca());
    for (const [name, value] of Object.entries(SECURITY_HEADERS))
      assert.equal(response.headers[name], value, `${name} on ${path} (${response.status})`);
    assert.equal(response.headers['strict-transport-security'], 'max-age=31536000', path);
  }
});

test('--insecure-http serves plain HTTP on loopback, with the same headers but no HSTS', async () => {
  const plain = await startServe(data, keyDir);
  children.push(plain.process);
  assert.match(plain.output.split('\n')[0]!, /^listening on http:\/\/127\.0\.0\.1:\d+$/);
  const response = await fetch(`${plain.base}/metadata`);
  assert.equal(response.status, 200);
  for (const [name, value] of Object.entries(SECURITY_HEADERS))
    assert.equal(response.headers.get(name), value);
  assert.equal(response.headers.get('strict-transport-security'), null);
  await stopProcess(plain.process);
});

test('plain HTTP off loopback is refused with a clear message; HTTPS listens on every address', async () => {
  for (const host of ['0.0.0.0', '192.0.2.10', '::']) {
    const plain = chartvault(
      'serve',
      '--data',
      data,
      '--key-dir',
      keyDir,
      '--host',
      host,
      '--port',
      '0',
      '--insecure-http',
    );
    assert.equal(plain.status, 1);
    assert.match(
      plain.stderr,
      /Refusing plain HTTP on .*--insecure-http is for loopback only \(127\.0\.0\.1, ::1 or localhost\)/,
    );
    assert.doesNotMatch(plain.stderr, /at .*\.ts:\d+/, 'no stack trace');
  }
  // Every request to /fhir needs a token now, so HTTPS may face the practice's network.
  const wide = spawn(
    'node',
    [CLI, 'serve', '--data', data, '--key-dir', keyDir, '--host', '0.0.0.0', '--port', '0'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  try {
    const port = await new Promise<string>((resolve, reject) => {
      let out = '';
      wide.stdout!.on('data', (chunk) => {
        out += chunk;
        const match = /listening on https:\/\/0\.0\.0\.0:(\d+)/.exec(out);
        if (match) resolve(match[1]!);
      });
      wide.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
    });
    const refused = await pinnedGet(`https://127.0.0.1:${port}/fhir/Patient`, ca());
    assert.equal(refused.status, 401, 'reachable, and closed without a token');
  } finally {
    await stopProcess(wide);
  }
});

test('a store made before TLS gets a certificate from its first serve, with a message', async () => {
  const old = join(folder.path, 'old-data');
  assert.equal(chartvault('init', '--data', old, '--key-dir', keyDir, '--yes').status, 0);
  const oldCert = join(old, 'tls-certificate.pem');
  rmSync(oldCert);
  rmSync(tlsKeyFilePath(keyDir, readSettings(old).storeId));
  const served = await startServe(old, keyDir, { tls: true });
  children.push(served.process);
  assert.match(served.output, /had no TLS certificate: made a self-signed one/);
  assert.ok(existsSync(oldCert));
  const response = await pinnedGet(`${served.base}/metadata`, readFileSync(oldCert, 'utf8'));
  assert.equal(response.status, 200);
  await stopProcess(served.process);
});

test('serve refuses a certificate whose key is not its own, naming the command that makes a new pair', async () => {
  const store = join(folder.path, 'mismatched-pair');
  assert.equal(chartvault('init', '--data', store, '--key-dir', keyDir, '--yes').status, 0);
  const stranger = await makeSelfSignedCertificate();
  writeFileSync(tlsKeyFilePath(keyDir, readSettings(store).storeId), stranger.key, { mode: 0o600 });
  const refused = chartvault('serve', '--data', store, '--key-dir', keyDir, '--port', '0');
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /does not belong to the certificate .* chartvault keys rotate-tls/);
  assert.doesNotMatch(refused.stderr, /at .*\.ts:\d+/, 'no stack trace');
});

test('init installs a given certificate and key, and refuses a mismatched pair before creating anything', async () => {
  const given = await makeSelfSignedCertificate({ dns: ['records.example.test'], ips: [] });
  const other = await makeSelfSignedCertificate();
  writeFileSync(join(folder.path, 'given.crt'), given.cert);
  writeFileSync(join(folder.path, 'given.key'), given.key, { mode: 0o600 });
  writeFileSync(join(folder.path, 'other.key'), other.key, { mode: 0o600 });
  const crt = join(folder.path, 'given.crt');
  const initWith = (dataDir: string, ...tls: string[]) =>
    chartvault('init', '--data', dataDir, '--key-dir', keyDir, '--yes', ...tls);
  const mismatched = join(folder.path, 'mismatched');
  const refused = initWith(mismatched, '--tls-cert', crt, '--tls-key', join(folder.path, 'other.key'));
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /does not belong to the certificate/);
  assert.equal(existsSync(mismatched), false, 'no store was made');
  const half = initWith(mismatched, '--tls-cert', crt);
  assert.equal(half.status, 1);
  assert.match(half.stderr, /--tls-cert and --tls-key together/);

  const withGiven = join(folder.path, 'given-data');
  const init = initWith(withGiven, '--tls-cert', crt, '--tls-key', join(folder.path, 'given.key'));
  assert.equal(init.status, 0, init.stderr);
  const installed = new X509Certificate(readFileSync(join(withGiven, 'tls-certificate.pem')));
  assert.equal(installed.fingerprint256, new X509Certificate(given.cert).fingerprint256);
  assert.equal(fingerprintIn(init.stdout), installed.fingerprint256);
  assert.equal(installed.subjectAltName, 'DNS:records.example.test');
});
