// The registry's database proxy (libs/platform TcpProxy) as a process the Platform runs: listens on
// DB_PROXY_LISTEN (host:port) and forwards to DB_PROXY_UPSTREAM (the shared Postgres). Stopping it
// is the registry-db-unavailable drill's cut: the port refuses connections and every connection
// through it is reset (SIGTERM / SIGINT reset them all at once; a SIGKILL closes them with the process).
import { TcpProxy } from '@ranksafe/platform';

function hostPort(name: string): { host: string; port: number } {
  const v = process.env[name] ?? '';
  const m = /^(.+):(\d{1,5})$/.exec(v);
  if (!m) throw new Error(`${name} must be host:port (got "${v}")`);
  return { host: m[1]!, port: Number(m[2]) };
}

async function main() {
  const listen = hostPort('DB_PROXY_LISTEN');
  const upstream = hostPort('DB_PROXY_UPSTREAM');
  const proxy = await TcpProxy.start({ listenHost: listen.host, listenPort: listen.port, upstreamHost: upstream.host, upstreamPort: upstream.port });
  process.stdout.write(
    `${JSON.stringify({ msg: 'db proxy listening', address: proxy.address, upstream: `${upstream.host}:${upstream.port}`, pid: process.pid })}\n`,
  );
  const stop = (signal: string) => {
    process.stdout.write(`${JSON.stringify({ msg: 'db proxy stopping: every connection reset', signal, ...proxy.stats() })}\n`);
    void proxy.close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((e: Error) => {
  process.stderr.write(`error: ${e.message}\n`);
  process.exit(1);
});
