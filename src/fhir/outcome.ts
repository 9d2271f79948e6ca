/** OperationOutcome building and the error type every layer throws for a user-facing failure. */

export type IssueSeverity = 'fatal' | 'error' | 'warning' | 'information';

/** Codes from http://hl7.org/fhir/issue-type that ChartVault uses. */
export type IssueCode =
  | 'invalid'
  | 'structure'
  | 'required'
  | 'value'
  | 'invariant'
  | 'security'
  | 'login'
  | 'forbidden'
  | 'suppressed'
  | 'processing'
  | 'not-supported'
  | 'duplicate'
  | 'multiple-matches'
  | 'not-found'
  | 'deleted'
  | 'too-long'
  | 'code-invalid'
  | 'conflict'
  | 'exception'
  | 'informational'
  | 'throttled';

export interface Issue {
  severity: IssueSeverity;
  code: IssueCode;
  diagnostics: string;
  /** FHIRPath locations of the problem, e.g. `Patient.birthDate`. */
  expression?: string[];
}

export interface OperationOutcome {
  resourceType: 'OperationOutcome';
  issue: Issue[];
}

export function operationOutcome(issues: Issue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: issues };
}

/** A failure that the caller caused or must be told about; carries its HTTP status and its issues. */
export class FhirError extends Error {
  readonly status: number;
  readonly issues: Issue[];

  constructor(status: number, issues: Issue[] | string, code: IssueCode = 'processing') {
    const list =
      typeof issues === 'string' ? [{ severity: 'error' as const, code, diagnostics: issues }] : issues;
    super(list.map((i) => i.diagnostics).join('; '));
    this.status = status;
    this.issues = list;
  }

  get outcome(): OperationOutcome {
    return operationOutcome(this.issues);
  }
}

export const badRequest = (message: string, code: IssueCode = 'invalid') => new FhirError(400, message, code);
export const notFound = (message: string) => new FhirError(404, message, 'not-found');
