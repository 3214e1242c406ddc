import { Injectable } from '@nestjs/common';

/** Hands out the upstream API key. DELIBERATELY VULNERABLE: the key is meant to stay on the server. */
@Injectable()
export class KeysService {
  private readonly upstreamApiKey = process.env.UPSTREAM_API_KEY ?? 'missing-upstream-key';

  getApiKey(): string {
    return this.upstreamApiKey;
  }
}
