/** Metadata key set by `@AllowAnonymous()`. */
export const ALLOW_ANONYMOUS = 'keyward:allowAnonymous';

/** Metadata key of `@SkipOriginCheck({ reason })` (its value is the reason). */
export const SKIP_ORIGIN_CHECK = 'keyward:skipOriginCheck';
