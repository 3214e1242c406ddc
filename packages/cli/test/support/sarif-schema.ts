import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import AjvModule from 'ajv-draft-04';

/** A validator for the official SARIF 2.1.0 JSON schema (draft-04), as bundled by @microsoft/jest-sarif. */
export function sarifValidator() {
  const require = createRequire(import.meta.url);
  const schemaPath = require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json');
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
  const Ajv = (AjvModule as unknown as { default: typeof AjvModule.default }).default ?? AjvModule;
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false, unicodeRegExp: false });
  return ajv.compile(schema);
}
