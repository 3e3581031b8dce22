import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';

export type HealthStatus = 'SERVING' | 'NOT_SERVING' | 'UNKNOWN' | 'SERVICE_UNKNOWN' | 'UNREACHABLE';

/** A grpc.health.v1 Health client (loaded from the proto grpc-health-check ships). */
export interface HealthClient extends grpc.Client {
  check(
    req: { service: string },
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: { status: string }) => void,
  ): grpc.ClientUnaryCall;
}
export type HealthClientCtor = new (addr: string, creds: grpc.ChannelCredentials, opts?: grpc.ClientOptions) => HealthClient;

let HealthCtor: HealthClientCtor | undefined;
export function healthCtor(): HealthClientCtor {
  if (!HealthCtor) {
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(healthProtoPath, { keepCase: true, enums: String }));
    HealthCtor = (pkg as unknown as { grpc: { health: { v1: { Health: HealthClientCtor } } } }).grpc.health.v1.Health;
  }
  return HealthCtor;
}

/** grpc.health.v1 Check against `address` for `service` ("" = the whole server). */
export async function checkHealth(address: string, service = '', timeoutMs = 2000): Promise<{ status: HealthStatus; detail?: string }> {
  const Ctor = healthCtor();
  const client = new Ctor(address, grpc.credentials.createInsecure());
  try {
    return await new Promise((resolve) =>
      client.check({ service }, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) {
          if (err.code === grpc.status.NOT_FOUND) resolve({ status: 'SERVICE_UNKNOWN', detail: err.details });
          else resolve({ status: 'UNREACHABLE', detail: `${grpc.status[err.code]}: ${err.details}` });
        } else resolve({ status: (res?.status as HealthStatus) ?? 'UNKNOWN' });
      }),
    );
  } finally {
    client.close();
  }
}

/** Poll a server's health until it reports SERVING or the timeout passes. */
export async function waitForServing(address: string, timeoutMs: number, service = ''): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const h = await checkHealth(address, service, 1000);
    if (h.status === 'SERVING') return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

interface ReflectionAnswer {
  list_services_response?: { service: Array<{ name: string }> };
  error_response?: { error_message: string };
}
type ReflectionCall = grpc.ClientDuplexStream<{ list_services: string }, ReflectionAnswer>;
type ReflectionClientCtor = new (address: string, creds: grpc.ChannelCredentials) => grpc.Client & { ServerReflectionInfo(): ReflectionCall };
let reflectionCtor: ReflectionClientCtor | undefined;

/** The services a server lists through gRPC server reflection (grpc.reflection.v1), sorted. */
export async function listReflectedServices(address: string, timeoutMs = 5000): Promise<string[]> {
  if (!reflectionCtor) {
    const def = protoLoader.loadSync('grpc/reflection/v1/reflection.proto', {
      keepCase: true,
      includeDirs: [require.resolve('@grpc/reflection').replace(/build[/\\]src[/\\]index\.js$/, 'build/proto')],
    });
    reflectionCtor = (grpc.loadPackageDefinition(def) as unknown as { grpc: { reflection: { v1: { ServerReflection: ReflectionClientCtor } } } }).grpc
      .reflection.v1.ServerReflection;
  }
  const client = new reflectionCtor(address, grpc.credentials.createInsecure());
  try {
    return await new Promise<string[]>((resolve, reject) => {
      const call = client.ServerReflectionInfo();
      const timer = setTimeout(() => {
        call.cancel();
        reject(new Error(`${address}: no reflection answer within ${timeoutMs} ms`));
      }, timeoutMs);
      call.on('data', (res: ReflectionAnswer) => {
        clearTimeout(timer);
        if (res.error_response) reject(new Error(`${address}: reflection error: ${res.error_response.error_message}`));
        else resolve((res.list_services_response?.service ?? []).map((x) => x.name).sort());
        call.end();
      });
      call.on('error', (e: Error) => {
        clearTimeout(timer);
        reject(e);
      });
      call.write({ list_services: '' });
    });
  } finally {
    client.close();
  }
}

/** Deadline `ms` from now, for CallOptions. */
export const deadlineIn = (ms: number): grpc.Deadline => Date.now() + ms;

/** A generated client's unary method (callback style). */
export type UnaryMethod<Req, Res> = (
  req: Req,
  md: grpc.Metadata,
  opts: Partial<grpc.CallOptions>,
  cb: (err: grpc.ServiceError | null, res: Res) => void,
) => grpc.ClientUnaryCall;

/** Call a generated unary client method as a promise, with a deadline and optional metadata. */
export function unaryCall<Req, Res>(method: UnaryMethod<Req, Res>, req: Req, opts: { deadlineMs?: number; metadata?: grpc.Metadata } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(req, opts.metadata ?? new grpc.Metadata(), opts.deadlineMs ? { deadline: Date.now() + opts.deadlineMs } : {}, (err, res) =>
      err ? reject(err) : resolve(res),
    );
  });
}
