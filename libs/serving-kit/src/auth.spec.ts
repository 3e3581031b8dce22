import { Metadata, status } from '@grpc/grpc-js';
import { adminMetadata, checkAdminToken } from './auth';

const TOKEN = 'a-very-secret-admin-token';

describe('checkAdminToken', () => {
  it('denies everything when no token is configured (default deny)', () => {
    expect(checkAdminToken(undefined, adminMetadata(new Metadata(), TOKEN))?.code).toBe(status.PERMISSION_DENIED);
  });
  it('asks for credentials when none are sent', () => {
    expect(checkAdminToken(TOKEN, new Metadata())?.code).toBe(status.UNAUTHENTICATED);
  });
  it('refuses a wrong token, including one of another length', () => {
    expect(checkAdminToken(TOKEN, adminMetadata(new Metadata(), TOKEN.replace('a', 'b')))?.code).toBe(status.PERMISSION_DENIED);
    expect(checkAdminToken(TOKEN, adminMetadata(new Metadata(), 'x'))?.code).toBe(status.PERMISSION_DENIED);
  });
  it('accepts the right token', () => {
    expect(checkAdminToken(TOKEN, adminMetadata(new Metadata(), TOKEN))).toBeUndefined();
  });
});
