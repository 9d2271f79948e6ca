/**
 * One downtime export: read the store, seal the contents, write the file (to a chosen path or to every
 * downtime location), and record the export in the audit chain.
 */
import type { AuditAgent, AuditEntryDraft, ResourceStore } from '../store/index.ts';
import { localDateTime } from './clinicCalendar.ts';
import type { DowntimeContent } from './contentModel.ts';
import { keyId, seal, type DowntimeKey } from './downtimeCrypto.ts';
import { readDowntimeContent } from './downtimeContent.ts';
import {
  copyName,
  distribute,
  writeFileAtomically,
  describeError,
  type LocationResult,
} from './distribution.ts';
import { downtimePage } from './viewerPage.ts';

export interface ExportRequest {
  store: ResourceStore;
  timeZone: string;
  key: DowntimeKey;
  /** Write exactly this file; otherwise write a copy to every location. */
  out?: string;
  locations?: string[];
  days: number;
  census: boolean;
  includeRestricted: boolean;
  staleAfterHours: number;
  /** Census mode leaves out patients beyond this file size. */
  maxFileBytes: number;
  /** Who asked for the export: shown in the file (watermark) and in the audit trail. */
  exportedBy: string;
  now?: Date;
}

export interface ExportReport {
  bytes: number;
  days: string[];
  appointments: number;
  patients: number;
  restrictedLeftOut: number;
  censusLeftOut: number;
  /** Census mode could not get under the size limit (the scheduled charts alone are larger). */
  overLimit: boolean;
  seconds: number;
  asOf: string;
  file?: string;
  locations: LocationResult[];
}

export class DowntimeExportError extends Error {}

export async function exportDowntime(request: ExportRequest): Promise<ExportReport> {
  const started = performance.now();
  const now = request.now ?? new Date();
  const asOf = now.toISOString();
  const { content, patientIds } = await readDowntimeContent(request.store, {
    today: localDateTime(now, request.timeZone).date,
    timeZone: request.timeZone,
    days: request.days,
    census: request.census,
    includeRestricted: request.includeRestricted,
    exportedBy: request.exportedBy,
    staleAfterHours: request.staleAfterHours,
    asOf,
  });
  const { page, overLimit } = buildPage(content, request);
  const bytes = Buffer.byteLength(page, 'utf8');

  let file: string | undefined;
  let locations: LocationResult[] = [];
  let failure: string | undefined;
  if (request.out) {
    try {
      writeFileAtomically(request.out, page);
      file = request.out;
    } catch (error) {
      failure = `Cannot write the downtime file: ${describeError(error, request.out)}.`;
    }
  } else {
    locations = distribute(
      page,
      request.locations ?? [],
      copyName(now, keyId(request.key)),
      keyId(request.key),
    );
  }
  const report: ExportReport = {
    bytes,
    days: content.days.map((d) => d.localDate),
    appointments: content.days.reduce(
      (n, d) => n + d.clinicians.reduce((m, c) => m + c.appointments.length, 0),
      0,
    ),
    patients: content.patients.length,
    restrictedLeftOut: content.restrictedLeftOut,
    censusLeftOut: content.censusLeftOut,
    overLimit,
    seconds: (performance.now() - started) / 1000,
    asOf,
    file,
    locations,
  };
  // Attempts are audited too: a copy that failed half-way may still have left the building.
  await request.store.appendAudit(
    auditEntry(report, request, patientIds.slice(0, content.patients.length), failure),
  );
  if (failure) throw new DowntimeExportError(failure);
  return report;
}

/**
 * Seals the contents into the page. In census mode, when the page is over the size limit, finds the
 * largest number of census charts that fits (binary search; scheduled charts always stay).
 */
function buildPage(content: DowntimeContent, request: ExportRequest): { page: string; overLimit: boolean } {
  const sealPage = () => downtimePage(seal(Buffer.from(JSON.stringify(content)), request.key, content.asOf));
  const fits = (page: string) => Buffer.byteLength(page) <= request.maxFileBytes;
  let page = sealPage();
  if (!content.census || fits(page)) return { page, overLimit: false };
  const all = content.patients;
  const scheduled = all.findLastIndex((p) => p.visits.length > 0) + 1;
  const withCensusCounts = (keep: number) => {
    content.patients = all.slice(0, scheduled + keep);
    content.censusLeftOut = all.length - scheduled - keep;
  };
  const withCensus = (keep: number) => {
    withCensusCounts(keep);
    return sealPage();
  };
  let low = 0; // the most census charts known to fit (0 is the fallback even if it does not)
  let high = all.length - scheduled - 1; // the most that might fit
  let best: { keep: number; page: string } | undefined;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    const candidate = withCensus(middle);
    if (fits(candidate)) {
      low = middle;
      best = { keep: middle, page: candidate };
    } else high = middle - 1;
  }
  if (best?.keep === low) {
    withCensusCounts(low);
    page = best.page;
  } else page = withCensus(low);
  return { page, overLimit: !fits(page) };
}

/**
 * The export's audit entry: who, which charts left the server (what a breach assessment needs if a
 * copy is lost), where the copies went and what failed. No names or chart content.
 */
function auditEntry(
  report: ExportReport,
  request: ExportRequest,
  patientIds: string[],
  failure: string | undefined,
): AuditEntryDraft {
  const failed = [
    ...report.locations.filter((l) => l.error).map((l) => l.error!),
    ...(failure ? [failure] : []),
  ];
  const destinations = report.file
    ? [report.file]
    : report.locations.filter((l) => l.file).map((l) => l.file!);
  return {
    agent: exportAgent(request.exportedBy),
    action: 'export',
    resource: { type: 'downtime-copy' },
    patients: patientIds,
    outcome: destinations.length > 0 && failed.length === 0 ? 'success' : 'failure',
    detail: {
      charts: report.patients,
      appointments: report.appointments,
      days: report.days.length,
      bytes: report.bytes,
      written: destinations.join('; '),
      ...(failed.length > 0 ? { failed: failed.join('; ').slice(0, 1000) } : {}),
    },
  };
}

/** `user@host` from the CLI; otherwise a scheduled export of the server. */
function exportAgent(exportedBy: string): AuditAgent {
  return /^[^\s@]+@[^\s@]+$/.test(exportedBy)
    ? { type: 'os-user', id: exportedBy }
    : { type: 'system', id: 'downtime-schedule', display: exportedBy };
}
