import type { LastRequest, UpstreamStats } from './types.js';

/** Mutable counters behind {@link UpstreamHandle.stats}. Records header names, never values. */
export class StatsRecorder {
  requests = 0;
  internalHits = 0;
  slowCancelled = 0;
  lastRequest: LastRequest | null = null;

  /** Records one incoming request. */
  record(method: string, path: string, headerNames: readonly string[]): void {
    this.requests++;
    this.lastRequest = { method, path, headerNames: [...headerNames] };
  }

  /** A copy of the counters. */
  snapshot(): UpstreamStats {
    return {
      internalHits: this.internalHits,
      requests: this.requests,
      lastRequest: this.lastRequest === null
        ? null
        : { ...this.lastRequest, headerNames: [...this.lastRequest.headerNames] },
      slowCancelled: this.slowCancelled,
    };
  }

  reset(): void {
    this.requests = 0;
    this.internalHits = 0;
    this.slowCancelled = 0;
    this.lastRequest = null;
  }
}
