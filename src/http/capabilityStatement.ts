/**
 * The CapabilityStatement at /fhir/metadata, generated from what the code supports: every resource type
 * the validator knows, the interactions the router serves, and the search parameters the store indexes.
 */
import { REVOKE_PATH, TOKEN_PATH } from './authRoutes.ts';
import { AUTHORIZE_PATH } from './pages/authorizeRoutes.ts';
import { searchParametersFor } from '../fhir/searchParameters.ts';
import { INDEXED_PARAM_TYPES } from '../fhir/searchRequest.ts';
import type { Resource } from '../fhir/types.ts';
import { resourceTypes } from '../fhir/validation/index.ts';

/** Interactions served for every type (see fhirRouter.ts). */
const TYPE_INTERACTIONS = [
  'read',
  'vread',
  'update',
  'delete',
  'history-instance',
  'history-type',
  'create',
  'search-type',
];

let cached: Resource | undefined;

export function capabilityStatement(): Resource {
  cached ??= {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    software: { name: 'ChartVault', version: '0.1.0' },
    implementation: { description: 'ChartVault FHIR R4 server' },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        resource: resourceTypes().map((type) => ({
          type,
          interaction: TYPE_INTERACTIONS.map((code) => ({ code })),
          versioning: 'versioned-update',
          readHistory: true,
          updateCreate: true,
          conditionalCreate: true,
          conditionalUpdate: true,
          conditionalDelete: 'single',
          searchInclude: [
            '*',
            ...searchParametersFor(type)
              .filter((p) => p.type === 'reference')
              .map((p) => `${type}:${p.code}`),
          ],
          searchParam: searchParametersFor(type)
            .filter(
              (p) =>
                INDEXED_PARAM_TYPES.has(p.type) ||
                p.type === 'composite' ||
                p.code === 'near' ||
                p.code === '_id' ||
                p.code === '_lastUpdated',
            )
            .map((p) => ({ name: p.code, definition: p.url, type: p.type })),
          ...(type === 'Patient'
            ? {
                operation: [
                  {
                    name: 'everything',
                    definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
                  },
                ],
              }
            : {}),
        })),
        interaction: [
          { code: 'transaction' },
          { code: 'batch' },
          { code: 'history-system' },
          { code: 'search-system' },
        ],
      },
    ],
  };
  return cached;
}

/**
 * The statement as this server answers it at `baseUrl`: with its security, the SMART App Launch way
 * (the service code and the `oauth-uris` extension naming the OAuth endpoints as absolute URLs), for
 * clients that discover the endpoints here rather than at `.well-known/smart-configuration`.
 */
export function capabilityStatementAt(baseUrl: string): Resource {
  const statement = capabilityStatement() as Resource & { rest: Record<string, unknown>[] };
  const origin = baseUrl.replace(/\/fhir$/, '');
  const security = {
    cors: false,
    service: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' },
        ],
        text: 'OAuth 2.0 with SMART scopes: every interaction but this statement needs a bearer token',
      },
    ],
    extension: [
      {
        url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
        extension: [
          { url: 'token', valueUri: `${origin}${TOKEN_PATH}` },
          { url: 'authorize', valueUri: `${origin}${AUTHORIZE_PATH}` },
          { url: 'revoke', valueUri: `${origin}${REVOKE_PATH}` },
        ],
      },
    ],
  };
  return { ...statement, rest: [{ ...statement.rest[0], security }, ...statement.rest.slice(1)] };
}
