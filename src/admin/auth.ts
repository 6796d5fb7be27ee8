import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The dashboard's session cookie: HttpOnly, SameSite=Strict, scoped to this server. */
export const SESSION_COOKIE = 'supajobs_session';
export const SESSION_SECONDS = 12 * 3600;

/**
 * Who may call the admin API: a request with `Authorization: Bearer <ADMIN_TOKEN>`, or with the
 * session cookie the dashboard's login gave for that token. Comparisons take the same time
 * whatever the input (both sides hashed to equal lengths first). The cookie holds no token: an
 * expiry and an HMAC of it keyed by the token, so changing ADMIN_TOKEN ends every session.
 */
export class AdminAuth {
  readonly #digest: Buffer;
  readonly #token: string;

  constructor(token: string) {
    this.#token = token;
    this.#digest = sha256(token);
  }

  tokenMatches(given: string | undefined): boolean {
    return given !== undefined && timingSafeEqual(sha256(given), this.#digest);
  }

  bearer(request: FastifyRequest): string | undefined {
    const header = request.headers.authorization;
    return header?.startsWith('Bearer ') ? header.slice(7) : undefined;
  }

  /** Whether the request tries a token: an Authorization header, a session cookie, or the sign-in form. */
  presentsToken(request: FastifyRequest): boolean {
    if (request.headers.authorization !== undefined || request.cookies?.[SESSION_COOKIE] !== undefined) return true;
    return request.method === 'POST' && request.url.split('?')[0] === '/dashboard/login';
  }

  /** 'bearer', 'cookie' or null: how the request proved itself, if it did. */
  credential(request: FastifyRequest): 'bearer' | 'cookie' | null {
    if (this.tokenMatches(this.bearer(request))) return 'bearer';
    const cookie = request.cookies?.[SESSION_COOKIE];
    return cookie !== undefined && this.sessionValid(cookie) ? 'cookie' : null;
  }

  newSession(now = Date.now()): string {
    const expires = String(Math.floor(now / 1000) + SESSION_SECONDS);
    return `${expires}.${this.#sign(expires)}`;
  }

  sessionValid(value: string, now = Date.now()): boolean {
    const [expires, mac] = value.split('.');
    if (!expires || !mac || !/^\d+$/.test(expires) || Number(expires) * 1000 < now) return false;
    const expected = Buffer.from(this.#sign(expires));
    const given = Buffer.from(mac);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  setSession(reply: FastifyReply): void {
    reply.setCookie(SESSION_COOKIE, this.newSession(), {
      httpOnly: true,
      sameSite: 'strict',
      path: '/',
      maxAge: SESSION_SECONDS,
      secure: 'auto',
    });
  }

  #sign(expires: string): string {
    return createHmac('sha256', this.#token).update(`supajobs-session:${expires}`).digest('base64url');
  }
}

/**
 * A cookie-authenticated request that changes something must come from this server's own pages:
 * its Origin (always sent by browsers on POST) must name this host. Bearer calls are not at risk:
 * a browser never adds that header by itself.
 */
export function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (!origin) return false;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
