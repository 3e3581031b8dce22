import * as ort from 'onnxruntime-node';

export type ExecutionProvider = 'cpu' | 'cuda';

export interface SessionOptions {
  executionProvider?: ExecutionProvider;
  /** When cuda is asked for but unavailable: fail (default) or fall back to cpu. */
  cudaFallbackToCpu?: boolean;
  /** Threads inside one operator (0 = onnxruntime's default). */
  intraOpThreads?: number;
  onWarning?: (message: string) => void;
}

export interface OpenedSession {
  session: ort.InferenceSession;
  /** The provider the session really runs on. */
  executionProvider: ExecutionProvider;
  /** The provider asked for (differs from executionProvider after a fall-back to cpu). */
  requestedExecutionProvider: ExecutionProvider;
  /** Why it fell back (the CUDA error's first line); empty when it did not. */
  fallbackReason: string;
}

/**
 * An onnxruntime session of a (verified) model file on the provider asked for: every model kind the
 * ranking service serves opens its graph here, with the same options and the same CUDA fall-back.
 */
export async function openSession(modelPath: string, opts: SessionOptions): Promise<OpenedSession> {
  const sessionOptions = (ep: ExecutionProvider): ort.InferenceSession.SessionOptions => ({
    executionProviders: [ep],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: opts.intraOpThreads ?? 0,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  const requested: ExecutionProvider = opts.executionProvider ?? 'cpu';
  try {
    return {
      session: await ort.InferenceSession.create(modelPath, sessionOptions(requested)),
      executionProvider: requested,
      requestedExecutionProvider: requested,
      fallbackReason: '',
    };
  } catch (e) {
    if (requested !== 'cuda') throw e;
    const why = (e as Error).message.split('\n')[0];
    if (!opts.cudaFallbackToCpu) {
      throw new Error(`the CUDA execution provider is not available here (${why}); use the cpu provider or allow the fall-back to cpu`);
    }
    opts.onWarning?.(`CUDA execution provider unavailable (${why}); falling back to cpu`);
    return {
      session: await ort.InferenceSession.create(modelPath, sessionOptions('cpu')),
      executionProvider: 'cpu',
      requestedExecutionProvider: requested,
      fallbackReason: `CUDA execution provider unavailable (${why})`,
    };
  }
}
