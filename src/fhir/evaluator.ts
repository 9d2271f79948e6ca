/** The shape both extraction engines (fast path and fhirpath) compile search expressions to. */
import type { Resource } from './types.ts';

/** Receives each value an expression yields, with its FHIR type (`HumanName`, `dateTime`, `Reference`...). */
export type Visitor = (type: string, value: unknown) => void;

/** A compiled search expression: walks one resource and reports each value it selects. */
export type Evaluator = (resource: Resource, visit: Visitor) => void;
