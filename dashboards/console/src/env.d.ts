// schemas/generated/types.ts names Node's Buffer for raw record bytes (dead letters), which never reach the console;
// the console's type-only imports of schemas/api.ts compile against the DOM library, without Node's types.
type Buffer = Uint8Array;
