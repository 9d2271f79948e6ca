/**
 * `chartvault report access`: who has seen or changed one patient's record (accounting of disclosures);
 * `chartvault report alerts`: the break-the-glass accesses the security officer reviews.
 */
import { decide, operatorPrincipal } from '../access/index.ts';
import { listAlerts } from '../access/restrictedCharts.ts';
import { dateRange } from '../fhir/dateRange.ts';
import { openStore } from '../store/index.ts';
import { CliError } from './main.ts';

interface EntryView {
  time: string;
  agent: { type: string; id?: string; display?: string; role?: string; address?: string };
  action: string;
  resource?: { type: string; id?: string; version?: string };
  outcome: string;
  status?: number;
}

const MAX_ROWS = 1_000_000;

export async function reportAccessCommand(options: {
  data: string;
  keyDir: string;
  patient: string;
  since?: string;
  json?: boolean;
}): Promise<void> {
  if (!/^[A-Za-z0-9\-.]{1,64}$/.test(options.patient))
    throw new CliError(
      `--patient takes a patient id (1-64 letters, digits, '-' and '.'), not "${options.patient.slice(0, 70)}".`,
    );
  const since = options.since === undefined ? undefined : dateRange(options.since);
  if (options.since !== undefined && !since)
    throw new CliError(
      `--since takes a date such as 2025-01-31 or 2025-01-31T08:00:00Z, not "${options.since}".`,
    );
  const { store } = openStore(options.data, options.keyDir);
  try {
    const records = await store.searchAudit({
      patient: options.patient,
      timeRanges: since ? [{ start: since.start, end: Number.MAX_SAFE_INTEGER }] : undefined,
      limit: MAX_ROWS,
    });
    const rows = records.map((record) => {
      const entry = JSON.parse(record.entry) as EntryView;
      const r = entry.resource;
      return {
        seq: record.seq,
        time: entry.time,
        who: whoText(entry.agent),
        agent: entry.agent,
        action: entry.action,
        resource: r ? [r.type, r.id, r.version && `_history/${r.version}`].filter(Boolean).join('/') : '',
        outcome:
          entry.outcome === 'success' ? 'success' : `failure${entry.status ? ` (${entry.status})` : ''}`,
      };
    });
    if (options.json) {
      console.log(
        JSON.stringify({ patient: options.patient, since: options.since, accesses: rows }, null, 2),
      );
      return;
    }
    console.log(
      `Access to the record of Patient/${options.patient}${options.since ? ` since ${options.since}` : ''}: ${rows.length} entries.`,
    );
    if (rows.length === 0) return;
    const widths = [24, Math.max(3, ...rows.map((r) => r.who.length)), 10];
    console.log(
      [
        'when'.padEnd(widths[0]!),
        'who'.padEnd(widths[1]!),
        'action'.padEnd(widths[2]!),
        'resource',
        'outcome',
      ].join('  '),
    );
    for (const r of rows)
      console.log(
        [
          r.time.padEnd(widths[0]!),
          r.who.padEnd(widths[1]!),
          r.action.padEnd(widths[2]!),
          r.resource,
          r.outcome,
        ].join('  '),
      );
  } finally {
    await store.close();
  }
}

function whoText(agent: EntryView['agent']): string {
  const name = agent.display ?? agent.id ?? agent.type;
  const kind = agent.role ? `${agent.type}, ${agent.role}` : agent.type;
  return `${name === kind ? name : `${name} (${kind})`}${agent.address ? ` from ${agent.address}` : ''}`;
}

/** `chartvault report alerts`: every break-the-glass access, newest first, for the security officer. */
export async function reportAlertsCommand(options: {
  data: string;
  keyDir: string;
  json?: boolean;
}): Promise<void> {
  const decision = decide(operatorPrincipal(), 'search', 'AuditEvent');
  if (!decision.allowed) throw new CliError(`Not allowed: ${decision.reason}.`);
  const { store } = openStore(options.data, options.keyDir);
  try {
    const alerts = await listAlerts(store);
    if (options.json) {
      console.log(JSON.stringify({ alerts }, null, 2));
      return;
    }
    if (alerts.length === 0) {
      console.log('No alerts: nobody has broken the glass to open a restricted chart.');
      return;
    }
    console.log(`${alerts.length} break-the-glass ${alerts.length === 1 ? 'access' : 'accesses'} to review:`);
    for (const alert of alerts)
      console.log(
        `${alert.time}  ${alert.user} (${alert.role})${alert.address ? ` from ${alert.address}` : ''} opened ` +
          `Patient/${alert.patient} until ${alert.until}\n    reason: ${alert.reason}`,
      );
    console.log('See what they did: chartvault report access --patient ID');
  } finally {
    await store.close();
  }
}
