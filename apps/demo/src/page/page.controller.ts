import { Controller, Get, Header } from '@nestjs/common';
import { AllowAnonymous } from '@keyward/nest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const assets = fileURLToPath(new URL('../../../src/page/assets/', import.meta.url));
const read = (name: string) => readFileSync(assets + name, 'utf8');

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
 * Serves the demo's browser page and its static files (`src/page/assets/`). The page
 * talks to the API only through its fetch wrapper, which sends `X-CSRF: 1`.
 */
@Controller()
@AllowAnonymous()
export class PageController {
  private readonly html = read('index.html');
  private readonly js = read('app.js');
  private readonly css = read('app.css');
  private readonly icon = read('favicon.svg');

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

  @Get('app.css')
  @Header('Content-Type', 'text/css; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  style(): string {
    return this.css;
  }

  @Get('favicon.svg')
  @Header('Content-Type', 'image/svg+xml')
  @Header('Content-Security-Policy', "default-src 'none'")
  @Header('Cache-Control', 'max-age=86400')
  favicon(): string {
    return this.icon;
  }
}
