/**
 * When started by the ranksafe supervisor (RANKSAFE_SUPERVISED=1), exit cleanly if the supervisor
 * disappears (killed -9), so an unclean stop does not leave orphaned services holding ports.
 */
export function watchSupervisor(onGone: () => void, env: NodeJS.ProcessEnv = process.env, intervalMs = 1000): () => void {
  if (env.RANKSAFE_SUPERVISED !== '1') return () => undefined;
  const parent = process.ppid;
  const t = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(t);
      onGone();
    }
  }, intervalMs);
  t.unref();
  return () => clearInterval(t);
}
