/*
 * Knowledge as data: shapes of the calls that copy or send a value somewhere. The engine reads
 * these tables; a new serializer or sink shape is one entry here.
 */

/** Parameter names that say the value is not a secret but a name, an id or a message about one. */
export const NON_SECRET_PARAMETER = /^(?:names?|ids?|label|title|path|url|uri|href|code|status|message|msg|type|kind|reason|field|scope|provider|service|count|length|index|format|hint|e|err|error)$|[a-z](?:Names?|Ids?|Label|Title|Path|Url|Uri|Code|Status|Message|Type|Kind|Reason|Count|Length|Index|Format|Hint)$/;
/** Calls that copy chosen fields of an object (`pick(user, ['id', 'accessToken'])`, `_.pick`, ramda). */
export const PICK_CALL = /^(?:pick|pickFields|only)$/;
/** class-transformer calls that serialize an instance of a class by its decorators. */
export const TRANSFORM_CALL = /^(?:plainToInstance|plainToClass|plainToClassFromExist|instanceToPlain|classToPlain|serialize)$/;

/** Cookie APIs called as `x.<name>(cookieName, value, options)`: Express `res.cookie`, @fastify/cookie `reply.setCookie`. */
export const COOKIE_WRITE_CALLS: ReadonlySet<string> = new Set(['cookie', 'setCookie']);
/** Header APIs called as `x.<name>('Set-Cookie', value)`. */
export const HEADER_WRITE_CALLS: ReadonlySet<string> = new Set(['setHeader', 'header', 'append', 'set']);
/** Header APIs that take an object of headers as their last argument: `res.set({ 'Set-Cookie': … })`, `res.writeHead(200, { … })`. */
export const HEADER_OBJECT_CALLS: ReadonlySet<string> = new Set(['set', 'header', 'headers', 'writeHead', 'setHeaders']);
/** Methods that send a response body. */
export const RESPONSE_BODY_CALLS: ReadonlySet<string> = new Set(['json', 'send', 'end', 'write', 'jsonp']);
/** Methods that redirect the browser to a URL (the URL lands in history, Referer and the page). */
export const REDIRECT_CALLS: ReadonlySet<string> = new Set(['redirect']);
/** Calls that return the response object: Nest's `host.switchToHttp().getResponse()`, `ctx.getResponse()`. */
export const RESPONSE_GETTER_CALLS = /^(?:getResponse)$/;
/** Parameter decorators that inject the response object. */
export const RESPONSE_DECORATORS = /^(?:Res|Response|Reply)$/;
/** Functions called bare that write a log line: a helper `logger(…)`, the `debug` package's `debug(…)`. */
export const LOG_FUNCTIONS = /^(?:log|logger|debug|logInfo|logError|logWarn|logDebug|writeLog|logEvent|logMessage)$/;
