import { Controller, Get, HttpCode, Inject, Post } from '@nestjs/common';
import { AllowAnonymous, CurrentSession, NotFoundError, RequestSession, Vault } from '@keyward/nest';
import { DemoKeyIssuer } from '../keys/demo-key-issuer.js';

export const DEMO_INFO = Symbol('DEMO_INFO');

/** What the page may know about this deployment. */
export interface DemoInfo {
  showDemoUsers: boolean;
  trialKeys: boolean;
  /** Whether the `demo-oauth` connected account is configured (an identity provider is set). */
  oauthConnection: boolean;
  /** Whether "Sign in with the demo identity provider" (the library's `oidc` options) is configured. */
  oidcSignIn: boolean;
}

/** Development helpers for people trying the page by hand. */
@Controller('api/demo')
export class DemoInfoController {
  constructor(
    @Inject(DEMO_INFO) private readonly info: DemoInfo,
    @Inject(DemoKeyIssuer) private readonly issuer: DemoKeyIssuer,
    @Inject(Vault) private readonly vault: Vault,
  ) {}

  @Get('info')
  @AllowAnonymous()
  get(): DemoInfo {
    return this.info;
  }

  /**
   * Development only: mints a key at the demo upstream and stores it as this user's own
   * key for `demo-byok`, without ever returning it (the page then shows only its mask).
   * The previous trial key is revoked; a session mints a few at most (see DemoKeyIssuer).
   */
  @Post('trial-key')
  @HttpCode(204)
  async trialKey(@CurrentSession() session: RequestSession): Promise<void> {
    if (!this.info.trialKeys) throw new NotFoundError('KW_NOT_FOUND', 'Not found.');
    await this.issuer.issueTrialKey(session, this.vault, 'demo-byok');
  }
}
