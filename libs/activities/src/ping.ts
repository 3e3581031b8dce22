import * as os from 'node:os';
import { Context } from '@temporalio/activity';

export interface PingResult {
  message: string;
  worker: string;
  pid: number;
  attempt: number;
  atUnixMs: number;
}

/** Proves a worker picked the task up: answers with who ran it, and when. */
export async function ping(message: string): Promise<PingResult> {
  const info = Context.current().info;
  return { message, worker: os.hostname(), pid: process.pid, attempt: info.attempt, atUnixMs: Date.now() };
}
