/**
 * The receiver's data directory: its own TLS identity, the paired practices (each in a folder named by
 * a random id, never by the practice's name), pending pairing codes, and the alarm file.
 *
 *   receiver.json                 format marker and the minimum retention
 *   receiver-certificate.pem      self-signed, made on first use
 *   receiver-key.pem              its private key, 0600
 *   pairing/<sha256 of code>.json pending codes (.used once claimed)
 *   practices/<id>/practice.json  label and the fingerprints of its client certificates
 *   practices/<id>/objects/...    the practice's backup objects (write-once)
 *   alarms.log                    one JSON line per alarm
 *   prune.log                     one JSON line per object removed by `receiver prune`
 */
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { makeSelfSignedCertificate } from '../../x509/serverCertificate.ts';
import { BackupError } from '../backupError.ts';
import { fingerprintOfPem } from './fingerprint.ts';

export const DEFAULT_MINIMUM_RETENTION_DAYS = 30;
const HOME_FILE = 'receiver.json';

export interface ReceiverSettings {
  format: 'chartvault-receiver';
  version: 1;
  createdAt: string;
  /** `receiver prune` refuses a shorter retention. */
  minimumRetentionDays: number;
}

export interface PracticeRecord {
  id: string;
  label: string;
  pairedAt: string;
  /** SHA-256 fingerprints (hex) of the client certificates that may act for this practice. */
  clients: { fingerprint: string; pairedAt: string }[];
}

export interface Alarm {
  at: string;
  practice: string;
  object: string;
  reason: string;
  from?: string;
}

export class ReceiverHome {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** Makes the folder, its settings and its certificate on first use; checks them after. */
  async open(): Promise<{ settings: ReceiverSettings; cert: string; key: string; fingerprint: string }> {
    if (existsSync(this.root) && !existsSync(join(this.root, HOME_FILE)) && readdirSync(this.root).length > 0)
      throw new BackupError(
        `${this.root} is not empty and is not a receiver's data directory; give an empty or new folder.`,
      );
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    chmodSync(this.root, 0o700);
    const settings = this.settings();
    const certFile = join(this.root, 'receiver-certificate.pem');
    const keyFile = join(this.root, 'receiver-key.pem');
    if (!existsSync(certFile) || !existsSync(keyFile)) {
      const made = await makeSelfSignedCertificate();
      writeAtomically(keyFile, made.key, 0o600);
      writeAtomically(certFile, made.cert, 0o644);
    }
    if ((statSync(keyFile).mode & 0o077) !== 0)
      throw new BackupError(
        `The receiver's key ${keyFile} can be read by other users; run: chmod 600 ${keyFile}`,
      );
    const cert = readFileSync(certFile, 'utf8');
    return { settings, cert, key: readFileSync(keyFile, 'utf8'), fingerprint: fingerprintOfPem(cert) };
  }

  settings(): ReceiverSettings {
    const file = join(this.root, HOME_FILE);
    if (!existsSync(file)) {
      const made: ReceiverSettings = {
        format: 'chartvault-receiver',
        version: 1,
        createdAt: new Date().toISOString(),
        minimumRetentionDays: DEFAULT_MINIMUM_RETENTION_DAYS,
      };
      writeAtomically(file, JSON.stringify(made, null, 2) + '\n', 0o600);
    }
    const settings = JSON.parse(readFileSync(file, 'utf8')) as ReceiverSettings;
    if (settings.format !== 'chartvault-receiver')
      throw new BackupError(`${file} is not a ChartVault receiver's settings file.`);
    if (settings.version > 1)
      throw new BackupError(`${file} was written by a newer ChartVault receiver: upgrade.`);
    return settings;
  }

  /** Fails with a clear message unless the folder is a receiver's (for the commands that only read it). */
  requireExisting(): void {
    if (!existsSync(join(this.root, HOME_FILE)))
      throw new BackupError(
        `${this.root} is not a receiver's data directory (no ${HOME_FILE}); start it once with chartvault receiver --data ${this.root} --port N.`,
      );
  }

  certificatePem(): string {
    return readFileSync(join(this.root, 'receiver-certificate.pem'), 'utf8');
  }

  get pairingFolder(): string {
    return join(this.root, 'pairing');
  }

  practiceFolder(id: string): string {
    if (!/^[0-9a-f]{16}$/.test(id)) throw new BackupError(`${id} is not a practice id (16 hex characters).`);
    return join(this.root, 'practices', id);
  }

  objectsFolder(id: string): string {
    return join(this.practiceFolder(id), 'objects');
  }

  practices(): PracticeRecord[] {
    const folder = join(this.root, 'practices');
    if (!existsSync(folder)) return [];
    return readdirSync(folder)
      .filter((id) => /^[0-9a-f]{16}$/.test(id) && existsSync(join(folder, id, 'practice.json')))
      .map((id) => JSON.parse(readFileSync(join(folder, id, 'practice.json'), 'utf8')) as PracticeRecord);
  }

  practice(id: string): PracticeRecord {
    const file = join(this.practiceFolder(id), 'practice.json');
    if (!existsSync(file))
      throw new BackupError(`No practice ${id} on this receiver; chartvault receiver status lists them.`);
    return JSON.parse(readFileSync(file, 'utf8')) as PracticeRecord;
  }

  /** A new practice folder, under a random id. */
  addPractice(label: string, fingerprint: string): PracticeRecord {
    const id = randomBytes(8).toString('hex');
    const now = new Date().toISOString();
    const record: PracticeRecord = { id, label, pairedAt: now, clients: [{ fingerprint, pairedAt: now }] };
    mkdirSync(this.objectsFolder(id), { recursive: true, mode: 0o700 });
    this.savePractice(record);
    return record;
  }

  savePractice(record: PracticeRecord): void {
    writeAtomically(
      join(this.practiceFolder(record.id), 'practice.json'),
      JSON.stringify(record, null, 2) + '\n',
      0o600,
    );
  }

  get alarmFile(): string {
    return join(this.root, 'alarms.log');
  }

  raiseAlarm(alarm: Alarm): void {
    appendFileSync(this.alarmFile, JSON.stringify(alarm) + '\n', { mode: 0o600 });
  }

  alarms(): Alarm[] {
    if (!existsSync(this.alarmFile)) return [];
    return readFileSync(this.alarmFile, 'utf8')
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line) as Alarm);
  }

  get pruneLog(): string {
    return join(this.root, 'prune.log');
  }
}

function writeAtomically(file: string, text: string, mode: number): void {
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, text, { mode });
  renameSync(temporary, file);
}
