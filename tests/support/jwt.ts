/**
 * HS256 JSON Web Tokens as a local Supabase stack signs them: the anon and service_role API keys
 * and end users' access tokens, all signed with the local development secret. The stand-in
 * (tests/support/supabase-standin) verifies them with the same secret.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

/** The JWT secret of every `supabase start` stack (public; never use it anywhere else). */
export const LOCAL_JWT_SECRET = 'super-secret-jwt-token-with-at-least-32-characters-long';

export type JwtClaims = Record<string, unknown> & { role?: unknown; sub?: unknown; exp?: unknown };

export type JwtCheck =
  | { ok: true; claims: JwtClaims }
  | { ok: false; problem: 'malformed' | 'signature' | 'expired'; message: string };

/** Keys minted here stay valid this long (the local stack's keys last ten years too). */
const KEY_LIFETIME_SECONDS = 10 * 365 * 24 * 3600;

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');
const nowSeconds = () => Math.floor(Date.now() / 1000);

export function signJwt(claims: JwtClaims, secret = LOCAL_JWT_SECRET): string {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = base64url(JSON.stringify(claims));
  const signature = createHmac('sha256', secret).update(`${header}.${body}`).digest('base64url');
  return `${header}.${body}.${signature}`;
}

/** Checks the signature (HS256 only) and `exp`, allowing leewaySeconds of clock skew. */
export function verifyJwt(token: string, secret = LOCAL_JWT_SECRET, leewaySeconds = 0): JwtCheck {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, problem: 'malformed', message: `Expected 3 parts in JWT; got ${parts.length}` };
  const [header, body, signature] = parts as [string, string, string];
  let alg: unknown;
  let claims: unknown;
  try {
    alg = (JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { alg?: unknown }).alg;
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, problem: 'malformed', message: 'JWT cannot be decoded' };
  }
  if (alg !== 'HS256') return { ok: false, problem: 'signature', message: 'No suitable key or wrong key type' };
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
    return { ok: false, problem: 'malformed', message: 'JWT claims are not a JSON object' };
  }
  const expected = createHmac('sha256', secret).update(`${header}.${body}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, problem: 'signature', message: 'JWT signature does not match' };
  }
  const exp = (claims as JwtClaims).exp;
  if (exp !== undefined && (typeof exp !== 'number' || exp + leewaySeconds < nowSeconds())) {
    return { ok: false, problem: 'expired', message: 'JWT expired' };
  }
  return { ok: true, claims: claims as JwtClaims };
}

/** An API key like the local stack's: {iss: 'supabase-demo', role, exp}. */
export function apiKey(role: 'anon' | 'service_role', secret = LOCAL_JWT_SECRET): string {
  return signJwt({ iss: 'supabase-demo', role, exp: nowSeconds() + KEY_LIFETIME_SECONDS }, secret);
}

export const anonKey = (secret?: string) => apiKey('anon', secret);
export const serviceRoleKey = (secret?: string) => apiKey('service_role', secret);

export interface UserTokenOptions {
  /** Seconds until expiry (negative: already expired). Default one hour. */
  expiresInSeconds?: number;
  /** Extra claims (email, app_metadata, …). */
  claims?: Record<string, unknown>;
  secret?: string;
}

/** An end user's access token as Supabase Auth issues it: role authenticated, sub = the user's id. */
export function userToken(sub: string = randomUUID(), options: UserTokenOptions = {}): string {
  const iat = nowSeconds();
  return signJwt(
    {
      iss: 'supabase-demo',
      aud: 'authenticated',
      role: 'authenticated',
      sub,
      iat,
      exp: iat + (options.expiresInSeconds ?? 3600),
      ...options.claims,
    },
    options.secret,
  );
}
