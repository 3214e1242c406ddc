import { Controller, Get } from '@nestjs/common';
import { AllowAnonymous } from '@keyward/nest';

@Controller()
export class HealthController {
  @Get('healthz')
  @AllowAnonymous()
  health() {
    return { status: 'ok' };
  }
}
