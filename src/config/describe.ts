/**
 * Plain-words descriptions of what a setting accepts, read off its JSON schema (TypeBox), so
 * every setting, including ones added later, explains itself the same way in a config error
 * and in `switchboard help`: e.g. `an integer from 0 to 65535, or null`.
 */

/** The JSON-schema keywords the settings use (TypeBox emits plain JSON schema). */
export interface SettingSchema {
  type?: string;
  anyOf?: SettingSchema[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  items?: SettingSchema;
  minItems?: number;
  maxItems?: number;
}

/**
 * What `schema` accepts, as a noun phrase: "an integer from 1 to 256", "an integer of at
 * least 100", `"pool" or "dedicated"`, "a non-empty string or null".
 */
export function expectation(schema: SettingSchema): string {
  if (schema.anyOf) {
    // Literals read as one choice; null goes last ("..., or null"), as the way to switch off.
    const rest = schema.anyOf.filter((s) => s.type !== 'null');
    const literals = rest.filter((s) => s.const !== undefined).map((s) => JSON.stringify(s.const));
    const parts = rest.filter((s) => s.const === undefined).map(expectation);
    if (literals.length > 0) parts.unshift(literals.length <= 2 ? literals.join(' or ') : `one of ${literals.join(', ')}`);
    if (rest.length < schema.anyOf.length) parts.push('null');
    return parts.join(' or ');
  }
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  switch (schema.type) {
    case 'integer':
      return `an integer${range(schema)}`;
    case 'number':
      return `a number${range(schema)}`;
    case 'string':
      return `${schema.minLength ? 'a non-empty string' : 'a string'}${length(schema)}${schema.pattern ? ` matching /${schema.pattern}/` : ''}`;
    case 'boolean':
      return 'true or false';
    case 'null':
      return 'null';
    case 'array':
      return `a list of ${plural(expectation(schema.items ?? {}))} (comma-separated in a flag or variable)`;
    default:
      return 'a value';
  }
}

function range({ minimum, maximum, exclusiveMinimum, exclusiveMaximum }: SettingSchema): string {
  if (minimum !== undefined && maximum !== undefined) return ` from ${minimum} to ${maximum}`;
  const bounds: string[] = [];
  if (minimum !== undefined) bounds.push(`of at least ${minimum}`);
  if (exclusiveMinimum !== undefined) bounds.push(`greater than ${exclusiveMinimum}`);
  if (maximum !== undefined) bounds.push(`${bounds.length > 0 ? '' : 'of '}at most ${maximum}`);
  if (exclusiveMaximum !== undefined) bounds.push(`less than ${exclusiveMaximum}`);
  return bounds.length > 0 ? ` ${bounds.join(' and ')}` : '';
}

function length({ minLength, maxLength }: SettingSchema): string {
  return maxLength !== undefined ? ` of at most ${maxLength} characters` : minLength !== undefined && minLength > 1 ? ` of at least ${minLength} characters` : '';
}

/** "an integer from 1 to 5" → "integers from 1 to 5"; "a string" → "strings". */
function plural(phrase: string): string {
  return phrase.replace(/^an? (non-empty )?(\w+)/, (_, ne: string | undefined, noun: string) => `${ne ?? ''}${noun}s`);
}

/** A value as the user gave it: strings quoted (flags and variables are always strings). */
export function shown(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** Levenshtein distance, for "did you mean" on an unknown setting. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The closest of `names` to `name` when it is a likely typo (at most 2 edits, case aside). */
export function closest(name: string, names: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const n of names) {
    const d = editDistance(name.toLowerCase(), n.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [n, d];
  }
  return best;
}
