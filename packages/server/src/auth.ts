/**
 * Identity. A site signs a short-lived JWT (HS256, its secret) for each of its users; anonymous
 * visitors get a random opaque token that the server stores only as a SHA-256 hash.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { HelloAuth, User } from '@perch/protocol';
import { cleanLine, isId, validateUser, visitorName } from '@perch/protocol';
import { addressKey, KeyedBuckets, type RateLimit } from './rate-limit.js';
import { RequestError } from './request-error.js';
import type { Storage } from './storage/storage.js';

/** Profile claims a token may carry, by claim name → `User` field. */
const PROFILE_CLAIMS = {
  title: 'title',
  department: 'department',
  phone: 'phone',
  email: 'email',
  location: 'location',
  tz: 'timeZone',
  avatar: 'avatar',
} as const;

/** Optional profile claims of {@link mintToken}, named as in the token. */
export type ProfileClaims = Partial<Record<keyof typeof PROFILE_CLAIMS, string>>;

/** How tokens are checked. */
export interface AuthConfig {
  /** The HS256 secret shared with the site; without one, only visitors can sign in. */
  secret: string | undefined;
  audience: string;
  issuer: string;
  /** Seconds a token is still taken past its `exp` (clock skew between the site and this server). */
  clockToleranceSeconds: number;
  /** Visitors created per remote address (an IPv6 one per /64: see {@link addressKey}). */
  visitorRate: RateLimit;
  /** Where operational messages go (a profile that could not be stored at a sign-in). */
  log?: (line: string) => void;
}

/** Who signed in. */
export interface Authenticated {
  user: User;
  /** For visitors: the token to present next time. */
  visitorToken?: string;
  /** For a token sign-in: when the token expires (ms since the epoch, its `exp`). */
  expiresAt?: number;
  /** For a token sign-in: when a connection signed in with it must end (`expiresAt` plus the clock tolerance). */
  endsAt?: number;
}

/** The SHA-256 (hex) under which a visitor token is stored. */
export function hashVisitorToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Options of {@link mintToken}. */
export interface MintTokenOptions extends ProfileClaims {
  /** The HS256 secret the server verifies with. */
  secret: string;
  /** The user id (`sub`). */
  sub: string;
  /** The display name. */
  name: string;
  /** Lifetime in seconds (default 3600). */
  ttlSeconds?: number;
  /** Default `perch`. */
  audience?: string;
  /** Default `perch`. */
  issuer?: string;
}

/** Signs a token the way a site's backend would: HS256 with `sub`, `name`, profile claims, `aud`, `iss` and `exp`. */
export async function mintToken(options: MintTokenOptions): Promise<string> {
  const claims: JWTPayload = { name: options.name };
  for (const claim of Object.keys(PROFILE_CLAIMS) as Array<keyof ProfileClaims>) {
    const value = options[claim];
    if (value !== undefined) claims[claim] = value;
  }
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(options.sub)
    .setAudience(options.audience ?? 'perch')
    .setIssuer(options.issuer ?? 'perch')
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (options.ttlSeconds ?? 3600))
    .sign(new TextEncoder().encode(options.secret));
}

/** Turns a jose failure into a sentence that says what was wrong with the token. */
function explain(error: unknown, config: AuthConfig): string {
  if (error instanceof errors.JWTExpired) return 'The token has expired; ask the site for a fresh one.';
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'aud':
        return `The token is meant for another audience; this server accepts only "aud": "${config.audience}".`;
      case 'iss':
        return `The token comes from another issuer; this server accepts only "iss": "${config.issuer}".`;
      case 'exp':
        return 'The token has no expiry ("exp"); tokens must be short-lived.';
      case 'sub':
        return 'The token names no user ("sub").';
      case 'nbf':
        return 'The token is not valid yet ("nbf" is in the future).';
      default:
        return `The token's "${error.claim}" claim was refused: ${error.reason}.`;
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'The token is not signed with HS256, the only algorithm this server accepts.';
  if (error instanceof errors.JWSSignatureVerificationFailed) return "The token's signature does not match this server's secret.";
  return 'The token is not a well-formed JWT.';
}

/** Checks credentials from `hello` and returns who signed in. */
export class Authenticator {
  private readonly config: AuthConfig;
  private readonly storage: Storage;
  private readonly now: () => number;
  private readonly key: Uint8Array | undefined;
  private readonly visitorBuckets: KeyedBuckets;

  /** Creates an authenticator over the user store. */
  constructor(config: AuthConfig, storage: Storage, now: () => number) {
    this.config = config;
    this.storage = storage;
    this.now = now;
    this.key = config.secret === undefined ? undefined : new TextEncoder().encode(config.secret);
    this.visitorBuckets = new KeyedBuckets(config.visitorRate);
  }

  /** Signs in a user or visitor; throws `unauthorized` (or `rate_limited` for visitor floods) with a clear sentence. */
  async authenticate(auth: HelloAuth, remoteAddress: string): Promise<Authenticated> {
    return 'token' in auth ? this.verifyToken(auth.token) : this.visitor(auth.visitor, remoteAddress);
  }

  /**
   * Checks a fresh token for an open connection of `userId` (`reauth`): `unauthorized` as at sign-in
   * when it is not valid, `forbidden` when it is for another user. Updates the profile like a sign-in.
   */
  renew(token: string, userId: string): Promise<Authenticated> {
    return this.verifyToken(token, userId);
  }

  /**
   * False when the visitor token of a sign-in has been revoked since it was checked (a visit ended
   * while the sign-in was in flight); always true for users of the site.
   */
  async isCurrent(signedIn: Authenticated): Promise<boolean> {
    if (signedIn.visitorToken === undefined) return true;
    return (await this.storage.findVisitor(hashVisitorToken(signedIn.visitorToken))) !== undefined;
  }

  /** Forgets idle per-address buckets (called now and then by the server). */
  sweep(): void {
    this.visitorBuckets.sweep();
  }

  /** Verifies a JWT and records its profile; with `sameUser`, refuses one for anybody else first. */
  private async verifyToken(token: string, sameUser?: string): Promise<Authenticated> {
    if (this.key === undefined) {
      throw new RequestError('unauthorized', 'This server has no secret configured, so it cannot accept tokens; start it with --secret or PERCH_SECRET.');
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        audience: this.config.audience,
        issuer: this.config.issuer,
        requiredClaims: ['exp', 'sub'],
        clockTolerance: this.config.clockToleranceSeconds,
      }));
    } catch (error) {
      throw new RequestError('unauthorized', explain(error, this.config));
    }
    if (!isId(payload.sub)) {
      throw new RequestError('unauthorized', 'The token\'s "sub" must be a user id of 1–128 letters, digits or _ . : @ -.');
    }
    if (sameUser !== undefined && payload.sub !== sameUser) {
      throw new RequestError('forbidden', `The token is for ${payload.sub}, but this connection is signed in as ${sameUser}; connect again to switch users.`);
    }
    // The site vouched for these claims, so a control character in them (a stray tab or line
    // break from its user database) is cleaned away rather than refusing the person's sign-in.
    const clean = (value: unknown) => (typeof value === 'string' ? cleanLine(value) : value);
    const name = clean(payload.name);
    const candidate: Record<string, unknown> = { id: payload.sub, name: typeof name === 'string' && name !== '' ? name : payload.sub };
    for (const [claim, field] of Object.entries(PROFILE_CLAIMS)) {
      if (payload[claim] !== undefined) candidate[field] = clean(payload[claim]);
    }
    // An avatar is an http(s) URL, or a path on the page's own site ("/avatars/ada.png"), never another
    // scheme. Checked after cleaning: URL parsers drop tabs and line breaks, so "/\t/evil.example"
    // would otherwise pass as a path and load from another host.
    if (typeof candidate.avatar === 'string' && !/^(https?:\/\/|\/(?![/\\]))/i.test(candidate.avatar)) delete candidate.avatar;
    const checked = validateUser(candidate);
    if (!checked.ok) throw new RequestError('unauthorized', `The token's profile claims were refused: ${checked.error}`);
    const existing = await this.storage.getUser(checked.value.id);
    if (existing?.visitor === true) throw new RequestError('unauthorized', `The token's "sub" ${checked.value.id} belongs to a visitor.`);
    try {
      await this.storage.upsertUser(checked.value, this.now());
    } catch (error) {
      // The storage refuses writes (disk full, read-only file): someone it already knows still
      // signs in and reads what is there (others see the profile stored before); a newcomer cannot.
      if (existing === undefined) throw error;
      this.config.log?.(`perch-server: the profile of ${existing.id} was not updated at sign-in: ${String(error)}`);
    }
    const expiresAt = (payload.exp as number) * 1000;
    return { user: checked.value, expiresAt, endsAt: expiresAt + this.config.clockToleranceSeconds * 1000 };
  }

  /** A visitor's connection closed: the retention of an abandoned visitor counts from now (see Storage.purgeVisitors). */
  async visitorLeft(userId: string): Promise<void> {
    await this.storage.touchVisitor(userId, this.now());
  }

  private async visitor(input: { name?: string; email?: string; token?: string }, remoteAddress: string): Promise<Authenticated> {
    if (input.token !== undefined) {
      const unknown = () => new RequestError('unauthorized', 'The visitor token is unknown or was revoked; connect without it to start a new visit.');
      const user = await this.storage.findVisitor(hashVisitorToken(input.token));
      if (user === undefined) throw unknown();
      // The visit goes on: the visitor is not abandoned (see Storage.purgeVisitors). Should the purge
      // have removed it between the lookup and now, the token is as unknown as any other.
      let current = true;
      try {
        current = await this.storage.touchVisitor(user.id, this.now());
      } catch (error) {
        // The storage refuses writes (disk full): the visitor still signs in, as a known user does.
        this.config.log?.(`perch-server: the last use of visitor ${user.id} was not recorded at sign-in: ${String(error)}`);
      }
      if (!current) throw unknown();
      return { user, visitorToken: input.token };
    }
    const wait = this.visitorBuckets.take(addressKey(remoteAddress));
    if (wait > 0) throw new RequestError('rate_limited', 'Too many new visitors from this address; wait and try again.', wait);
    // Cleaned, not refused: a pasted line break in the pre-chat form must not keep a visitor out.
    const user: User = { id: `visitor-${randomUUID()}`, name: visitorName(input.name), visitor: true };
    const email = cleanLine(input.email ?? '');
    if (email) user.email = email;
    const visitorToken = randomBytes(32).toString('base64url');
    await this.storage.createVisitor(user, hashVisitorToken(visitorToken), this.now());
    return { user, visitorToken };
  }
}
