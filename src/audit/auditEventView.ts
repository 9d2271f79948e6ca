/**
 * The chain seen through FHIR: each entry as an R4 AuditEvent (id = its sequence number), read and
 * searched through the API, never written (docs/audit-chain.md, section 7).
 */
import { dateRange } from '../fhir/dateRange.ts';
import { FhirError, badRequest } from '../fhir/outcome.ts';
import type { Resource } from '../fhir/types.ts';
import type { AuditEntryDraft, AuditQuery, AuditRecord, ResourceStore } from '../store/index.ts';

/** An entry as the chain holds it: the draft the writer appended, with its time always filled in. */
type StoredEntry = AuditEntryDraft & { time: string };

export interface AuditEventResponse {
  status: number;
  resource: Resource;
}

const MAX_COUNT = 1000;
const DEFAULT_COUNT = 50;
const REST_ACTIONS = new Set(['read', 'vread', 'update', 'patch', 'delete', 'history', 'create', 'search']);
/** FHIR AuditEvent.action codes and the entry actions each stands for; E covers every other action. */
const ACTION_CODES: Record<string, string[]> = {
  C: ['create'],
  R: ['read', 'vread', 'search', 'history', 'everything'],
  U: ['update'],
  D: ['delete'],
};
const OTHER_ACTIONS = ['batch', 'transaction', 'import', 'export', 'backup', 'restore', 'operation'];

export const auditChangeRefused = () =>
  new FhirError(
    405,
    'Audit entries cannot be changed: AuditEvent is read-only, written by the server as things happen.',
    'not-supported',
  );

export function actionCode(action: string): 'C' | 'R' | 'U' | 'D' | 'E' {
  for (const [code, actions] of Object.entries(ACTION_CODES))
    if (actions.includes(action)) return code as 'C' | 'R' | 'U' | 'D';
  return 'E';
}

export function outcomeCode(entry: { outcome: string; status?: number }): '0' | '4' | '8' {
  if (entry.outcome === 'success') return '0';
  return entry.status !== undefined && entry.status >= 400 && entry.status < 500 ? '4' : '8';
}

/** An entry as an R4 AuditEvent. */
export function toAuditEvent(record: AuditRecord): Resource {
  const entry = JSON.parse(record.entry) as StoredEntry;
  const rest = REST_ACTIONS.has(entry.action);
  const { agent } = entry;
  const entity: unknown[] = [];
  if (entry.resource) {
    const { type, id, version } = entry.resource;
    const reference = id ? `${type}/${id}${version ? `/_history/${version}` : ''}` : type;
    entity.push({
      what: id ? { reference } : { display: type },
      type: {
        system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
        code: '2',
        display: 'System Object',
      },
      ...(entry.detail?.query !== undefined
        ? { query: Buffer.from(String(entry.detail.query)).toString('base64') }
        : {}),
    });
  }
  for (const patient of entry.patients ?? []) {
    if (entry.resource?.type === 'Patient' && entry.resource.id === patient) continue;
    entity.push({
      what: { reference: `Patient/${patient}` },
      type: {
        system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
        code: '1',
        display: 'Person',
      },
      role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
    });
  }
  const details = Object.entries(entry.detail ?? {})
    .filter(([name]) => name !== 'query')
    .map(([name, value]) => `${name}: ${value}`);
  return {
    resourceType: 'AuditEvent',
    id: String(record.seq),
    meta: { versionId: '1', lastUpdated: entry.time },
    type: rest
      ? {
          system: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
          code: 'rest',
          display: 'RESTful Operation',
        }
      : { system: 'urn:chartvault:audit-action', code: entry.action },
    ...(rest
      ? { subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: entry.action }] }
      : { subtype: [{ system: 'urn:chartvault:audit-action', code: entry.action }] }),
    action: actionCode(entry.action),
    recorded: entry.time,
    outcome: outcomeCode(entry),
    ...(entry.status !== undefined || details.length > 0
      ? {
          outcomeDesc: [...(entry.status !== undefined ? [`HTTP ${entry.status}`] : []), ...details].join(
            '; ',
          ),
        }
      : {}),
    agent: [
      {
        type: { text: agent.type },
        who: {
          ...(agent.id
            ? { identifier: { system: `urn:chartvault:agent:${agent.type}`, value: agent.id } }
            : {}),
          display: agent.display ?? agent.id ?? agent.type,
        },
        ...(agent.role ? { role: [{ text: agent.role }] } : {}),
        requestor: true,
        ...(agent.address ? { network: { address: agent.address, type: '2' } } : {}),
      },
    ],
    source: { observer: { display: 'ChartVault' } },
    ...(entity.length > 0 ? { entity } : {}),
  } as Resource;
}

/** GET AuditEvent/{seq} (and its only version, 1). */
export async function readAuditEvent(
  store: ResourceStore,
  id: string,
  version?: string,
): Promise<AuditEventResponse> {
  const seq = /^[1-9][0-9]{0,15}$/.test(id) ? Number(id) : NaN;
  const [record] = Number.isNaN(seq) ? [] : await store.auditEntriesAfter(seq - 1, 1);
  if (!record || record.seq !== seq)
    throw new FhirError(404, `AuditEvent/${id.slice(0, 64)} is not known.`, 'not-found');
  if (version !== undefined && version !== '1')
    throw new FhirError(404, `AuditEvent/${id} has only version 1.`, 'not-found');
  return { status: 200, resource: toAuditEvent(record) };
}

/** GET AuditEvent?...: a searchset Bundle, newest first with `_sort=-date`, paged by `_cursor`. */
export async function searchAuditEvents(
  store: ResourceStore,
  baseUrl: string,
  params: [string, string][],
  strict: boolean,
): Promise<AuditEventResponse> {
  const query: AuditQuery = { limit: DEFAULT_COUNT };
  for (const [rawName, value] of params) {
    const [name, modifier] = rawName.split(':', 2) as [string, string?];
    switch (name) {
      case 'patient':
        if (query.patient !== undefined || value.includes(','))
          throw badRequest('AuditEvent searches take one patient.', 'not-supported');
        query.patient = value.replace(/^(?:.*\/)?Patient\//, '');
        break;
      case 'agent':
        query.agents = value
          .split(',')
          .map((v) => (modifier === 'identifier' ? v.replace(/^[^|]*\|/, '') : v));
        break;
      case 'date':
        (query.timeRanges ??= []).push(dateCondition(value));
        break;
      case 'action':
        query.actions = value.split(',').flatMap((code) => {
          if (code === 'E') return OTHER_ACTIONS;
          const actions = ACTION_CODES[code];
          if (!actions) throw badRequest(`action must be C, R, U, D or E, not "${code.slice(0, 20)}".`);
          return actions;
        });
        break;
      case 'outcome':
        query.outcomeCodes = value.split(',').map((code) => {
          if (!['0', '4', '8', '12'].includes(code))
            throw badRequest(`outcome must be 0, 4, 8 or 12, not "${code.slice(0, 20)}".`);
          return Number(code);
        });
        break;
      case 'entity': {
        const match = /^(?:.*\/)?([A-Z][A-Za-z]+)(?:\/([A-Za-z0-9\-.]{1,64}))?$/.exec(value);
        if (!match)
          throw badRequest(`entity must be a reference such as Patient/123, not "${value.slice(0, 100)}".`);
        query.entity = { type: match[1]!, id: match[2] };
        break;
      }
      case '_count':
        if (!/^\d+$/.test(value))
          throw badRequest(`_count must be a whole number, not "${value.slice(0, 20)}".`);
        query.limit = Math.min(Number(value), MAX_COUNT);
        break;
      case '_sort':
        if (value === '-date' || value === '-_lastUpdated') query.descending = true;
        else if (value === 'date' || value === '_lastUpdated') query.descending = false;
        else
          throw badRequest(
            `AuditEvent searches sort by date or -date, not "${value.slice(0, 50)}".`,
            'not-supported',
          );
        break;
      case '_cursor':
        if (!/^\d+$/.test(value)) throw badRequest('_cursor is not valid; follow the Bundle links.');
        query.afterSeq = Number(value);
        break;
      case '_format':
      case '_pretty':
        break;
      default:
        if (strict)
          throw badRequest(
            `AuditEvent searches do not support the parameter ${rawName.slice(0, 50)}.`,
            'not-supported',
          );
    }
  }
  const limit = query.limit;
  const records = limit === 0 ? [] : await store.searchAudit({ ...query, limit: limit + 1 });
  const more = records.length > limit;
  const page = records.slice(0, limit);
  const kept = params.filter(([name]) => name !== '_cursor');
  const link = (cursor?: number) => {
    const linkParams: [string, string][] = [...kept];
    if (cursor !== undefined) linkParams.push(['_cursor', String(cursor)]);
    return `${baseUrl}/AuditEvent?${new URLSearchParams(linkParams).toString()}`;
  };
  const links = [{ relation: 'self', url: link(query.afterSeq) }];
  if (more) links.push({ relation: 'next', url: link(page[page.length - 1]!.seq) });
  return {
    status: 200,
    resource: {
      resourceType: 'Bundle',
      type: 'searchset',
      link: links,
      entry: page.map((record) => ({
        fullUrl: `${baseUrl}/AuditEvent/${record.seq}`,
        resource: toAuditEvent(record),
        search: { mode: 'match' },
      })),
    } as Resource,
  };
}

/** A date search value with its prefix, as the range of instants an entry's time must fall in. */
function dateCondition(value: string): { start: number; end: number } {
  const match = /^(eq|lt|gt|le|ge|sa|eb|ap)?(.+)$/.exec(value)!;
  const prefix = match[1] ?? 'eq';
  const range = dateRange(match[2]!);
  if (!range || value.includes(','))
    throw badRequest(
      `date must be a FHIR date with an optional prefix (eq, lt, gt, le, ge, sa, eb, ap), not "${value.slice(0, 50)}".`,
    );
  const MIN = Number.MIN_SAFE_INTEGER;
  const MAX = Number.MAX_SAFE_INTEGER;
  switch (prefix) {
    case 'lt':
    case 'eb':
      return { start: MIN, end: range.start - 1 };
    case 'gt':
    case 'sa':
      return { start: range.end + 1, end: MAX };
    case 'le':
      return { start: MIN, end: range.end };
    case 'ge':
      return { start: range.start, end: MAX };
    default:
      return range;
  }
}
