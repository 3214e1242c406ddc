import { Body, Controller, Get, Inject, Logger, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { KeysService } from './keys.service.js';

interface LoginBody {
  username?: string;
}

/**
 * DELIBERATELY VULNERABLE controller, written the way the advisory warns against:
 * the upstream API key goes into the cookie-session, into a plain cookie, into the log
 * and back to the browser.
 */
@Controller('api')
export class KeysController {
  private readonly logger = new Logger('KeysController');

  constructor(@Inject(KeysService) private readonly keys: KeysService) {}

  @Post('login')
  login(@Req() req: Request, @Res({ passthrough: true }) res: Response, @Body() body: LoginBody) {
    const apiKey = this.keys.getApiKey();
    const session = req.session!;
    session['user'] = body.username ?? 'anonymous';
    // KW001: the key is stored in cookie-session, i.e. in the cookie itself
    session['apiKey'] = apiKey;
    // KW001 + KW002: the key in a plain cookie, readable by any script, sent over HTTP
    res.cookie('api_key', apiKey, { httpOnly: false, secure: false, sameSite: 'none' });
    // KW004: the key is logged
    this.logger.log(`user ${body.username ?? 'anonymous'} logged in with key ${apiKey}`);
    return { ok: true };
  }

  @Get('me')
  me(@Req() req: Request) {
    const session = req.session ?? {};
    // KW004: the key is returned to the browser
    return { user: session['user'], apiKey: session['apiKey'] };
  }
}
