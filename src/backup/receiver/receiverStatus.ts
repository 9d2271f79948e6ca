/** `receiver status`: what the receiver holds per practice, and its alarms. Reads files only. */
import { existsSync, readdirSync } from 'node:fs';
import { PracticeObjects } from './practiceObjects.ts';
import { ReceiverHome } from './receiverHome.ts';

export interface PracticeStatus {
  id: string;
  label: string;
  pairedAt: string;
  clients: number;
  objects: number;
  snapshots: number;
  bytes: number;
  lastWrite: string | null;
  alarms: number;
}

export interface ReceiverStatus {
  dataDir: string;
  fingerprint: string;
  minimumRetentionDays: number;
  pendingPairingCodes: number;
  practices: PracticeStatus[];
  alarms: number;
  lastAlarm: string | null;
}

export async function receiverStatus(dataDir: string): Promise<ReceiverStatus> {
  const home = new ReceiverHome(dataDir);
  home.requireExisting();
  const alarms = home.alarms();
  const practices = await Promise.all(
    home.practices().map(async (practice) => {
      const objects = await new PracticeObjects(home.objectsFolder(practice.id)).all();
      const last = objects.reduce<Date | null>((a, o) => (!a || o.storedAt > a ? o.storedAt : a), null);
      return {
        id: practice.id,
        label: practice.label,
        pairedAt: practice.pairedAt,
        clients: practice.clients.length,
        objects: objects.length,
        snapshots: objects.filter((o) => o.path.startsWith('snapshots/')).length,
        bytes: objects.reduce((sum, o) => sum + o.size, 0),
        lastWrite: last ? last.toISOString() : null,
        alarms: alarms.filter((a) => a.practice === practice.id).length,
      };
    }),
  );
  const { fingerprintOfPem } = await import('./fingerprint.ts');
  return {
    dataDir: home.root,
    fingerprint: fingerprintOfPem(home.certificatePem()),
    minimumRetentionDays: home.settings().minimumRetentionDays,
    pendingPairingCodes: existsSync(home.pairingFolder)
      ? readdirSync(home.pairingFolder).filter((f) => f.endsWith('.json')).length
      : 0,
    practices,
    alarms: alarms.length,
    lastAlarm: alarms.at(-1)?.at ?? null,
  };
}
