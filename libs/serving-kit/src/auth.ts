import { timingSafeEqual } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import { GrpcError, permissionDenied, unauthenticated } from './errors';

/** Metadata key carrying the admin token, as `authorization: Bearer <token>`. */
export const AUTH_HEADER = 'authorization';

/** Metadata a client sends to call admin RPCs. */
export function adminMetadata(md: Metadata, token: string): Metadata {
  md.set(AUTH_HEADER, `Bearer ${token}`);
  return md;
}

/**
 * Check the admin token of a call. Default deny: with no token configured every admin call is
 * refused. Returns nothing on success, the error to send otherwise.
 */
export function checkAdminToken(expected: string | undefined, md: Metadata): GrpcError | undefined {
  if (!expected) return permissionDenied('admin RPCs are disabled on this server: ADMIN_TOKEN is not set');
  const header = md.get(AUTH_HEADER)[0];
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) {
    return unauthenticated('admin RPC needs metadata "authorization: Bearer <ADMIN_TOKEN>"');
  }
  const given = Buffer.from(header.slice('Bearer '.length));
  const want = Buffer.from(expected);
  if (given.length !== want.length || !timingSafeEqual(given, want)) return permissionDenied('admin token is not valid');
  return undefined;
}
