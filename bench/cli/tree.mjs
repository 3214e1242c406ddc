// The generated NestJS-like tree both CLI benchmarks scan: controllers and services, about one
// file in ten carrying one of the advisory's patterns (an API key in a cookie and in a log line).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function fileText(i) {
  // realistic NestJS code; about one file in ten carries one of the advisory's patterns
  const vuln = i % 10 === 0;
  return `import { Body, Controller, Get, Inject, Injectable, Logger, Post, Req, Res } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Request, Response } from 'express';

interface Item${i}Dto {
  name: string;
  quantity: number;
  apiKey?: string;
}

@Injectable()
export class Item${i}Service {
  private readonly items = new Map<string, Item${i}Dto>();

  constructor(@Inject(ConfigService) private readonly config: ConfigService) {}

  list(): Item${i}Dto[] {
    return [...this.items.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  add(dto: Item${i}Dto): Item${i}Dto {
    if (!dto.name || dto.quantity < 0) throw new Error('invalid item');
    this.items.set(dto.name, { name: dto.name, quantity: dto.quantity });
    return dto;
  }

  upstreamUrl(): string {
    return this.config.getOrThrow<string>('UPSTREAM_URL') + '/items/${i}';
  }
}

@Controller('items-${i}')
export class Item${i}Controller {
  private readonly logger = new Logger(Item${i}Controller.name);

  constructor(@Inject(Item${i}Service) private readonly items: Item${i}Service) {}

  @Get()
  list() {
    this.logger.debug('listing items');
    return this.items.list();
  }

  @Post()
  add(@Req() req: Request, @Res({ passthrough: true }) res: Response, @Body() dto: Item${i}Dto) {
    const created = this.items.add(dto);
    res.cookie('last_item', created.name, { sameSite: 'lax' });
${vuln ? "    res.cookie('api_key', dto.apiKey, { httpOnly: false });\n    this.logger.log(`key ${dto.apiKey}`);" : "    this.logger.log(`added ${created.name}`);\n    void req;"}
    return { created: created.name, total: this.items.list().length };
  }
}
`;
}

/** Writes files into `dir` (emptied first) until `until(files, lines)` is true; returns the counts. */
export function writeTree(dir, until) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let files = 0;
  let lines = 0;
  for (let i = 0; !until(files, lines); i++) {
    const sub = join(dir, `module-${Math.floor(i / 50)}`);
    mkdirSync(sub, { recursive: true });
    const text = fileText(i);
    lines += text.split('\n').length;
    files++;
    writeFileSync(join(sub, `item-${i}.controller.ts`), text);
  }
  return { files, lines };
}
