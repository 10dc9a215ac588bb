import type { IncomingMessage } from 'node:http';
import type { ByteBudget } from './byte-budget.js';

/** How much of a webhook body the receiver takes, and how long it waits for it. */
export interface BodyLimits {
  /** GitHub caps deliveries at 25 MB: anything larger is not one. */
  maxBytes: number;
  /** A sender that sends nothing for this long is cut off (slow-trickle senders). */
  idleMs: number;
  /**
   * Bytes of bodies being read, all requests together (they are held until their
   * signature is checked); a request that would go over is refused (503).
   */
  inFlightBytes: number;
}

export const DEFAULT_BODY_LIMITS: BodyLimits = {
  maxBytes: 25 * 1024 * 1024,
  idleMs: 5_000,
  inFlightBytes: 256 * 1024 * 1024,
};

/**
 * The body as received, or why it was not: too large (413), too slow (408), more than
 * the budget had left (503), or the sender left.
 */
export type BodyRead =
  { chunks: Buffer[]; size: number } | { refused: 408 | 413 | 503 } | { gone: true };

/**
 * Reads a request body as Buffers (never as text), handing each chunk to `onChunk` as it
 * arrives. A declared length over the cap is refused before anything is read. The bytes
 * held count against `budget` (shared by all requests) until the read is over.
 */
export function readBody(
  req: IncomingMessage,
  limits: BodyLimits,
  budget: ByteBudget,
  onChunk: (chunk: Buffer) => void,
): Promise<BodyRead> {
  if (Number(req.headers['content-length']) > limits.maxBytes)
    return Promise.resolve({ refused: 413 });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let held = 0;
    let idle: NodeJS.Timeout;
    const done = (read: BodyRead) => {
      clearTimeout(idle);
      budget.give(held);
      // The error listener stays: an aborted request may still report one.
      req.off('data', onData).off('end', onEnd).off('close', onClose);
      if (!('chunks' in read)) chunks.length = 0;
      resolve(read);
    };
    const restartIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => done({ refused: 408 }), limits.idleMs);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.maxBytes) return done({ refused: 413 });
      if (!budget.take(chunk.length)) return done({ refused: 503 });
      held += chunk.length;
      chunks.push(chunk);
      onChunk(chunk);
      restartIdle();
    };
    const onEnd = () => done({ chunks, size });
    const onClose = () => done({ gone: true });
    req.on('data', onData).on('end', onEnd).on('close', onClose).on('error', onClose);
    restartIdle();
  });
}
