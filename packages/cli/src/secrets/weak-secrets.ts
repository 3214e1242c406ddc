/**
 * Well-known weak or placeholder signing secrets: values from framework documentation, tutorials
 * and advisories. The audit flags them in source; the probe tries them offline against signed
 * cookies. One list, shared with @keyward/nest's self-audit: it lives in @keyward/core.
 */
export { WEAK_SECRETS, isWellKnownWeakSecret } from '@keyward/core';
