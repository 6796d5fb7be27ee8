/**
 * Who a REST request runs as: the JWT of `Authorization: Bearer` (falling back to the `apikey`
 * header) is verified with the project's secret; its `role` claim is the database role the
 * request's transaction switches to, and its claims become `request.jwt.claims`.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { verifyJwt, type JwtClaims } from '../jwt.js';
import { RestError } from './rest-errors.js';

/** The roles a Supabase project's authenticator may switch to. */
export const REQUEST_ROLES = ['anon', 'authenticated', 'service_role'] as const;

export interface RequestAuth {
  role: string;
  claims: JwtClaims;
}

/** PostgREST allows this much clock skew on `exp`. */
const EXP_LEEWAY_SECONDS = 30;

export function authenticate(headers: IncomingHttpHeaders, secret: string): RequestAuth {
  const token = bearerToken(headers) ?? single(headers.apikey);
  if (!token) return { role: 'anon', claims: { role: 'anon' } };
  const check = verifyJwt(token, secret, EXP_LEEWAY_SECONDS);
  if (!check.ok) {
    const code = check.problem === 'expired' ? 'PGRST303' : 'PGRST301';
    throw new RestError(401, code, check.message, {
      headers: { 'WWW-Authenticate': `Bearer error="invalid_token", error_description="${check.message}"` },
    });
  }
  const role = typeof check.claims.role === 'string' ? check.claims.role : 'anon';
  if (!(REQUEST_ROLES as readonly string[]).includes(role)) {
    throw new RestError(role === 'anon' ? 401 : 403, '42501', `permission denied to set role "${role}"`);
  }
  return { role, claims: check.claims };
}

function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? '');
  return match?.[1];
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
