/**
 * One FHIR interaction, independent of the web framework: what HTTP requests and Bundle entries (batch
 * and transaction) are both turned into, so that both go through the same code.
 */
import type { OperationOutcome } from '../fhir/outcome.ts';
import type { Resource } from '../fhir/types.ts';
import type { AuditAgent } from '../store/index.ts';
import type { AccessGuard } from './accessGuard.ts';

export type FhirMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';

export interface FhirRequest {
  method: FhirMethod;
  /** Path below the FHIR base, without leading slash: `Patient/123/_history/2`. */
  path: string;
  query: [string, string][];
  body?: unknown;
  ifMatch?: string;
  ifNoneMatch?: string;
  ifNoneExist?: string;
  /** Strict handling of unknown search parameters (`Prefer: handling=strict`). */
  strict: boolean;
}

export interface FhirResponse {
  status: number;
  resource?: Resource | OperationOutcome;
  /** The resource as stored JSON text, sent as it is (a plain read: no parse and stringify). */
  rawJson?: string;
  location?: string;
  etag?: string;
  lastModified?: string;
  /** The interaction wrote its own audit entry, in the transaction of what it recorded. */
  audited?: boolean;
}

export interface FhirContext {
  /** Absolute base URL of the FHIR API, e.g. `http://127.0.0.1:8080/fhir`. */
  baseUrl: string;
  /**
   * Who is asking, for the audit trail: every interaction is recorded under this agent. Filled by the
   * server from the request (the access layer puts the signed-in principal here); absent only when a
   * benchmark measures the API without its audit trail.
   */
  agent?: AuditAgent;
  /**
   * What the principal may reach (accessGuard.ts); set by the server for every request. Absent only
   * for internal callers and the benchmark that measures the API without access control.
   */
  access?: AccessGuard;
}

export const etagOf = (versionId: string) => `W/"${versionId}"`;

/** Accepts `W/"3"`, `"3"` or `3`. */
export function versionFromEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

export function resourceResponse(
  status: number,
  resource: Resource,
  context: FhirContext,
  withLocation = false,
): FhirResponse {
  const versionId = resource.meta?.versionId;
  return {
    status,
    resource,
    etag: versionId ? etagOf(versionId) : undefined,
    lastModified: resource.meta?.lastUpdated ? new Date(resource.meta.lastUpdated).toUTCString() : undefined,
    location: withLocation
      ? `${context.baseUrl}/${resource.resourceType}/${resource.id}/_history/${versionId}`
      : undefined,
  };
}
