import type * as grpc from '@grpc/grpc-js';
import { toServiceError } from './errors';

/** What an async handler gets besides its request. */
export interface CallContext {
  metadata: grpc.Metadata;
  /** Milliseconds left before the client's deadline (Infinity when none was set). */
  remainingMs(): number;
  cancelled(): boolean;
}

/** Who asks, for audit logs: the `x-actor` metadata a client sends, else "admin". */
export function actorOf(ctx: CallContext): string {
  const a = ctx.metadata.get('x-actor')[0]?.toString().trim();
  return a && a.length <= 200 ? a : 'admin';
}

function contextOf(call: grpc.ServerUnaryCall<unknown, unknown>): CallContext {
  return {
    metadata: call.metadata,
    remainingMs: () => {
      const d = call.getDeadline();
      const t = d instanceof Date ? d.getTime() : typeof d === 'number' ? d : Infinity;
      return t === Infinity ? Infinity : t - Date.now();
    },
    cancelled: () => call.cancelled,
  };
}

/** Adapt `async (request, ctx) => response` to grpc-js's callback-style unary handler. */
export function unary<Req, Res>(fn: (request: Req, ctx: CallContext) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    fn(call.request, contextOf(call as grpc.ServerUnaryCall<unknown, unknown>)).then(
      (res) => callback(null, res),
      (err: unknown) => callback(err as grpc.ServiceError),
    );
  };
}

/** Adapt `async (messages, ctx) => response` to a client-streaming handler. */
export function clientStream<Req, Res>(fn: (messages: AsyncIterable<Req>, ctx: CallContext) => Promise<Res>): grpc.handleClientStreamingCall<Req, Res> {
  return (call, callback) => {
    fn(call as AsyncIterable<Req>, contextOf(call as unknown as grpc.ServerUnaryCall<unknown, unknown>)).then(
      (res) => callback(null, res),
      (err: unknown) => callback(err as grpc.ServiceError),
    );
  };
}

/**
 * Adapt `async (request, write, ctx) => void` to a server-streaming handler; `write` waits when
 * the client reads slower than we produce. A thrown error ends the stream with its status.
 */
export function serverStream<Req, Res>(
  fn: (request: Req, write: (message: Res) => Promise<void>, ctx: CallContext) => Promise<void>,
): grpc.handleServerStreamingCall<Req, Res> {
  return (call) => {
    const write = (m: Res) =>
      new Promise<void>((resolve, reject) => {
        if (call.cancelled) return reject(Object.assign(new Error('cancelled by the client'), { code: 1 }));
        if (call.write(m)) resolve();
        else call.once('drain', () => resolve());
      });
    fn(call.request, write, contextOf(call as unknown as grpc.ServerUnaryCall<unknown, unknown>)).then(
      () => call.end(),
      (err: unknown) => {
        // grpc-js ends a server stream with a status when the call emits 'error'.
        const se = toServiceError(err);
        call.emit('error', Object.assign(new Error(se.details ?? 'error'), se));
      },
    );
  };
}
