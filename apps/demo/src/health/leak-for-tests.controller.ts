import { Controller, Get, Inject } from '@nestjs/common';
import { CredentialService, CurrentSession, RequestSession } from '@keyward/nest';
import { writeSync } from 'node:fs';

/**
 * TEST ONLY (KEYWARD_DEMO_LEAK_ROUTE=1, refused in production): writes the server key to
 * stdout with a raw `fs.writeSync`, bypassing every redaction layer, so the canary suite
 * can prove that it detects a leak.
 */
@Controller('api/debug')
export class LeakForTestsController {
  constructor(@Inject(CredentialService) private readonly credentials: CredentialService) {}

  @Get('leak')
  async leak(@CurrentSession() session: RequestSession): Promise<{ leaked: true }> {
    await this.credentials.use(session, 'demo', (key) => writeSync(1, `deliberate leak for the canary test: ${key.reveal()}\n`));
    return { leaked: true };
  }
}
