import type { Server, ServerOptions } from 'node:http';
import { DEFAULT_BODY_LIMITS, type BodyLimits } from './body.js';

/**
 * How long the receiver waits for a request and how many it holds at once, so slow or
 * oversized senders cannot tie it up. GitHub sends a delivery's headers and body at once
 * and gives up after 10 s, so these leave it ample room.
 */
export interface ReceiverLimits extends BodyLimits {
  /** All request headers must have arrived within this time (else 408). */
  headersTimeoutMs: number;
  /** The whole request, headers and body, must have arrived within this time (else 408). */
  requestTimeoutMs: number;
  /** Connections beyond this many are closed as soon as they are accepted. */
  maxConnections: number;
}

export const DEFAULT_RECEIVER_LIMITS: ReceiverLimits = {
  ...DEFAULT_BODY_LIMITS,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxConnections: 512,
};

/** The node:http options that enforce `limits` (Node checks the timeouts this often). */
export function serverOptions(limits: ReceiverLimits): ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Node's default (30 s) would let a timed-out sender stay up to that much longer.
    connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
  };
}

export function capConnections(server: Server, limits: ReceiverLimits): Server {
  server.maxConnections = limits.maxConnections;
  return server;
}
