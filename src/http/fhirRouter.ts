/** Maps a FHIR request (method and path below the base) to its interaction. */
import { FhirError } from '../fhir/outcome.ts';
import { resourceTypes } from '../fhir/validation/index.ts';
import type { ResourceStore, StoreOperations } from '../store/index.ts';
import { processBundle } from './bundleProcessor.ts';
import { capabilityStatement } from './capabilityStatement.ts';
import type { FhirContext, FhirRequest, FhirResponse } from './fhirExchange.ts';
import * as fhir from './interactions.ts';

export async function routeRequest(
  ops: StoreOperations | ResourceStore,
  ctx: FhirContext,
  req: FhirRequest,
): Promise<FhirResponse> {
  const segments = req.path === '' ? [] : req.path.split('/');
  const { method } = req;
  const read = method === 'GET' || method === 'HEAD';

  if (segments.length === 0) {
    if (method === 'POST' && 'transaction' in ops) return processBundle(ops, ctx, req.body, req.strict);
    if (read) return fhir.search(ops, ctx, systemSearchTypes(req), '', req);
    return notAllowed(req);
  }
  const [first, second, third, fourth] = segments as [string, string?, string?, string?];
  if (segments.length === 1 && first === 'metadata' && read)
    return { status: 200, resource: capabilityStatement() };
  if (segments.length === 1 && first === '_history' && read)
    return fhir.history(ops, ctx, '_history', req, {});
  if (segments.length === 1 && first === '_search' && method === 'POST')
    return fhir.search(ops, ctx, systemSearchTypes(req), '', req);

  fhir.checkResourceType(first);
  const type = first;
  if (segments.length === 1) {
    if (read) return fhir.search(ops, ctx, [type], type, req);
    // Conditional interactions look up, then write: both in one transaction, so that two concurrent
    // conditional creates cannot both create.
    if (method === 'POST') {
      return req.ifNoneExist
        ? atomically(ops, (tx) => fhir.create(tx, ctx, type, req))
        : fhir.create(ops, ctx, type, req);
    }
    if (method === 'PUT') return atomically(ops, (tx) => fhir.conditionalUpdate(tx, ctx, type, req));
    if (method === 'DELETE') return atomically(ops, (tx) => fhir.conditionalDelete(tx, type, req));
    return notAllowed(req);
  }
  if (second === '_search' && segments.length === 2 && method === 'POST')
    return fhir.search(ops, ctx, [type], type, req);
  if (second === '_history' && segments.length === 2 && read)
    return fhir.history(ops, ctx, `${type}/_history`, req, { resourceType: type });

  const id = second!;
  fhir.checkId(id);
  if (segments.length === 2) {
    if (read) return fhir.read(ops, ctx, type, id, req);
    if (method === 'PUT') return fhir.update(ops, ctx, type, id, req);
    if (method === 'DELETE') return fhir.remove(ops, type, id, req);
    return notAllowed(req);
  }
  if (third === '_history' && read) {
    if (segments.length === 3)
      return fhir.history(ops, ctx, `${type}/${id}/_history`, req, { resourceType: type, id });
    if (segments.length === 4) return fhir.vread(ops, ctx, type, id, fourth!);
  }
  if (type === 'Patient' && third === '$everything' && segments.length === 3 && (read || method === 'POST')) {
    return fhir.patientEverything(ops, ctx, id);
  }
  throw new FhirError(
    404,
    `There is no FHIR interaction at ${method} ${req.path.slice(0, 200)}.`,
    'not-supported',
  );
}

function atomically(
  ops: StoreOperations | ResourceStore,
  work: (tx: StoreOperations) => Promise<FhirResponse>,
): Promise<FhirResponse> {
  return 'transaction' in ops ? ops.transaction(work) : work(ops);
}

function systemSearchTypes(req: FhirRequest): string[] {
  const requested = req.query.filter(([name]) => name === '_type').flatMap(([, value]) => value.split(','));
  if (requested.length === 0) return resourceTypes();
  for (const type of requested) fhir.checkResourceType(type);
  return requested;
}

function notAllowed(req: FhirRequest): never {
  throw new FhirError(
    405,
    `${req.method} is not allowed on ${req.path === '' ? 'the FHIR base' : req.path.slice(0, 200)}.`,
    'not-supported',
  );
}
