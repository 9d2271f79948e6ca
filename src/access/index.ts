/** The access layer's public face: accounts, sign-in, MFA, roles and permissions, clients and tokens. */
export { AccessError } from './accessError.ts';
export {
  addAccount,
  disableAccount,
  getAccount,
  linkPractitioner,
  listAccounts,
  redeemEnrolmentCode,
  resetMfa,
  setPassword,
  type Account,
  type AccountSummary,
} from './accounts.ts';
export {
  operatorActor,
  operatorPrincipal,
  recordAccessEvent,
  type AccessEvent,
  type Actor,
} from './attribution.ts';
export {
  getClient,
  listClients,
  registerClient,
  revokeClient,
  type Client,
  type ClientSummary,
} from './clients.ts';
export { authenticatePassword, verifySecondFactor, SIGN_IN_FAILED } from './login.ts';
export { confirmTotpEnrolment, startTotpEnrolment } from './mfaEnrolment.ts';
export { checkPassword } from './passwordPolicy.ts';
export {
  allowedInteractions,
  categoryOf,
  decide,
  INTERACTIONS,
  type Decision,
  type Interaction,
} from './permissions.ts';
export { HUMAN_ROLES, ROLES, isRole, type HumanRole, type Principal, type Role } from './roles.ts';
export { parseScope, parseScopes, scopesAllow } from './scopes.ts';
export { handleRevocationRequest, handleTokenRequest, OAuthError } from './tokenEndpoint.ts';
export { ephemeralTokenKeys, loadOrCreateTokenKeys, type TokenKeys } from './tokenKeys.ts';
export { InvalidTokenError, TokenService } from './tokens.ts';
export {
  approveAuthorization,
  denyAuthorization,
  handleAppTokenRequest,
  planConsent,
  startAuthorization,
  type ConsentPlan,
} from './authorization.ts';
export { revokeRefreshTokensOf } from './refreshTokens.ts';
export {
  DEFAULT_SESSION_POLICY,
  IDLE_TIMEOUT_VARIABLE,
  SessionStore,
  type Session,
  type SessionPolicy,
} from './sessions.ts';
