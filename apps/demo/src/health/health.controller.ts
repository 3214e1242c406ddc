import { Controller, Get } from '@nestjs/common';
import { AllowAnonymous } from '@keyward/nest';

/**
 * Readiness: `GET /healthz` is 200 `{"status":"ok"}` without a session. Listed in
 * `transport.plainHttpPaths`, so a local probe reaches it over plain HTTP in production
 * too (GET/HEAD only; the session cookie is not read).
 */
@Controller()
export class HealthController {
  @Get('healthz')
  @AllowAnonymous()
  health() {
    return { status: 'ok' };
  }
}
