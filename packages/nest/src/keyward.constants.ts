/** Metadata key set by `@AllowAnonymous()`. */
export const ALLOW_ANONYMOUS = 'keyward:allowAnonymous';
