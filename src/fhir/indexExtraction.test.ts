import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { exampleResources, sharedDataOrSkip, syntheaResources } from '../../test/sharedData.ts';
import { MAX_INSTANT, MIN_INSTANT } from './dateRange.ts';
import { extractIndexEntries } from './indexExtraction.ts';
import { resourceTypes, searchParametersFor } from './searchParameters.ts';
import type { IndexEntry, IndexValue, Resource } from './types.ts';

// Dates without a zone are read in local time: pin it to a zone with daylight saving time.
process.env.TZ = 'America/New_York';

const at = (iso: string) => Date.parse(iso);

/** JSON with every object's keys sorted, nested ones included (composites hold values). */
function sortedJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** A stable text form of entries: parameters sorted, each one's values sorted. */
function canonical(entries: IndexEntry[]): string {
  const sorted = entries
    .map((e) => ({
      param: e.param,
      values: e.values.map((v) => sortedJson(v)).sort(),
    }))
    .sort((a, b) => (a.param < b.param ? -1 : a.param > b.param ? 1 : 0));
  return JSON.stringify(sorted);
}

/** The values of one parameter, after checking that fhirpath finds the same ones as the fast path. */
function valuesOf(resource: Record<string, unknown> & Resource, param: string): IndexValue[] | undefined {
  const fast = extractIndexEntries(resource, 'fast');
  assert.equal(
    canonical(fast),
    canonical(extractIndexEntries(resource, 'fhirpath')),
    'fast path and fhirpath differ',
  );
  return fast.find((e) => e.param === param)?.values;
}

const str = (value: string): IndexValue => ({ kind: 'string', value });
const code = (c: string): IndexValue => ({ kind: 'token', code: c });

test('string: HumanName and Address parts each give a value, empty ones none, repeats one', () => {
  const patient = {
    resourceType: 'Patient',
    name: [
      {
        family: 'Ferry',
        given: ['Norbert', 'J'],
        prefix: ['Mr.'],
        suffix: ['III'],
        text: 'Mr. Norbert J Ferry III',
      },
      { family: '', given: ['Norbert'] },
    ],
    address: [
      {
        line: ['1 Main St', 'Apt 2'],
        city: 'Boston',
        district: 'Suffolk',
        state: 'MA',
        postalCode: '02110',
        country: 'US',
      },
    ],
  };
  assert.deepEqual(
    valuesOf(patient, 'name'),
    ['Ferry', 'Norbert', 'J', 'Mr.', 'III', 'Mr. Norbert J Ferry III'].map(str),
  );
  assert.deepEqual(valuesOf(patient, 'family'), [str('Ferry')]);
  assert.deepEqual(valuesOf(patient, 'given'), [str('Norbert'), str('J')]);
  assert.deepEqual(
    valuesOf(patient, 'address'),
    ['1 Main St', 'Apt 2', 'Boston', 'Suffolk', 'MA', '02110', 'US'].map(str),
  );
  assert.deepEqual(valuesOf(patient, 'address-city'), [str('Boston')]);
  assert.deepEqual(valuesOf(patient, 'address-postalcode'), [str('02110')]);
  // Original text is kept: case and accents are the store's business.
  assert.deepEqual(valuesOf({ resourceType: 'Organization', name: 'Hôpital ÉCOLE' }, 'name'), [
    str('Hôpital ÉCOLE'),
  ]);
});

test('token: CodeableConcept gives each coding (display as text) and its text alone', () => {
  const observation = {
    resourceType: 'Observation',
    code: {
      coding: [
        { system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' },
        { system: 'http://snomed.info/sct', code: '364075005' },
        {},
      ],
      text: 'Pulse',
    },
  };
  assert.deepEqual(valuesOf(observation, 'code'), [
    { kind: 'token', system: 'http://loinc.org', code: '8867-4', text: 'Heart rate' },
    { kind: 'token', system: 'http://snomed.info/sct', code: '364075005' },
    { kind: 'token', text: 'Pulse' },
  ]);
});

test('token: Identifier (type text as text), ContactPoint value, boolean, code, id and Coding', () => {
  const patient = {
    resourceType: 'Patient',
    id: 'p1',
    meta: { tag: [{ system: 'urn:tags', code: 'vip', display: 'VIP' }] },
    identifier: [
      { system: 'urn:mrn', value: '123', type: { text: 'MRN', coding: [{ code: 'MR' }] } },
      { value: '456' },
      { value: '456' },
      {},
    ],
    telecom: [
      { system: 'phone', value: '555-0100' },
      { system: 'email', value: 'ann@example.org' },
    ],
    active: false,
    gender: 'female',
  };
  assert.deepEqual(valuesOf(patient, 'identifier'), [
    { kind: 'token', system: 'urn:mrn', code: '123', text: 'MRN' },
    // for :of-type, the typed identifier's type codings and value, together
    { kind: 'composite', components: [[{ kind: 'token', code: 'MR' }], [{ kind: 'token', code: '123' }]] },
    { kind: 'token', code: '456' },
  ]);
  // ContactPoint.system is the token's system, as other servers index it (telecom=email|...).
  const contact = (system: string, value: string) => ({ kind: 'token', system, code: value });
  assert.deepEqual(valuesOf(patient, 'telecom'), [
    contact('phone', '555-0100'),
    contact('email', 'ann@example.org'),
  ]);
  assert.deepEqual(valuesOf(patient, 'phone'), [contact('phone', '555-0100')]);
  assert.deepEqual(valuesOf(patient, 'email'), [contact('email', 'ann@example.org')]);
  assert.deepEqual(valuesOf(patient, 'active'), [code('false')]);
  assert.deepEqual(valuesOf(patient, 'gender'), [code('female')]);
  assert.deepEqual(valuesOf(patient, '_id'), [code('p1')]);
  assert.deepEqual(valuesOf(patient, '_tag'), [
    { kind: 'token', system: 'urn:tags', code: 'vip', text: 'VIP' },
  ]);
});

test('token: Patient.deceased, an expression only fhirpath evaluates, is true or false', () => {
  assert.deepEqual(valuesOf({ resourceType: 'Patient', deceasedDateTime: '2020-01-01' }, 'deceased'), [
    code('true'),
  ]);
  assert.deepEqual(valuesOf({ resourceType: 'Patient', deceasedBoolean: false }, 'deceased'), [
    code('false'),
  ]);
  assert.deepEqual(valuesOf({ resourceType: 'Patient' }, 'deceased'), [code('false')]);
});

test('date: partial dates are ranges at their precision, instants exact', () => {
  assert.deepEqual(valuesOf({ resourceType: 'Patient', birthDate: '1970-03' }, 'birthdate'), [
    { kind: 'date', start: at('1970-03-01T05:00:00Z'), end: at('1970-04-01T05:00:00Z') - 1 },
  ]);
  assert.deepEqual(
    valuesOf({ resourceType: 'Observation', effectiveDateTime: '2021-03-04T10:11:12Z' }, 'date'),
    [{ kind: 'date', start: at('2021-03-04T10:11:12Z'), end: at('2021-03-04T10:11:13Z') - 1 }],
  );
  const instant = at('2021-03-04T10:11:12.345Z');
  assert.deepEqual(
    valuesOf({ resourceType: 'Observation', effectiveInstant: '2021-03-04T10:11:12.345Z' }, 'date'),
    [{ kind: 'date', start: instant, end: instant }],
  );
  assert.deepEqual(
    valuesOf({ resourceType: 'Patient', meta: { lastUpdated: '2021-03-04T10:11:12.345Z' } }, '_lastUpdated'),
    [{ kind: 'date', start: instant, end: instant }],
  );
  assert.equal(valuesOf({ resourceType: 'Patient', birthDate: '1970-02-30' }, 'birthdate'), undefined);
});

test('date: a Period without an end runs to the latest instant, without a start from the earliest', () => {
  const day = { start: at('2021-03-04T05:00:00Z'), end: at('2021-03-05T05:00:00Z') - 1 };
  assert.deepEqual(valuesOf({ resourceType: 'Encounter', period: { start: '2021-03-04' } }, 'date'), [
    { kind: 'date', start: day.start, end: MAX_INSTANT },
  ]);
  assert.deepEqual(valuesOf({ resourceType: 'Encounter', period: { end: '2021-03-04' } }, 'date'), [
    { kind: 'date', start: MIN_INSTANT, end: day.end },
  ]);
  assert.deepEqual(
    valuesOf({ resourceType: 'Encounter', period: { start: '2021-03-04', end: '2021-03-04' } }, 'date'),
    [{ kind: 'date', ...day }],
  );
  assert.equal(valuesOf({ resourceType: 'Encounter', period: {} }, 'date'), undefined);
});

test('date: a Timing covers its events and bounds; a string counts only if it is a date', () => {
  const request = {
    resourceType: 'ServiceRequest',
    occurrenceTiming: {
      event: ['2021-01-05', '2021-01-02T10:00:00Z'],
      repeat: {
        boundsPeriod: { start: '2021-01-03', end: '2021-02-01' },
        frequency: 1,
        period: 1,
        periodUnit: 'd',
      },
    },
  };
  assert.deepEqual(valuesOf(request, 'occurrence'), [
    { kind: 'date', start: at('2021-01-02T10:00:00Z'), end: at('2021-02-02T05:00:00Z') - 1 },
  ]);
  assert.deepEqual(valuesOf({ resourceType: 'Procedure', performedString: '2019' }, 'date'), [
    { kind: 'date', start: at('2019-01-01T05:00:00Z'), end: at('2020-01-01T05:00:00Z') - 1 },
  ]);
  assert.equal(valuesOf({ resourceType: 'Procedure', performedString: 'in childhood' }, 'date'), undefined);
});

test('choice types: each variant goes to the parameters that name its type', () => {
  const dated = { resourceType: 'Condition', onsetDateTime: '2021-03-04T10:11:12Z' };
  assert.equal(valuesOf(dated, 'onset-date')?.length, 1);
  assert.equal(valuesOf(dated, 'onset-info'), undefined);
  const told = { resourceType: 'Condition', onsetString: 'childhood' };
  assert.deepEqual(valuesOf(told, 'onset-info'), [str('childhood')]);
  assert.equal(valuesOf(told, 'onset-date'), undefined);
  const aged = {
    resourceType: 'Condition',
    onsetAge: { value: 3, unit: 'yr', system: 'http://unitsofmeasure.org', code: 'a' },
  };
  assert.deepEqual(valuesOf(aged, 'onset-age'), [
    { kind: 'quantity', value: 3, system: 'http://unitsofmeasure.org', code: 'a', unit: 'yr' },
  ]);
  // A Range is indexed as a range; an open end is unbounded.
  assert.deepEqual(
    valuesOf({ resourceType: 'Condition', onsetRange: { low: { value: 1, unit: 'a' } } }, 'onset-age'),
    [{ kind: 'quantity', value: 1, high: Infinity, unit: 'a' }],
  );
});

test('reference: relative, absolute, versioned, urn:uuid and contained references', () => {
  const observation = {
    resourceType: 'Observation',
    contained: [{ resourceType: 'Practitioner', id: 'pr' }],
    subject: { reference: 'Patient/1' },
    performer: [
      { reference: 'https://example.org/fhir/Practitioner/7/_history/3' },
      { reference: 'urn:uuid:0b8e2e7a-7d3b-4d5e-9a45-6f1c4f0c6a11' },
      { reference: '#pr' },
      { identifier: { system: 'urn:npi', value: '99' } },
    ],
  };
  const patient1: IndexValue = {
    kind: 'reference',
    reference: 'Patient/1',
    targetType: 'Patient',
    targetId: '1',
  };
  assert.deepEqual(valuesOf(observation, 'subject'), [patient1]);
  assert.deepEqual(valuesOf(observation, 'patient'), [patient1]);
  assert.deepEqual(valuesOf(observation, 'performer'), [
    {
      kind: 'reference',
      reference: 'https://example.org/fhir/Practitioner/7/_history/3',
      targetType: 'Practitioner',
      targetId: '7',
    },
    { kind: 'reference', reference: 'urn:uuid:0b8e2e7a-7d3b-4d5e-9a45-6f1c4f0c6a11' },
    { kind: 'reference', reference: '#pr' },
    // Reference.identifier, for :identifier
    { kind: 'token', system: 'urn:npi', code: '99' },
  ]);
});

test('reference: where(resolve() is T) keeps only references to T', () => {
  const group = { resourceType: 'Observation', subject: { reference: 'Group/2' } };
  assert.deepEqual(valuesOf(group, 'subject'), [
    { kind: 'reference', reference: 'Group/2', targetType: 'Group', targetId: '2' },
  ]);
  assert.equal(valuesOf(group, 'patient'), undefined);
  const unknown = {
    resourceType: 'Observation',
    subject: { reference: 'urn:uuid:0b8e2e7a-7d3b-4d5e-9a45-6f1c4f0c6a11' },
  };
  assert.equal(valuesOf(unknown, 'patient'), undefined);
  const contained = {
    resourceType: 'Observation',
    contained: [{ resourceType: 'Patient', id: 'p' }],
    subject: { reference: '#p' },
  };
  assert.deepEqual(valuesOf(contained, 'patient'), [{ kind: 'reference', reference: '#p' }]);
});

test('reference: canonicals are kept whole, without a target id', () => {
  const definition = {
    resourceType: 'ActivityDefinition',
    library: ['http://example.org/Library/x|1.0'],
    relatedArtifact: [
      { type: 'depends-on', resource: 'http://example.org/Library/y' },
      { type: 'composed-of', resource: 'http://example.org/ActivityDefinition/z' },
    ],
  };
  assert.deepEqual(valuesOf(definition, 'depends-on'), [
    { kind: 'reference', reference: 'http://example.org/Library/y' },
    { kind: 'reference', reference: 'http://example.org/Library/x|1.0' },
  ]);
  assert.deepEqual(valuesOf(definition, 'composed-of'), [
    { kind: 'reference', reference: 'http://example.org/ActivityDefinition/z' },
  ]);
});

test('number: decimals and integers; a Range is the range it spans', () => {
  const assessment = {
    resourceType: 'RiskAssessment',
    prediction: [
      { probabilityDecimal: 0.25 },
      { probabilityRange: { low: { value: 0.1 } } },
      { probabilityDecimal: 0.25 },
    ],
  };
  assert.deepEqual(valuesOf(assessment, 'probability'), [
    { kind: 'number', value: 0.25 },
    { kind: 'number', value: 0.1, high: Infinity },
  ]);
  assert.deepEqual(
    valuesOf({ resourceType: 'MolecularSequence', variant: [{ start: 7 }] }, 'variant-start'),
    [{ kind: 'number', value: 7 }],
  );
});

test('quantity: Quantity, components, Money and Duration; no value, no index value', () => {
  const heartRate = { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' };
  const observation = {
    resourceType: 'Observation',
    valueQuantity: heartRate,
    component: [
      { valueQuantity: { value: 120, code: 'mm[Hg]' } },
      { valueQuantity: { value: 80, code: 'mm[Hg]' } },
    ],
  };
  const q = (value: number): IndexValue => ({ kind: 'quantity', value, code: 'mm[Hg]' });
  assert.deepEqual(valuesOf(observation, 'value-quantity'), [{ kind: 'quantity', ...heartRate }]);
  assert.deepEqual(valuesOf(observation, 'component-value-quantity'), [q(120), q(80)]);
  assert.deepEqual(valuesOf(observation, 'combo-value-quantity'), [
    { kind: 'quantity', ...heartRate },
    q(120),
    q(80),
  ]);
  assert.deepEqual(
    valuesOf({ resourceType: 'Invoice', totalGross: { value: 10.5, currency: 'EUR' } }, 'totalgross'),
    [{ kind: 'quantity', value: 10.5, system: 'urn:iso:std:iso:4217', code: 'EUR' }],
  );
  assert.deepEqual(valuesOf({ resourceType: 'Encounter', length: { value: 30, unit: 'min' } }, 'length'), [
    { kind: 'quantity', value: 30, unit: 'min' },
  ]);
  assert.equal(
    valuesOf({ resourceType: 'Observation', valueQuantity: { unit: 'mg' } }, 'value-quantity'),
    undefined,
  );
});

test('quantity: SampledData is the range its samples span, in its origin units', () => {
  const observation = {
    resourceType: 'Observation',
    valueSampledData: {
      origin: { value: 2, unit: 'mV', system: 'http://unitsofmeasure.org', code: 'mV' },
      period: 10,
      factor: 0.5,
      dimensions: 1,
      data: '4 -2 E 10 L U 0',
    },
  };
  assert.deepEqual(valuesOf(observation, 'value-quantity'), [
    { kind: 'quantity', value: 1, high: 7, unit: 'mV', system: 'http://unitsofmeasure.org', code: 'mV' },
  ]);
});

const loinc = (code: string): IndexValue => ({ kind: 'token', system: 'http://loinc.org', code });
const mmHg = (value: number): IndexValue => ({ kind: 'quantity', value, code: 'mm[Hg]' });

test('composite: each element keeps its components together; codes only, no texts', () => {
  const bloodPressure = {
    resourceType: 'Observation',
    code: { coding: [{ system: 'http://loinc.org', code: '85354-9', display: 'BP' }], text: 'BP' },
    component: [
      {
        code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] },
        valueQuantity: { value: 120, code: 'mm[Hg]' },
      },
      {
        code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] },
        valueQuantity: { value: 80, code: 'mm[Hg]' },
      },
      { code: { text: 'no coding' }, valueQuantity: { value: 1 } },
    ],
  };
  const systolic = { kind: 'composite', components: [[loinc('8480-6')], [mmHg(120)]] } as const;
  const diastolic = { kind: 'composite', components: [[loinc('8462-4')], [mmHg(80)]] } as const;
  assert.deepEqual(valuesOf(bloodPressure, 'component-code-value-quantity'), [systolic, diastolic]);
  assert.deepEqual(valuesOf(bloodPressure, 'combo-code-value-quantity'), [systolic, diastolic]);
  assert.equal(valuesOf(bloodPressure, 'code-value-quantity'), undefined, 'the panel itself has no value');
  const glucose = {
    resourceType: 'Observation',
    code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] },
    valueQuantity: { value: 5.4, unit: 'mmol/L' },
  };
  assert.deepEqual(valuesOf(glucose, 'code-value-quantity'), [
    {
      kind: 'composite',
      components: [[loinc('2345-7')], [{ kind: 'quantity', value: 5.4, unit: 'mmol/L' }]],
    },
  ]);
  assert.deepEqual(
    valuesOf(
      { ...glucose, valueQuantity: undefined, valueDateTime: '2021-03-04T10:00:00Z' },
      'code-value-date',
    ),
    [
      {
        kind: 'composite',
        components: [
          [loinc('2345-7')],
          [{ kind: 'date', start: at('2021-03-04T10:00:00Z'), end: at('2021-03-04T10:00:01Z') - 1 }],
        ],
      },
    ],
  );
});

test('composite: a component may read the resource (%resource), and DocumentReference relationship is corrected', () => {
  const sequence = {
    resourceType: 'MolecularSequence',
    referenceSeq: { chromosome: { coding: [{ system: 'http://hl7.org/fhir/chromosome-human', code: '1' }] } },
    variant: [{ start: 5, end: 7 }, { start: 9 }],
  };
  assert.deepEqual(valuesOf(sequence, 'chromosome-variant-coordinate'), [
    {
      kind: 'composite',
      components: [
        [{ kind: 'token', system: 'http://hl7.org/fhir/chromosome-human', code: '1' }],
        [{ kind: 'number', value: 5 }],
        [{ kind: 'number', value: 7 }],
      ],
    },
  ]);
  const document = {
    resourceType: 'DocumentReference',
    relatesTo: [{ code: 'replaces', target: { reference: 'DocumentReference/old' } }],
  };
  assert.deepEqual(valuesOf(document, 'relationship'), [
    {
      kind: 'composite',
      components: [
        [
          {
            kind: 'reference',
            reference: 'DocumentReference/old',
            targetType: 'DocumentReference',
            targetId: 'old',
          },
        ],
        [{ kind: 'token', code: 'replaces' }],
      ],
    },
  ]);
});

test('uri: profiles, sources and urls', () => {
  const questionnaire = {
    resourceType: 'Questionnaire',
    url: 'http://example.org/Questionnaire/phq-9',
    meta: { profile: ['http://example.org/StructureDefinition/q'], source: 'urn:app:intake' },
  };
  assert.deepEqual(valuesOf(questionnaire, 'url'), [
    { kind: 'uri', value: 'http://example.org/Questionnaire/phq-9' },
  ]);
  assert.deepEqual(valuesOf(questionnaire, '_profile'), [
    { kind: 'uri', value: 'http://example.org/StructureDefinition/q' },
  ]);
  assert.deepEqual(valuesOf(questionnaire, '_source'), [{ kind: 'uri', value: 'urn:app:intake' }]);
});

test('only parameters with values get an entry; unknown types get none', () => {
  const entries = extractIndexEntries({
    resourceType: 'Patient',
    id: 'p1',
    name: [{ family: '' }],
    identifier: [{}],
  });
  assert.deepEqual(entries.map((e) => e.param).sort(), ['_id', 'deceased']);
  assert.deepEqual(extractIndexEntries({ resourceType: 'NoSuchType', id: 'x' }), []);
});

test('every parameter of every type compiles with both engines', () => {
  for (const resourceType of resourceTypes) {
    const resource = { resourceType, id: 'x' };
    const fast = extractIndexEntries(resource, 'fast');
    assert.equal(canonical(fast), canonical(extractIndexEntries(resource, 'fhirpath')), resourceType);
    assert.ok(
      fast.some((e) => e.param === '_id'),
      resourceType,
    );
  }
});

interface Comparison {
  resources: number;
  values: number;
  mismatches: string[];
}

/** Extracts every resource with both engines and lists where they differ. */
function compareEngines(resources: Iterable<Resource>): Comparison {
  const result: Comparison = { resources: 0, values: 0, mismatches: [] };
  for (const resource of resources) {
    result.resources++;
    const fast = extractIndexEntries(resource, 'fast');
    const reference = extractIndexEntries(resource, 'fhirpath');
    for (const entry of fast) result.values += entry.values.length;
    if (canonical(fast) === canonical(reference)) continue;
    const byParam = new Map(reference.map((e) => [e.param, canonical([e])]));
    for (const entry of fast) {
      if (byParam.get(entry.param) !== canonical([entry])) {
        result.mismatches.push(
          `${resource.resourceType}/${resource.id} ${entry.param}: ${canonical([entry])} vs ${byParam.get(entry.param)}`,
        );
      }
    }
    const fastParams = new Set(fast.map((e) => e.param));
    for (const entry of reference) {
      if (!fastParams.has(entry.param))
        result.mismatches.push(`${resource.resourceType}/${resource.id} ${entry.param}: only fhirpath`);
    }
  }
  return result;
}

function assertEnginesAgree(
  t: TestContext,
  comparison: Comparison,
  minResources: number,
  minValues: number,
): void {
  t.diagnostic(`${comparison.resources} resources, ${comparison.values} index values compared`);
  assert.deepEqual(
    comparison.mismatches.slice(0, 10),
    [],
    `${comparison.mismatches.length} parameters differ`,
  );
  assert.ok(comparison.resources >= minResources, `only ${comparison.resources} resources read`);
  assert.ok(comparison.values >= minValues, `only ${comparison.values} index values`);
}

// All 100 bundles (31,760 resources): about 10 s, most of it fhirpath's.
test('fast path and fhirpath agree on every parameter of every Synthea resource', (t) => {
  const archive = 'synthea-r4-dev-100.tar.gz';
  if (!sharedDataOrSkip(t, archive)) return;
  assertEnginesAgree(t, compareEngines(syntheaResources(archive)), 31_760, 400_000);
});

test('fast path and fhirpath agree on every parameter of the HL7 R4 examples', (t) => {
  const archive = 'hl7.fhir.r4.examples-4.0.1.tgz';
  if (!sharedDataOrSkip(t, archive)) return;
  assertEnginesAgree(t, compareEngines(exampleResources(archive)), 18_000, 450_000);
});

test('the HL7 R4 examples give values to over half of the indexable parameters', (t) => {
  const archive = 'hl7.fhir.r4.examples-4.0.1.tgz';
  if (!sharedDataOrSkip(t, archive)) return;
  const withValues = new Set<string>();
  for (const resource of exampleResources(archive)) {
    for (const entry of extractIndexEntries(resource))
      withValues.add(`${resource.resourceType}.${entry.param}`);
  }
  const indexable = resourceTypes.flatMap((type) =>
    searchParametersFor(type)
      .filter((p) => p.expression !== undefined && p.type !== 'special')
      .map((p) => `${type}.${p.code}`),
  );
  t.diagnostic(
    `${withValues.size} of ${indexable.length} (type, parameter) pairs have a value in the HL7 examples`,
  );
  // 1,487 of 2,503 plain pairs when written, then 36 of 72 composites (most of the rest are
  // context-type-* of types whose examples have no coded useContext, see the next test).
  assert.ok(withValues.size >= 1_450 + 36, `only ${withValues.size} pairs with values`);
  for (const code of [
    'code-value-quantity',
    'code-value-concept',
    'code-value-date',
    'code-value-string',
    'component-code-value-quantity',
    'component-code-value-concept',
    'combo-code-value-quantity',
    'combo-code-value-concept',
  ]) {
    assert.ok(withValues.has(`Observation.${code}`), `Observation.${code} has no value in the examples`);
  }
});

test('every composite parameter of every type indexes a value on the examples or, where they have none, on a coded stand-in', (t) => {
  const archive = 'hl7.fhir.r4.examples-4.0.1.tgz';
  if (!sharedDataOrSkip(t, archive)) return;
  const coded = { coding: [{ system: 'urn:test', code: 'c' }] };
  const standIns: Resource[] = [
    { resourceType: 'Group', characteristic: [{ code: coded, valueCodeableConcept: coded, exclude: false }] },
    {
      resourceType: 'MolecularSequence',
      referenceSeq: { chromosome: coded, referenceSeqId: coded, windowStart: 1, windowEnd: 9 },
      variant: [{ start: 2, end: 3 }],
    },
    // Every type with useContext: one quantity context and one coded context.
    ...resourceTypes.map((resourceType) => ({
      resourceType,
      useContext: [
        { code: { system: 'urn:test', code: 'age' }, valueRange: { low: { value: 18 } } },
        { code: { system: 'urn:test', code: 'focus' }, valueCodeableConcept: coded },
      ],
    })),
  ];
  const withValues = new Set<string>();
  for (const resource of [...exampleResources(archive), ...standIns]) {
    for (const entry of extractIndexEntries(resource))
      withValues.add(`${resource.resourceType}.${entry.param}`);
  }
  const composites = resourceTypes.flatMap((type) =>
    searchParametersFor(type)
      .filter((p) => p.type === 'composite')
      .map((p) => `${type}.${p.code}`),
  );
  assert.equal(composites.length, 72);
  assert.deepEqual(
    composites.filter((pair) => !withValues.has(pair)),
    [],
  );
});
