import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resource } from '../../fhir/types.ts';
import { stampJson, stampResource, unstampedJson, unstampJson } from './storedJson.ts';

test('stored JSON: stamping serialized JSON gives the stored resource, unstamping gives it back', () => {
  const lastUpdated = Date.UTC(2024, 4, 1, 12, 30);
  const cases: Resource[] = [
    { resourceType: 'Patient', id: 'p1', name: [{ family: 'Meta"less' }] },
    { resourceType: 'Patient', id: 'p2', meta: {}, gender: 'female' },
    {
      resourceType: 'Observation',
      id: 'o1',
      status: 'final',
      meta: { versionId: '7', lastUpdated: '2000-01-01T00:00:00Z', tag: [{ code: 'x' }], source: '#a' },
      contained: [{ resourceType: 'Patient', id: 'c', meta: { versionId: '1' } }],
    },
  ];
  for (const resource of cases) {
    const unstamped = unstampedJson(resource);
    const stored = stampJson(unstamped, 3, lastUpdated);
    assert.equal(stored, JSON.stringify(stampResource(resource, 3, lastUpdated)));
    const parsed = JSON.parse(stored) as Resource;
    assert.equal(parsed.meta?.versionId, '3');
    assert.equal(parsed.meta?.lastUpdated, '2024-05-01T12:30:00.000Z');
    assert.equal(unstampJson(stored), unstamped);
    // Versions that differ only by their stamp have the same unstamped JSON.
    assert.equal(unstampJson(stampJson(unstamped, 4, lastUpdated + 1)), unstamped);
  }
});
