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
