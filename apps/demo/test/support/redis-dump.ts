import { connect, type Socket } from 'node:net';

type Reply = Buffer | string | number | null | Reply[] | Error;

/**
 * A minimal RESP2 client (binary-safe bulk strings), enough to dump a Redis database:
 * the canary suite reads the store's raw bytes without depending on a Redis library.
 */
class RespClient {
  private buffer = Buffer.alloc(0);
  private readonly waiting: Array<(r: Reply) => void> = [];

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      for (;;) {
        const parsed = parse(this.buffer, 0);
        if (!parsed) break;
        this.buffer = this.buffer.subarray(parsed.end);
        this.waiting.shift()?.(parsed.value);
      }
    });
  }

  static open(url: string): Promise<RespClient> {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(u.port || 6379), u.hostname, () => resolve(new RespClient(socket)));
      socket.once('error', reject);
    });
  }

  command(...args: Array<string | Buffer>): Promise<Reply> {
    const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
    for (const a of args) {
      const b = typeof a === 'string' ? Buffer.from(a, 'utf8') : a;
      parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
    }
    return new Promise((resolve, reject) => {
      this.waiting.push((r) => (r instanceof Error ? reject(r) : resolve(r)));
      this.socket.write(Buffer.concat(parts));
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

function parse(buf: Buffer, at: number): { value: Reply; end: number } | null {
  if (at >= buf.length) return null;
  const lineEnd = buf.indexOf('\r\n', at);
  if (lineEnd < 0) return null;
  const type = String.fromCharCode(buf[at]!);
  const line = buf.toString('utf8', at + 1, lineEnd);
  switch (type) {
    case '+':
      return { value: line, end: lineEnd + 2 };
    case '-':
      return { value: new Error(line), end: lineEnd + 2 };
    case ':':
      return { value: Number(line), end: lineEnd + 2 };
    case '$': {
      const len = Number(line);
      if (len < 0) return { value: null, end: lineEnd + 2 };
      const start = lineEnd + 2;
      if (buf.length < start + len + 2) return null;
      return { value: Buffer.from(buf.subarray(start, start + len)), end: start + len + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, end: lineEnd + 2 };
      const items: Reply[] = [];
      let pos = lineEnd + 2;
      for (let i = 0; i < count; i++) {
        const item = parse(buf, pos);
        if (!item) return null;
        items.push(item.value);
        pos = item.end;
      }
      return { value: items, end: pos };
    }
    default:
      throw new Error(`unexpected RESP type byte ${buf[at]}`);
  }
}

function flat(reply: Reply): Buffer[] {
  if (Buffer.isBuffer(reply)) return [reply];
  if (Array.isArray(reply)) return reply.flatMap(flat);
  if (reply === null || reply instanceof Error) return [];
  return [Buffer.from(String(reply), 'utf8')];
}

/** One key of a Redis dump: its name, its `DUMP` payload and its values read by type. */
export interface RedisKeyDump {
  key: Buffer;
  type: string;
  dump: Buffer;
  values: Buffer;
}

/**
 * `KEYS *`, then for each key its `DUMP` payload (the serialized bytes a backup holds;
 * long strings may be LZF-compressed there) and its plain values read by type
 * (`GET`, `HGETALL`, `SMEMBERS`, `ZRANGE ... WITHSCORES`, `LRANGE`), which are never compressed.
 */
export async function dumpRedis(url: string): Promise<RedisKeyDump[]> {
  const client = await RespClient.open(url);
  try {
    const keys = flat(await client.command('KEYS', '*'));
    const out: RedisKeyDump[] = [];
    for (const key of keys) {
      const type = String(await client.command('TYPE', key));
      const dump = (await client.command('DUMP', key)) as Buffer | null;
      let values: Reply;
      if (type === 'string') values = await client.command('GET', key);
      else if (type === 'hash') values = await client.command('HGETALL', key);
      else if (type === 'set') values = await client.command('SMEMBERS', key);
      else if (type === 'zset') values = await client.command('ZRANGE', key, '0', '-1', 'WITHSCORES');
      else if (type === 'list') values = await client.command('LRANGE', key, '0', '-1');
      else values = null;
      out.push({ key, type, dump: dump ?? Buffer.alloc(0), values: Buffer.concat(flat(values).flatMap((b) => [b, Buffer.from('\n')])) });
    }
    return out;
  } finally {
    client.close();
  }
}
