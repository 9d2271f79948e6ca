/**
 * Backups inside `serve`: a snapshot to every scheduled target every minute (by default), a nightly
 * prune by the retention policy of the targets that allow deletion, then a verification of each
 * target, and a weekly restore drill, each audited. A manual `backup run` holds
 * the same lock, so the two never overlap: the schedule skips that turn and says so. Failures and
 * backups older than 24 hours (warning) or 48 hours (alarm) are logged as alerts, without patient data.
 */
import { loadBackupKey, type AuditAgent, type SqliteStore } from '../store/index.ts';
import { BackupLockBusy } from './backupLock.ts';
import { readBackupSchedule, type BackupSchedule } from './backupSchedule.ts';
import { runBackup } from './backupRun.ts';
import { targetRuns } from './backupState.ts';
import { recordDrill, runDrill } from './drill.ts';
import { DirectoryTarget } from './directoryTarget.ts';
import { describePrune, runPrune } from './prune.ts';
import type { RecoveryKit } from './kitFile.ts';
import type { BackupTarget } from './target.ts';
import { verifyTarget } from './verify.ts';

export interface ScheduledBackupsOptions {
  store: SqliteStore;
  dataDir: string;
  keyDir: string;
  storeId: string;
  timeZone: string;
  openTarget: (spec: string) => BackupTarget;
  log: (line: string) => void;
  /** How often the schedule looks at the clock (default 60 s; tests use less). */
  tickMs?: number;
  now?: () => Date;
}

const AGENT: AuditAgent = { type: 'system', id: 'scheduled backup' };
const HOUR = 3_600_000;

export function startScheduledBackups(options: ScheduledBackupsOptions): { stop: () => Promise<void> } {
  const now = options.now ?? (() => new Date());
  const lastAttempt = new Map<string, number>();
  const done = new Set<string>(); // `verify 2026-11-29`, `drill 2026-11-29`: once per local day
  let lastAgeCheck = 0;
  let running: Promise<void> | undefined;
  let stopped = false;

  const tick = () => {
    if (running || stopped) return;
    running = turn().finally(() => {
      running = undefined;
    });
  };

  const turn = async () => {
    try {
      const schedule = readBackupSchedule(options.dataDir);
      if (!schedule || schedule.targets.length === 0) return;
      await backUp(schedule);
      const clock = localClock(now(), options.timeZone);
      if (clock.time >= schedule.verifyAt && !done.has(`verify ${clock.day}`)) {
        done.add(`verify ${clock.day}`);
        await pruneAll(schedule);
        await verifyAll(schedule);
      }
      if (
        clock.weekday === schedule.drillWeekday &&
        clock.time >= schedule.drillAt &&
        !done.has(`drill ${clock.day}`)
      ) {
        done.add(`drill ${clock.day}`);
        await drill(schedule.targets[0]!);
      }
      if (now().getTime() - lastAgeCheck >= HOUR) {
        lastAgeCheck = now().getTime();
        checkAges(schedule);
      }
    } catch (error) {
      options.log(`backup schedule: ${(error as Error).message}`);
    }
  };

  const backUp = async (schedule: BackupSchedule) => {
    for (const spec of schedule.targets) {
      const at = now().getTime();
      if (at - (lastAttempt.get(spec) ?? 0) < schedule.everyMinutes * 60_000) continue;
      lastAttempt.set(spec, at);
      let target: BackupTarget | undefined;
      try {
        target = options.openTarget(spec);
        const result = await runBackup({ ...options, target, agent: AGENT });
        if (!result.unchanged)
          options.log(
            `backup: snapshot ${result.name.slice(0, 12)} to ${target.description}: ${result.versions} versions, ` +
              `${result.objectsWritten} objects, ${result.bytesWritten} bytes in ${result.seconds.toFixed(2)} s`,
          );
      } catch (error) {
        if (error instanceof BackupLockBusy)
          options.log(`backup: a manual backup run holds the lock; this turn for ${spec} is skipped`);
        else
          options.log(
            `backup ALERT: the backup to ${target?.description ?? spec} FAILED: ${(error as Error).message}`,
          );
      }
    }
  };

  const kit = (): RecoveryKit => ({
    storeId: options.storeId,
    backupKey: loadBackupKey(options.keyDir, options.storeId).key,
  });

  const pruneAll = async (schedule: BackupSchedule) => {
    for (const spec of schedule.targets) {
      try {
        const target = options.openTarget(spec);
        // A receiver prunes on its own machine; S3 with a key of its own (the server's cannot delete).
        if (!(target instanceof DirectoryTarget)) continue;
        const report = await runPrune({
          ...options,
          target,
          policy: schedule.keep,
          agent: AGENT,
          now: now(),
        });
        if (report.removed.length > 0 || report.locked.length > 0)
          options.log(`backup: retention in ${target.description}: ${describePrune(report)}`);
      } catch (error) {
        if (error instanceof BackupLockBusy)
          options.log(
            `backup: a manual backup run holds the lock; tonight's retention for ${spec} is skipped`,
          );
        else options.log(`backup ALERT: retention in ${spec} FAILED: ${(error as Error).message}`);
      }
    }
  };

  const verifyAll = async (schedule: BackupSchedule) => {
    for (const spec of schedule.targets) {
      const started = performance.now();
      try {
        const target = options.openTarget(spec);
        const report = await verifyTarget(target, kit(), false);
        const ok = report.problems.length === 0;
        await options.store.appendAudit({
          agent: AGENT,
          action: 'verify',
          outcome: ok ? 'success' : 'failure',
          detail: {
            target: target.description,
            snapshots: report.snapshots.length,
            problems: report.problems.length,
          },
        });
        options.log(
          ok
            ? `backup: nightly verification of ${target.description}: ${report.snapshots.length} snapshots complete in ${((performance.now() - started) / 1000).toFixed(1)} s`
            : `backup ALERT: nightly verification of ${target.description} found ${report.problems.length} problems; run chartvault backup verify --from ${spec}`,
        );
      } catch (error) {
        options.log(`backup ALERT: nightly verification of ${spec} FAILED: ${(error as Error).message}`);
      }
    }
  };

  const drill = async (spec: string) => {
    try {
      const record = await runDrill({ target: options.openTarget(spec), kit: kit() });
      recordDrill(options.dataDir, record);
      await options.store.appendAudit({
        agent: AGENT,
        action: 'drill',
        outcome: record.outcome === 'passed' ? 'success' : 'failure',
        detail: {
          target: record.target,
          seconds: Math.round(record.seconds),
          ...(record.error ? { error: record.error.slice(0, 300) } : {}),
        },
      });
      options.log(
        record.outcome === 'passed'
          ? `backup: weekly restore drill passed: ${record.resources} resources restored and checked in ${record.seconds.toFixed(1)} s`
          : `backup ALERT: weekly restore drill FAILED: ${record.error}`,
      );
    } catch (error) {
      options.log(`backup ALERT: weekly restore drill FAILED: ${(error as Error).message}`);
    }
  };

  const checkAges = (schedule: BackupSchedule) => {
    const runs = targetRuns(options.dataDir);
    for (const spec of schedule.targets) {
      const description = options.openTarget(spec).description;
      const at = runs[description]?.at;
      const hours = at ? (now().getTime() - Date.parse(at)) / HOUR : Infinity;
      if (hours > 48) options.log(`backup ALARM: no backup to ${description} for more than 48 hours`);
      else if (hours > 24) options.log(`backup warning: no backup to ${description} for more than 24 hours`);
    }
  };

  const timer = setInterval(tick, options.tickMs ?? 60_000);
  tick();
  return {
    /** Stops the schedule; resolves once a run in progress has finished (and released the lock). */
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

/** The local day (YYYY-MM-DD), weekday (0 Sunday) and time (HH:MM) in the practice's time zone. */
export function localClock(date: Date, timeZone: string): { day: string; weekday: number; time: string } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(date)
      .map((p) => [p.type, p.value]),
  );
  const weekday = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(parts.weekday!);
  return { day: `${parts.year}-${parts.month}-${parts.day}`, weekday, time: `${parts.hour}:${parts.minute}` };
}
