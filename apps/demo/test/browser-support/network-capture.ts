import type { CDPSession, Page } from 'playwright-core';

/** One request a page made and what came back, as the DevTools protocol saw it. */
export interface Exchange {
  page: string;
  requestId: string;
  method: string;
  url: string;
  /** Request headers as sent, including the ones only ExtraInfo shows (Cookie). */
  requestHeaders: Record<string, string>;
  postData?: string;
  status?: number;
  /** Response headers, including the raw ones only ExtraInfo shows (Set-Cookie). */
  responseHeaders: Record<string, string>;
  body?: string;
  bodyError?: string;
  failed?: string;
  /**
   * The script URLs on the stack that made the request, innermost first (CDP's
   * `initiator.stack`, async parents included): for a fetch, the first is the file that called it.
   */
  initiatorScripts?: string[];
}

type Headers = Record<string, string>;

const lower = (h: Headers | undefined): Headers => Object.fromEntries(Object.entries(h ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));

/**
 * Records every request and response of the pages it is attached to through a CDP
 * session (`Network.enable`), and fetches each response body with
 * `Network.getResponseBody` as soon as it has finished loading.
 */
export class NetworkCapture {
  private readonly exchanges = new Map<string, Exchange>();
  private readonly pending = new Set<Promise<void>>();
  private readonly sessions: CDPSession[] = [];

  /** Starts recording `page` (call before its first navigation). */
  async attach(page: Page, label: string): Promise<void> {
    const cdp = await page.context().newCDPSession(page);
    this.sessions.push(cdp);
    const get = (requestId: string): Exchange => {
      const key = `${label}:${requestId}`;
      let ex = this.exchanges.get(key);
      if (!ex) {
        ex = { page: label, requestId, method: '', url: '', requestHeaders: {}, responseHeaders: {} };
        this.exchanges.set(key, ex);
      }
      return ex;
    };
    const track = (p: Promise<void>) => {
      this.pending.add(p);
      void p.finally(() => this.pending.delete(p));
    };
    cdp.on('Network.requestWillBeSent', (e) => {
      const ex = get(e.requestId);
      ex.method = e.request.method;
      ex.url = e.request.url;
      const frames: string[] = [];
      for (let st = e.initiator.stack; st; st = st.parent) frames.push(...st.callFrames.map((f) => f.url).filter(Boolean));
      if (frames.length > 0) ex.initiatorScripts = frames;
      Object.assign(ex.requestHeaders, lower(e.request.headers as Headers));
      if (e.request.postData !== undefined) ex.postData = e.request.postData;
      else if (e.request.hasPostData) {
        track(cdp.send('Network.getRequestPostData', { requestId: e.requestId }).then(
          (r) => void (ex.postData = r.postData),
          () => undefined,
        ));
      }
    });
    cdp.on('Network.requestWillBeSentExtraInfo', (e) => Object.assign(get(e.requestId).requestHeaders, lower(e.headers as Headers)));
    cdp.on('Network.responseReceived', (e) => {
      const ex = get(e.requestId);
      ex.status = e.response.status;
      Object.assign(ex.responseHeaders, lower(e.response.headers as Headers));
    });
    cdp.on('Network.responseReceivedExtraInfo', (e) => {
      const ex = get(e.requestId);
      Object.assign(ex.responseHeaders, lower(e.headers as Headers));
      if (e.headersText) ex.responseHeaders[':raw'] = e.headersText;
    });
    cdp.on('Network.loadingFinished', (e) => {
      const ex = get(e.requestId);
      track(cdp.send('Network.getResponseBody', { requestId: e.requestId }).then(
        (r) => void (ex.body = r.base64Encoded ? Buffer.from(r.body, 'base64').toString('utf8') : r.body),
        (err: unknown) => void (ex.bodyError = err instanceof Error ? err.message : String(err)),
      ));
    });
    cdp.on('Network.loadingFailed', (e) => void (get(e.requestId).failed = e.blockedReason ?? e.errorText));
    await cdp.send('Network.enable', { maxTotalBufferSize: 64 * 1024 * 1024, maxResourceBufferSize: 8 * 1024 * 1024 });
  }

  /** Waits for every body fetch started so far (at most `timeoutMs`; a closed page's fetches fail, they do not hang). */
  async settle(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending.size > 0 && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.pending]), new Promise((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now()))))]);
      clearTimeout(timer);
    }
    if (this.pending.size > 0) throw new Error(`${this.pending.size} response bodies still pending after ${timeoutMs} ms`);
  }

  all(): Exchange[] {
    return [...this.exchanges.values()].filter((e) => e.url !== '');
  }

  async detach(): Promise<void> {
    await this.settle();
    await Promise.allSettled(this.sessions.map((s) => s.detach()));
  }
}
