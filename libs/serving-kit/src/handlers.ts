import type * as grpc from '@grpc/grpc-js';

/** What an async handler gets besides its request. */
export interface CallContext {
  metadata: grpc.Metadata;
  /** Milliseconds left before the client's deadline (Infinity when none was set). */
  remainingMs(): number;
  cancelled(): boolean;
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
export function unary<Req, Res>(
  fn: (request: Req, ctx: CallContext) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    fn(call.request, contextOf(call as grpc.ServerUnaryCall<unknown, unknown>)).then(
      (res) => callback(null, res),
      (err: unknown) => callback(err as grpc.ServiceError),
    );
  };
}
