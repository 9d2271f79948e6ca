/**
 * batch and transaction Bundles. A transaction is atomic: ids are assigned first so that `urn:uuid:`
 * references between entries resolve, conditional references (`Practitioner?identifier=...`) are looked
 * up, and every entry then runs inside one store transaction; any failure rolls all of it back.
 */
import { randomUUID } from 'node:crypto';
import { FhirError, badRequest } from '../fhir/outcome.ts';
import type { Resource } from '../fhir/types.ts';
import { findByCondition, type ResourceStore, type StoreOperations } from '../store/index.ts';
import { checkBody, checkResourceType, singleMatch } from './interactions.ts';
import {
  resourceResponse,
  type FhirContext,
  type FhirMethod,
  type FhirRequest,
  type FhirResponse,
} from './fhirExchange.ts';
import { routeRequest } from './fhirRouter.ts';

interface BundleEntry {
  fullUrl?: string;
  resource?: Resource;
  request?: { method?: string; url?: string; ifNoneExist?: string; ifMatch?: string; ifNoneMatch?: string };
}

interface PlannedEntry {
  index: number;
  fullUrl?: string;
  request: FhirRequest;
  /** For transaction POSTs: the id assigned ahead, or the existing match of ifNoneExist. */
  newId?: string;
  existing?: Resource;
}

const METHODS = new Set<FhirMethod>(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH']);
/** The order the specification gives for processing a transaction's entries. */
const TRANSACTION_ORDER: Record<FhirMethod, number> = {
  DELETE: 0,
  POST: 1,
  PUT: 2,
  PATCH: 2,
  GET: 3,
  HEAD: 3,
};
const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  304: 'Not Modified',
};

export async function processBundle(
  store: ResourceStore,
  ctx: FhirContext,
  body: unknown,
  strict: boolean,
): Promise<FhirResponse> {
  const bundle = body as { resourceType?: unknown; type?: unknown; entry?: unknown };
  if (typeof body !== 'object' || body === null || bundle.resourceType !== 'Bundle') {
    throw badRequest('POST to the FHIR base takes a Bundle of type batch or transaction.');
  }
  if (bundle.type !== 'batch' && bundle.type !== 'transaction') {
    throw badRequest(
      `Bundle.type must be batch or transaction to be processed, not ${JSON.stringify(bundle.type)}.`,
      'value',
    );
  }
  if (bundle.entry !== undefined && !Array.isArray(bundle.entry))
    throw badRequest('Bundle.entry must be an array.', 'structure');
  const entries = (bundle.entry ?? []) as BundleEntry[];
  const planned = entries.map((entry, index) => planEntry(entry, index, ctx, strict));
  return bundle.type === 'transaction' ? runTransaction(store, ctx, planned) : runBatch(store, ctx, planned);
}

function planEntry(entry: BundleEntry, index: number, ctx: FhirContext, strict: boolean): PlannedEntry {
  const where = `Bundle.entry[${index}]`;
  if (typeof entry !== 'object' || entry === null)
    throw badRequest(`${where} is not an object.`, 'structure');
  const method = entry.request?.method as FhirMethod;
  if (!METHODS.has(method))
    throw badRequest(
      `${where}.request.method must be one of GET, POST, PUT, DELETE, not ${JSON.stringify(method)}.`,
      'required',
    );
  let url = entry.request?.url;
  if (typeof url !== 'string' || url === '')
    throw badRequest(`${where}.request.url is required.`, 'required');
  if (url.startsWith(ctx.baseUrl + '/')) url = url.slice(ctx.baseUrl.length + 1);
  const [path, queryText] = url.split('?', 2) as [string, string | undefined];
  return {
    index,
    fullUrl: entry.fullUrl,
    request: {
      method,
      path: path.replace(/^\/+/, ''),
      query: [...new URLSearchParams(queryText ?? '')],
      body: entry.resource,
      ifMatch: entry.request?.ifMatch,
      ifNoneMatch: entry.request?.ifNoneMatch,
      ifNoneExist: entry.request?.ifNoneExist,
      strict,
    },
  };
}

async function runBatch(
  store: ResourceStore,
  ctx: FhirContext,
  planned: PlannedEntry[],
): Promise<FhirResponse> {
  const responses: unknown[] = [];
  for (const entry of planned) {
    try {
      if (entry.request.path === '')
        throw badRequest('A batch entry cannot itself be a batch or transaction.');
      responses.push(responseEntry(await routeRequest(store, ctx, entry.request)));
    } catch (error) {
      if (!(error instanceof FhirError)) throw error;
      responses.push({ response: { status: String(error.status), outcome: error.outcome } });
    }
  }
  return { status: 200, resource: { resourceType: 'Bundle', type: 'batch-response', entry: responses } };
}

async function runTransaction(
  store: ResourceStore,
  ctx: FhirContext,
  planned: PlannedEntry[],
): Promise<FhirResponse> {
  const responses = await store.transaction(async (tx) => {
    const references = await assignIds(tx, planned);
    const results: unknown[] = new Array(planned.length);
    const ordered = [...planned].sort(
      (a, b) =>
        TRANSACTION_ORDER[a.request.method] - TRANSACTION_ORDER[b.request.method] || a.index - b.index,
    );
    for (const entry of ordered) {
      try {
        if (entry.request.body !== undefined) {
          entry.request.body = await rewriteReferences(tx, entry.request.body, references);
        }
        results[entry.index] = responseEntry(await runTransactionEntry(tx, ctx, entry));
      } catch (error) {
        if (error instanceof FhirError) {
          throw new FhirError(
            error.status,
            error.issues.map((i) => ({
              ...i,
              diagnostics: `Bundle.entry[${entry.index}]: ${i.diagnostics}`,
            })),
          );
        }
        throw error;
      }
    }
    return results;
  });
  return {
    status: 200,
    resource: { resourceType: 'Bundle', type: 'transaction-response', entry: responses },
  };
}

/** Gives every POST its id (or finds its ifNoneExist match), and maps each entry's fullUrl to `Type/id`. */
async function assignIds(tx: StoreOperations, planned: PlannedEntry[]): Promise<Map<string, string>> {
  const references = new Map<string, string>();
  for (const entry of planned) {
    const { method, path } = entry.request;
    if (path === '')
      throw badRequest(`Bundle.entry[${entry.index}] cannot itself be a batch or transaction.`);
    const type = path.split('/')[0]!;
    if (method === 'POST' && !path.includes('/')) {
      checkResourceType(type);
      if (entry.request.ifNoneExist) {
        entry.existing = await singleMatch(
          tx,
          type,
          entry.request.ifNoneExist,
          `Bundle.entry[${entry.index}].request.ifNoneExist`,
        );
      }
      entry.newId = entry.existing?.id ?? randomUUID();
      if (entry.fullUrl) references.set(entry.fullUrl, `${type}/${entry.newId}`);
    } else if (method === 'PUT' && entry.fullUrl && /^[A-Za-z]+\/[^/?]+$/.test(path)) {
      references.set(entry.fullUrl, path);
    }
  }
  return references;
}

async function runTransactionEntry(
  tx: StoreOperations,
  ctx: FhirContext,
  entry: PlannedEntry,
): Promise<FhirResponse> {
  if (entry.request.method !== 'POST' || entry.newId === undefined)
    return routeRequest(tx, ctx, entry.request);
  const type = entry.request.path;
  if (entry.existing) return resourceResponse(200, entry.existing, ctx, true);
  const resource = checkBody(entry.request.body, type, ctx.baseUrl);
  const { resource: stored } = await tx.create(resource, { newId: entry.newId });
  return resourceResponse(201, stored, ctx, true);
}

/** Replaces `urn:uuid:` references to other entries, and resolves conditional references by search. */
async function rewriteReferences(
  tx: StoreOperations,
  value: unknown,
  references: Map<string, string>,
): Promise<unknown> {
  if (Array.isArray(value)) {
    const out = [];
    for (const item of value) out.push(await rewriteReferences(tx, item, references));
    return out;
  }
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === 'reference' && typeof child === 'string')
      out[key] = await resolveReference(tx, child, references);
    else out[key] = await rewriteReferences(tx, child, references);
  }
  return out;
}

async function resolveReference(
  tx: StoreOperations,
  reference: string,
  references: Map<string, string>,
): Promise<string> {
  const mapped = references.get(reference);
  if (mapped) return mapped;
  const conditional = /^([A-Z][A-Za-z]+)\?(.+)$/.exec(reference);
  if (!conditional) return reference;
  const [, type, query] = conditional as unknown as [string, string, string];
  checkResourceType(type);
  const matches = await findByCondition(tx, type, query, 2);
  if (matches.length !== 1) {
    throw new FhirError(
      412,
      `The conditional reference ${reference} matched ${matches.length} resources; it must match exactly one.`,
      'not-found',
    );
  }
  const target = `${type}/${matches[0]!.id}`;
  references.set(reference, target);
  return target;
}

function responseEntry(response: FhirResponse): unknown {
  const isOutcome = response.resource?.resourceType === 'OperationOutcome';
  const resource = response.rawJson !== undefined ? JSON.parse(response.rawJson) : response.resource;
  return {
    ...(resource && !isOutcome ? { resource } : {}),
    response: {
      status: `${response.status}${STATUS_TEXT[response.status] ? ' ' + STATUS_TEXT[response.status] : ''}`,
      ...(response.location ? { location: response.location } : {}),
      ...(response.etag ? { etag: response.etag } : {}),
      ...(response.lastModified ? { lastModified: new Date(response.lastModified).toISOString() } : {}),
      ...(isOutcome ? { outcome: response.resource } : {}),
    },
  };
}
