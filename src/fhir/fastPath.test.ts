import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileFastPath, fastPathValueTypes } from './fastPath.ts';
import { fhirpathOnlyParameters } from './indexExtraction.ts';
import { resourceTypes } from './searchParameters.ts';
import type { Resource } from './types.ts';

/** The (type, value) pairs a fast-path walk of `expression` visits on `resource`. */
function walk(expression: string, resource: Resource): [string, unknown][] {
  const evaluate = compileFastPath(resource.resourceType, expression);
  assert.ok(evaluate, `fast path compiles ${expression}`);
  const visited: [string, unknown][] = [];
  evaluate(resource, (type, value) => visited.push([type, value]));
  return visited;
}

test('dotted paths read nested arrays and skip missing and null values', () => {
  const patient = {
    resourceType: 'Patient',
    name: [{ given: ['Ann', null, 'B'] }, { family: 'Lee' }, { given: 'C' }],
  };
  assert.deepEqual(walk('Patient.name.given', patient), [
    ['string', 'Ann'],
    ['string', 'B'],
    ['string', 'C'],
  ]);
  assert.deepEqual(walk('Patient.name.family | Patient.name.suffix', patient), [['string', 'Lee']]);
  assert.deepEqual(walk('Resource.id', { resourceType: 'Patient', id: 'p1' }), [['string', 'p1']]);
});

test('a choice element reads every typed variant', () => {
  assert.deepEqual(fastPathValueTypes('Observation', 'Observation.effective'), [
    'dateTime',
    'Period',
    'Timing',
    'instant',
  ]);
  const observation = { resourceType: 'Observation', effectivePeriod: { start: '2021' }, valueString: 'x' };
  assert.deepEqual(walk('Observation.effective', observation), [['Period', { start: '2021' }]]);
  assert.deepEqual(walk('Observation.value', observation), [['string', 'x']]);
});

test('as, as() and ofType() keep the variants of the named type or its subtypes', () => {
  for (const expression of [
    '(Observation.value as Quantity)',
    'Observation.value.as(Quantity)',
    'Observation.value.ofType(Quantity)',
  ]) {
    assert.deepEqual(fastPathValueTypes('Observation', expression), ['Quantity'], expression);
  }
  assert.deepEqual(fastPathValueTypes('Condition', 'Condition.onset.as(Quantity)'), ['Age']);
  // FHIRPath System types match the FHIR primitives that convert to them.
  assert.deepEqual(fastPathValueTypes('Observation', 'Observation.value.as(DateTime)'), ['dateTime']);
  const observation = {
    resourceType: 'Observation',
    component: [{ valueQuantity: { value: 1 } }, { valueQuantity: { value: 2 } }],
  };
  assert.deepEqual(walk('(Observation.component.value as Quantity)', observation), [
    ['Quantity', { value: 1 }],
    ['Quantity', { value: 2 }],
  ]);
});

test("where(field = 'literal') filters on a primitive field", () => {
  const patient = {
    resourceType: 'Patient',
    telecom: [
      { system: 'phone', value: '555-0100' },
      { system: 'email', value: 'a@example.org' },
    ],
  };
  assert.deepEqual(walk("Patient.telecom.where(system='phone')", patient), [
    ['ContactPoint', patient.telecom[0]],
  ]);
});

test('where(resolve() is T) keeps references whose target is of type T', () => {
  const observation = {
    resourceType: 'Observation',
    contained: [{ resourceType: 'Patient', id: 'p' }],
    performer: [
      { reference: 'Patient/1' },
      { reference: 'Practitioner/2' },
      { reference: 'https://example.org/fhir/Patient/3/_history/1' },
      { reference: 'urn:uuid:0b8e2e7a-7d3b-4d5e-9a45-6f1c4f0c6a11' },
      { reference: 'urn:uuid:0b8e2e7a-7d3b-4d5e-9a45-6f1c4f0c6a12', type: 'Patient' },
      { reference: '#p' },
      { display: 'no reference' },
    ],
  };
  assert.deepEqual(
    walk('Observation.performer.where(resolve() is Patient)', observation).map(
      ([, v]) => (v as { reference: string }).reference,
    ),
    [
      'Patient/1',
      'https://example.org/fhir/Patient/3/_history/1',
      'urn:uuid:0b8e2e7a-7d3b-4d5e-9a45-6f1c4f0c6a12',
      '#p',
    ],
  );
});

test('forms the fast path does not compile are left to fhirpath', () => {
  for (const [type, expression] of [
    ['Patient', 'Patient.deceased.exists() and Patient.deceased != false'],
    ['Bundle', 'Bundle.entry[0].resource'],
    ['Patient', 'Patient.name.first()'],
    ['Patient', 'Patient.contained'],
    ['Patient', 'Patient.noSuchElement'],
    ['Observation', 'Observation.subject.where(resolve() is Patient).display.where(length() > 3)'],
    ['Patient', 'Practitioner.name'],
  ]) {
    assert.equal(compileFastPath(type, expression), undefined, expression);
  }
});

test('the fast path compiles every R4 search expression but four', () => {
  const fallbacks = resourceTypes.flatMap((type) =>
    fhirpathOnlyParameters(type).map((p) => `${type}.${p.code}`),
  );
  assert.deepEqual(fallbacks.sort(), [
    'Bundle.composition',
    'Bundle.message',
    'DeviceDefinition.classification',
    'Patient.deceased',
  ]);
});
