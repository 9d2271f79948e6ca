/**
 * Maps a FHIR request (method and path below the base) to its interaction, and records every
 * interaction in the audit chain (docs/audit-chain.md): writes through the store, in the write's own
 * transaction; reads, searches and failures here, before the answer leaves.
 */
import { auditChangeRefused, readAuditEvent, searchAuditEvents } from '../audit/auditEventView.ts';
import { collectPatientIds, patientIdsInJson } from '../audit/patientLinks.ts';
import { FhirError } from '../fhir/outcome.ts';
import type { Resource } from '../fhir/types.ts';
import { resourceTypes } from '../fhir/validation/index.ts';
import type {
  AuditAgent,
  AuditContext,
  AuditEntryDraft,
  ResourceStore,
  StoreOperations,
  WriteOptions,
} from '../store/index.ts';
import type { AccessGuard } from './accessGuard.ts';
import { breakGlassOperation } from './breakGlass.ts';
import { processBundle } from './bundleProcessor.ts';
import { capabilityStatementAt } from './capabilityStatement.ts';
import type { FhirContext, FhirRequest, FhirResponse } from './fhirExchange.ts';
import * as fhir from './interactions.ts';

export async function routeRequest(
  ops: StoreOperations | ResourceStore,
  ctx: FhirContext,
  req: FhirRequest,
): Promise<FhirResponse> {
  const agent = ctx.agent;
  const what = describe(req);
  if (!agent || !what) return dispatch(ops, ctx, req);
  // Failures inside a transaction Bundle roll it back: the Bundle's own failure is recorded instead.
  const outermost = 'transaction' in ops;
  let writes = 0;
  const target = what.write ? auditedOperations(ops, { agent, detail: what.via }, () => writes++) : ops;
  let response: FhirResponse;
  try {
    response = await dispatch(target, ctx, req);
  } catch (error) {
    if (outermost) await ops.appendAudit(failureEntry(agent, what, error));
    throw error;
  }
  // A write that stored a version was recorded with it, by the store; anything else is recorded now,
  // and the answer waits until its entry is durable.
  if ((!what.write || writes === 0) && !response.audited) {
    await ops.appendAudit({
      agent,
      action: what.action,
      resource: what.resource,
      patients: patientsIn(response, what),
      outcome: 'success',
      status: response.status,
      detail: what.search ? { ...what.via, query: queryText(req), count: entryCount(response) } : what.via,
    });
  }
  return response;
}

async function dispatch(
  ops: StoreOperations | ResourceStore,
  ctx: FhirContext,
  req: FhirRequest,
): Promise<FhirResponse> {
  const segments = req.path === '' ? [] : req.path.split('/');
  const { method } = req;
  const read = method === 'GET' || method === 'HEAD';
  // Without a guard (internal callers, the audit-cost benchmark) every interaction is allowed.
  const guard = ctx.access;

  if (segments.length === 0) {
    if (method === 'POST') refuseAuditEventWrites(req.body);
    // Each entry of a batch or transaction comes back through routeRequest, and is checked there.
    if (method === 'POST' && 'transaction' in ops) return processBundle(ops, ctx, req.body, req.strict);
    if (read) return fhir.search(ops, ctx, systemSearchTypes(req, guard), '', req);
    return notAllowed(req);
  }
  const [first, second, third, fourth] = segments as [string, string?, string?, string?];
  if (segments.length === 1 && first === 'metadata' && read)
    return { status: 200, resource: capabilityStatementAt(ctx.baseUrl) };
  if (segments.length === 1 && first === '_history' && read) {
    if (guard) for (const type of resourceTypes()) guard.require('history', type);
    guard?.refuseForPatientScope('history across types');
    return fhir.history(ops, ctx, '_history', req, {});
  }
  if (segments.length === 1 && first === '_search' && method === 'POST')
    return fhir.search(ops, ctx, systemSearchTypes(req, guard), '', req);

  fhir.checkResourceType(first);
  const type = first;
  if (type === 'AuditEvent') return auditEvents(ops, ctx, req, segments);
  if (segments.length === 1) {
    if (read) {
      guard?.require('search', type);
      return fhir.search(ops, ctx, [type], type, req);
    }
    // Conditional interactions look up, then write: both in one transaction, so that two concurrent
    // conditional creates cannot both create.
    if (method === 'POST') {
      guard?.require('create', type);
      if (req.ifNoneExist) guard?.refuseForPatientScope('conditional create');
      return req.ifNoneExist
        ? atomically(ops, (tx) => fhir.create(tx, ctx, type, req))
        : fhir.create(ops, ctx, type, req);
    }
    if (method === 'PUT') {
      guard?.require('update', type);
      guard?.require('create', type);
      guard?.refuseForPatientScope('conditional update');
      return atomically(ops, (tx) => fhir.conditionalUpdate(tx, ctx, type, req));
    }
    if (method === 'DELETE') {
      guard?.require('delete', type);
      guard?.refuseForPatientScope('conditional delete');
      return atomically(ops, (tx) => fhir.conditionalDelete(tx, ctx, type, req));
    }
    return notAllowed(req);
  }
  if (second === '_search' && segments.length === 2 && method === 'POST') {
    guard?.require('search', type);
    return fhir.search(ops, ctx, [type], type, req);
  }
  if (second === '_history' && segments.length === 2 && read) {
    guard?.require('history', type);
    guard?.refuseForPatientScope(`the history of every ${type}`);
    return fhir.history(ops, ctx, `${type}/_history`, req, { resourceType: type });
  }

  const id = second!;
  fhir.checkId(id);
  if (segments.length === 2) {
    if (read) {
      guard?.require('read', type);
      return fhir.read(ops, ctx, type, id, req);
    }
    if (method === 'PUT') {
      guard?.require('update', type);
      if (guard?.checksContent) await requireWritableCurrent(ops, guard, type, id);
      return fhir.update(ops, ctx, type, id, req);
    }
    if (method === 'DELETE') {
      guard?.require('delete', type);
      if (guard?.checksContent) await requireWritableCurrent(ops, guard, type, id);
      return fhir.remove(ops, type, id, req);
    }
    return notAllowed(req);
  }
  if (third === '_history' && read) {
    if (segments.length === 3) {
      guard?.require('history', type);
      return fhir.history(ops, ctx, `${type}/${id}/_history`, req, { resourceType: type, id });
    }
    if (segments.length === 4) {
      guard?.require('read', type);
      return fhir.vread(ops, ctx, type, id, fourth!);
    }
  }
  if (type === 'Patient' && third === '$break-the-glass' && segments.length === 3 && method === 'POST')
    return breakGlassOperation(ops, ctx, id, req);
  if (type === 'Patient' && third === '$everything' && segments.length === 3 && (read || method === 'POST')) {
    guard?.requirePatientRecord(id);
    return fhir.patientEverything(ops, ctx, id);
  }
  throw new FhirError(
    404,
    `There is no FHIR interaction at ${method} ${req.path.slice(0, 200)}.`,
    'not-supported',
  );
}

/**
 * An update or delete by a principal held to some patients' records (a patient-scoped app, or a person
 * with restricted charts closed to them): the resource it replaces or deletes must be open to it too.
 */
async function requireWritableCurrent(
  ops: StoreOperations,
  guard: AccessGuard,
  type: string,
  id: string,
): Promise<void> {
  const current = await ops.read(type, id).catch((error: unknown) => {
    if (error instanceof FhirError && (error.status === 404 || error.status === 410)) return undefined;
    throw error;
  });
  if (current) guard.requireWritable(current);
}

function atomically(
  ops: StoreOperations | ResourceStore,
  work: (tx: StoreOperations) => Promise<FhirResponse>,
): Promise<FhirResponse> {
  return 'transaction' in ops ? ops.transaction(work) : work(ops);
}

/** The types a search across types covers: `_type`, or every type; only those the principal may search. */
function systemSearchTypes(req: FhirRequest, guard: AccessGuard | undefined): string[] {
  const requested = req.query.filter(([name]) => name === '_type').flatMap(([, value]) => value.split(','));
  for (const type of requested) fhir.checkResourceType(type);
  const types = requested.length === 0 ? resourceTypes() : requested;
  return guard ? guard.searchTypes(types, requested.length > 0) : types;
}

function notAllowed(req: FhirRequest): never {
  throw new FhirError(
    405,
    `${req.method} is not allowed on ${req.path === '' ? 'the FHIR base' : req.path.slice(0, 200)}.`,
    'not-supported',
  );
}

/** AuditEvent: answered from the audit chain, read-only. */
function auditEvents(
  ops: StoreOperations | ResourceStore,
  ctx: FhirContext,
  req: FhirRequest,
  segments: string[],
): Promise<FhirResponse> {
  const read = req.method === 'GET' || req.method === 'HEAD';
  const search = (read && segments.length === 1) || (req.method === 'POST' && segments[1] === '_search');
  if (!read && !search) throw auditChangeRefused();
  ctx.access?.require(search ? 'search' : 'read', 'AuditEvent');
  ctx.access?.refuseForPatientScope('AuditEvent');
  if (!('searchAudit' in ops))
    throw new FhirError(400, 'AuditEvent cannot be read inside a transaction Bundle.', 'not-supported');
  if (search) return searchAuditEvents(ops, ctx.baseUrl, req.query, req.strict);
  const [, id, history, version] = segments;
  if (segments.length === 2) return readAuditEvent(ops, id!);
  if (history === '_history' && segments.length === 4) return readAuditEvent(ops, id!, version);
  throw new FhirError(405, 'AuditEvent supports read and search only.', 'not-supported');
}

// ---- Audit of each interaction ----

interface Interaction {
  action: string;
  resource?: { type: string; id?: string; version?: string };
  write: boolean;
  search: boolean;
  via?: Record<string, string>;
}

/** What a request is, for its audit entry; undefined for the capability statement (no patient data). */
function describe(req: FhirRequest): Interaction | undefined {
  const [first, second, third, fourth] = req.path === '' ? [] : req.path.split('/');
  const { method } = req;
  const read = method === 'GET' || method === 'HEAD';
  const write = !read && second !== '_search' && first !== '_search';
  const interaction = (action: string, resource?: Interaction['resource']): Interaction => ({
    action,
    resource,
    write: write && action !== 'everything',
    search: action === 'search',
  });
  if (first === undefined) {
    if (read) return interaction('search');
    const type = (req.body as { type?: unknown } | undefined)?.type;
    const kind = type === 'transaction' ? 'transaction' : 'batch';
    return { ...interaction(kind), via: { via: kind } };
  }
  if (first === 'metadata' && read && second === undefined) return undefined;
  if (first === '_history') return interaction('history');
  if (first === '_search') return interaction('search');
  const type = first;
  if (second === undefined) {
    if (read) return interaction('search', { type });
    if (method === 'POST') return interaction('create', { type });
    if (method === 'PUT') return interaction('update', { type });
    if (method === 'DELETE') return interaction('delete', { type });
    return interaction('operation', { type });
  }
  if (second === '_search') return interaction('search', { type });
  if (second === '_history') return interaction('history', { type });
  const id = second;
  if (third === undefined) {
    if (read) return interaction('read', { type, id });
    if (method === 'PUT') return interaction('update', { type, id });
    if (method === 'DELETE') return interaction('delete', { type, id });
    return interaction('operation', { type, id });
  }
  if (third === '_history') {
    return fourth === undefined
      ? interaction('history', { type, id })
      : interaction('vread', { type, id, version: fourth });
  }
  if (third === '$everything') return interaction('everything', { type, id });
  if (third === '$break-the-glass') return interaction('break-glass', { type, id });
  return interaction('operation', { type, id });
}

/**
 * The store operations of a write interaction: each write carries the requester for its audit entry,
 * AuditEvent is refused, and `onWrite` counts the writes. Transactions opened on it are wrapped alike.
 */
function auditedOperations<T extends StoreOperations | ResourceStore>(
  ops: T,
  audit: AuditContext,
  onWrite: () => void,
): T {
  const withAudit = (options: WriteOptions | undefined): WriteOptions => ({ audit, ...options });
  const writing = (type: string) => {
    if (type === 'AuditEvent') throw auditChangeRefused();
    onWrite();
  };
  const overrides: Partial<ResourceStore> = {
    create: (resource: Resource, options?: WriteOptions) => {
      writing(resource.resourceType);
      return ops.create(resource, withAudit(options));
    },
    update: (resource: Resource, options?: WriteOptions) => {
      writing(resource.resourceType);
      return ops.update(resource, withAudit(options));
    },
    delete: (type: string, id: string, options?: WriteOptions) => {
      writing(type);
      return ops.delete(type, id, withAudit(options));
    },
  };
  if ('transaction' in ops) {
    overrides.transaction = <R>(work: (tx: StoreOperations) => Promise<R>) =>
      ops.transaction((tx) => work(auditedOperations(tx, audit, onWrite)));
  }
  return new Proxy(ops, {
    get(target, name) {
      if (name in overrides) return overrides[name as keyof ResourceStore];
      const value = Reflect.get(target, name, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function failureEntry(agent: AuditAgent, what: Interaction, error: unknown): AuditEntryDraft {
  const status = error instanceof FhirError ? error.status : 500;
  // The issue code, not the message: messages can echo search values.
  const code = error instanceof FhirError ? (error.issues[0]?.code ?? 'exception') : 'exception';
  return {
    agent,
    action: what.action,
    resource: what.resource,
    outcome: 'failure',
    status,
    detail: { ...what.via, error: code },
  };
}

/** The patients whose data a response carries: a resource, or every entry of a Bundle. */
function patientsIn(response: FhirResponse, what: Interaction): string[] | undefined {
  // A plain read passes the stored JSON on as text: its references are found in the text.
  if (response.rawJson !== undefined)
    return patientIdsInJson(what.resource?.type ?? '', what.resource?.id ?? '', response.rawJson);
  if (!response.resource || response.resource.resourceType === 'OperationOutcome') return undefined;
  const ids = new Set<string>();
  collectPatientIds(response.resource, ids);
  return [...ids];
}

function entryCount(response: FhirResponse): number {
  const entries = (response.resource as { entry?: unknown[] } | undefined)?.entry;
  return entries?.length ?? 0;
}

function queryText(req: FhirRequest): string {
  return new URLSearchParams(req.query).toString();
}

/** A batch or transaction that would write AuditEvent is refused as a whole, before any entry runs. */
function refuseAuditEventWrites(body: unknown): void {
  const entries = (body as { entry?: unknown } | undefined)?.entry;
  if (!Array.isArray(entries)) return;
  for (const entry of entries as { request?: { method?: unknown; url?: unknown } }[]) {
    const { method, url } = entry?.request ?? {};
    if (method === 'GET' || method === 'HEAD' || typeof url !== 'string') continue;
    if (/^(?:.*\/)?AuditEvent(?:[/?]|$)/.test(url.split('?')[0]!) && !url.includes('/_search'))
      throw auditChangeRefused();
  }
}
