import * as grpc from '@grpc/grpc-js';
import { PlatformClient as PlatformStub, type Instance } from '@ranksafe/proto';
import { adminMetadata, unaryCall, type UnaryMethod } from '@ranksafe/serving-kit';
import {
  DEFAULT_GRACE_MS,
  PlatformError,
  type EventQuery,
  type LifecycleEvent,
  type PlatformEventKind,
  type ReplicaInfo,
  type ReplicaPlatform,
  type RestartOptions,
} from './platform';
import { STATE_FROM_PROTO } from './platform-service';

export interface PlatformClientOptions {
  /** Deadline of calls that do not wait for a process (default 10 s); stop/restart add their grace. */
  deadlineMs?: number;
  channelOptions?: grpc.ChannelOptions;
}

/**
 * ReplicaPlatform over gRPC: the client of ranksafe.v1.Platform (served by the `npm start`
 * supervisor), used by the drill-worker's activities and the ops CLI. NOT_FOUND,
 * INVALID_ARGUMENT, FAILED_PRECONDITION and UNAVAILABLE / DEADLINE_EXCEEDED reject with a
 * PlatformError of that reason; any other status (UNAUTHENTICATED, PERMISSION_DENIED, INTERNAL)
 * rejects with the gRPC ServiceError itself.
 */
export class PlatformClient implements ReplicaPlatform {
  private readonly stub: PlatformStub;
  private readonly deadlineMs: number;

  constructor(
    readonly address: string,
    private readonly token: string,
    opts: PlatformClientOptions = {},
  ) {
    this.stub = new PlatformStub(address, grpc.credentials.createInsecure(), opts.channelOptions);
    this.deadlineMs = opts.deadlineMs ?? 10_000;
  }

  async list(filter: { component?: string } = {}): Promise<ReplicaInfo[]> {
    const r = await this.call(this.stub.listInstances, { component: filter.component ?? '' });
    return r.instances.map(instanceFromProto);
  }

  async get(name: string): Promise<ReplicaInfo> {
    return instanceFromProto(await this.call(this.stub.getInstance, { name }));
  }

  async start(name: string): Promise<ReplicaInfo> {
    return instanceFromProto(await this.call(this.stub.start, { name }));
  }

  async stop(name: string, opts: { graceMs?: number } = {}): Promise<ReplicaInfo> {
    const graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
    return instanceFromProto(await this.call(this.stub.stop, { name, graceMs }, graceMs));
  }

  async kill(name: string, signal = 'SIGKILL', opts: { restartAfterMs?: number } = {}): Promise<ReplicaInfo> {
    return instanceFromProto(await this.call(this.stub.kill, { name, signal, restartAfterMs: opts.restartAfterMs ?? 0 }));
  }

  async restart(name: string, opts: RestartOptions = {}): Promise<ReplicaInfo> {
    const graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
    return instanceFromProto(await this.call(this.stub.restart, { name, graceMs, env: opts.env ?? {}, resetEnv: opts.resetEnv ?? false }, graceMs));
  }

  async events(query: EventQuery = {}): Promise<LifecycleEvent[]> {
    const r = await this.call(this.stub.listEvents, { instance: query.instance ?? '', limit: query.limit ?? 0, sinceUnixMs: query.since?.getTime() ?? 0 });
    return r.events.map((e) => ({
      at: new Date(e.atUnixMs),
      component: e.component,
      instance: e.instance,
      event: e.event as PlatformEventKind,
      detail: parseDetail(e.detailJson),
    }));
  }

  close(): void {
    this.stub.close();
  }

  private async call<Req, Res>(method: UnaryMethod<Req, Res>, req: Req, extraMs = 0): Promise<Res> {
    try {
      return await unaryCall(method.bind(this.stub), req, { deadlineMs: this.deadlineMs + extraMs, metadata: adminMetadata(new grpc.Metadata(), this.token) });
    } catch (e) {
      throw fromGrpc(e as grpc.ServiceError);
    }
  }
}

function fromGrpc(e: grpc.ServiceError): Error {
  const msg = e.details || e.message;
  switch (e.code) {
    case grpc.status.NOT_FOUND:
      return new PlatformError('not_found', msg);
    case grpc.status.INVALID_ARGUMENT: {
      const field = e.metadata?.get('field')[0];
      return new PlatformError('invalid_argument', msg, typeof field === 'string' ? field : undefined);
    }
    case grpc.status.FAILED_PRECONDITION:
      return new PlatformError('failed_precondition', msg);
    case grpc.status.UNAVAILABLE:
    case grpc.status.DEADLINE_EXCEEDED:
      return new PlatformError('unavailable', `platform: ${grpc.status[e.code]}: ${msg}`);
    default:
      return e;
  }
}

export function instanceFromProto(i: Instance): ReplicaInfo {
  return {
    name: i.name,
    component: i.component,
    address: i.address || undefined,
    pid: i.pid,
    state: STATE_FROM_PROTO.get(i.state) ?? 'exited',
    startedAt: new Date(i.startedAtUnixMs),
    restarts: i.restarts,
    exitCode: i.exitCode ?? null,
    signal: i.signal || null,
    nextRestartAt: i.nextRestartAtUnixMs ? new Date(i.nextRestartAtUnixMs) : undefined,
    ...(Object.keys(i.envOverrides ?? {}).length ? { envOverrides: { ...i.envOverrides } } : {}),
  };
}

function parseDetail(json: string): Record<string, unknown> {
  try {
    const v = JSON.parse(json || '{}') as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : { value: v };
  } catch {
    return { raw: json };
  }
}
