/**
 * The FHIR REST interactions over a store: create, read, vread, update, delete, history, search, the
 * conditional forms and Patient/$everything. Used for HTTP requests and for Bundle entries alike.
 */
import { patientCompartment } from '../fhir/definitions.ts';
import { FhirError, badRequest, operationOutcome } from '../fhir/outcome.ts';
import { parseSearch } from '../fhir/searchQuery.ts';
import type { Resource } from '../fhir/types.ts';
import { isKnownResourceType, validateResource } from '../fhir/validation/index.ts';
import { findByCondition, type StoreOperations } from '../store/index.ts';
import { historyBundle, searchBundle } from './bundles.ts';
import { findIncludes } from './includes.ts';
import { parseElements, parseSummary, subset, type Subsetting } from '../fhir/subsetting.ts';
import {
  etagOf,
  resourceResponse,
  versionFromEtag,
  type FhirContext,
  type FhirRequest,
  type FhirResponse,
} from './fhirExchange.ts';
import { storeReferencesLocally, withLocalReferences } from './localReferences.ts';

const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;
const MAX_HISTORY_PAGE = 1000;

export function checkResourceType(type: string): void {
  if (!isKnownResourceType(type)) {
    throw new FhirError(404, `"${type.slice(0, 100)}" is not a FHIR R4 resource type.`, 'not-supported');
  }
}

export function checkId(id: string): void {
  if (!ID_PATTERN.test(id)) {
    throw badRequest(`"${id.slice(0, 100)}" is not a valid id: use 1-64 letters, digits, '-' and '.'.`);
  }
}

/** Checks that a body is a valid resource of the expected type; returns it typed. */
/** The body of a write, checked, with references on this server's own base made relative. */
export function checkBody(body: unknown, expectedType: string, baseUrl: string): Resource {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('The request body must be a FHIR resource (a JSON object).', 'structure');
  }
  const resource = body as Resource;
  if (resource.resourceType !== expectedType) {
    throw badRequest(
      `The body's resourceType is ${JSON.stringify(resource.resourceType)?.slice(0, 100)} but the URL expects ${expectedType}.`,
      'invalid',
    );
  }
  const issues = validateResource(resource);
  if (issues.some((i) => i.severity === 'error' || i.severity === 'fatal')) throw new FhirError(400, issues);
  storeReferencesLocally(resource, baseUrl);
  return resource;
}

export async function create(
  ops: StoreOperations,
  ctx: FhirContext,
  type: string,
  req: FhirRequest,
): Promise<FhirResponse> {
  const resource = checkBody(req.body, type, ctx.baseUrl);
  ctx.access?.requireWritable(resource);
  if (req.ifNoneExist) {
    const existing = await singleMatch(ops, type, req.ifNoneExist, 'If-None-Exist');
    if (existing) return resourceResponse(200, existing, ctx, true);
  }
  const { resource: stored } = await ops.create(resource);
  return resourceResponse(201, stored, ctx, true);
}

export async function read(
  ops: StoreOperations,
  ctx: FhirContext,
  type: string,
  id: string,
  req: FhirRequest,
): Promise<FhirResponse> {
  const stored = await ops.readJson(type, id);
  // A patient-scoped app's read is checked against the compartment, which needs the parsed resource.
  if (ctx.access?.checksContent) ctx.access.requireRevealable(JSON.parse(stored.json) as Resource);
  if (req.ifNoneMatch && stored.versionId === versionFromEtag(req.ifNoneMatch)) {
    return { status: 304 };
  }
  const subsetting: Subsetting = {};
  for (const [name, value] of req.query) {
    if (name === '_summary') subsetting.summary = parseSummary(value);
    if (name === '_elements') subsetting.elements = parseElements(value);
  }
  if (subsetting.summary !== undefined || subsetting.elements !== undefined) {
    return resourceResponse(200, subset(JSON.parse(stored.json) as Resource, subsetting), ctx);
  }
  return {
    status: 200,
    rawJson: stored.json,
    etag: etagOf(stored.versionId),
    lastModified: new Date(stored.lastUpdated).toUTCString(),
  };
}

export async function vread(
  ops: StoreOperations,
  ctx: FhirContext,
  type: string,
  id: string,
  versionId: string,
): Promise<FhirResponse> {
  const version = await ops.vread(type, id, versionId);
  ctx.access?.requireRevealable(version);
  return resourceResponse(200, version, ctx);
}

export async function update(
  ops: StoreOperations,
  ctx: FhirContext,
  type: string,
  id: string,
  req: FhirRequest,
): Promise<FhirResponse> {
  const resource = checkBody(req.body, type, ctx.baseUrl);
  ctx.access?.requireWritable(resource);
  if (resource.id === undefined)
    throw badRequest('An update must carry the resource id in its body.', 'required');
  if (resource.id !== id)
    throw badRequest(
      `The body's id "${String(resource.id).slice(0, 64)}" does not match the URL's id "${id}".`,
    );
  const ifMatchVersion = req.ifMatch ? versionFromEtag(req.ifMatch) : undefined;
  const { resource: stored, created } = await ops.update(resource, { ifMatchVersion });
  return resourceResponse(created ? 201 : 200, stored, ctx, true);
}

export async function conditionalUpdate(
  ops: StoreOperations,
  ctx: FhirContext,
  type: string,
  req: FhirRequest,
): Promise<FhirResponse> {
  const resource = checkBody(req.body, type, ctx.baseUrl);
  const match = await singleMatch(ops, type, req.query, 'The conditional update');
  if (match) ctx.access?.requireWritable(match);
  if (match) {
    const id = match.id!;
    if (resource.id !== undefined && resource.id !== id)
      throw badRequest(`The body's id does not match the resource the condition found (${type}/${id}).`);
    return update(ops, ctx, type, id, { ...req, body: { ...resource, id } });
  }
  if (resource.id !== undefined) return update(ops, ctx, type, resource.id, req);
  const { resource: stored } = await ops.create(resource);
  return resourceResponse(201, stored, ctx, true);
}

export async function remove(
  ops: StoreOperations,
  type: string,
  id: string,
  req: FhirRequest,
): Promise<FhirResponse> {
  const ifMatchVersion = req.ifMatch ? versionFromEtag(req.ifMatch) : undefined;
  const result = await ops.delete(type, id, { ifMatchVersion });
  return deletedResponse(type, id, result.deleted, result.versionId);
}

export async function conditionalDelete(
  ops: StoreOperations,
  ctx: FhirContext,
  type: string,
  req: FhirRequest,
): Promise<FhirResponse> {
  if (req.query.length === 0)
    throw badRequest(
      `A conditional delete needs search criteria; to delete one resource use DELETE ${type}/[id].`,
    );
  const match = await singleMatch(ops, type, req.query, 'The conditional delete');
  if (!match) return deletedResponse(type, '', false);
  ctx.access?.requireWritable(match);
  return remove(ops, type, match.id!, { ...req, ifMatch: undefined });
}

function deletedResponse(type: string, id: string, deleted: boolean, versionId?: string): FhirResponse {
  const diagnostics = deleted
    ? `Deleted ${type}/${id}.`
    : `Nothing to delete: no current ${type}${id ? '/' + id : ''} matched.`;
  return {
    status: 200,
    resource: operationOutcome([{ severity: 'information', code: 'informational', diagnostics }]),
    etag: versionId ? `W/"${versionId}"` : undefined,
  };
}

export async function search(
  ops: StoreOperations,
  ctx: FhirContext,
  types: string[],
  path: string,
  req: FhirRequest,
): Promise<FhirResponse> {
  const parsed = parseSearch(types, req.query, { strict: req.strict });
  parsed.request.criteria = withLocalReferences(parsed.request.criteria, ctx.baseUrl);
  ctx.access?.restrictSearch(parsed.request);
  const result = await ops.search(parsed.request);
  // Matches from restricted charts closed to this person are withheld (and said so, below).
  const matches = result.resources.length;
  if (ctx.access?.checksContent)
    result.resources = result.resources.filter((resource) => ctx.access!.mayReveal(resource));
  const withheld = matches - result.resources.length;
  let included = await findIncludes(ops, result.resources, parsed.includes);
  // Included resources are of any type and may name any patient: only what the principal may see.
  if (ctx.access) included = included.filter((resource) => ctx.access!.mayReveal(resource));
  const bundle = searchBundle(ctx, path, req.query, parsed, result, included) as Bundle;
  if (withheld > 0) bundle.entry.push(withheldOutcome(withheld));
  return { status: 200, resource: bundle };
}

export async function history(
  ops: StoreOperations,
  ctx: FhirContext,
  path: string,
  req: FhirRequest,
  scope: { resourceType?: string; id?: string },
): Promise<FhirResponse> {
  let since: number | undefined;
  let count = 50;
  let offset = 0;
  for (const [name, value] of req.query) {
    if (name === '_since') {
      since = Date.parse(value);
      if (Number.isNaN(since) || !/^\d{4}-\d{2}-\d{2}T/.test(value))
        throw badRequest(`_since must be an instant such as 2021-03-04T10:00:00Z, not "${value}".`);
    } else if (name === '_count') {
      if (!/^\d+$/.test(value)) throw badRequest(`_count must be a whole number, not "${value}".`);
      count = Math.min(Number(value), MAX_HISTORY_PAGE);
    } else if (name === '_offset') {
      if (!/^\d+$/.test(value)) throw badRequest(`_offset must be a whole number, not "${value}".`);
      offset = Number(value);
    } else if (!['_format', '_pretty'].includes(name) && req.strict) {
      throw badRequest(`History does not support the parameter ${name}.`, 'not-supported');
    }
  }
  if (scope.id)
    await ops.history({ ...scope, count: 1, offset: 0 }).then((page) => {
      if (page.total === 0)
        throw new FhirError(404, `${scope.resourceType}/${scope.id} is not known.`, 'not-found');
    });
  const page = await ops.history({ ...scope, since, count, offset });
  if (ctx.access?.checksContent) {
    // Versions the principal may not see are left out (outside an app's patient, or of a closed
    // restricted chart); an instance history with none left is refused as its current version is.
    const shown = page.versions.filter((v) => v.resource && ctx.access!.mayReveal(v.resource));
    if (scope.id && shown.length === 0 && page.versions.length > 0) {
      const closed = page.versions.find((v) => v.resource && ctx.access!.closedChartOf(v.resource));
      if (closed) ctx.access.requireRevealable(closed.resource!);
      throw new FhirError(404, `${scope.resourceType}/${scope.id} is not known.`, 'not-found');
    }
    page.versions = page.versions.filter((v) => (scope.id && !v.resource) || shown.includes(v));
  }
  return { status: 200, resource: historyBundle(ctx, path, req.query, page, count, offset) };
}

/** Patient/[id]/$everything: the patient and every resource in the patient's compartment. */
export async function patientEverything(
  ops: StoreOperations,
  ctx: FhirContext,
  id: string,
): Promise<FhirResponse> {
  const patient = await ops.read('Patient', id);
  const resources: Resource[] = [patient];
  const seen = new Set([`Patient/${id}`]);
  for (const { code: type, param } of patientCompartment().resource) {
    for (const code of param ?? []) {
      if (code === '{def}') continue;
      const { resources: found } = await ops.search({
        types: [type],
        criteria: [{ kind: 'reference', code, values: [`Patient/${id}`] }],
        sort: [],
        count: 100000,
        offset: 0,
        total: 'none',
      });
      for (const r of found) {
        const key = `${r.resourceType}/${r.id}`;
        if (!seen.has(key)) {
          seen.add(key);
          resources.push(r);
        }
      }
    }
  }
  // Only the types the principal may read (front desk gets no results or notes), as search would.
  const shown = ctx.access ? resources.filter((r) => ctx.access!.mayReveal(r)) : resources;
  return {
    status: 200,
    resource: {
      resourceType: 'Bundle',
      type: 'searchset',
      total: shown.length,
      entry: shown.map((r) => ({
        fullUrl: `${ctx.baseUrl}/${r.resourceType}/${r.id}`,
        resource: r,
        search: { mode: 'match' },
      })),
    },
  };
}

type Bundle = Resource & { entry: unknown[] };

function withheldOutcome(count: number): unknown {
  return {
    resource: operationOutcome([
      {
        severity: 'warning',
        code: 'suppressed',
        diagnostics: `${count} ${count === 1 ? 'match' : 'matches'} on this page from restricted charts ${count === 1 ? 'was' : 'were'} withheld: they are open to the patient's care team, or after breaking the glass (POST Patient/[id]/$break-the-glass with a reason).`,
      },
    ]),
    search: { mode: 'outcome' },
  };
}

/** The one resource a condition matches, or undefined; several matches are a 412, as FHIR requires. */
export async function singleMatch(
  ops: StoreOperations,
  type: string,
  condition: string | [string, string][],
  what: string,
): Promise<Resource | undefined> {
  const matches = await findByCondition(ops, type, condition, 2);
  if (matches.length > 1) {
    throw new FhirError(
      412,
      `${what} matched more than one ${type}; make the condition more specific.`,
      'multiple-matches',
    );
  }
  return matches[0];
}
