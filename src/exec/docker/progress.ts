import { EngineError } from '../errors.js';

/** One line of the JSON stream the engine answers a build, pull or push with. */
export interface ProgressEvent {
  stream?: string;
  status?: string;
  id?: string;
  aux?: unknown;
  progressDetail?: { current?: number };
  error?: string;
  errorDetail?: { message?: string };
}

/** Reads a pull or push progress stream; the engine reports failures only inside it. */
export async function followProgress(
  stream: NodeJS.ReadableStream,
  onEvent: (event: ProgressEvent) => void,
): Promise<void> {
  let buffered = '';
  let failure: string | undefined;
  const handle = (line: string) => {
    if (!line.trim()) return;
    const event = JSON.parse(line) as ProgressEvent;
    if (event.error || event.errorDetail) failure ??= event.errorDetail?.message ?? event.error;
    onEvent(event);
  };
  for await (const chunk of stream) {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    lines.forEach(handle);
  }
  handle(buffered);
  if (failure) throw new EngineError(failure);
}
