// A small TCP proxy the Platform runs in front of Postgres for the model-registry alone, so a drill
// can cut the registry's database path (stop this process: the port refuses connections, and every
// connection through it is reset) without touching the Postgres that everything else shares.
import * as net from 'node:net';
import * as path from 'node:path';
import type { LocalProcessPlatform } from './local-process';
import { WORKSPACE_ROOT } from './paths';

/** The Platform instance (and component) name of the registry's database proxy. */
export const REGISTRY_DB_PROXY = 'registry-db-proxy';

export interface TcpProxyOptions {
  listenHost: string;
  /** 0 = any free port (tests). */
  listenPort: number;
  upstreamHost: string;
  upstreamPort: number;
}

/** Bytes copied both ways between each accepted connection and a fresh connection to the upstream. */
export class TcpProxy {
  /** Every socket through the proxy (both sides), and the client sides alone. */
  private readonly sockets = new Set<net.Socket>();
  private readonly clients = new Set<net.Socket>();
  private accepted = 0;

  private constructor(
    private readonly server: net.Server,
    readonly address: string,
  ) {}

  static async start(o: TcpProxyOptions): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = net.createServer((client) => proxy!.pipe(client, o));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.listenPort, o.listenHost, () => resolve());
    });
    const a = server.address() as net.AddressInfo;
    proxy = new TcpProxy(server, `${o.listenHost}:${a.port}`);
    return proxy;
  }

  get port(): number {
    return Number(this.address.split(':').pop());
  }

  /** Connections open now (each counted once, client side) and accepted since the start. */
  stats(): { open: number; accepted: number } {
    return { open: this.clients.size, accepted: this.accepted };
  }

  private pipe(client: net.Socket, o: TcpProxyOptions): void {
    this.accepted++;
    const upstream = net.connect({ host: o.upstreamHost, port: o.upstreamPort });
    this.clients.add(client);
    client.once('close', () => this.clients.delete(client));
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.setNoDelay(true);
      s.once('close', () => this.sockets.delete(s));
    }
    // Either side failing or closing ends the other: the client sees what a lost server looks like.
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.resetAndDestroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** The cut: stop listening (new connections are refused) and reset every connection through the proxy. */
  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.sockets) s.resetAndDestroy();
    this.sockets.clear();
    this.clients.clear();
    await closed;
  }
}

/** `postgres://u@host:port/db` → the same URL through a proxy at `proxyHost:proxyPort`. */
export function urlThrough(url: string, proxyHost: string, proxyPort: number): string {
  const u = new URL(url);
  u.hostname = proxyHost;
  u.port = String(proxyPort);
  return u.toString();
}

/**
 * Start the registry's database proxy through the Platform (infra/postgres/db-proxy.ts), listening
 * on host:port and forwarding to the Postgres of `databaseUrl`; resolves to the URL the registry
 * uses once the proxy listens.
 */
export async function startRegistryDbProxy(platform: LocalProcessPlatform, o: { host: string; port: number; databaseUrl: string }): Promise<string> {
  const up = new URL(o.databaseUrl);
  await platform.start({
    name: REGISTRY_DB_PROXY,
    component: REGISTRY_DB_PROXY,
    command: process.execPath,
    args: ['--import', 'tsx', path.join(WORKSPACE_ROOT, 'infra/postgres/db-proxy.ts')],
    env: {
      DB_PROXY_LISTEN: `${o.host}:${o.port}`,
      DB_PROXY_UPSTREAM: `${up.hostname}:${up.port || '5432'}`,
    },
    cwd: WORKSPACE_ROOT,
    address: `${o.host}:${o.port}`,
  });
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    if (platform.get(REGISTRY_DB_PROXY)?.state !== 'running') throw new Error(`${REGISTRY_DB_PROXY} exited during start`);
    if (await canConnect(o.host, o.port)) return urlThrough(o.databaseUrl, o.host, o.port);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${REGISTRY_DB_PROXY} did not listen on ${o.host}:${o.port} within 30 s`);
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}
