/** The interactions the permission matrix and the scopes speak of (FHIR RESTful interactions, grouped). */
export const INTERACTIONS = ['read', 'search', 'create', 'update', 'delete', 'history', 'export'] as const;
export type Interaction = (typeof INTERACTIONS)[number];

/** One letter per interaction, for the permission table: r s c u d h e. */
export const INTERACTION_LETTERS: Record<Interaction, string> = {
  read: 'r',
  search: 's',
  create: 'c',
  update: 'u',
  delete: 'd',
  history: 'h',
  export: 'e',
};
