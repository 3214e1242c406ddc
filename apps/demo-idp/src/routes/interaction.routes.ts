import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import type { DemoUsers } from '../demo-users.js';
import type { LogSink } from '../event-log.js';
import { readForm, sendHtml } from '../http-io.js';
import { errorPage, loginPage } from '../pages.js';

/** What the interaction routes need. */
export interface InteractionContext {
  readonly provider: Provider;
  readonly users: DemoUsers;
  readonly log: LogSink;
}

/** The one message for an unknown user and a wrong password. */
export const WRONG_CREDENTIALS = 'Wrong username or password.';

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

async function detailsFor(ctx: InteractionContext, req: IncomingMessage, res: ServerResponse, uid: string): Promise<Details | null> {
  let details: Details;
  try {
    details = await ctx.provider.interactionDetails(req, res);
  } catch {
    sendHtml(res, 400, errorPage('invalid_request', 'this sign-in has expired or was opened elsewhere; start again from the app'));
    return null;
  }
  if (details.uid !== uid) {
    sendHtml(res, 400, errorPage('invalid_request', 'this sign-in does not match the browser\'s; start again from the app'));
    return null;
  }
  return details;
}

async function clientName(ctx: InteractionContext, clientId: unknown): Promise<string> {
  const client = typeof clientId === 'string' ? await ctx.provider.Client.find(clientId) : undefined;
  return client?.clientName ?? (typeof clientId === 'string' ? clientId : 'An application');
}

/**
 * Consent for the demo app's clients (every client registered here is one of them) is
 * given without asking: the grant gets exactly what the request is missing.
 */
async function consent(ctx: InteractionContext, req: IncomingMessage, res: ServerResponse, details: Details): Promise<void> {
  const { provider } = ctx;
  const accountId = details.session?.accountId;
  const clientId = details.params['client_id'];
  if (accountId === undefined || typeof clientId !== 'string') {
    sendHtml(res, 400, errorPage('invalid_request', 'no signed-in user for this consent'));
    return;
  }
  const grant = details.grantId !== undefined ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId, clientId });
  if (grant === undefined) {
    sendHtml(res, 400, errorPage('invalid_request', 'this grant has ended; start again from the app'));
    return;
  }
  const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
  if (missing.missingOIDCScope !== undefined) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims !== undefined) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
  const grantId = await grant.save();
  ctx.log({ time: new Date().toISOString(), service: 'demo-idp', event: 'consent.given', client: clientId, user: accountId });
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

/**
 * `GET /interaction/:uid` (the sign-in form, or consent given at once) and
 * `POST /interaction/:uid/login` (checks `username` and `password`; a mistake shows the
 * form again with one message for every mistake).
 */
export async function handleInteraction(ctx: InteractionContext, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const match = /^\/interaction\/([A-Za-z0-9_-]{1,64})(\/login)?$/.exec(path);
  if (match === null) {
    sendHtml(res, 404, errorPage('not_found', 'no such page'));
    return;
  }
  const [, uid, login] = match as unknown as [string, string, string | undefined];
  const method = req.method ?? 'GET';
  if (login === undefined ? method !== 'GET' : method !== 'POST') {
    res.setHeader('allow', login === undefined ? 'GET' : 'POST');
    sendHtml(res, 405, errorPage('method_not_allowed', 'use the form'));
    return;
  }
  const details = await detailsFor(ctx, req, res, uid);
  if (details === null) return;
  const action = `/interaction/${uid}/login`;

  if (login === undefined) {
    if (details.prompt.name === 'login') {
      sendHtml(res, 200, loginPage({ action, clientName: await clientName(ctx, details.params['client_id']) }));
      return;
    }
    if (details.prompt.name === 'consent') return consent(ctx, req, res, details);
    sendHtml(res, 400, errorPage('invalid_request', `unsupported prompt ${details.prompt.name}`));
    return;
  }

  if (details.prompt.name !== 'login') {
    sendHtml(res, 400, errorPage('invalid_request', 'this sign-in is already past the login step'));
    return;
  }
  const form = await readForm(req);
  if (form === null) {
    sendHtml(res, 400, errorPage('invalid_request', 'expected the sign-in form'));
    return;
  }
  const username = form.get('username') ?? '';
  const password = form.get('password') ?? '';
  const accountId = username.length > 0 && username.length <= 64 && password.length <= 1024 ? ctx.users.verify(username, password) : null;
  const client = details.params['client_id'];
  if (accountId === null) {
    ctx.log({ time: new Date().toISOString(), service: 'demo-idp', event: 'login.failed', client });
    sendHtml(res, 200, loginPage({ action, clientName: await clientName(ctx, client), username: username.slice(0, 64), error: WRONG_CREDENTIALS }));
    return;
  }
  ctx.log({ time: new Date().toISOString(), service: 'demo-idp', event: 'login.success', client, user: accountId });
  await ctx.provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
}
