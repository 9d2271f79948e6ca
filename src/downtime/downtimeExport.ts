/**
 * One downtime export: read the store, seal the contents, write the file (to a chosen path or to every
 * downtime location), and record the export as an AuditEvent in the store.
 */
import type { Resource } from '../fhir/types.ts';
import type { ResourceStore } from '../store/index.ts';
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
  const page = buildPage(content, request);
  const bytes = Buffer.byteLength(page, 'utf8');

  let file: string | undefined;
  let locations: LocationResult[] = [];
  if (request.out) {
    try {
      writeFileAtomically(request.out, page);
    } catch (error) {
      throw new DowntimeExportError(`Cannot write the downtime file: ${describeError(error, request.out)}.`);
    }
    file = request.out;
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
    seconds: (performance.now() - started) / 1000,
    asOf,
    file,
    locations,
  };
  await request.store.create(auditEvent(report, request, patientIds.slice(0, content.patients.length)));
  return report;
}

/** Seals the contents into the page; in census mode drops the last census patients until it fits. */
function buildPage(content: DowntimeContent, request: ExportRequest): string {
  let page = downtimePage(seal(Buffer.from(JSON.stringify(content)), request.key, content.asOf));
  if (!content.census) return page;
  const scheduled = content.patients.findLastIndex((p) => p.visits.length > 0) + 1;
  for (let round = 0; round < 8 && Buffer.byteLength(page) > request.maxFileBytes; round++) {
    const censusCount = content.patients.length - scheduled;
    if (censusCount === 0) break;
    const keep = Math.floor(
      censusCount * Math.min(0.9, (request.maxFileBytes / Buffer.byteLength(page)) * 0.95),
    );
    content.censusLeftOut += censusCount - keep;
    content.patients = content.patients.slice(0, scheduled + keep);
    page = downtimePage(seal(Buffer.from(JSON.stringify(content)), request.key, content.asOf));
  }
  return page;
}

function auditEvent(report: ExportReport, request: ExportRequest, patientIds: string[]): Resource {
  const failed = report.locations.filter((l) => l.error);
  const destinations = report.file
    ? [report.file]
    : report.locations.filter((l) => l.file).map((l) => l.file!);
  return {
    resourceType: 'AuditEvent',
    type: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110106', display: 'Export' },
    subtype: [{ system: 'urn:chartvault:audit', code: 'downtime-export', display: 'Downtime copy export' }],
    action: 'R',
    recorded: new Date().toISOString(),
    outcome: destinations.length === 0 ? '8' : failed.length ? '4' : '0',
    outcomeDesc: [
      `${report.patients} charts, ${report.appointments} appointments, ${report.days.length} clinic days, ${report.bytes} bytes`,
      ...destinations.map((d) => `written: ${d}`),
      ...failed.map((f) => `failed: ${f.error}`),
    ].join('; '),
    agent: [{ who: { display: request.exportedBy }, requestor: true }],
    source: { observer: { display: 'ChartVault downtime export' } },
    // The charts that left the server: what a breach assessment needs if a copy is lost.
    entity: patientIds.map((id) => ({
      what: { reference: `Patient/${id}` },
      role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
    })),
  } as Resource;
}
