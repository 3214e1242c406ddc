/** The HTTP adapters every HTTP-facing test runs on: `for (const adapter of ADAPTERS) describe(...)`. */
export type AdapterName = 'express' | 'fastify';
export const ADAPTERS: readonly AdapterName[] = ['express', 'fastify'];
