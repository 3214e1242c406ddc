import { Controller, Get, Header, NotFoundException, Param } from '@nestjs/common';
import { AllowAnonymous } from '@keyward/nest';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const assets = fileURLToPath(new URL('../../../src/page/assets/', import.meta.url));
const read = (name: string) => readFileSync(assets + name, 'utf8');

/** The page's own modules besides app.js, read once at startup. */
const PAGE_MODULES = ['call-panel.js', 'oauth-panel.js', 'oidc-panel.js', 'page-kit.js'] as const;

/** Where the page imports the browser client from: `/assets/keyward-client/index.js`. */
export const CLIENT_ASSETS = '/assets/keyward-client/';

/**
 * The built modules of `@keyward/client` (its `dist/src/*.js`, which import only each other),
 * read once at startup: the page imports them as they are published, nothing copied.
 */
function clientModules(): ReadonlyMap<string, string> {
  const dir = dirname(fileURLToPath(import.meta.resolve('@keyward/client')));
  const names = readdirSync(dir).filter((f) => /^[a-z][a-z0-9-]*\.js$/.test(f));
  return new Map(names.map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}

/**
 * Strict policy: no inline script or style, nothing from other origins, no framing, no
 * plugins, forms only back to this origin.
 */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** The page needs none of these browser features; saying so narrows what injected code could use. */
const PERMISSIONS_POLICY = 'camera=(), microphone=(), geolocation=(), payment=(), usb=()';

/**
 * Serves the demo's browser page, its static files (`src/page/assets/`) and the modules of
 * `@keyward/client` under {@link CLIENT_ASSETS}. The page talks to the API only through that
 * client, which sends `X-CSRF: 1` on every request.
 */
@Controller()
@AllowAnonymous()
export class PageController {
  private readonly html = read('index.html');
  private readonly js = read('app.js');
  /** The page's other modules, which app.js imports: served by exact name, nothing else. */
  private readonly modules = new Map(PAGE_MODULES.map((name) => [name, read(name)]));

  private module(name: (typeof PAGE_MODULES)[number]): string {
    return this.modules.get(name) as string;
  }
  private readonly css = read('app.css');
  private readonly icon = read('favicon.svg');
  private readonly client = clientModules();

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', PAGE_CSP)
  @Header('Permissions-Policy', PERMISSIONS_POLICY)
  @Header('Cache-Control', 'no-store')
  page(): string {
    return this.html;
  }

  @Get('app.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  script(): string {
    return this.js;
  }

  /** The proxy-call panel, a module app.js imports. */
  @Get('call-panel.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  callPanel(): string {
    return this.module('call-panel.js');
  }

  /** The connected-account (OAuth) panel, a module app.js imports. */
  @Get('oauth-panel.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  oauthPanel(): string {
    return this.module('oauth-panel.js');
  }

  /** The sign-in-with-the-identity-provider panel, a module app.js imports. */
  @Get('oidc-panel.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  oidcPanel(): string {
    return this.module('oidc-panel.js');
  }

  /** The DOM helpers the panels share, a module app.js imports. */
  @Get('page-kit.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  pageKit(): string {
    return this.module('page-kit.js');
  }

  @Get('app.css')
  @Header('Content-Type', 'text/css; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  style(): string {
    return this.css;
  }

  /** The browser client's modules; only the files found at startup, by exact name. */
  @Get('assets/keyward-client/:file')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  clientModule(@Param('file') file: string): string {
    const body = this.client.get(file);
    if (body === undefined) throw new NotFoundException();
    return body;
  }

  @Get('favicon.svg')
  @Header('Content-Type', 'image/svg+xml')
  @Header('Content-Security-Policy', "default-src 'none'")
  @Header('Cache-Control', 'max-age=86400')
  favicon(): string {
    return this.icon;
  }
}
