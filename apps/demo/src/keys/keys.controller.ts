import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Put } from '@nestjs/common';
import { CredentialService, CurrentSession, InvalidArgumentError, KeyBodyLimit, NotFoundError, RequestSession, UserKeyProvider, Vault } from '@keyward/nest';

/**
 * Bring your own key: `PUT /api/keys/:service` stores the user's key encrypted, `GET`
 * shows only masks, `DELETE` removes it. Only services configured with a user-key
 * credential accept keys (allowlist). Bodies over 4 KiB are refused (`413
 * KW_BODY_TOO_LARGE`) on both adapters; the vault checks each key before anything keeps it.
 */
@Controller('api/keys')
@KeyBodyLimit()
export class KeysController {
  constructor(
    @Inject(Vault) private readonly vault: Vault,
    @Inject(CredentialService) private readonly credentials: CredentialService,
  ) {}

  @Put(':service')
  @HttpCode(204)
  async put(@CurrentSession() session: RequestSession, @Param('service') service: string, @Body() body: unknown): Promise<void> {
    this.check(service);
    const key = (typeof body === 'object' && body !== null ? (body as Record<string, unknown>).key : undefined);
    if (typeof key !== 'string') throw new InvalidArgumentError('Send JSON { "key": "<your key>" }.');
    await this.vault.putUser(session.user!.id, service, key);
  }

  @Get()
  async list(@CurrentSession() session: RequestSession) {
    return (await this.vault.listUser(session.user!.id)).map((k) => ({ service: k.name, masked: k.masked, updatedAt: k.updatedAt.toISOString() }));
  }

  @Delete(':service')
  @HttpCode(204)
  async remove(@CurrentSession() session: RequestSession, @Param('service') service: string): Promise<void> {
    this.check(service);
    if (!(await this.vault.removeUser(session.user!.id, service))) throw new NotFoundError('KW_KEY_NOT_FOUND', 'No key stored for this service.');
  }

  private check(service: string): void {
    if (!(this.credentials.provider(service) instanceof UserKeyProvider)) {
      throw new NotFoundError('KW_KEY_SERVICE_UNKNOWN', 'This service does not take user keys.');
    }
  }
}
