/** Turns FHIR datatypes into the short text a clinician reads. Input is untrusted JSON: every field is optional. */

/* eslint-disable @typescript-eslint/no-explicit-any -- these read arbitrary FHIR JSON shapes */

export function codeText(concept: any): string | undefined {
  if (!concept || typeof concept !== 'object') return undefined;
  if (typeof concept.text === 'string' && concept.text) return concept.text;
  for (const coding of asArray(concept.coding)) {
    if (typeof coding?.display === 'string' && coding.display) return coding.display;
  }
  const first = asArray(concept.coding)[0];
  return typeof first?.code === 'string' ? first.code : undefined;
}

/** The first code of a concept as `system|code`, to group repeated results of one test. */
export function codeKey(concept: any): string | undefined {
  const coding = asArray(concept?.coding).find((c: any) => typeof c?.code === 'string');
  return coding ? `${coding.system ?? ''}|${coding.code}` : (codeText(concept) ?? undefined);
}

export function hasCode(concept: any, code: string): boolean {
  return asArray(concept?.coding).some((c: any) => c?.code === code);
}

export function conceptsHaveCode(concepts: any, code: string): boolean {
  return asArray(concepts).some((c: any) => hasCode(c, code));
}

/** "Given Middle Family", or the name's own text. */
export function humanName(name: any): string | undefined {
  if (!name || typeof name !== 'object') return undefined;
  if (typeof name.text === 'string' && name.text) return name.text;
  const parts = [...asArray(name.given), name.family].filter((p) => typeof p === 'string' && p);
  return parts.length ? parts.join(' ') : undefined;
}

/** "Family, Given Middle", for sorting and the printed packet. */
export function sortableName(name: any): string | undefined {
  if (!name || typeof name !== 'object') return undefined;
  const given = asArray(name.given)
    .filter((p) => typeof p === 'string')
    .join(' ');
  if (typeof name.family === 'string' && name.family) return given ? `${name.family}, ${given}` : name.family;
  return humanName(name);
}

/** The name to show: official first, then usual, then any. */
export function preferredName(names: any): any {
  const list = asArray(names);
  return (
    list.find((n: any) => n?.use === 'official') ??
    list.find((n: any) => n?.use === 'usual') ??
    list.find((n: any) => n?.use !== 'old') ??
    list[0]
  );
}

export function referenceText(reference: any): string | undefined {
  if (!reference || typeof reference !== 'object') return undefined;
  if (typeof reference.display === 'string' && reference.display) return reference.display;
  if (typeof reference.reference === 'string') return reference.reference;
  return reference.identifier?.value;
}

export function quantityText(quantity: any): string | undefined {
  if (!quantity || typeof quantity.value !== 'number') return undefined;
  const unit = quantity.unit ?? quantity.code;
  const comparator = typeof quantity.comparator === 'string' ? quantity.comparator : '';
  if (!unit) return `${comparator}${quantity.value}`;
  return unit === '%' ? `${comparator}${quantity.value}%` : `${comparator}${quantity.value} ${unit}`;
}

export function telecomText(contact: any): string | undefined {
  if (!contact || typeof contact.value !== 'string') return undefined;
  const label = [contact.system, contact.use].filter((p) => typeof p === 'string').join(', ');
  return label ? `${contact.value} (${label})` : contact.value;
}

export function addressText(address: any): string | undefined {
  if (!address || typeof address !== 'object') return undefined;
  if (typeof address.text === 'string' && address.text) return address.text;
  const cityLine = [address.city, [address.state, address.postalCode].filter(Boolean).join(' ')]
    .filter((p) => typeof p === 'string' && p)
    .join(', ');
  const parts = [...asArray(address.line), cityLine, address.country].filter(
    (p) => typeof p === 'string' && p,
  );
  return parts.length ? parts.join(', ') : undefined;
}

/** An Observation's or component's value as text, and the numbers to plot. */
export function observationValue(source: any): { text: string; numbers: (number | null)[] } | undefined {
  if (!source || typeof source !== 'object') return undefined;
  if (source.valueQuantity) {
    const text = quantityText(source.valueQuantity);
    if (text) return { text, numbers: [source.valueQuantity.value] };
  }
  if (typeof source.valueInteger === 'number')
    return { text: String(source.valueInteger), numbers: [source.valueInteger] };
  if (typeof source.valueString === 'string') return { text: source.valueString, numbers: [null] };
  if (typeof source.valueBoolean === 'boolean')
    return { text: source.valueBoolean ? 'yes' : 'no', numbers: [null] };
  const concept = codeText(source.valueCodeableConcept);
  if (concept) return { text: concept, numbers: [null] };
  if (source.valueRange) {
    const low = quantityText(source.valueRange.low);
    const high = quantityText(source.valueRange.high);
    return { text: `${low ?? ''}–${high ?? ''}`, numbers: [null] };
  }
  if (source.valueDateTime) return { text: String(source.valueDateTime), numbers: [null] };
  return undefined;
}

/** The clinically meaningful date of an event: effective, occurrence, onset, authored, recorded. */
export function eventDate(resource: any): string | undefined {
  const candidates = [
    resource.effectiveDateTime,
    resource.effectivePeriod?.start,
    resource.effectiveInstant,
    resource.occurrenceDateTime,
    resource.occurrencePeriod?.start,
    resource.issued,
    resource.date,
    resource.authoredOn,
    resource.recordedDate,
    resource.recorded,
    resource.dateTime,
    resource.meta?.lastUpdated,
  ];
  return candidates.find((d) => typeof d === 'string' && d);
}

/** Restricted or very restricted charts (v3 Confidentiality R or V). */
export function isRestricted(resource: any): boolean {
  return asArray(resource?.meta?.security).some(
    (label: any) =>
      (label?.code === 'R' || label?.code === 'V') &&
      // The R4 system (…/CodeSystem/v3-Confidentiality) and the older one (…/v3/Confidentiality).
      (label.system === undefined || /v3[-/]Confidentiality$/.test(String(label.system))),
  );
}

export function asArray(value: any): any[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

export const textList = (values: (string | undefined)[]): string[] =>
  values.filter((v): v is string => typeof v === 'string' && v.length > 0);
