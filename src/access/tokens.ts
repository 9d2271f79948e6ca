/**
 * Access tokens: short-lived JWTs (5 minutes by default) signed ES256 with the server's token key,
 * for the FHIR base URL (`aud`), naming the principal (`sub`), its granted `scope` and a unique `jti`.
 * Verification checks signature, algorithm, expiry and audience, then looks the principal up every
 * time: a revoked client or a disabled account is refused at its next request, not when its token
 * runs out. A single token can be revoked too (its jti is remembered until it would expire).
 */
import { randomUUID } from 'node:crypto';
import { errors as joseErrors, exportJWK, jwtVerify, SignJWT, type JWK, type JWTPayload } from 'jose';
import type { ResourceStore } from '../store/index.ts';
import { ACCOUNT_KIND, accountId, type Account } from './accounts.ts';
import type { Client } from './clients.ts';
import { CLIENT_KIND } from './clients.ts';
import type { Principal } from './roles.ts';
import { TOKEN_SIGNING_ALG, type TokenKeys } from './tokenKeys.ts';

export const DEFAULT_TOKEN_LIFETIME_SECONDS = 300;
const REVOKED_TOKEN_KIND = 'revoked-token';

/** A token that must not be honoured; the message is safe to send back (RFC 6750 invalid_token). */
export class InvalidTokenError extends Error {
  override readonly name = 'InvalidTokenError';
}

export interface IssuedToken {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

interface AccessClaims extends JWTPayload {
  scope: string;
  patient?: string;
  /** Who `sub` is: a registered client or a person's account. */
  sub_kind: 'client' | 'user';
}

/** Tokens whose signature and claims were checked, kept until they expire (bounded), by token text. */
const MAX_VERIFIED_TOKENS = 10_000;

export class TokenService {
  readonly lifetimeSeconds: number;
  /**
   * The signature check is the costly part of a verification (an ECDSA verify) and its answer never
   * changes for the same text, so it is remembered. Expiry, audience, revocation and the principal
   * are still checked on every request.
   */
  private readonly verified = new Map<string, AccessClaims>();

  constructor(
    private readonly store: ResourceStore,
    private readonly keys: TokenKeys,
    options: { lifetimeSeconds?: number } = {},
  ) {
    this.lifetimeSeconds = options.lifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS;
  }

  async issue(request: {
    subject: string;
    subjectKind: 'client' | 'user';
    scope: string;
    audience: string;
    issuer: string;
    /** The patient in context (SMART `patient/` scopes), named in the token for the resource server. */
    patient?: string;
    now?: number;
  }): Promise<IssuedToken> {
    const now = Math.floor((request.now ?? Date.now()) / 1000);
    const claims: Record<string, string> = { scope: request.scope, sub_kind: request.subjectKind };
    if (request.patient !== undefined) claims.patient = request.patient;
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: TOKEN_SIGNING_ALG, kid: this.keys.kid, typ: 'at+jwt' })
      .setIssuer(request.issuer)
      .setSubject(request.subject)
      .setAudience(request.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + this.lifetimeSeconds)
      .setJti(randomUUID())
      .sign(this.keys.privateKey);
    return {
      access_token: token,
      token_type: 'Bearer',
      expires_in: this.lifetimeSeconds,
      scope: request.scope,
    };
  }

  /**
   * The principal a bearer token stands for, or InvalidTokenError: forged or wrongly signed, expired,
   * for another audience, revoked, or its client/account revoked or disabled since it was issued.
   */
  async verifyAccessToken(token: string, expectedAudience: string, now = Date.now()): Promise<Principal> {
    const claims = await this.verifiedClaims(token, expectedAudience, now);
    if (await this.store.records.get(REVOKED_TOKEN_KIND, claims.jti!))
      throw new InvalidTokenError('The access token has been revoked.');
    const scopes = claims.scope.split(' ').filter(Boolean);
    const patient = typeof claims.patient === 'string' ? { patient: claims.patient } : {};
    if (claims.sub_kind === 'client') {
      const client = await this.store.records.get<Client>(CLIENT_KIND, claims.sub!);
      if (!client || client.revoked)
        throw new InvalidTokenError('The client of this access token has been revoked.');
      return { kind: 'client', id: client.clientId, role: 'system', scopes, ...patient };
    }
    const account = await this.store.records.get<Account>(ACCOUNT_KIND, accountId(claims.sub!));
    if (!account || account.disabled)
      throw new InvalidTokenError('The account of this access token is disabled.');
    return {
      kind: 'user',
      id: account.userName,
      role: account.role,
      scopes,
      ...patient,
      ...(account.practitioner !== undefined ? { practitioner: account.practitioner } : {}),
    };
  }

  /**
   * RFC 7009: revokes `token` when it is one of ours and belongs to `clientId`; anything else is
   * ignored (the endpoint answers 200 either way, so it reveals nothing about other tokens).
   */
  async revoke(token: string, clientId: string): Promise<void> {
    let claims: AccessClaims;
    try {
      claims = await this.verifySignature(token, {});
    } catch {
      return;
    }
    if (claims.sub !== clientId || claims.sub_kind !== 'client') return;
    await this.store.records.put(
      REVOKED_TOKEN_KIND,
      claims.jti!,
      { sub: claims.sub },
      { expiresAt: claims.exp! * 1000 },
    );
  }

  private async verifiedClaims(token: string, audience: string, now: number): Promise<AccessClaims> {
    const known = this.verified.get(token);
    if (known && known.aud === audience && known.exp! * 1000 > now) return known;
    const claims = await this.verifySignature(token, { audience, now });
    if (this.verified.size >= MAX_VERIFIED_TOKENS) {
      // Drop the oldest half: simple, and a busy server re-verifies at most once per token.
      let drop = MAX_VERIFIED_TOKENS / 2;
      for (const key of this.verified.keys()) {
        if (drop-- <= 0) break;
        this.verified.delete(key);
      }
    }
    this.verified.set(token, claims);
    return claims;
  }

  /** The public key as a JWKS, for resource servers that check tokens themselves. */
  async publicJwks(): Promise<{ keys: JWK[] }> {
    const jwk = await exportJWK(this.keys.publicKey);
    return { keys: [{ ...jwk, kid: this.keys.kid, alg: TOKEN_SIGNING_ALG, use: 'sig' }] };
  }

  private async verifySignature(
    token: string,
    check: { audience?: string; now?: number },
  ): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify<AccessClaims>(token, this.keys.publicKey, {
        algorithms: [TOKEN_SIGNING_ALG],
        audience: check.audience,
        currentDate: check.now === undefined ? undefined : new Date(check.now),
        requiredClaims: ['sub', 'jti', 'exp', 'aud'],
        typ: 'at+jwt',
      });
      if (
        typeof payload.scope !== 'string' ||
        (payload.sub_kind !== 'client' && payload.sub_kind !== 'user')
      ) {
        throw new InvalidTokenError('The access token lacks its scope or subject kind.');
      }
      return payload;
    } catch (error) {
      if (error instanceof InvalidTokenError) throw error;
      throw new InvalidTokenError(tokenProblem(error));
    }
  }
}

function tokenProblem(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'The access token has expired; get a new one.';
  if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'aud') {
    return 'The access token was issued for another server (audience).';
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed)
    return 'The access token signature is not valid.';
  return 'The access token is not valid.';
}
