import pino, { type Logger } from 'pino';

export type { Logger };

/** JSON logs on stdout, one line per event, with the service and instance on every line. */
export function createLogger(service: string, level = 'info', instance?: string): Logger {
  return pino({
    level,
    base: { service, ...(instance ? { instance } : {}), pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
